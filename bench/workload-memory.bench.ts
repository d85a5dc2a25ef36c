/**
 * The cost of workload memory (docs/adr/0014, part 4) at 50,000 pod actors: the same actors and
 * events through ActorHost without it (the baseline) and with it, each case in a fresh process,
 * all in one run:
 *
 * - baseline: facts `{ inhibited: null }`, no WorkloadKeeper (pods decide alone, as before);
 * - workload memory, in process: facts `{ inhibited: null, workloadMemory: true }`, the host's
 *   `workloads` a WorkloadKeeper over a MemoryWorkloadStore, `noteTransition` called from
 *   `onTransition`, as startAgent wires it;
 * - workload memory on Redis: the same over a RedisWorkloadStore on the real Redis (REDIS_URL or
 *   127.0.0.1:6379, a key prefix of the run's own, deleted at the end), as the agent runs it.
 *
 *   node --expose-gc bench/workload-memory.bench.ts [actors=50000] [rounds=1] [case…]
 *   (or: npm run bench workload-memory)
 *
 * The pods belong to 200 Deployments (each pod owned by the ReplicaSet `<deployment>-<hash>`,
 * labelled `pod-template-hash: <hash>`) and reach the host as a watch would hand them over:
 * parsed from JSON, observed and analyzed, sent as OBSERVED with the runtime's facts. Measured:
 *
 * 1. Heap per actor (after full collections) and RSS once every actor is spawned and has seen its
 *    pod once, healthy;
 * 2. event → transition taken (`ActorHost.send`'s `onDecided`, the pipeline's event → decision)
 *    for a changed healthy observation of every actor, and for the crash-loop observations that
 *    open and count a detection window (10 pods of every Deployment, 2 each);
 * 3. for the observation that confirms the crash loop: the transition taken, and the time until
 *    the actor has decided what to do (remediating, or joined to another pod's incident). Without
 *    workload memory that is the same transition; with it, the claim goes to the keeper once the
 *    `claiming` snapshot is stored, and the decision follows its answer (WORKLOAD). Also
 *    claim → answer delivered. 1,000 claims across 100 Deployments paced (one every 2 ms), and
 *    1,000 across another 100 in bursts of 200 (two pods of every Deployment at once);
 * 4. claims straight on the store (no actors, no keeper): 1,000 across 100 workloads one at a
 *    time, and 1,000 across another 100 all at once.
 *
 * The snapshot store keeps nothing and effects go nowhere, so the figures are the actors' and the
 * workload memory's alone: in the agent a claim also waits for its `claiming` snapshot to be in
 * Redis (the pipeline benchmark's event → persisted).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ActorHost } from '../src/actors/host.ts';
import { analyzeObject } from '../src/analyzers/index.ts';
import { WorkloadKeeper } from '../src/actors/workload-memory.ts';
import { systemClock, type MachineEvent, type RuntimeFacts } from '../src/machines/index.ts';
import type { PodObject } from '../src/observe/index.ts';
import { claim, type ClaimAnswer } from '../src/workloads/rules.ts';
import {
  MemoryWorkloadStore,
  RedisWorkloadStore,
  type WorkloadStore,
} from '../src/workloads/store.ts';
import {
  BENCH_POLICY_REF,
  benchPolicy,
  discardingStore,
  podObject,
  silentLogger,
} from './support/objects.ts';
import { benchRedis, redisUrl } from './support/redis.ts';
import {
  fmt,
  heapUsed,
  load,
  machineLine,
  percentile,
  progress,
  requireGc,
  sleep,
  table,
} from './support/report.ts';

const NAMESPACE = 'bench';
const DEPLOYMENTS = 200;
/** Crash-looping pods per Deployment. */
const CRASHING = 10;
/** Deployments whose pods confirm paced; the others confirm in bursts. */
const PACED_DEPLOYMENTS = 100;
const PACE_MS = 2;
const BURST_SIZE = 200;
/** Claims made straight on the store, across 100 workloads, each way. */
const DIRECT_CLAIMS = 1_000;
/** Events handed to the host per turn of the event loop (then flushes, claims and timers run). */
const CHUNK = 500;
const stateName = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);
/** States in which a confirmed crash loop has been decided. */
const UNDECIDED = new Set(['healthy', 'suspect', 'detected', 'claiming']);

