import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policySpecSchema } from '../../../src/policy/schema.ts';
import {
  decide,
  type ScalingDecision,
  type ScalingPolicy,
  type SignalInput,
} from '../../../src/scaling/index.ts';
import {
  EVERY,
  input,
  MINUTE,
  NOW,
  policy,
  samples,
  SECOND,
  series,
  signal,
  steady,
  THREE_SIGNALS,
} from './support.ts';

/** The example policy's shape: 2 of 3 signals, 2m up, 10m down, step 2, 1..6 replicas. */
const twoOfThree = policy({
  require: 2,
  step: 2,
  minReplicas: 1,
  maxReplicas: 6,
  stabilization: { scaleUpMs: 2 * MINUTE, scaleDownMs: 10 * MINUTE },
  signals: THREE_SIGNALS,
});

/** Per signal: high, low or normal for the whole last 15 minutes, on 4 replicas. */
const LEVEL = {
  cpu: { high: 4.0, low: 0.4, normal: 2.0 }, // per replica on 4: 1.0, 0.1, 0.5
  latency: { high: 0.8, low: 0.05, normal: 0.3 },
  queueDepth: { high: 2000, low: 10, normal: 200 },
} as const;
type Level = keyof (typeof LEVEL)['cpu'];

function levels(cpu: Level, latency: Level, queueDepth: Level): Record<string, SignalInput> {
  const long = (v: number) => series([[v, 15 * MINUTE]]);
  return {
    cpu: long(LEVEL.cpu[cpu]),
    latency: long(LEVEL.latency[latency]),
    queueDepth: long(LEVEL.queueDepth[queueDepth]),
  };
}

function verdicts(decision: ScalingDecision): string[] {
  return decision.signals.map((s) => `${s.name}=${s.verdict}`);
}

