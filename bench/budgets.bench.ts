/**
 * What a budget take costs on real Redis, and what it costs under contention: the workers take a
 * token before every disruptive action. This tree takes it in an optimistic transaction (WATCH,
 * read, decide with budgets/rules.ts, MULTI/EXEC); `--baseline` measures another Budgets module
 * side by side in the same run (e.g. the one before, which ran a Lua script).
 *
 *   node bench/budgets.bench.ts [takes=2000] [--baseline <budgets module>]
 *
 * Cases, each on a fresh key prefix:
 * - sequential: `takes` takes one after another from one process, three scopes each, never denied
 *   (the common case: a worker acting);
 * - contended: four processes' worth of connections take 40 tokens at once from scopes with a
 *   limit of 10, twenty times over; exactly 10 must be allowed each time (counted, not assumed).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { fmt, load, machineLine, percentile, table } from './support/report.ts';

const THIS_MODULE = new URL('../src/budgets/budgets.ts', import.meta.url).pathname;

interface Scope {
  scope: string;
  limit: number;
  windowMs: number;
}
interface BudgetsLike {
  take(actionId: string, scopes: readonly Scope[], now?: number): Promise<{ decision: string }>;
  close?: () => Promise<void>;
}
type BudgetsClass = new (redis: Redis, prefix: string) => BudgetsLike;

const args = process.argv.slice(2);
const baselineAt = args.indexOf('--baseline');
const baseline = baselineAt >= 0 ? args[baselineAt + 1] : undefined;
const takes = Number(args.find((a, i) => !a.startsWith('--') && i !== baselineAt + 1) ?? 2000);
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function measure(label: string, module: string): Promise<string[][]> {
  const { Budgets } = (await import(pathToFileURL(module).href)) as { Budgets: BudgetsClass };
  const rows: string[][] = [];

  // Sequential: the latency of one take.
  {
    const prefix = `bench-budgets-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(url);
    const budgets = new Budgets(redis, prefix);
    const scopes: Scope[] = [
      { scope: 'policy/shop/p', limit: takes + 1, windowMs: 3_600_000 },
      { scope: 'namespace/shop', limit: takes + 1, windowMs: 3_600_000 },
      { scope: 'cluster', limit: takes + 1, windowMs: 3_600_000 },
    ];
    const ms: number[] = [];
    const started = performance.now();
    for (let i = 0; i < takes; i += 1) {
      const t = performance.now();
      const d = await budgets.take(`a-${i}`, scopes, Date.now());
      ms.push(performance.now() - t);
      if (d.decision !== 'allowed') throw new Error(`take ${i} was ${d.decision}`);
    }
    const seconds = (performance.now() - started) / 1000;
    rows.push([
      'sequential, 3 scopes',
      label,
      fmt(takes / seconds),
      fmt(percentile(ms, 50), 2),
      fmt(percentile(ms, 99), 2),
      '—',
      load(),
    ]);
    await budgets.close?.();
    await cleanup(redis, prefix);
    await redis.quit();
  }

  // Contended: 40 takers on 4 connections race for 10 tokens, 20 rounds.
  {
    const prefix = `bench-budgets-${randomUUID().slice(0, 8)}`;
    const connections = Array.from({ length: 4 }, () => new Redis(url));
    const stores = connections.map((c) => new Budgets(c, prefix));
    const ms: number[] = [];
    let exact = 0;
    const rounds = 20;
    const started = performance.now();
    for (let round = 0; round < rounds; round += 1) {
      const scopes: Scope[] = [{ scope: `policy/race/${round}`, limit: 10, windowMs: 3_600_000 }];
      const decisions = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const t = performance.now();
          const d = await (stores[i % stores.length] as BudgetsLike).take(
            `r${round}-${i}`,
            scopes,
            Date.now(),
          );
          ms.push(performance.now() - t);
          return d.decision;
        }),
      );
      if (decisions.filter((d) => d === 'allowed').length === 10) exact += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    rows.push([
      '40 racing for 10, 4 connections',
      label,
      fmt((rounds * 40) / seconds),
      fmt(percentile(ms, 50), 2),
      fmt(percentile(ms, 99), 2),
      `${exact} of ${rounds}`,
      load(),
    ]);
    for (const s of stores) await s.close?.();
    await cleanup(connections[0] as Redis, prefix);
    for (const c of connections) await c.quit();
  }
  return rows;
}

const rows = [...(await measure('this tree', THIS_MODULE))];
if (baseline !== undefined) rows.push(...(await measure(`baseline ${baseline}`, baseline)));
process.stdout.write(
  `### Budget takes on real Redis (${fmt(takes)} sequential takes)\n\n${machineLine()}\n\n`,
);
process.stdout.write(
  table(
    [
      'case',
      'implementation',
      'takes/s',
      'p50 (ms)',
      'p99 (ms)',
      'exactly the limit',
      'load average',
    ],
    rows,
  ),
);
process.stdout.write('\n');