type Case = 'baseline' | 'memory' | 'redis';
const CASE_NAMES: Record<Case, string> = {
  baseline: 'baseline: no workload memory',
  memory: 'workload memory, MemoryWorkloadStore',
  redis: 'workload memory, RedisWorkloadStore',
};

interface PhaseResult {
  name: string;
  events: number;
  /** Event → transition taken (ms). */
  decided: number[];
  /** Event → the crash loop decided (ms); confirming observations only. */
  toDecision: number[];
  /** Claim handed to the keeper → its answer delivered (ms). */
  claims: number[];
  /** Changes (transactions on Redis) and reads the keeper asked of the store. */
  changes: number;
  reads: number;
  load: string;
}

interface DirectClaims {
  how: 'one at a time' | 'all at once';
  /** Each claim's `store.change`, ms. */
  latencies: number[];
  perSecond: number;
  load: string;
}

interface ChildResult {
  which: Case;
  actors: number;
  bytesPerActor: number;
  heapAfterSpawn: number;
  rssBefore: number;
  rssAfterSpawn: number;
  spawnSeconds: number;
  heapAfterPhases: number;
  rssAfterPhases: number;
  phases: PhaseResult[];
  states: Record<string, number>;
  /** Claims straight on the store (no keeper, no actors); none for the baseline. */
  direct: DirectClaims[];
  /** One `WorkloadKeeper.poll()` once every crash loop is decided, ms (null: no keeper). */
  pollMs: number | null;
  load: string;
}

function deploymentOf(d: number): { name: string; hash: string } {
  // A pod-template-hash is 8–10 characters of [bcdfghjklmnpqrstvwxz2456789]; any will do here.
  return { name: `web-${d}`, hash: `7d${((d * 2_654_435_761) >>> 0).toString(36)}` };
}

