/**
 * One consumer of the pipeline benchmark, in a process of its own, driven by its parent over
 * IPC:
 *
 *   node bench/support/pipeline-consumer.ts pipeline <kubeconfig> <namespace> <redis prefix> <actors>
 *   node bench/support/pipeline-consumer.ts bare <kubeconfig> <namespace>
 *
 * `pipeline` is the agent's path from watch events to decisions, wired as startAgent wires it:
 * observe → policy index → ActorRegistry → ActorHost (snapshots to Redis, effects to BullMQ,
 * Kubernetes Events recorded, runtime metrics), with enough in-memory-only actors (pods of a
 * namespace that exists only as actors) to reach `<actors>` live actors. `bare` only consumes the
 * same events with a no-op handler: the floor no pipeline can beat.
 *
 * Live watches: the pipeline uses kube-remedy's list-watch (as the agent does), the bare consumer
 * client-node's ListWatch. Replays (a capacity test) use client-node's ListWatch in both, given a
 * list function that returns nothing but an old resourceVersion, so the API server streams every
 * event since then as fast as the consumer takes them.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import {
  CoreV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { toEffectJob } from '../../src/actors/effect-jobs.ts';
import { ActorHost } from '../../src/actors/host.ts';
import { ActorRegistry } from '../../src/actors/registry.ts';
import { SnapshotStore } from '../../src/actors/snapshot-store.ts';
import { EventRecorder } from '../../src/adapters/kubernetes/events.ts';
import { startListWatch, type RunningListWatch } from '../../src/adapters/kubernetes/list-watch.ts';
import { PODS } from '../../src/adapters/kubernetes/resource.ts';
import { EffectQueues } from '../../src/effects/queues.ts';
import { systemClock, type MachinePolicy } from '../../src/machines/index.ts';
import type { ObservableObject } from '../../src/observe/index.ts';
import { PolicyIndex } from '../../src/policy/index.ts';
import { parsePolicy } from '../../src/policy/policy.ts';
import { createMetricsRegistry } from '../../src/telemetry/metrics.ts';
import { createRuntimeMetrics } from '../../src/telemetry/runtime-metrics.ts';
import { podObject, silentLogger } from './objects.ts';
import { redisUrl } from './redis.ts';

export type ConsumerCommand =
  | { cmd: 'watch' }
  | { cmd: 'phase'; phase: string }
  /**
   * `settled`: the phase is over, so the heap may be measured after a full GC. Asked while events
   * are still arriving, a forced GC would stop them for hundreds of milliseconds and be measured
   * as their latency.
   */
  | { cmd: 'report'; settled?: boolean }
  | { cmd: 'unwatch' }
  | { cmd: 'replay'; fromVersion: string; expected: number }
  | { cmd: 'exit' };

export interface PhaseReport {
  phase: string;
  events: number;
  /** ms (performance.now of this process) of the first event received and the last one done. */
  firstReceived: number;
  lastDone: number;
  /** Event to decision of each event, ms (pipeline only). */
  /** Event arrived → its transition persisted and effects handed on (ms). */
  latencies: number[];
  /** Event arrived → its actor took the transition, before persisting (ms). */
  decided: number[];
  /** The same for events of crash-looping pods only (detections, decisions, jobs). */
  crashLatencies: number[];
  /** Of that, the time inside ActorHost.send (transition, snapshot persisted, effects enqueued). */
  inHost: number[];
  /** Event loop delay during the phase, ms: p50, p99, max. */
  loopDelay: [number, number, number];
  /** Round trips of a PING on the snapshot store's Redis connection, every 20 ms, ms. */
  redisRtt: number[];
  /** Garbage collection pauses during the phase: count, total and longest (all, major), ms. */
  gc: { count: number; totalMs: number; maxMs: number; majors: number; maxMajorMs: number };
  heapUsed: number;
}

