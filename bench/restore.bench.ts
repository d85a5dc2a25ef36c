/**
 * Restoring 50,000 actors from real Redis, as an agent or the controller does on start: load
 * every snapshot of the owner (HSCAN of one hash, JSON parse, machine version check), restore
 * each into an actor through ActorHost (deadlines re-armed with RESUME), then the first flush
 * (every restored actor persists again). Reported: the time of each step and the heap after.
 *
 *   node --expose-gc bench/restore.bench.ts [actors=50000] [--baseline <host module>] [--by-ref]
 *   (or: npm run bench restore)
 *
 * The snapshots are written first by real actors: 94% healthy with one observation, 5% in
 * `suspect` (a detection window open, its deadline armed) and 1% `remediating` (an effect
 * awaited, its timeout armed). Each restore runs in a fresh process so the heap is its own, in
 * two ways: as startAgent does today (no policy given: each actor keeps the policy parsed from its
 * snapshot) and with the governing policy handed over (one shared object). `--baseline` restores
 * with another ActorHost implementation too, side by side (e.g. an older src/actors/host.ts copied
 * with its imports made absolute). `--by-ref`: the snapshots are written and restored with the
 * policy by reference (ActorHost's `policyOf`), as the agent and the controller store them.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { ActorHost as DefaultHost, MACHINE_TAGS } from '../src/actors/host.ts';
import { restoreActors } from '../src/actors/restore.ts';
import { SnapshotStore } from '../src/actors/snapshot-store.ts';
import { systemClock } from '../src/machines/index.ts';
import {
  BENCH_POLICY_REF,
  benchPolicy,
  observed,
  podObject,
  silentLogger,
} from './support/objects.ts';
import { benchRedis, deleteKeys, redisUrl } from './support/redis.ts';
import {
  fmt,
  heapUsed,
  load,
  machineLine,
  mb,
  progress,
  requireGc,
  table,
} from './support/report.ts';

const OWNER = 'agent-bench-node';
const PAGED = 'paged (restoreActors, as the roles start)';
const ALL_AT_ONCE = 'all at once, as the roles did (no policy given)';
const SHARED = 'all at once, policy handed over (one shared object)';
const NAMESPACE = 'bench';

interface RestoreResult {
  variant: string;
  actors: number;
  loadMs: number;
  restoreMs: number;
  flushMs: number;
  heapBefore: number;
  heapAfter: number;
  rss: number;
  /** Peak resident set of the process (VmHWM), MB. */
  peakRssMb: number;
  totalMs: number;
  states: Record<string, number>;
  load: string;
}

// ---- child: one restore in a process of its own ------------------------------------------------
if (process.argv[2] === '--child') {
  requireGc('bench/restore.bench.ts');
  const [, , , prefix = '', variant = '', hostModule = '', byRef = ''] = process.argv;
  // Another ActorHost implementation, for a before/after comparison in the same run.
  const { ActorHost } = (
    hostModule ? await import(pathToFileURL(hostModule).href) : { ActorHost: DefaultHost }
  ) as { ActorHost: typeof DefaultHost };
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
  const logger = silentLogger();
  const store = new SnapshotStore({ redis, keyPrefix: prefix, owner: OWNER });
  await redis.ping();
  const heapBefore = heapUsed();
  const loadAvg = load();
  const host = new ActorHost({
    clock: systemClock,
    store,
    logger,
    effects: { enqueue: () => Promise.resolve() },
    ...(byRef === 'by-ref' ? { policyOf: () => benchPolicy } : {}),
  });
  const t0 = performance.now();
  let [t1, t2] = [NaN, NaN];
  if (variant === PAGED) {
    // As the agent and the controller start: a page read, restored and persisted at a time.
    await restoreActors(host, store, { logger });
  } else {
    const loaded = await store.load(MACHINE_TAGS);
    t1 = performance.now();
    for (const [key, record] of loaded.snapshots) {
      host.restore(
        key,
        record.snapshot,
        variant === SHARED ? benchPolicy : undefined,
        BENCH_POLICY_REF,
      );
    }
    t2 = performance.now();
    await host.flushAll();
    loaded.snapshots.clear();
  }
  const t3 = performance.now();
  const states: Record<string, number> = {};
  for (const key of host.keys()) {
    const value = String(host.snapshot(key)?.value);
    states[value] = (states[value] ?? 0) + 1;
  }
  const result: RestoreResult = {
    variant,
    actors: host.size,
    loadMs: t1 - t0,
    restoreMs: t2 - t1,
    flushMs: t3 - t2,
    totalMs: t3 - t0,
    peakRssMb:
      Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024,
    heapBefore,
    heapAfter: heapUsed(),
    rss: process.memoryUsage().rss,
    states,
    load: loadAvg,
  };
  process.send?.(result);
  // Stop the actors without touching their snapshots (a process going away).
  await host.stopAll();
  redis.disconnect();
  process.exit(0);
}

// ---- parent: write the snapshots, run the restores, clean up ------------------------------------
requireGc('bench/restore.bench.ts');
const args = process.argv.slice(2);
const baselineAt = args.indexOf('--baseline');
const baseline = baselineAt >= 0 ? args.splice(baselineAt, 2)[1] : undefined;
const byRefAt = args.indexOf('--by-ref');
const BY_REF = byRefAt >= 0;
if (BY_REF) args.splice(byRefAt, 1);
if (BY_REF && baseline !== undefined)
  throw new Error('--by-ref and --baseline: a host before policyOf cannot read such snapshots');
