/**
 * Watch event → decision with 50,000 live actors in one process, side by side with a bare
 * informer consuming the same events in the same run.
 *
 *   node --expose-gc bench/pipeline.bench.ts [pods=2000] [liveWaves=5] [replayWaves=5] [actors=50000] [rounds=3]
 *   (or: npm run bench pipeline)
 *
 * The events come from the real API server: `pods` pods (on tainted kwok nodes, 110 a node, their
 * status owned by the benchmark so kwok leaves it alone) get their status patched in waves, each
 * pod once a wave: the restart count goes up every wave, and 5% of the pods crash-loop (waiting
 * CrashLoopBackOff), so their actors detect, decide to restart them, persist and enqueue the
 * restart job; the rest stay healthy with a changed observation, which is persisted too. Every
 * event is a change the pipeline must act on (none is dropped as unchanged).
 *
 * Two consumers, each in a process of its own (bench/support/pipeline-consumer.ts):
 * - pipeline: the agent's path (kube-remedy's list-watch → ActorRegistry → ActorHost, snapshots
 *   to Redis, jobs to BullMQ, Kubernetes Events, metrics) holding `actors` live actors, most of
 *   them for pods that exist only as actors;
 * - bare: client-node's ListWatch with no-op handlers.
 *
 * Live: both watch while the waves are written; the pipeline records each event's time from
 * arriving in the watch handler to its actor's transition taken (the decision, what the
 * registry's event_to_decision metric measures) and to that transition persisted with its effects
 * handed on (event_to_persisted). Throughput = events / (last done − first received), limited by
 * how fast the API server takes the writes.
 * Replay: with nobody watching, more waves are written; then each consumer in turn watches from
 * the resourceVersion before them (client-node's ListWatch in both), and the API server streams
 * them as fast as each takes them: consumer capacity, measured on the same events. `rounds` times,
 * on fresh waves, who goes first alternating; the median of the rounds' ratios is the result.
 * Targets: p99 ≤ 20 ms at 50k actors; pipeline throughput ≥ 70% of the bare informer's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConsumerCommand, ConsumerMessage, PhaseReport } from './support/pipeline-consumer.ts';
import {
  Cleanup,
  createBenchNodes,
  createNamespace,
  createPods,
  deleteNamespace,
  deleteNodes,
  inParallel,
  suffix,
  useCluster,
  type KubeClient,
} from './support/cluster.ts';
import { benchRedis } from './support/redis.ts';
import {
  fmt,
  load,
  machineLine,
  mb,
  percentile,
  progress,
  requireGc,
  table,
  verdict,
} from './support/report.ts';

requireGc('bench/pipeline.bench.ts');
const [podsArg, liveArg, replayArg, actorsArg, roundsArg] = process.argv.slice(2);
const PODS = Number(podsArg ?? 2_000);
const LIVE_WAVES = Number(liveArg ?? 5);
const REPLAY_WAVES = Number(replayArg ?? 5);
const REPLAY_ROUNDS = Number(roundsArg ?? 3);
const ACTORS = Number(actorsArg ?? 50_000);
const PODS_PER_NODE = 110;
const WRITERS = 32;
const TARGET_P99_MS = 20;
const TARGET_RATIO = 0.7;
const CONSUMER = fileURLToPath(new URL('./support/pipeline-consumer.ts', import.meta.url));
/** Node options of both consumers, e.g. the chart's agent.nodeOptions; default: none. */
const CONSUMER_NODE_OPTIONS = (process.env['KUBE_REMEDY_BENCH_NODE_OPTIONS'] ?? '')
  .split(/\s+/)
  .filter((option) => option.length > 0);

/** A consumer process and a way to ask it things. */
class Consumer {
  readonly child: ChildProcess;
  private readonly waiting: ((message: ConsumerMessage) => boolean)[] = [];
  /** Messages nobody waited for yet. */
  private readonly unclaimed: ConsumerMessage[] = [];