export type ConsumerMessage =
  | { type: 'ready'; actors: number; heapUsed: number; spawnSeconds: number }
  | { type: 'watching'; objects: number }
  | { type: 'report'; report: PhaseReport }
  | { type: 'unwatched' }
  | { type: 'error'; message: string };

const [role = '', kubeconfig = '', namespace = '', prefix = '', actorsArg = '0'] =
  process.argv.slice(2);
const send = (message: ConsumerMessage): void => void process.send?.(message);
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const logger = silentLogger();
const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

// ---- accounting, the same for both roles -------------------------------------------------------
let phase = 'setup';
let current: PhaseReport = newReport(phase);
function newReport(name: string): PhaseReport {
  return {
    phase: name,
    events: 0,
    firstReceived: 0,
    lastDone: 0,
    latencies: [],
    decided: [],
    crashLatencies: [],
    inHost: [],
    gc: { count: 0, totalMs: 0, maxMs: 0, majors: 0, maxMajorMs: 0 },
    loopDelay: [0, 0, 0],
    redisRtt: [],
    heapUsed: 0,
  };
}
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
/**
 * The report so far, with the event loop delay since the phase began. The heap is measured after
 * a forced GC only once the phase is over (`settled`), and the GC and loop figures are taken
 * before it, so the forced collection is never counted as the phase's.
 */
function snapshotReport(settled: boolean): PhaseReport {
  const ms = (ns: number): number => ns / 1e6;
  const report = {
    ...current,
    gc: { ...current.gc },
    loopDelay: [ms(loop.percentile(50)), ms(loop.percentile(99)), ms(loop.max)] as [
      number,
      number,
      number,
    ],
  };
  return { ...report, heapUsed: settled ? heap() : process.memoryUsage().heapUsed };
}
function beginPhase(name: string): void {
  phase = name;
  current = newReport(name);
  loop.reset();
}
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    current.gc.count += 1;
    current.gc.totalMs += entry.duration;
    current.gc.maxMs = Math.max(current.gc.maxMs, entry.duration);
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      current.gc.majors += 1;
      current.gc.maxMajorMs = Math.max(current.gc.maxMajorMs, entry.duration);
    }
  }
}).observe({ entryTypes: ['gc'] });
let replayExpected = Infinity;
let replayDone: (() => void) | undefined;
function received(): number {
  const now = performance.now();
  if (current.events === 0 && current.firstReceived === 0) current.firstReceived = now;
  return now;
}
function done(startedAt: number, measured: boolean, crashLooping = false): void {
  const now = performance.now();
  current.events += 1;
  current.lastDone = now;
  if (measured) current.latencies.push(now - startedAt);
  if (measured && crashLooping) current.crashLatencies.push(now - startedAt);
  if (current.events >= replayExpected) replayDone?.();
}

// ---- the pipeline ------------------------------------------------------------------------------
type Handler = (object: KubernetesObject, deleted: boolean) => void;
let handle: Handler = (object, deleted) => {
  void object;
  void deleted;
  done(received(), false);
};
const closers: (() => Promise<void>)[] = [];
/** When each pod's latest event arrived, by actor key, for the time to its decision. */
const arrivals = new Map<string, number>();