const ACTORS = Number(args[0] ?? 50_000);
const scratch = await benchRedis('restore');
try {
  progress(`writing ${fmt(ACTORS)} snapshots with real actors`);
  const store = new SnapshotStore({
    redis: scratch.redis,
    keyPrefix: scratch.prefix,
    owner: OWNER,
  });
  const writer = new DefaultHost({
    clock: systemClock,
    store,
    logger: silentLogger(),
    effects: { enqueue: () => Promise.resolve() },
    ...(BY_REF ? { policyOf: () => benchPolicy } : {}),
  });
  for (let i = 0; i < ACTORS; i++) {
    const name = `app-${i}`;
    const key = `Pod/${NAMESPACE}/${name}`;
    writer.spawn(key, benchPolicy, BENCH_POLICY_REF, { inhibited: null });
    const now = systemClock.now();
    void writer.send(
      key,
      observed(podObject(NAMESPACE, name, { restarts: 0, crashLooping: false }), now),
    );
    // 5% suspect (2 crash-loop restarts seen), 1% remediating (3 seen: restart asked for).
    const crashes = i % 100 < 5 ? 2 : i % 100 === 5 ? 3 : 0;
    for (let r = 1; r <= crashes; r++) {
      void writer.send(
        key,
        observed(podObject(NAMESPACE, name, { restarts: r, crashLooping: true }), now),
      );
    }
    if (i % 5_000 === 4_999) await writer.flushAll();
  }
  await writer.flushAll();
  const bytes = Number(await scratch.redis.call('MEMORY', 'USAGE', store.key, 'SAMPLES', '0'));
  const fields = await scratch.redis.hlen(store.key);
  const sample = await scratch.redis.hget(store.key, `Pod/${NAMESPACE}/app-10`);
  // Stop the writer's actors, keeping their snapshots (as a shutdown does).
  for (const key of [...writer.keys()]) await writer.stop(key, { forget: false });

  const runChild = (variant: string, hostModule = ''): Promise<RestoreResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--expose-gc',
          fileURLToPath(import.meta.url),
          '--child',
          scratch.prefix,
          variant,
          hostModule,
          BY_REF ? 'by-ref' : '',
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      let result: RestoreResult | undefined;
      child.on('message', (message: RestoreResult) => (result = message));
      child.once('exit', (code) =>
        result ? resolve(result) : reject(new Error(`restore child exited with ${String(code)}`)),
      );
    });
  const results: RestoreResult[] = [];
  for (const variant of [PAGED, ALL_AT_ONCE, SHARED]) {
    progress(`restoring in a fresh process: ${variant}`);
    results.push(await runChild(variant));
    // The paged restore needs this tree's host (ActorHost.settled).
    if (baseline !== undefined && variant !== PAGED) {
      progress(`restoring in a fresh process: ${variant}, baseline host ${baseline}`);
      const result = await runChild(variant, baseline);
      results.push({ ...result, variant: `${variant}; baseline ${baseline}` });
    }
  }

  const rows = results.map((r) => [
    r.variant,
    fmt(r.actors),
    Number.isNaN(r.loadMs) ? '—' : fmt(r.loadMs),
    Number.isNaN(r.restoreMs) ? '—' : fmt(r.restoreMs),
    Number.isNaN(r.flushMs) ? '—' : fmt(r.flushMs),
    fmt(r.totalMs / 1000, 2),
    mb(r.heapAfter),
    fmt((r.heapAfter - r.heapBefore) / r.actors),
    mb(r.rss),
    fmt(r.peakRssMb, 1),
    r.load,
  ]);
  const states = Object.entries(results[0]?.states ?? {})
    .map(([state, n]) => `${state} ${fmt(n)}`)
    .join(', ');
  const lines = [
    `### Restore of ${fmt(ACTORS)} actors from Redis`,
    '',
    machineLine(),
    '',
    `Snapshots${BY_REF ? ' (policy by reference, as the roles store them)' : ' (whole policy in each)'}: ${fmt(fields)} fields in one hash, ${mb(bytes)} MB in Redis (MEMORY USAGE), ` +
      `${fmt((sample ?? '').length)} bytes of JSON for a healthy pod. States after restore: ${states}.`,
    '',
    table(
      [
        'restore',
        'actors',
        'load (ms)',
        'restore (ms)',
        'first flush (ms)',
        'total (s)',
        'heap after (MB)',
        'heap per actor (B)',
        'RSS after (MB)',
        'peak RSS (MB)',
        'load average',
      ],
      rows,
    ),
    '',
    'load = SnapshotStore.load (HSCAN COUNT 1000, JSON.parse, version check); restore =',
    'ActorHost.restore for each (createActor from the snapshot, start, POLICY when given, RESUME);',
    'first flush = every restored actor persisted again (coalesced HSET pipelines). Heap after',
    'full collections, the loaded records released; per actor = (after − before) / actors.',
    `${PAGED}: src/actors/restore.ts, as the agent and the controller start (HSCAN pages of 1,000`,
    'records, each restored and persisted again before the next is read): the three steps',
    'interleave, so only the total is given. Peak RSS = VmHWM of the restoring process.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  const deleted = await deleteKeys(scratch.redis, scratch.prefix);
  await scratch.cleanup();
  progress(`deleted ${deleted} Redis keys under ${scratch.prefix}`);
}
