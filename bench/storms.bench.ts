/**
 * What one storm tally report costs on real Redis. Every runtime (each agent, the controller)
 * reports its targets of a policy whenever one of its actors turns healthy or unhealthy, and every
 * refresh interval; the call records its report and sums everyone's. This tree sends the targets
 * (workloads, bare pods, nodes) and gets every live reporter's back, summed in TypeScript
 * (budgets/storm.ts `sumReports`, each target once); `--baseline` measures another Storms module
 * in the same run (e.g. the one before, whose script summed two counts per reporter).
 *
 *   node bench/storms.bench.ts [reports=400] [--baseline <storms module>]
 *
 * Cases: a policy reported by 3, 20 and 100 reporters with 110 targets each (an agent's pods, all
 * of distinct workloads: the largest report a node gives), and by 100 reporters with 110 pods of
 * 10 shared workloads. `reports` reports one after another, each from the next reporter. Beside
 * the round trip (script, transfer and summing), the time Redis spent in scripts per call, from
 * INFO commandstats (every client's scripts: other users of a shared Redis add to it).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { fmt, load, machineLine, percentile, table } from './support/report.ts';

const THIS_MODULE = new URL('../src/budgets/storms.ts', import.meta.url).pathname;

/** A report both shapes of the store read: the targets (a map) and their counts (fields). */
type Report = Map<string, boolean> & { targets: number; unhealthy: number };
interface StormsLike {
  report(policy: string, reporter: string, report: Report, staleMs: number): Promise<unknown>;
}
type StormsClass = new (redis: Redis, prefix: string) => StormsLike;

const args = process.argv.slice(2);
const baselineAt = args.indexOf('--baseline');
const baseline = baselineAt >= 0 ? args[baselineAt + 1] : undefined;
const reports = Number(args.find((a, i) => !a.startsWith('--') && i !== baselineAt + 1) ?? 400);
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const STALE_MS = 45_000;

async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Reporter `r`'s report: `pods` targets, one in ten unhealthy, in `workloads` workloads. */
function reportOf(r: number, pods: number, workloads: number | null): Report {
  const targets = new Map<string, boolean>();
  for (let i = 0; i < pods; i += 1) {
    const target =
      workloads === null
        ? `StatefulSet/shop/app-${r}-${i}`
        : `Deployment/shop/app-${i % workloads}`;
    targets.set(target, (targets.get(target) ?? false) || i % 10 === 0);
  }
  let unhealthy = 0;
  for (const sick of targets.values()) if (sick) unhealthy += 1;
  return Object.assign(targets, { targets: targets.size, unhealthy });
}

const CASES = [
  { name: '3 reporters × 110 distinct workloads', reporters: 3, pods: 110, workloads: null },
  { name: '20 reporters × 110 distinct workloads', reporters: 20, pods: 110, workloads: null },
  { name: '100 reporters × 110 distinct workloads', reporters: 100, pods: 110, workloads: null },
  { name: '100 reporters × 110 pods of 10 workloads', reporters: 100, pods: 110, workloads: 10 },
] as const;

/** Calls of EVAL and the µs Redis spent in them so far (every client's: the server is shared). */
async function evalStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const line = (await redis.info('commandstats'))
    .split('\n')
    .find((l) => l.startsWith('cmdstat_eval:'));
  const match = /calls=(\d+),usec=(\d+)/.exec(line ?? '');
  return { calls: Number(match?.[1] ?? 0), usec: Number(match?.[2] ?? 0) };
}

async function measure(label: string, module: string): Promise<string[][]> {
  const { Storms } = (await import(pathToFileURL(module).href)) as { Storms: StormsClass };
  const rows: string[][] = [];
  for (const c of CASES) {
    const prefix = `bench-storms-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(url);
    const storms = new Storms(redis, prefix);
    const all = Array.from({ length: c.reporters }, (_, r) => reportOf(r, c.pods, c.workloads));
    // Every reporter has reported once before the measured reports.
    for (let r = 0; r < c.reporters; r += 1) {
      await storms.report('shop/web', `agent-${r}`, all[r] as Report, STALE_MS);
    }
    const ms: number[] = [];
    const before = await evalStats(redis);
    const started = performance.now();
    for (let i = 0; i < reports; i += 1) {
      const r = i % c.reporters;
      const t = performance.now();
      await storms.report('shop/web', `agent-${r}`, all[r] as Report, STALE_MS);
      ms.push(performance.now() - t);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await evalStats(redis);
    const keys = await redis.keys(`${prefix}*`);
    let bytes = 0;
    for (const key of keys) bytes += Number(await redis.memory('USAGE', key));
    rows.push([
      c.name,
      label,
      fmt(reports / seconds),
      fmt(percentile(ms, 50), 2),
      fmt(percentile(ms, 99), 2),
      fmt((after.usec - before.usec) / Math.max(1, after.calls - before.calls)),
      fmt(bytes / 1024, 0),
      load(),
    ]);
    await cleanup(redis, prefix);
    await redis.quit();
  }
  return rows;
}

const rows = [...(await measure('this tree', THIS_MODULE))];
if (baseline !== undefined) rows.push(...(await measure(`baseline ${baseline}`, baseline)));
process.stdout.write(
  `### Storm tally reports on real Redis (${fmt(reports)} reports per case)\n\n${machineLine()}\n\n`,
);
process.stdout.write(
  table(
    [
      'case',
      'implementation',
      'reports/s',
      'p50 (ms)',
      'p99 (ms)',
      'in Redis (µs per call)',
      'kept in Redis (KiB)',
      'load average',
    ],
    rows,
  ),
);
process.stdout.write('\n');