describe('k of n signals must agree', () => {
  it.each<[string, number, [Level, Level, Level], ScalingDecision['decision'], number, RegExp]>([
    [
      'two of three high scale out',
      2,
      ['high', 'high', 'normal'],
      'scaleOut',
      6,
      /2 of 3 signals have been above/,
    ],
    ['three of three high scale out', 2, ['high', 'high', 'high'], 'scaleOut', 6, /3 of 3 signals/],
    [
      'one of three high holds',
      2,
      ['high', 'normal', 'normal'],
      'hold',
      4,
      /only 1 of 3 signals \(cpu\) has been above the up threshold for 2m, and 2 must agree/,
    ],
    [
      'two high hold when all three must agree',
      3,
      ['high', 'high', 'normal'],
      'hold',
      4,
      /only 2 of 3 signals \(cpu and latency\)/,
    ],
    [
      'one high is enough when require is 1',
      1,
      ['normal', 'high', 'low'],
      'scaleOut',
      6,
      /1 of 3 signals have been above/,
    ],
    [
      'two of three low scale in',
      2,
      ['low', 'low', 'normal'],
      'scaleIn',
      2,
      /2 of 3 signals have been below their down threshold for at least 10m/,
    ],
    [
      'one of three low holds',
      2,
      ['low', 'normal', 'normal'],
      'hold',
      4,
      /only 1 of 3 signals \(cpu\) has been below the down threshold/,
    ],
    [
      'two low hold while the third is high',
      2,
      ['low', 'low', 'high'],
      'hold',
      4,
      /but queueDepth is above the up threshold/,
    ],
    [
      'all normal holds and says why',
      2,
      ['normal', 'normal', 'normal'],
      'hold',
      4,
      /no signal has called for a change long enough \(cpu 0.5 per replica is between 0.3 and 0.8/,
    ],
  ])('%s', (_name, require, [cpu, latency, queue], decision, to, reason) => {
    const result = decide(
      input({
        policy: { ...twoOfThree, require, maxReplicas: 10, step: 2 },
        replicas: 4,
        signals: levels(cpu, latency, queue),
      }),
    );
    expect(result.decision).toBe(decision);
    expect(result.to).toBe(to);
    expect(result.from).toBe(4);
    expect(result.reason).toMatch(reason);
    expect(verdicts(result)).toEqual([`cpu=${cpu}`, `latency=${latency}`, `queueDepth=${queue}`]);
  });

  it('scales out to the count at least `require` signals ask for, not the largest', () => {
    // cpu 1.0 per replica → ceil(4 × 1.0/0.55) = 8; latency 0.8 → ceil(4 × 0.8/0.325) = 10;
    // queueDepth 2000 → ceil(4 × 2000/525) = 16. Two must agree: 10 is the most two ask for.
    const result = decide(
      input({
        policy: { ...twoOfThree, maxReplicas: 30, step: 100 },
        replicas: 4,
        signals: levels('high', 'high', 'high'),
      }),
    );
    expect(result).toMatchObject({ decision: 'scaleOut', from: 4, to: 10 });
  });

  it('scales in only as far as keeps a signal in its band below its up threshold', () => {
    // cpu and latency are low and would settle for 1; queueDepth 900 (up 1000) needs ceil(4 × 900/1000) = 4.
    const result = decide(
      input({
        policy: { ...twoOfThree, step: 100 },
        replicas: 4,
        signals: { ...levels('low', 'low', 'normal'), queueDepth: steady(900) },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.reason).toMatch(/fewer replicas would push queueDepth above the up threshold/);

    const partly = decide(
      input({
        policy: { ...twoOfThree, step: 100 },
        replicas: 4,
        signals: { ...levels('low', 'low', 'normal'), queueDepth: steady(600) },
      }),
    );
    expect(partly).toMatchObject({ decision: 'scaleIn', to: 3 });
    expect(partly.reason).toMatch(/queueDepth needs at least 3 to stay below the up threshold/);
  });
});

describe('stabilization windows', () => {
  const oneSignal = (changes: Partial<ScalingPolicy> = {}) =>
    policy({
      signals: [signal('load', { up: 110, down: 90 })],
      stabilization: { scaleUpMs: 1 * MINUTE, scaleDownMs: 5 * MINUTE },
      ...changes,
    });

  it.each<[string, [number, number][], ScalingDecision['decision'], RegExp]>([
    [
      'high for the whole window scales out',
      [
        [100, 5 * MINUTE],
        [150, 1 * MINUTE],
      ],
      'scaleOut',
      /above 110 for 1m/,
    ],
    [
      'high for half the window holds',
      [
        [100, 5 * MINUTE],
        [150, 30 * SECOND],
      ],
      'hold',
      /above 110 \(150\) for only 30s of the 1m needed/,
    ],
    [
      'a dip inside the window restarts it',
      [
        [150, 5 * MINUTE],
        [100, 15 * SECOND],
        [150, 45 * SECOND],
      ],
      'hold',
      /for only 45s of the 1m needed/,
    ],
    [
      'low for the scale-up window is not enough to scale in',
      [
        [100, 5 * MINUTE],
        [50, 2 * MINUTE],
      ],
      'hold',
      /below 90 \(50\) for only 2m of the 5m needed/,
    ],
    [
      'low for four of five minutes holds',
      [
        [100, 5 * MINUTE],
        [50, 4 * MINUTE],
      ],
      'hold',
      /for only 4m of the 5m needed/,
    ],
    [
      'low for the longer scale-down window scales in',
      [
        [100, 5 * MINUTE],
        [50, 5 * MINUTE],
      ],
      'scaleIn',
      /below 90 for 5m/,
    ],
  ])('%s', (_name, segments, decision, why) => {
    const result = decide(
      input({ policy: oneSignal(), replicas: 4, signals: { load: series(segments) } }),
    );
    expect(result.decision).toBe(decision);
    expect(result.signals[0]?.why).toMatch(why);
  });

  it('sizes a scale out by the lowest value of the window, so a last spike does not', () => {
    // 4 × 150/100 = 6, not 4 × 400/100 = 16.
    const result = decide(
      input({
        policy: oneSignal(),
        replicas: 4,
        signals: {
          load: series([
            [150, 5 * MINUTE],
            [400, 15 * SECOND],
          ]),
        },
      }),
    );
    expect(result).toMatchObject({ decision: 'scaleOut', to: 6 });
    expect(result.signals[0]).toMatchObject({ value: 150, threshold: 110, verdict: 'high' });
  });

  it('sizes a scale in by the highest value of the window', () => {
    // 8 × 60/100 = 4.8 → 5, not 8 × 20/100 → 2.
    const result = decide(
      input({
        policy: oneSignal(),
        replicas: 8,
        signals: {
          load: series([
            [60, 5 * MINUTE],
            [20, 15 * SECOND],
          ]),
        },
      }),
    );
    expect(result).toMatchObject({ decision: 'scaleIn', to: 5 });
    expect(result.signals[0]).toMatchObject({ value: 60, threshold: 90, verdict: 'low' });
  });

  it('treats a gap longer than the staleness bound as a break in the window', () => {
    const beforeGap = samples([[150, 2 * MINUTE]], NOW - 2 * MINUTE);
    const afterGap = samples([[150, 30 * SECOND]]);
    const result = decide(
      input({
        policy: oneSignal(),
        replicas: 4,
        staleAfterMs: 45 * SECOND,
        signals: { load: { ok: true, samples: [...beforeGap, ...afterGap] } },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.signals[0]?.why).toMatch(/for only 30s of the 1m needed/);
  });

  it('acts on the latest sample alone when a window is zero', () => {
    const result = decide(
      input({
        policy: oneSignal({ stabilization: { scaleUpMs: 0, scaleDownMs: 0 } }),
        replicas: 4,
        signals: {
          load: series([
            [100, 5 * MINUTE],
            [200, EVERY],
          ]),
        },
      }),
    );
    expect(result).toMatchObject({ decision: 'scaleOut', to: 8 });
  });
});

describe('cooldown', () => {
  const high = { load: steady(200) };
  it.each<[string, number | null, ScalingDecision['decision']]>([
    ['no earlier scale', null, 'scaleOut'],
    ['an earlier scale 4 minutes ago (cooldown 3m)', NOW - 4 * MINUTE, 'scaleOut'],
    ['an earlier scale exactly 3 minutes ago', NOW - 3 * MINUTE, 'scaleOut'],
    ['an earlier scale 1 minute ago', NOW - 1 * MINUTE, 'hold'],
  ])('%s: %s', (_name, lastScaleAt, decision) => {
    const result = decide(input({ replicas: 2, lastScaleAt, signals: high }));
    expect(result.decision).toBe(decision);
    if (decision === 'hold') {
      expect(result.reason).toBe(
        'hold at 2 replicas: would scale out to 4 (1 of 1 signals have been above their up threshold for at least 1m (load 200 > 110)), ' +
          'but the last scale was 1m ago and the cooldown of 3m lasts until 2026-11-28T12:02:00Z',
      );
    }
  });

  it('also holds a correction into the bounds during the cooldown', () => {
    const result = decide(
      input({
        policy: policy({ maxReplicas: 5 }),
        replicas: 8,
        lastScaleAt: NOW - MINUTE,
        signals: { load: steady(100) },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.reason).toMatch(/would scale in to 5 \(8 is above the policy's maxReplicas 5/);
  });
});

describe('step, minReplicas and maxReplicas', () => {
  it.each<
    [string, Partial<ScalingPolicy>, number, number, ScalingDecision['decision'], number, RegExp]
  >([
    [
      'step limits a scale out',
      { step: 2 },
      2,
      400,
      'scaleOut',
      4,
      /step 2 limits this decision \(8 wanted\)/,
    ],
    [
      'step limits a scale in',
      { step: 1 },
      8,
      25,
      'scaleIn',
      7,
      /step 1 limits this decision \(2 wanted\)/,
    ],
    [
      'maxReplicas caps, then step limits',
      { step: 3, maxReplicas: 6 },
      2,
      400,
      'scaleOut',
      5,
      /8 would be above the policy's maxReplicas 6; step 3 limits this decision \(6 wanted\)/,
    ],
    [
      'at maxReplicas nothing changes',
      { maxReplicas: 6 },
      6,
      400,
      'hold',
      6,
      /but 6 is the policy's maxReplicas$/,
    ],
    [
      'at minReplicas nothing changes',
      { minReplicas: 3 },
      3,
      10,
      'hold',
      3,
      /but 3 is the policy's minReplicas$/,
    ],
    [
      'minReplicas 0 still never scales to zero',
      { minReplicas: 0 },
      2,
      0,
      'scaleIn',
      1,
      /0 would be below the policy's minimum of 1/,
    ],
    [
      'at one replica with minReplicas 0 nothing changes',
      { minReplicas: 0 },
      1,
      0,
      'hold',
      1,
      /but 1 is the policy's minimum of 1 \(the scaler never scales to zero\)$/,
    ],
  ])('%s', (_name, changes, replicas, value, decision, to, reason) => {
    const result = decide(
      input({ policy: policy(changes), replicas, signals: { load: steady(value) } }),
    );
    expect(result).toMatchObject({ decision, from: replicas, to });
    expect(result.reason).toMatch(reason);
  });
});

describe('unavailable signals', () => {
  const bad: SignalInput = {
    ok: false,
    error:
      'Prometheus rejected the query "sum(rate(x[5m)": 1:14: parse error: unexpected ")" in subquery or range',
  };

  it.each<[string, SignalInput | undefined, RegExp]>([
    [
      'a rejected query',
      bad,
      /^Prometheus rejected the query "sum\(rate\(x\[5m\)": 1:14: parse error/,
    ],
    [
      'a timeout',
      { ok: false, error: 'Prometheus at http://p did not answer: no answer within 10000 ms' },
      /no answer within 10000 ms/,
    ],
    ['no samples', { ok: true, samples: [] }, /^no data/],
    [
      'a NaN latest value',
      { ok: true, samples: [{ t: NOW, v: Number.NaN }] },
      /the latest value is NaN/,
    ],
    [
      'an infinite latest value',
      { ok: true, samples: [{ t: NOW, v: Number.POSITIVE_INFINITY }] },
      /the latest value is \+Inf/,
    ],
    [
      'a stale sample',
      { ok: true, samples: [{ t: NOW - 5 * MINUTE, v: 200 }] },
      /^stale: the newest sample is 5m old \(at most 1m allowed\)/,
    ],
    ['a signal not read at all', undefined, /not read in this round/],
  ])('%s makes the signal unavailable, with the reason', (_name, given, why) => {
    const result = decide(
      input({
        policy: policy({ require: 1 }),
        signals: given === undefined ? {} : { load: given },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.signals[0]).toMatchObject({
      verdict: 'unavailable',
      value: null,
      threshold: null,
    });
    expect(result.signals[0]?.why).toMatch(why);
    expect(result.reason).toMatch(
      /^hold at 4 replicas: only 0 of 1 signals can be read and 1 must agree \(load: /,
    );
  });

  it.each<['hold' | 'escalate', ScalingDecision['decision'], RegExp]>([
    [
      'hold',
      'hold',
      /^hold at 4 replicas: only 1 of 3 signals can be read and 2 must agree \(cpu: Prometheus rejected the query .*; queueDepth: no data/,
    ],
    [
      'escalate',
      'escalate',
      /^escalate: only 1 of 3 signals can be read and 2 must agree .*the replicas stay at 4 until people look \(onUnavailable: escalate\)$/,
    ],
  ])('too few readable signals: onUnavailable %s', (onUnavailable, decision, reason) => {
    const result = decide(
      input({
        policy: { ...twoOfThree, onUnavailable, maxReplicas: 10 },
        signals: { cpu: bad, latency: steady(0.8), queueDepth: { ok: true, samples: [] } },
      }),
    );
    expect(result).toMatchObject({ decision, from: 4, to: 4 });
    expect(result.reason).toMatch(reason);
  });

  it('never counts an unavailable signal as agreeing', () => {
    const result = decide(
      input({
        policy: { ...twoOfThree, maxReplicas: 10 },
        signals: { ...levels('high', 'normal', 'normal'), latency: bad },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.reason).toMatch(/only 1 of 3 signals \(cpu\) has been above/);
  });

  it('does not stop a scale out that enough readable signals agree on', () => {
    const result = decide(
      input({
        policy: { ...twoOfThree, maxReplicas: 10 },
        signals: { ...levels('high', 'high', 'normal'), queueDepth: bad },
      }),
    );
    expect(result.decision).toBe('scaleOut');
    expect(result.signals.map((s) => s.verdict)).toEqual(['high', 'high', 'unavailable']);
  });

  it('stops a scale in: the unreadable signal might be the one under load', () => {
    const result = decide(
      input({
        policy: { ...twoOfThree, maxReplicas: 10 },
        signals: { ...levels('low', 'low', 'normal'), queueDepth: bad },
      }),
    );
    expect(result.decision).toBe('hold');
    expect(result.reason).toMatch(/but queueDepth cannot be read \(Prometheus rejected the query/);
  });
});

describe('a HorizontalPodAutoscaler on the Deployment', () => {
  it('holds whatever the signals say, and names the HPA', () => {
    const result = decide(
      input({
        policy: { ...twoOfThree, maxReplicas: 10 },
        hpa: { name: 'checkout-api' },
        signals: levels('high', 'high', 'high'),
      }),
    );
    expect(result).toMatchObject({ decision: 'hold', from: 4, to: 4 });
    expect(result.reason).toBe(
      'hold at 4 replicas: HorizontalPodAutoscaler checkout-api targets this Deployment and owns its replica count, so kube-remedy does not scale it',
    );
  });
});

describe('per replica and total signals', () => {
  it.each<[string, 'replica' | 'total', number, ScalingDecision['decision']]>([
    ['a total of 3 on 2 replicas is 1.5 per replica: high', 'replica', 3, 'scaleOut'],
    ['a total of 3 on 2 replicas is 3 as a total: high', 'total', 3, 'scaleOut'],
    ['a total of 1.6 on 2 replicas is 0.8 per replica: normal', 'replica', 1.6, 'hold'],
    ['a total of 0.4 on 2 replicas is 0.2 per replica: low', 'replica', 0.4, 'scaleIn'],
  ])('%s', (_name, per, value, decision) => {
    const result = decide(
      input({
        policy: policy({ signals: [signal('cpu', { up: 1, down: 0.3 }, per)] }),
        replicas: 2,
        signals: { cpu: steady(value) },
      }),
    );
    expect(result.decision).toBe(decision);
  });

  it('reports the per-replica value and says so', () => {
    const result = decide(
      input({
        policy: policy({ signals: [signal('cpu', { up: 1, down: 0.3 }, 'replica')] }),
        replicas: 2,
        signals: { cpu: steady(3) },
      }),
    );
    expect(result.signals[0]).toEqual({
      name: 'cpu',
      value: 1.5,
      threshold: 1,
      verdict: 'high',
      why: 'above 1 per replica for 10m (lowest 1.5 in the last 1m)',
    });
    expect(result.reason).toBe(
      'scale out from 2 to 5 replicas: 1 of 1 signals have been above their up threshold for at least 1m (cpu 1.5 per replica > 1)',
    );
  });

  it('leaves a Deployment at zero replicas alone', () => {
    const result = decide(input({ replicas: 0, signals: { load: steady(500) } }));
    expect(result).toMatchObject({ decision: 'hold', from: 0, to: 0 });
    expect(result.reason).toMatch(/scaled to zero; kube-remedy does not scale from zero/);
  });
});

describe('the policy as src/policy parses it', () => {
  it('decides on the example policy (examples/policies/multi-signal-scaling.yaml)', () => {
    const resource = parse(
      readFileSync(
        new URL('../../../examples/policies/multi-signal-scaling.yaml', import.meta.url),
        'utf8',
      ),
    ) as { spec: unknown };
    const scaling = policySpecSchema.parse(resource.spec).scaling;
    if (scaling === undefined) throw new Error('the example has no spec.scaling');
    // 3..30 replicas, step 2, 2 of 3 signals for 2m.
    const result = decide(
      input({ policy: scaling, replicas: 4, signals: levels('high', 'high', 'normal') }),
    );
    expect(result).toMatchObject({ decision: 'scaleOut', from: 4, to: 6 });
    expect(result.reason).toMatch(/step 2 limits this decision/);
  });
});