if (role === 'pipeline') {
  const synthetic = `${namespace}-only-actors`;
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
  const bull = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  closers.push(async () => {
    redis.disconnect();
    bull.disconnect();
    await Promise.resolve();
  });
  const sampler = setInterval(() => {
    if (phase === 'setup') return;
    const t0 = performance.now();
    void redis.ping().then(() => current.redisRtt.push(performance.now() - t0));
  }, 20);
  closers.push(() => {
    clearInterval(sampler);
    return Promise.resolve();
  });
  const metrics = createRuntimeMetrics(createMetricsRegistry({ version: 'bench', role: 'agent' }));
  const owner = 'agent-bench';
  const store = new SnapshotStore({ redis, keyPrefix: prefix, owner });
  const queues = new EffectQueues({ connection: bull, keyPrefix: prefix });
  closers.push(() => queues.close());
  const recorder = new EventRecorder(kc, {
    component: 'kube-remedy-agent',
    instance: 'bench',
    logger,
  });
  const host = new ActorHost({
    clock: systemClock,
    store,
    logger,
    metrics,
    // As the agent: snapshots keep their policy by reference.
    policyOf: (ref): MachinePolicy | undefined => registry.machinePolicyOf(ref),
    effects: {
      enqueue: async (request, actor, context) => {
        const job = toEffectJob(request, { owner, policyRef: actor.policyRef, actor: context });
        if (job === undefined) return;
        await queues.enqueue(job);
        metrics.effectsEnqueued.inc({ integration: 'kubernetes', kind: request.effect.kind });
      },
    },
    events: {
      record: async (actor, event) => {
        const [kind = '', ns = '', name = ''] = actor.key.split('/');
        // Actors of the in-memory-only namespace have no object to put an Event on.
        if (ns !== namespace) return;
        await recorder.record({ apiVersion: 'v1', kind, namespace: ns, name }, event);
        metrics.eventsRecorded.inc({ type: event.type, reason: event.reason });
      },
    },
  });
  closers.push(() => host.stopAll());
  // Time spent inside the host, for the breakdown of each event's latency.
  const hostSend = host.send.bind(host);
  host.send = async (key, event, onDecided) => {
    const t0 = performance.now();
    const arrived = event.type === 'OBSERVED' ? arrivals.get(key) : undefined;
    await hostSend(key, event, () => {
      onDecided?.();
      if (arrived !== undefined && phase !== 'setup')
        current.decided.push(performance.now() - arrived);
    });
    if (event.type === 'OBSERVED' && phase !== 'setup') current.inHost.push(performance.now() - t0);
  };
  const index = new PolicyIndex({
    agentNamespace: 'kube-remedy-system',
    onChange: (change) => registry.governanceChanged(change),
  });
  const registry = new ActorRegistry({
    host,
    index,
    now: () => systemClock.now(),
    logger,
    metrics,
    factsFor: () => ({ inhibited: null }),
  });
  for (const ns of [namespace, synthetic]) {
    const parsed = parsePolicy({
      metadata: { namespace: ns, name: 'restart-crash-loops', generation: 1 },
      spec: {
        selector: { kinds: ['Pod'], matchLabels: { app: 'bench' } },
        mode: 'auto',
        detections: [
          { type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' },
        ],
      },
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    index.setPolicy(parsed.policy);
    registry.policyChanged(parsed.policy);
  }

  // Actors for objects that exist only as actors, each with one healthy observation, made from
  // JSON as a watch would deliver it (so its strings are its own).
  const wanted = Number(actorsArg);
  const t0 = performance.now();
  for (let i = 0; i < wanted; i += 1_000) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(wanted, i + 1_000); j++) {
      const pod = JSON.parse(
        JSON.stringify(podObject(synthetic, `idle-${j}`, { restarts: 0, crashLooping: false })),
      ) as ObservableObject;
      batch.push(registry.upsert(pod));
    }
    await Promise.all(batch);
  }
  await host.flushAll();
  send({
    type: 'ready',
    actors: host.size,
    heapUsed: heap(),
    spawnSeconds: (performance.now() - t0) / 1000,
  });

  // What the agent's watch does with every event (see startAgent).
  handle = (object, deleted) => {
    const startedAt = received();
    const measured = phase !== 'setup';
    arrivals.set(
      `Pod/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`,
      startedAt,
    );
    const work = deleted
      ? registry.delete(object as unknown as ObservableObject)
      : registry.upsert(object as unknown as ObservableObject, systemClock.now());
    const crashLooping =
      (object as V1Pod).status?.containerStatuses?.[0]?.state?.waiting?.reason ===
      'CrashLoopBackOff';
    void work.then(() => done(startedAt, measured, crashLooping));
  };
}

// ---- watches -----------------------------------------------------------------------------------
let live: { stop: () => Promise<void> } | undefined;

function clientNodeListWatch(
  list: () => Promise<KubernetesListObject<V1Pod>>,
  onEvent: Handler,
): ListWatch<V1Pod> {
  const informer = new ListWatch<V1Pod>(
    `/api/v1/namespaces/${namespace}/pods`,
    new Watch(kc),
    list,
    false,
  );
  informer.on('add', (pod) => onEvent(pod, false));
  informer.on('update', (pod) => onEvent(pod, false));
  informer.on('delete', (pod) => onEvent(pod, true));
  return informer;
}

async function watch(): Promise<number> {
  if (role === 'pipeline') {
    let objects = 0;
    const running: RunningListWatch = startListWatch<KubernetesObject>(kc, {
      resource: PODS,
      namespace,
      logger,
      onEvent: (event) => {
        objects += event.type === 'upsert' ? 1 : 0;
        handle(event.object, event.type === 'delete');
      },
    });
    live = running;
    await running.synced;
    await registrySettled();
    return objects;
  }
  const core = kc.makeApiClient(CoreV1Api);
  const informer = clientNodeListWatch(() => core.listNamespacedPod({ namespace }), handle);
  live = { stop: () => informer.stop() };
  await informer.start();
  return informer.list().length;
}

/** In the pipeline, waits until every event so far has reached its actor. */
async function registrySettled(): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const before = current.events;
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (current.events === before) return;
  }
}