// ---- child: one case in a process of its own ---------------------------------------------------
if (process.argv[2] === '--child') {
  requireGc('bench/workload-memory.bench.ts');
  const [, , , which = 'baseline', count = '0', prefix = ''] = process.argv as [
    string,
    string,
    string,
    Case,
    string,
    string,
  ];
  const actors = Number(count);
  const perDeployment = Math.ceil(actors / DEPLOYMENTS);
  const logger = silentLogger();
  const withMemory = which !== 'baseline';

  let redis: Redis | undefined;
  let inner: WorkloadStore | undefined;
  if (which === 'redis') {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
    await redis.ping();
    inner = new RedisWorkloadStore(redis, prefix);
  } else if (which === 'memory') inner = new MemoryWorkloadStore();
  // Counts what the keeper asks of the store (a change is one optimistic transaction on Redis).
  const store: WorkloadStore | undefined =
    inner === undefined
      ? undefined
      : {
          change: (workload, type, change) => {
            phase.changes += 1;
            return inner.change(workload, type, change);
          },
          read: (workload) => {
            phase.reads += 1;
            return inner.read(workload);
          },
          unheld: (now, limit) => inner.unheld(now, limit),
          forgetUnheld: (entry) => inner.forgetUnheld(entry),
          close: () => inner.close(),
        };

  /** Confirming observations waiting for their crash loop to be decided: key → sent at (ms). */
  const awaiting = new Map<string, number>();
  const claimedAt = new Map<string, number>();
  let phase: PhaseResult = newPhase('');
  let allDecided: (() => void) | undefined;

  function newPhase(name: string): PhaseResult {
    return {
      name,
      events: 0,
      decided: [],
      toDecision: [],
      claims: [],
      changes: 0,
      reads: 0,
      load: load(),
    };
  }

  // As startAgent wires them: the keeper answers claims through the host, and hears of every
  // transition of a pod actor.
  let keeper: WorkloadKeeper | undefined;
  const host: ActorHost = new ActorHost({
    clock: systemClock,
    store: discardingStore,
    logger,
    effects: { enqueue: () => Promise.resolve() },
    ...(withMemory
      ? {
          workloads: {
            claim: (request) => {
              claimedAt.set(request.actorKey, performance.now());
              keeper?.claim(request);
            },
          },
        }
      : {}),
    onTransition: (key, snapshot) => {
      keeper?.noteTransition(key, snapshot);
      const sentAt = awaiting.get(key);
      if (sentAt === undefined || UNDECIDED.has(stateName(snapshot.value))) return;
      awaiting.delete(key);
      phase.toDecision.push(performance.now() - sentAt);
      if (awaiting.size === 0) allDecided?.();
    },
  });
  if (store !== undefined) {
    keeper = new WorkloadKeeper({
      store,
      owner: 'agent-bench',
      deliver: (key, event) => {
        const at = claimedAt.get(key);
        if (event.type === 'WORKLOAD' && at !== undefined) {
          claimedAt.delete(key);
          phase.claims.push(performance.now() - at);
        }
        return host.send(key, event);
      },
      facts: (key, facts) => host.send(key, { type: 'FACTS', at: systemClock.now(), facts }),
      now: () => systemClock.now(),
      logger,
    });
  }
  // A fresh object per event, as the agent's factsFor makes them.
  const factsOf = (): Partial<RuntimeFacts> =>
    withMemory ? { inhibited: null, workloadMemory: true } : { inhibited: null };

  const podName = (d: number, i: number): string => {
    const { name, hash } = deploymentOf(d);
    return `${name}-${hash}-${i.toString(36).padStart(5, '0')}`;
  };
  const keyOf = (d: number, i: number): string => `Pod/${NAMESPACE}/${podName(d, i)}`;
  /** The pod as a watch hands it over: parsed from JSON, its strings its own. */
  const pod = (d: number, i: number, restarts: number, crashLooping: boolean): PodObject =>
    JSON.parse(
      JSON.stringify(
        podObject(NAMESPACE, podName(d, i), {
          restarts,
          crashLooping,
          deployment: deploymentOf(d),
        }),
      ),
    ) as PodObject;
  /** OBSERVED as the registry sends it: observed, analyzed, with the runtime's facts. */
  const event = (object: PodObject): MachineEvent => ({
    type: 'OBSERVED',
    at: systemClock.now(),
    ...analyzeObject(object),
    facts: factsOf(),
  });
  /**
   * Observes and analyzes the pod and hands it to its actor; timed from `receivedAt` (the event
   * reaching the watch handler: now, unless it arrived with others) to the transition.
   */
  const send = (
    d: number,
    i: number,
    object: PodObject,
    receivedAt: number = performance.now(),
  ): void => {
    phase.events += 1;
    void host.send(keyOf(d, i), event(object), () =>
      phase.decided.push(performance.now() - receivedAt),
    );
  };
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  // 1. Spawn every actor with its first (healthy) observation, as the registry does.
  const all: [number, number][] = [];
  for (let i = 0; i < perDeployment; i++) {
    for (let d = 0; d < DEPLOYMENTS && all.length < actors; d++) all.push([d, i]);
  }
  const heapBefore = heapUsed();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let n = 0; n < all.length; n++) {
    const [d, i] = all[n] as [number, number];
    host.spawn(keyOf(d, i), benchPolicy, BENCH_POLICY_REF, factsOf());
    void host.send(keyOf(d, i), event(pod(d, i, 0, false)));
    if (n % CHUNK === CHUNK - 1) await turn();
    if (n % 10_000 === 9_999) progress(`${CASE_NAMES[which]}: ${fmt(n + 1)} actors spawned`);
  }
  await host.flushAll();
  const spawnSeconds = (performance.now() - t0) / 1000;
  if (host.size !== actors) throw new Error(`expected ${actors} actors, the host has ${host.size}`);
  const heapAfterSpawn = heapUsed();
  const rssAfterSpawn = process.memoryUsage().rss;
  const phases: PhaseResult[] = [];

  // 2. A changed healthy observation of every actor (the restart count went up, running again).
  progress(`${CASE_NAMES[which]}: ${fmt(actors)} healthy observations`);
  phase = newPhase('healthy, changed');
  for (let n = 0; n < all.length; n++) {
    const [d, i] = all[n] as [number, number];
    send(d, i, pod(d, i, 1, false));
    if (n % CHUNK === CHUNK - 1) await turn();
  }
  await host.flushAll();
  phases.push(phase);

  // 3. Crash loops: 10 pods of every Deployment, seen crash-looping twice (window opened, counted).
  const crashing: [number, number][] = [];
  for (let j = 0; j < CRASHING; j++) for (let d = 0; d < DEPLOYMENTS; d++) crashing.push([d, j]);
  progress(`${CASE_NAMES[which]}: ${fmt(crashing.length)} pods seen crash-looping twice`);
  phase = newPhase('crash loop, window opened / counted');
  for (const restarts of [2, 3]) {
    for (let n = 0; n < crashing.length; n++) {
      const [d, j] = crashing[n] as [number, number];
      send(d, j, pod(d, j, restarts, true));
      if (n % CHUNK === CHUNK - 1) await turn();
    }
    await turn();
  }
  await host.flushAll();
  phases.push(phase);
  const notSuspect = crashing.filter(([d, j]) => host.snapshot(keyOf(d, j))?.value !== 'suspect');
  if (notSuspect.length > 0) throw new Error(`${notSuspect.length} pods are not in suspect`);

  /** The confirming observation: the clock runs until the crash loop is decided. */
  const confirm = (d: number, j: number, object: PodObject, receivedAt: number): void => {
    awaiting.set(keyOf(d, j), receivedAt);
    send(d, j, object, receivedAt);
  };
  const decidedAll = (): Promise<void> =>
    awaiting.size === 0
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => (allDecided = resolve)),
          sleep(60_000).then(() => {
            throw new Error(`${awaiting.size} confirmed crash loops were not decided in 60 s`);
          }),
        ]);

  // 4. Paced: 1,000 confirmations across 100 Deployments, one every 2 ms; the first pod of each
  //    Deployment leads its incident, the others join it.
  const paced = crashing.filter(([d]) => d < PACED_DEPLOYMENTS);
  progress(`${CASE_NAMES[which]}: ${fmt(paced.length)} confirmations, one every ${PACE_MS} ms`);
  phase = newPhase(`confirming, paced (one every ${PACE_MS} ms)`);
  for (const [d, j] of paced) {
    const object = pod(d, j, 4, true);
    confirm(d, j, object, performance.now());
    await sleep(PACE_MS);
  }
  await decidedAll();
  phases.push(phase);

  // 5. Bursts: 1,000 confirmations across the other 100 Deployments, 200 at once (two pods of
  //    each Deployment: one leads, one joins, in the first burst).
  const bursts = crashing.filter(([d]) => d >= PACED_DEPLOYMENTS);
  phase = newPhase(`confirming, bursts of ${BURST_SIZE} at once`);
  for (let b = 0; b * BURST_SIZE < bursts.length; b++) {
    progress(`${CASE_NAMES[which]}: burst ${b + 1}, ${BURST_SIZE} confirmations at once`);
    // Received together: each one's clock starts when the burst arrives, so the time the
    // actors before it take is its own wait (the baseline decides inside the send, memory after).
    const burst = bursts
      .slice(b * BURST_SIZE, (b + 1) * BURST_SIZE)
      .map(([d, j]) => [d, j, pod(d, j, 4, true)] as const);
    const arrived = performance.now();
    for (const [d, j, object] of burst) confirm(d, j, object, arrived);
    await decidedAll();
    await sleep(200);
  }
  phases.push(phase);
  await host.flushAll();
  await sleep(500); // the keeper's last reports and facts
  // What the agent does every refresh interval (15 s by default): tell the waiting pods where
  // their workload stands (one read per workload they wait on).
  let pollMs: number | null = null;
  phase = newPhase('poll');
  if (keeper !== undefined) {
    const started = performance.now();
    await keeper.poll();
    pollMs = performance.now() - started;
  }

  const heapAfterPhases = heapUsed();
  const rssAfterPhases = process.memoryUsage().rss;

  // 6. Claims straight on the store, without actors or keeper: 1,000 across 100 workloads of
  //    their own, one at a time, then 1,000 across another 100 all at once.
  const direct: DirectClaims[] = [];
  if (inner !== undefined) {
    const claimOn = (set: string, w: number, j: number): Promise<ClaimAnswer['role']> => {
      const actorKey = `Pod/${NAMESPACE}/claims-${set}-${w}-${j}`;
      return inner.change(`${NAMESPACE}/Deployment/claims-${set}-${w}`, 'CrashLoopBackOff', (m) => {
        const claimed = claim(m, {
          actorKey,
          incidentId: `${actorKey}#1`,
          trigger: { type: 'CrashLoopBackOff', reason: 'container app: back-off restarting' },
          verificationWindowMs: benchPolicy.verificationWindowMs,
          now: systemClock.now(),
        });
        return { memory: claimed.memory, result: claimed.answer.role };
      });
    };
    const order = (set: string): [string, number, number][] =>
      Array.from({ length: DIRECT_CLAIMS }, (_, n) => [set, n % 100, Math.floor(n / 100)]);
    for (const how of ['one at a time', 'all at once'] as const) {
      progress(`${CASE_NAMES[which]}: ${fmt(DIRECT_CLAIMS)} claims on the store, ${how}`);
      const latencies: number[] = [];
      let leads = 0;
      const timed = async ([set, w, j]: [string, number, number]): Promise<void> => {
        const t = performance.now();
        if ((await claimOn(set, w, j)) === 'lead') leads += 1;
        latencies.push(performance.now() - t);
      };
      const started = performance.now();
      if (how === 'one at a time') for (const each of order('a')) await timed(each);
      else await Promise.all(order('b').map(timed));
      const seconds = (performance.now() - started) / 1000;
      if (leads !== 100) throw new Error(`${leads} leads for 100 workloads`);
      direct.push({ how, latencies, perSecond: DIRECT_CLAIMS / seconds, load: load() });
    }
  }

  const states: Record<string, number> = {};
  for (const [d, j] of crashing) {
    const snapshot = host.snapshot(keyOf(d, j));
    const state = `${stateName(snapshot?.value)}${snapshot?.context.incident?.claim ? ` (${snapshot.context.incident.claim})` : ''}`;
    states[state] = (states[state] ?? 0) + 1;
  }
  const result: ChildResult = {
    which,
    actors,
    bytesPerActor: (heapAfterSpawn - heapBefore) / actors,
    heapAfterSpawn,
    rssBefore,
    rssAfterSpawn,
    spawnSeconds,
    heapAfterPhases,
    rssAfterPhases,
    phases,
    direct,
    states,
    pollMs,
    load: load(),
  };
  await store?.close();
  redis?.disconnect();
  // Exit once the result is handed to the parent (a large message takes more than one write).
  await new Promise<void>((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(result, undefined, {}, () => resolve());
  });
  process.exit(0);
}

