/**
 * Deterministic Prometheus history for the scaling tests, backfilled with
 * `promtool tsdb create-blocks-from openmetrics` before the test Prometheus starts
 * (prometheus-server.ts). Each scenario is three gauges labelled `scenario="<name>"`, sampled every
 * 15 s over the 30 minutes that end at the anchor time (one hour before the server started, so
 * the blocks never overlap what it scrapes). Tests evaluate at `anchor` (or before it) with the
 * scaler's clock set there: windows are tested on fixed data, without waiting.
 *
 * The gauges, as a policy reads them:
 * - `scaling_cpu_cores`: CPU of all replicas (a `per: replica` signal divides it by the replicas);
 * - `scaling_latency_seconds`: p95 latency (`per: total`);
 * - `scaling_queue_depth`: messages waiting (`per: total`).
 */

export const HISTORY_STEP_MS = 15_000;
export const HISTORY_SPAN_MS = 30 * 60_000;
/** How long before the server's start the history ends. */
export const HISTORY_ENDS_BEFORE_START_MS = 60 * 60_000;

const MINUTE = 60_000;

/** Values held for durations, oldest first, together spanning HISTORY_SPAN_MS. */
type Segments = readonly (readonly [value: number, durationMs: number])[];

export interface Scenario {
  cpu: Segments;
  latency: Segments;
  queue: Segments;
}

/**
 * With the policy of test/integration/scaling (cpu per replica 0.8/0.3, latency 0.5/0.15, queue
 * 1000/50; 2 of 3; windows 2m up, 10m down):
 */
export const SCENARIOS = {
  /** On 2 replicas: cpu (1.2 per replica) and latency high for the last 5 minutes; queue normal. */
  'two-high': {
    cpu: [
      [1.0, 25 * MINUTE],
      [2.4, 5 * MINUTE],
    ],
    latency: [
      [0.3, 25 * MINUTE],
      [0.8, 5 * MINUTE],
    ],
    queue: [[500, 30 * MINUTE]],
  },
  /** On 2 replicas: only cpu high for the last 5 minutes. */
  'one-high': {
    cpu: [
      [1.0, 25 * MINUTE],
      [2.4, 5 * MINUTE],
    ],
    latency: [[0.3, 30 * MINUTE]],
    queue: [[500, 30 * MINUTE]],
  },
  /** On 4 replicas: cpu (0.1 per replica) and latency low for the last 12 minutes; queue normal. */
  'low-load': {
    cpu: [
      [2.0, 18 * MINUTE],
      [0.4, 12 * MINUTE],
    ],
    latency: [
      [0.3, 18 * MINUTE],
      [0.05, 12 * MINUTE],
    ],
    queue: [[500, 30 * MINUTE]],
  },
} as const satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;

const METRICS = [
  ['scaling_cpu_cores', 'cpu', 'CPU cores used by all replicas'],
  ['scaling_latency_seconds', 'latency', 'p95 request latency'],
  ['scaling_queue_depth', 'queue', 'messages waiting'],
] as const;

function valueAt(segments: Segments, offsetMs: number): number {
  let start = 0;
  for (const [value, duration] of segments) {
    if (offsetMs < start + duration) return value;
    start += duration;
  }
  return segments[segments.length - 1]?.[0] ?? Number.NaN;
}

/** The history as OpenMetrics text (timestamps in seconds), ending at `anchorMs` inclusive. */
export function historyOpenMetrics(anchorMs: number): string {
  const lines: string[] = [];
  const begin = anchorMs - HISTORY_SPAN_MS;
  for (const [metric, key, help] of METRICS) {
    lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} gauge`);
    for (const [name, scenario] of Object.entries(SCENARIOS) as [ScenarioName, Scenario][]) {
      for (let t = begin; t <= anchorMs; t += HISTORY_STEP_MS) {
        // The sample at the anchor belongs to the last segment.
        const value = valueAt(scenario[key], Math.min(t - begin, HISTORY_SPAN_MS - 1));
        lines.push(`${metric}{scenario="${name}"} ${value} ${(t / 1000).toFixed(3)}`);
      }
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}