async function replay(fromVersion: string, expected: number): Promise<PhaseReport> {
  beginPhase('replay');
  replayExpected = expected;
  const finished = new Promise<void>((resolve) => (replayDone = resolve));
  const empty = (): Promise<KubernetesListObject<V1Pod>> =>
    Promise.resolve({
      apiVersion: 'v1',
      kind: 'PodList',
      items: [],
      metadata: { resourceVersion: fromVersion },
    });
  const informer = clientNodeListWatch(empty, handle);
  let failed: unknown;
  informer.on('error', (error: unknown) => {
    failed = error;
    replayDone?.();
  });
  // A second connect means the watch ended and ListWatch relisted: with the empty list that is
  // the same old version again (410 Gone: the API server's watch cache no longer has it).
  let connects = 0;
  informer.on('connect', () => {
    connects += 1;
    if (connects > 1) {
      failed = new Error(`the watch from resourceVersion ${fromVersion} ended early (410 Gone?)`);
      replayDone?.();
    }
  });
  await informer.start();
  const timeout = setTimeout(() => replayDone?.(), 120_000);
  await finished;
  clearTimeout(timeout);
  // Errors after this point are the watch being stopped.
  const failure = failed;
  await informer.stop();
  replayExpected = Infinity;
  if (failure !== undefined) {
    throw new Error(
      `replay failed after ${current.events} events: ${failure instanceof Error ? failure.message : JSON.stringify(failure)}`,
    );
  }
  return snapshotReport(true);
}

process.on('message', (message: ConsumerCommand) => {
  void (async () => {
    try {
      switch (message.cmd) {
        case 'watch':
          send({ type: 'watching', objects: await watch() });
          break;
        case 'phase':
          beginPhase(message.phase);
          break;
        case 'report':
          send({ type: 'report', report: snapshotReport(message.settled === true) });
          break;
        case 'unwatch':
          await live?.stop();
          live = undefined;
          send({ type: 'unwatched' });
          break;
        case 'replay':
          send({ type: 'report', report: await replay(message.fromVersion, message.expected) });
          break;
        case 'exit':
          await live?.stop();
          for (const close of closers.reverse()) await close().catch(() => undefined);
          process.exit(0);
      }
    } catch (error) {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
if (role === 'bare') send({ type: 'ready', actors: 0, heapUsed: heap(), spawnSeconds: 0 });
