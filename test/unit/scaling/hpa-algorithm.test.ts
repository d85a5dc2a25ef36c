/**
 * For one signal, the decision agrees with the Kubernetes HorizontalPodAutoscaler on the same
 * inputs. The cases come from the HPA's documented behaviour, "Algorithm details" in
 * https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/ :
 *
 * - desiredReplicas = ceil[currentReplicas * ( currentMetricValue / desiredMetricValue )];
 *   "if the current metric value is 200m, and the desired value is 100m, the number of replicas
 *   will be doubled … If the current value is instead 50m, you'll halve the number of replicas";
 * - "The control plane skips any scaling action if the ratio is sufficiently close to 1.0 (within
 *   a globally-configurable tolerance, 0.1 by default)";
 * - the result is clamped to minReplicas and maxReplicas;
 * - with several metrics "the largest of the desired replica counts is chosen", and when a
 *   metric cannot be fetched "and a scale down is suggested by the metrics which can be fetched,
 *   scaling is skipped", while scaling up still happens;
 * - a target at 0 replicas is left alone (implicit maintenance-mode deactivation);
 * - default stabilization windows: none for scaling up, 300 s for scaling down.
 * The 50 → 60 case is the worked example of the Kubernetes v1.33 blog post on configurable
 * tolerance (https://kubernetes.io/blog/2025/04/28/kubernetes-v1-33-hpa-configurable-tolerance/).
 *
 * An HPA with target T and tolerance t is the signal {up: T(1+t), down: T(1-t)}: the scaler
 * aims at the middle of the band, T. Each row's expected count is checked against `hpaDesired`,
 * the documented formula written out here, and against `decide`.
 */
import { describe, expect, it } from 'vitest';
import { decide, type SignalInput, type SignalSpec } from '../../../src/scaling/index.ts';
import { input, MINUTE, policy, signal, steady } from './support.ts';

const TOLERANCE = 0.1;

/** The HPA's calculation as its documentation states it. Unavailable metrics are `null`. */
function hpaDesired(row: {
  current: number;
  values: (number | null)[];
  target: number;
  min: number;
  max: number;
}): number {
  if (row.current === 0) return 0;
  const recommendations = row.values.flatMap((value) => {
    if (value === null) return [];
    const ratio = value / row.target;
    return [Math.abs(1 - ratio) <= TOLERANCE ? row.current : Math.ceil(row.current * ratio)];
  });
  let desired = Math.max(...recommendations);
  if (row.values.includes(null) && desired < row.current) desired = row.current;
  return Math.min(row.max, Math.max(row.min, desired));
}

/** The HPA's target T as kube-remedy thresholds, with the HPA's tolerance. */
function hpaSignal(name: string, target: number, per: SignalSpec['per']): SignalSpec {
  return signal(name, { up: target * (1 + TOLERANCE), down: target * (1 - TOLERANCE) }, per);
}

interface Row {
  current: number;
  /** Per-pod metric values, one per metric; null: the metric cannot be fetched. */
  values: (number | null)[];
  target: number;
  min: number;
  max: number;
  expected: number;
}

const rows: [string, Row][] = [
  [
    '200m against 100m doubles',
    { current: 2, values: [200], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    '50m against 100m halves',
    { current: 4, values: [50], target: 100, min: 1, max: 10, expected: 2 },
  ],
  [
    '5% above the target is within tolerance',
    { current: 4, values: [105], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    '5% below the target is within tolerance',
    { current: 4, values: [95], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    '11% above the target scales, rounding up',
    { current: 4, values: [111], target: 100, min: 1, max: 10, expected: 5 },
  ],
  [
    '11% below the target rounds back up to the same count',
    { current: 4, values: [89], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    'a ratio of 1.5 on 3 replicas rounds 4.5 up',
    { current: 3, values: [150], target: 100, min: 1, max: 10, expected: 5 },
  ],
  [
    '90% against a 75% target on 50 replicas gives 60',
    { current: 50, values: [90], target: 75, min: 1, max: 100, expected: 60 },
  ],
  [
    'a quarter of the target on 8 replicas gives 2',
    { current: 8, values: [25], target: 100, min: 1, max: 10, expected: 2 },
  ],
  [
    'maxReplicas caps a scale up',
    { current: 5, values: [300], target: 100, min: 1, max: 10, expected: 10 },
  ],
  [
    'minReplicas floors a scale down',
    { current: 4, values: [10], target: 100, min: 2, max: 10, expected: 2 },
  ],
  [
    'a count above maxReplicas comes down to it at the target',
    { current: 12, values: [100], target: 100, min: 1, max: 10, expected: 10 },
  ],
  [
    'a count below minReplicas comes up to it at the target',
    { current: 1, values: [100], target: 100, min: 3, max: 10, expected: 3 },
  ],
  [
    'below minReplicas but asking for more goes to what is asked',
    { current: 1, values: [400], target: 100, min: 2, max: 10, expected: 4 },
  ],
  [
    'a target at 0 replicas is left alone',
    { current: 0, values: [500], target: 100, min: 1, max: 10, expected: 0 },
  ],
  [
    'of two metrics the larger count wins',
    { current: 2, values: [200, 300], target: 100, min: 1, max: 10, expected: 6 },
  ],
  [
    'one metric high and one within tolerance scales up',
    { current: 2, values: [200, 100], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    'one metric low and one within tolerance does not scale down',
    { current: 4, values: [50, 100], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    'a missing metric does not stop a scale up',
    { current: 2, values: [200, null], target: 100, min: 1, max: 10, expected: 4 },
  ],
  [
    'a missing metric stops a scale down',
    { current: 4, values: [50, null], target: 100, min: 1, max: 10, expected: 4 },
  ],
];

describe('a single signal scales as the HorizontalPodAutoscaler does', () => {
  it.each(rows)('%s (the documented formula agrees)', (_name, row) => {
    expect(hpaDesired(row)).toBe(row.expected);
  });

  it.each(
    rows.flatMap(([name, row]): [string, SignalSpec['per'], Row][] => [
      [name, 'total', row],
      [name, 'replica', row],
    ]),
  )('%s (per %s)', (_name, per, row) => {
    const specs = row.values.map((_, i) => hpaSignal(`metric${i}`, row.target, per));
    const signals: Record<string, SignalInput> = {};
    row.values.forEach((value, i) => {
      // A per-replica signal's query returns the total, which the scaler divides back.
      signals[`metric${i}`] =
        value === null
          ? { ok: false, error: 'the metrics API did not answer' }
          : steady(per === 'replica' ? value * row.current : value);
    });
    const decision = decide(
      input({
        // Several HPA metrics: any one may scale (require 1). The HPA's default windows.
        policy: policy({
          minReplicas: row.min,
          maxReplicas: row.max,
          require: 1,
          stabilization: { scaleUpMs: 0, scaleDownMs: 5 * MINUTE },
          signals: specs,
        }),
        replicas: row.current,
        signals,
      }),
    );
    expect(decision.to).toBe(row.expected);
    const expectedDecision =
      row.expected > row.current ? 'scaleOut' : row.expected < row.current ? 'scaleIn' : 'hold';
    expect(decision.decision).toBe(expectedDecision);
  });
});
