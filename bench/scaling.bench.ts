/**
 * Multi-signal scaling at 1,000 scaled Deployments, each with 3 signals and a window of samples
 * (the example policy: 2m up, 10m down, read every 15 s → 42 samples per signal).
 *
 * - `decide`: the pure decision alone, over inputs built beforehand.
 * - `Scaler.tick`: a whole round (query dedup, limiter, decision, memory, proposals) with the
 *   signals served from memory by a PrometheusClient that answers at once, so the number is the
 *   scaler's own cost per round, not Prometheus's or the network's.
 *
 * Run: `node --expose-gc bench/scaling.bench.ts` (or `npm run bench scaling`). Prints a Markdown table.
 */
import { execSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { PrometheusClient, Series } from '../src/adapters/prometheus/index.ts';
import {
  decide,
  Scaler,
  type DecisionInput,
  type ScaledDeployment,
  type ScalingPolicy,
  type SignalInput,
} from '../src/scaling/index.ts';
import { createLogger } from '../src/telemetry/index.ts';

const DEPLOYMENTS = 1_000;
const STEP_MS = 15_000;
const NOW = Date.parse('2026-11-28T12:00:00Z');
const MINUTE = 60_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('run with --expose-gc: node --expose-gc bench/scaling.bench.ts\n');
  process.exit(2);
}

const policy: ScalingPolicy = {
  minReplicas: 1,
  maxReplicas: 30,
  step: 2,
  require: 2,
  cooldownMs: 3 * MINUTE,
  stabilization: { scaleUpMs: 2 * MINUTE, scaleDownMs: 10 * MINUTE },
  onUnavailable: 'hold',
  signals: [
    {
      name: 'cpu',
      query: 'sum(cpu{deployment="$deployment"})',
      per: 'replica',
      thresholds: { up: 0.8, down: 0.3 },
    },
    {
      name: 'latency',
      query: 'max(latency{deployment="$deployment"})',
      per: 'total',
      thresholds: { up: 0.5, down: 0.15 },
    },
    {
      name: 'queueDepth',
      query: 'sum(queue{deployment="$deployment"})',
      per: 'total',
      thresholds: { up: 1000, down: 50 },
    },
  ],
};
const windowMs = 10 * MINUTE + STEP_MS;
const SAMPLES = windowMs / STEP_MS + 1;

/** A third of the Deployments under load, a third idle, a third in between, with some noise. */
function level(i: number, signal: number): number {
  const kind = i % 3;
  const base = [
    [1.2 * 4, 0.8, 1500],
    [0.1 * 4, 0.05, 10],
    [0.5 * 4, 0.3, 500],
  ][kind]?.[signal] as number;
  return base;
}

function samplesFor(i: number, signal: number, now: number): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  const base = level(i, signal);
  for (let k = SAMPLES - 1; k >= 0; k -= 1) {
    const noise = 1 + (((i * 31 + k * 17 + signal * 7) % 11) - 5) / 100;
    out.push({ t: now - k * STEP_MS, v: base * noise });
  }
  return out;
}

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const heapBefore = heapMb();

// ---- decide() alone -------------------------------------------------------------------------
const inputs: DecisionInput[] = [];
for (let i = 0; i < DEPLOYMENTS; i += 1) {
  const signals: Record<string, SignalInput> = {};
  policy.signals.forEach((spec, s) => {
    signals[spec.name] = { ok: true, samples: samplesFor(i, s, NOW) };
  });
  inputs.push({
    policy,
    now: NOW,
    replicas: 4,
    hpa: null,
    lastScaleAt: null,
    signals,
    staleAfterMs: 60_000,
  });
}
const heapWithInputs = heapMb();

let sink = 0;
for (let warm = 0; warm < 3; warm += 1) for (const input of inputs) sink += decide(input).to;
const roundsDecide: number[] = [];
const decideStart = performance.now();
while (performance.now() - decideStart < 3_000) {
  const t0 = performance.now();
  for (const input of inputs) sink += decide(input).to;
  roundsDecide.push(performance.now() - t0);
}
const decideSeconds = (performance.now() - decideStart) / 1000;
const decisionsPerSecond = (roundsDecide.length * DEPLOYMENTS) / decideSeconds;
const decisionKinds = new Map<string, number>();
for (const input of inputs) {
  const kind = decide(input).decision;
  decisionKinds.set(kind, (decisionKinds.get(kind) ?? 0) + 1);
}