  constructor(args: string[]) {
    // KUBE_REMEDY_BENCH_CPU_PROF=<dir> writes a CPU profile of each consumer there.
    const profile = process.env['KUBE_REMEDY_BENCH_CPU_PROF'];
    const execArgv = [
      '--expose-gc',
      ...CONSUMER_NODE_OPTIONS,
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
    ];
    this.child = fork(CONSUMER, args, { execArgv, stdio: 'inherit' });
    this.child.on('message', (message: ConsumerMessage) => {
      if (message.type === 'error') progress(`consumer error: ${message.message}`);
      const index = this.waiting.findIndex((accept) => accept(message));
      if (index >= 0) this.waiting.splice(index, 1);
      else this.unclaimed.push(message);
    });
  }

  next<T extends ConsumerMessage['type']>(
    type: T,
    timeoutMs = 600_000,
  ): Promise<Extract<ConsumerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const early = this.unclaimed.findIndex((m) => m.type === type || m.type === 'error');
      if (early >= 0) {
        const [message] = this.unclaimed.splice(early, 1) as [ConsumerMessage];
        if (message.type === 'error') reject(new Error(message.message));
        else resolve(message as Extract<ConsumerMessage, { type: T }>);
        return;
      }
      const timer = setTimeout(
        () => reject(new Error(`no ${type} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push((message) => {
        if (message.type === 'error') {
          clearTimeout(timer);
          reject(new Error(message.message));
          return true;
        }
        if (message.type !== type) return false;
        clearTimeout(timer);
        resolve(message as Extract<ConsumerMessage, { type: T }>);
        return true;
      });
    });
  }

  tell(command: ConsumerCommand): void {
    this.child.send(command);
  }

  async ask<T extends ConsumerMessage['type']>(
    command: ConsumerCommand,
    type: T,
  ): Promise<Extract<ConsumerMessage, { type: T }>> {
    const answer = this.next(type);
    this.tell(command);
    return answer;
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.tell({ cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The status a kubelet would write for pod `i` in wave `wave`. */
function podStatus(i: number, wave: number): Record<string, unknown> {
  const crashing = i % 20 === 0 && wave > 0;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    phase: 'Running',
    hostIP: '127.0.0.1',
    podIP: `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    startTime: '2026-11-28T10:00:00Z',
    conditions: [
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: crashing ? 'False' : 'True', lastTransitionTime: now },
      { type: 'ContainersReady', status: crashing ? 'False' : 'True', lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True' },
    ],
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.k8s.io/pause:3.10',
        imageID:
          'registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a',
        containerID: `containerd://${String(wave).padStart(8, '0')}${String(i).padStart(8, '0')}`,
        ready: !crashing,
        started: !crashing,
        restartCount: wave,
        state: crashing
          ? {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off 40s restarting failed container=app pod=app-${i}`,
              },
            }
          : { running: { startedAt: now } },
        lastState:
          wave > 0
            ? { terminated: { reason: 'Error', exitCode: 1, startedAt: now, finishedAt: now } }
            : {},
      },
    ],
  };
}

async function writeWave(
  client: KubeClient,
  namespace: string,
  names: string[],
  wave: number,
): Promise<{ seconds: number; writes: number }> {
  const t0 = performance.now();
  let writes = 0;
  await inParallel(names, WRITERS, async (name, i) => {
    await client.patch(
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      { status: podStatus(i, wave) },
      'merge',
    );
    writes += 1;
  });
  return { seconds: (performance.now() - t0) / 1000, writes };
}

async function currentVersion(client: KubeClient, namespace: string): Promise<string> {
  const list = await client.get<{ metadata: { resourceVersion: string } }>(
    `/api/v1/namespaces/${namespace}/pods?limit=1`,
  );
  return list.metadata.resourceVersion;
}

const cleanup = new Cleanup();
try {
  const cluster = await useCluster();
  cleanup.add('control plane', () => cluster.release());
  const client = cluster.admin;
  const id = suffix();
  const namespace = `bench-pipeline-${id}`;
  const nodes = Array.from(
    { length: Math.ceil(PODS / PODS_PER_NODE) },
    (_, i) => `bench-pipeline-${id}-${i}`,
  );
  const scratch = await benchRedis('pipeline');
  cleanup.add('redis keys', () => scratch.cleanup());

  progress(`creating ${nodes.length} kwok nodes, namespace ${namespace}, ${PODS} pods`);
  await createBenchNodes(cluster, nodes);
  cleanup.add('nodes', () => deleteNodes(client, nodes));
  await createNamespace(client, namespace);
  cleanup.add('namespace', () => deleteNamespace(client, namespace, true));
  const names = Array.from({ length: PODS }, (_, i) => `app-${i}`);
  const tCreate = performance.now();
  await createPods(
    client,
    namespace,
    names,
    (i) => nodes[Math.floor(i / PODS_PER_NODE)] as string,
    { statusOwned: true },
    WRITERS,
  );
  const createSeconds = (performance.now() - tCreate) / 1000;
  const initial = await writeWave(client, namespace, names, 0);
  progress(
    `pods created in ${fmt(createSeconds, 1)} s, first status in ${fmt(initial.seconds, 1)} s`,
  );

  const kubeconfig = cluster.cp.adminKubeconfig;
  const pipeline = new Consumer([
    'pipeline',
    kubeconfig,
    namespace,
    scratch.prefix,
    String(ACTORS - PODS),
  ]);
  cleanup.add('pipeline consumer', () => pipeline.exit());
  const bare = new Consumer(['bare', kubeconfig, namespace]);
  cleanup.add('bare consumer', () => bare.exit());
  progress(`pipeline: spawning ${fmt(ACTORS - PODS)} in-memory-only actors`);
  const ready = await pipeline.next('ready');
  await bare.next('ready');
  const watching = await Promise.all([
    pipeline.ask({ cmd: 'watch' }, 'watching'),
    bare.ask({ cmd: 'watch' }, 'watching'),
  ]);
  progress(
    `pipeline holds ${fmt(ready.actors)} + ${fmt(watching[0].objects)} actors (heap ${mb(ready.heapUsed)} MB); both watching`,
  );

  // ---- live ------------------------------------------------------------------------------------
  pipeline.tell({ cmd: 'phase', phase: 'live' });
  bare.tell({ cmd: 'phase', phase: 'live' });
  const loadLive = load();
  let liveWrites = 0;
  let liveWriteSeconds = 0;
  for (let wave = 1; wave <= LIVE_WAVES; wave++) {
    const written = await writeWave(client, namespace, names, wave);
    liveWrites += written.writes;
    liveWriteSeconds += written.seconds;
    progress(
      `live wave ${wave}/${LIVE_WAVES}: ${fmt(written.writes)} status writes in ${fmt(written.seconds, 1)} s`,
    );
  }
  const reports = async (settled = false): Promise<[PhaseReport, PhaseReport]> => {
    const [p, b] = await Promise.all([
      pipeline.ask({ cmd: 'report', settled }, 'report'),
      bare.ask({ cmd: 'report', settled }, 'report'),
    ]);
    return [p.report, b.report];
  };
  let live = await reports();
  const until = performance.now() + 120_000;
  while (
    (live[0].events < liveWrites || live[1].events < liveWrites) &&
    performance.now() < until
  ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    live = await reports();
  }
  // Every event is in: now the heap may be measured after a full GC.
  live = await reports(true);
  await Promise.all([
    pipeline.ask({ cmd: 'unwatch' }, 'unwatched'),
    bare.ask({ cmd: 'unwatch' }, 'unwatched'),
  ]);

  // ---- replay ----------------------------------------------------------------------------------
  // Rounds of fresh events (a replayed event the pipeline saw before would be dropped as
  // unchanged), each replayed by both consumers, who goes first alternating: on a shared machine
  // the capacity of either moves with what else runs, so the ratio is taken per round and the
  // median of the rounds is the result.
  interface ReplayRun {
    report: PhaseReport;
    load: string;
  }
  const rounds: {
    fromVersion: string;
    writes: number;
    first: 'bare informer' | 'pipeline';
    pipeline: ReplayRun;
    bare: ReplayRun;
  }[] = [];
  let wave = LIVE_WAVES;
  for (let round = 1; round <= REPLAY_ROUNDS; round++) {
    const fromVersion = await currentVersion(client, namespace);
    let writes = 0;
    for (let i = 0; i < REPLAY_WAVES; i++) {
      wave += 1;
      writes += (await writeWave(client, namespace, names, wave)).writes;
    }
    progress(
      `replay round ${round}/${REPLAY_ROUNDS}: ${fmt(writes)} events written from resourceVersion ${fromVersion} (nobody watching)`,
    );
    const replayBy = async (consumer: Consumer): Promise<ReplayRun> => {
      const at = load();
      const report = (
        await consumer.ask({ cmd: 'replay', fromVersion, expected: writes }, 'report')
      ).report;
      return { report, load: at };
    };
    const bareFirst = round % 2 === 1;
    const firstRun = await replayBy(bareFirst ? bare : pipeline);
    const secondRun = await replayBy(bareFirst ? pipeline : bare);
    rounds.push({
      fromVersion,
      writes,
      first: bareFirst ? 'bare informer' : 'pipeline',
      pipeline: bareFirst ? secondRun : firstRun,
      bare: bareFirst ? firstRun : secondRun,
    });
  }
  const replayPipeline = (rounds.at(-1) as (typeof rounds)[number]).pipeline.report;

  // ---- report ----------------------------------------------------------------------------------
  const loopLine = (r: PhaseReport): string => r.loopDelay.map((v) => fmt(v, 1)).join(' / ');
  const gcLine = (r: PhaseReport): string =>
    `${fmt(r.gc.count)} (${fmt(r.gc.majors)} major), ${fmt(r.gc.totalMs)} ms in all, longest ${fmt(r.gc.maxMs, 1)} ms (major ${fmt(r.gc.maxMajorMs, 1)} ms)`;
  const rate = (r: PhaseReport): number => r.events / ((r.lastDone - r.firstReceived) / 1000);
  const [livePipeline, liveBare] = live;
  const liveRatio = rate(livePipeline) / rate(liveBare);
  const roundRatios = rounds.map((r) => rate(r.pipeline.report) / rate(r.bare.report));
  const replayRatio = percentile(roundRatios, 50);
  const p99 = percentile(livePipeline.decided, 99);
  const persistedP99 = percentile(livePipeline.latencies, 99);
  const lines = [
    `### Watch event → decision, ${fmt(ready.actors + watching[0].objects)} live actors`,
    '',
    machineLine(),
    '',
    `Setup: ${fmt(PODS)} pods on ${nodes.length} kwok nodes (created in ${fmt(createSeconds, 1)} s), ` +
      `${fmt(ready.actors)} in-memory-only actors spawned through the registry in ${fmt(ready.spawnSeconds, 1)} s; ` +
      `pipeline heap with all actors ${mb(ready.heapUsed)} MB. Status writes: ${WRITERS} in flight. Consumers' Node options: ${CONSUMER_NODE_OPTIONS.length === 0 ? 'none (defaults)' : CONSUMER_NODE_OPTIONS.join(' ')}.`,
    '',
    table(
      [
        'phase',
        'consumer',
        'events',
        'events/s',
        'vs bare',
        'event → decision p50 / p99 / max (ms)',
        'event → persisted p50 / p99 / max (ms)',
        'load average',
      ],
      [
        [
          `live, ${LIVE_WAVES} waves (${fmt(liveWrites / liveWriteSeconds)} writes/s into the API server)`,
          'pipeline',
          fmt(livePipeline.events),
          fmt(rate(livePipeline)),
          `${fmt(liveRatio * 100)}%`,
          `${fmt(percentile(livePipeline.decided, 50), 2)} / ${fmt(p99, 2)} / ${fmt(Math.max(...livePipeline.decided), 1)}`,
          `${fmt(percentile(livePipeline.latencies, 50), 2)} / ${fmt(persistedP99, 2)} / ${fmt(Math.max(...livePipeline.latencies), 1)}`,
          loadLive,
        ],
        [
          '',
          'bare informer',
          fmt(liveBare.events),
          fmt(rate(liveBare)),
          '100%',
          '—',
          '—',
          loadLive,
        ],
        ...rounds.flatMap((r, i) => {
          const row = (name: string, run: ReplayRun, ratio: string): string[] => [
            name === r.first
              ? `replay ${i + 1}/${rounds.length}: ${REPLAY_WAVES} waves from resourceVersion ${r.fromVersion}, ${r.first} first`
              : '',
            name,
            fmt(run.report.events),
            fmt(rate(run.report)),
            ratio,
            name === 'pipeline' ? '(queued: not a latency)' : '—',
            name === 'pipeline' ? '(queued)' : '—',
            run.load,
          ];
          const ratio = `${fmt((rate(r.pipeline.report) / rate(r.bare.report)) * 100)}%`;
          const pipelineRow = row('pipeline', r.pipeline, ratio);
          const bareRow = row('bare informer', r.bare, '100%');
          return r.first === 'pipeline' ? [pipelineRow, bareRow] : [bareRow, pipelineRow];
        }),
      ],
    ),
    '',
    `Targets: event → decision p99 ≤ ${TARGET_P99_MS} ms at 50k actors: ${verdict(p99 <= TARGET_P99_MS)} ` +
      `(${fmt(p99, 2)} ms over ${fmt(livePipeline.decided.length)} events; to persisted in Redis with effects enqueued, p99 ${fmt(persistedP99, 2)} ms). ` +
      `Pipeline throughput ≥ ${TARGET_RATIO * 100}% of the bare informer's: live ${fmt(liveRatio * 100)}% ` +
      `${verdict(liveRatio >= TARGET_RATIO)} (both paced by the API server), replay ${fmt(replayRatio * 100)}% ` +
      `${verdict(replayRatio >= TARGET_RATIO)} (each consumer's own capacity; the median of ${rounds.length} rounds: ${roundRatios.map((r) => `${fmt(r * 100)}%`).join(', ')}).`,
    `Pipeline heap after the live phase ${mb(livePipeline.heapUsed)} MB, after the replay ${mb(replayPipeline.heapUsed)} MB.`,
    `Live, events of crash-looping pods only (${fmt(livePipeline.crashLatencies.length)}: windows, detections, restart jobs enqueued, Events): ` +
      `p50 ${fmt(percentile(livePipeline.crashLatencies, 50), 2)} / p99 ${fmt(percentile(livePipeline.crashLatencies, 99), 2)} ms. ` +
      `Live breakdown: inside ActorHost.send (transition, snapshot persisted to Redis, jobs enqueued) ` +
      `p50 ${fmt(percentile(livePipeline.inHost, 50), 2)} / p99 ${fmt(percentile(livePipeline.inHost, 99), 2)} ms; ` +
      `the rest is the registry (observe, analyze, policy index, per-object queue). ` +
      `Redis PING round trip on the store's connection during the live phase p50 ${fmt(percentile(livePipeline.redisRtt, 50), 2)} / p99 ${fmt(percentile(livePipeline.redisRtt, 99), 2)} ms; ` +
      `event loop delay p50 / p99 / max: pipeline ${loopLine(livePipeline)}, bare informer ${loopLine(liveBare)} ms. ` +
      `GC pauses in the pipeline process during the live phase: ${gcLine(livePipeline)}; during the replay: ${gcLine(replayPipeline)}; ` +
      `bare informer, live: ${gcLine(liveBare)}.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await cleanup.run();
}
