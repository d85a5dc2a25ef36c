/** Builders for scaling decision tests: policies, signals and sample windows. */
import type {
  DecisionInput,
  Sample,
  ScalingPolicy,
  SignalInput,
  SignalSpec,
} from '../../../src/scaling/index.ts';

export const NOW = Date.parse('2026-11-28T12:00:00Z');
export const SECOND = 1_000;
export const MINUTE = 60_000;
/** Samples every 15 s, as the scaler reads them by default. */
export const EVERY = 15 * SECOND;

export function signal(
  name: string,
  thresholds: { up: number; down: number },
  per: SignalSpec['per'] = 'total',
): SignalSpec {
  return { name, query: `${name}_metric`, per, thresholds };
}

/** cpu (per replica 0.8/0.3), latency (0.5/0.15) and queueDepth (1000/50), as in the example policy. */
export const THREE_SIGNALS: SignalSpec[] = [
  signal('cpu', { up: 0.8, down: 0.3 }, 'replica'),
  signal('latency', { up: 0.5, down: 0.15 }),
  signal('queueDepth', { up: 1000, down: 50 }),
];

export function policy(changes: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return {
    minReplicas: 1,
    maxReplicas: 20,
    step: 1000,
    require: 1,
    cooldownMs: 3 * MINUTE,
    stabilization: { scaleUpMs: 1 * MINUTE, scaleDownMs: 5 * MINUTE },
    onUnavailable: 'hold',
    signals: [signal('load', { up: 110, down: 90 })],
    ...changes,
  };
}

/**
 * Samples every 15 s ending at `now`, oldest first: each segment holds a value for a duration,
 * the last segment ending at `now`. `steady(v)` is ten minutes of one value.
 */
export function samples(segments: [value: number, durationMs: number][], now = NOW): Sample[] {
  const total = segments.reduce((sum, [, ms]) => sum + ms, 0);
  const out: Sample[] = [];
  let t = now - total;
  for (const [value, ms] of segments) {
    const end = t + ms;
    for (; t < end; t += EVERY) out.push({ t, v: value });
  }
  out.push({ t: now, v: segments[segments.length - 1]?.[0] ?? Number.NaN });
  return out;
}

export function steady(value: number, now = NOW): SignalInput {
  return { ok: true, samples: samples([[value, 10 * MINUTE]], now) };
}

export function series(segments: [value: number, durationMs: number][]): SignalInput {
  return { ok: true, samples: samples(segments) };
}

export function input(
  changes: Partial<DecisionInput> & { signals: DecisionInput['signals'] },
): DecisionInput {
  return {
    policy: policy(),
    now: NOW,
    replicas: 4,
    hpa: null,
    lastScaleAt: null,
    ...changes,
  };
}