// ---- parent -------------------------------------------------------------------------------------
requireGc('bench/workload-memory.bench.ts');
const ACTORS = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 1);
/** Only these cases (baseline, memory, redis); all three by default, in that order. */
const CASES = (process.argv.length > 4 ? process.argv.slice(4) : Object.keys(CASE_NAMES)) as Case[];
const unknown = CASES.filter((which) => !(which in CASE_NAMES));
if (unknown.length > 0) throw new Error(`no case ${unknown.join(', ')}: baseline, memory, redis`);
if (!(ACTORS >= DEPLOYMENTS * CRASHING))
  throw new Error(
    `at least ${DEPLOYMENTS * CRASHING} actors: ${CRASHING} crash-looping pods of each Deployment`,
  );
const scratch = await benchRedis('workload-memory');

function measure(which: Case, round: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        fileURLToPath(import.meta.url),
        '--child',
        which,
        String(ACTORS),
        // Each round's memory of its own: the same pods claiming again would find the incidents
        // of the round before open (and, as they should, go on along the ladder).
        `${scratch.prefix}:round-${round}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let result: ChildResult | undefined;
    child.on('message', (message: ChildResult) => (result = message));
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`${which} exited with ${String(code)}`)),
    );
  });
}

const mib = (bytes: number): string => fmt(bytes / 2 ** 20, 1);
const stats = (values: number[], digits = 2): string =>
  values.length === 0
    ? '—'
    : `${fmt(percentile(values, 50), digits)} / ${fmt(percentile(values, 99), digits)} / ${fmt(Math.max(...values), 1)}`;

try {
  const results: ChildResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const which of CASES) {
      progress(`round ${round}/${ROUNDS}: ${CASE_NAMES[which]}, ${fmt(ACTORS)} pod actors`);
      results.push(await measure(which, round));
    }
  }
  const label = (r: ChildResult, i: number): string =>
    `${CASE_NAMES[r.which]}${ROUNDS > 1 ? `, round ${Math.floor(i / CASES.length) + 1}` : ''}`;
  const memoryRows = results.map((r, i) => [
    label(r, i),
    fmt(r.bytesPerActor),
    mib(r.heapAfterSpawn),
    mib(r.rssAfterSpawn),
    fmt((r.rssAfterSpawn - r.rssBefore) / r.actors),
    mib(r.heapAfterPhases),
    mib(r.rssAfterPhases),
    fmt(r.spawnSeconds, 1),
    r.load,
  ]);
  const latencyRows = results.flatMap((r, i) =>
    r.phases.map((p) => [
      label(r, i),
      p.name,
      fmt(p.events),
      stats(p.decided),
      stats(p.toDecision),
      stats(p.claims),
      r.which === 'baseline' ? '—' : `${fmt(p.changes)} / ${fmt(p.reads)}`,
      p.load,
    ]),
  );
  const outcomeRows = results.map((r, i) => [
    label(r, i),
    Object.entries(r.states)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([state, n]) => `${state}: ${fmt(n)}`)
      .join(', '),
    r.pollMs === null ? '—' : fmt(r.pollMs, 1),
  ]);
  const lines = [
    `### Workload memory at ${fmt(ACTORS)} pod actors, beside the baseline`,
    '',
    machineLine(),
    '',
    `${fmt(ACTORS)} pod actors in ${DEPLOYMENTS} Deployments, each case in a fresh process. Heap after full collections once every actor has seen its pod once (healthy); MB = MiB.`,
    '',
    table(
      [
        'case',
        'heap per actor (B)',
        'heap with all actors (MB)',
        'RSS with all actors (MB)',
        'RSS per actor (B)',
        'heap after the phases (MB)',
        'RSS after the phases (MB)',
        'spawned in (s)',
        'load average',
      ],
      memoryRows,
    ),
    '',
    "Event → transition taken (the pipeline's event → decision: observe, analyze, the actor's transition); event → decided (confirming observations: until the actor remediates or joins another pod's incident, the claim's round trip included); claim → answer (the claim handed to the keeper once its `claiming` snapshot is stored, until the WORKLOAD answer is delivered). p50 / p99 / max, ms:",
    '',
    table(
      [
        'case',
        'observations',
        'events',
        'event → transition taken',
        'event → decided',
        'claim → answer',
        'store changes / reads',
        'load average',
      ],
      latencyRows,
    ),
    '',
    `Claims straight on the store (\`change\` with the claim rule; no actors, no keeper): ${fmt(DIRECT_CLAIMS)} across 100 workloads one at a time, then ${fmt(DIRECT_CLAIMS)} across another 100 all at once (10 pods of each: one leads, 9 join). p50 / p99 / max, ms:`,
    '',
    table(
      ['case', 'claims', 'claim latency', 'claims/s', 'load average'],
      results.flatMap((r, i) =>
        r.direct.map((c) => [label(r, i), c.how, stats(c.latencies), fmt(c.perSecond), c.load]),
      ),
    ),
    '',
    `Where the ${fmt(DEPLOYMENTS * CRASHING)} crash-looping pods ended (state, and the claim's answer), and one poll of the keeper after it (as the agent runs every refresh interval: a read of each workload a pod waits on):`,
    '',
    table(['case', 'states', 'keeper poll (ms)'], outcomeRows),
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  const deleted = await scratch.cleanup();
  progress(`deleted ${deleted} Redis keys under ${scratch.prefix}`);
}