// ---- Scaler.tick() with signals from memory -------------------------------------------------
/**
 * Answers range queries from precomputed values (no HTTP): the scaler's own cost only. Samples
 * are made at query time, ending at the query's end, as parsing Prometheus's answer makes them.
 */
class MemoryPrometheus implements PrometheusClient {
  private readonly values = new Map<string, number[]>();
  constructor() {
    for (let i = 0; i < DEPLOYMENTS; i += 1) {
      policy.signals.forEach((spec, s) => {
        const query = spec.query.replace('$deployment', `d${i}`);
        this.values.set(
          query,
          samplesFor(i, s, NOW).map((sample) => sample.v),
        );
      });
    }
  }
  instantQuery(): Promise<Series[]> {
    return Promise.resolve([]);
  }
  rangeQuery(query: string, options: { end: number }): Promise<Series[]> {
    const values = this.values.get(query) ?? [];
    const samples = values.map((v, k) => ({
      t: options.end - (values.length - 1 - k) * STEP_MS,
      v,
    }));
    return Promise.resolve([{ labels: {}, samples }]);
  }
}

const deployments: ScaledDeployment[] = Array.from({ length: DEPLOYMENTS }, (_, i) => ({
  namespace: 'bench',
  name: `d${i}`,
  uid: `uid-${i}`,
  replicas: 4,
  policy: { ref: { namespace: 'bench', name: 'scaling' }, mode: 'auto', scaling: policy },
}));
const memoryPrometheus = new MemoryPrometheus();
let proposals = 0;
// Each round one cooldown after the last, so every round decides afresh (none held by the cooldown).
let clock = NOW;
const scaler = new Scaler({
  prometheus: memoryPrometheus,
  deployments: () => deployments,
  hpas: () => null,
  sink: () => {
    proposals += 1;
  },
  logger: createLogger({ level: 'warn', format: 'json' }),
  stepMs: STEP_MS,
  now: () => clock,
  concurrency: 64,
});
const heapWithSource = heapMb();
for (let warm = 0; warm < 3; warm += 1) {
  clock += policy.cooldownMs;
  await scaler.tick();
}
const roundsTick: number[] = [];
const tickStart = performance.now();
while (performance.now() - tickStart < 3_000) {
  clock += policy.cooldownMs;
  const t0 = performance.now();
  await scaler.tick();
  roundsTick.push(performance.now() - t0);
}
const tickSeconds = (performance.now() - tickStart) / 1000;
const heapWithScaler = heapMb();

// ---- report -----------------------------------------------------------------------------------
const cpus = availableParallelism();
let nproc = String(cpus);
try {
  nproc = execSync('nproc', { encoding: 'utf8' }).trim();
} catch {
  // not on Linux: availableParallelism stands in
}
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const lines = [
  `Machine: nproc ${nproc}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ` +
    `${DEPLOYMENTS} Deployments × ${policy.signals.length} signals × ${SAMPLES} samples ` +
    `(decisions per round: ${[...decisionKinds].map(([k, n]) => `${k} ${n}`).join(', ')}).`,
  '',
  '| measure | value |',
  '| --- | --- |',
  `| decide(): decisions per second | ${fmt(decisionsPerSecond, 0)} |`,
  `| decide(): one round of ${DEPLOYMENTS}, p50 / p99 | ${fmt(percentile(roundsDecide, 50), 2)} ms / ${fmt(percentile(roundsDecide, 99), 2)} ms |`,
  `| Scaler.tick(): decisions per second (signals from memory) | ${fmt((roundsTick.length * DEPLOYMENTS) / tickSeconds, 0)} |`,
  `| Scaler.tick(): one round of ${DEPLOYMENTS}, p50 / p99 | ${fmt(percentile(roundsTick, 50), 2)} ms / ${fmt(percentile(roundsTick, 99), 2)} ms |`,
  `| heap used: baseline | ${fmt(heapBefore)} MB |`,
  `| heap used: + inputs (${fmt(DEPLOYMENTS * policy.signals.length * SAMPLES, 0)} samples) | ${fmt(heapWithInputs)} MB |`,
  `| heap used: + the in-memory signal source | ${fmt(heapWithSource)} MB |`,
  `| heap used: + the scaler remembering ${DEPLOYMENTS} Deployments' last decisions | ${fmt(heapWithScaler)} MB |`,
  '',
];
process.stdout.write(lines.join('\n'));
if (sink < 0 || proposals === 0) process.stdout.write('the scaler made no proposals: a bug\n');
