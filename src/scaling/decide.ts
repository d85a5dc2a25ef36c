/**
 * The scaling decision: a pure function of the policy, the replica count, the HPA fact, the
 * cooldown and each signal's samples over its window. No clock, no I/O: the scaler (scaler.ts)
 * gathers the inputs, the unit tests drive it with tables.
 *
 * How one signal is judged (`judge`):
 * - unavailable when it could not be read (bad PromQL, timeout, no data), when its latest value
 *   is NaN or infinite, or when its newest sample is older than `staleAfterMs`;
 * - high when it has been above `thresholds.up` without a break for the whole scale-up
 *   stabilization window; low when below `thresholds.down` for the whole (longer) scale-down
 *   window; normal otherwise. A gap between samples longer than `staleAfterMs` is a break.
 * - The value it is judged by is the lowest of the scale-up window when high and the highest of
 *   the scale-down window when low: the HPA's stabilization rule (it acts on the least extreme
 *   recommendation of its window), so a brief spike inside a sustained rise does not size the change.
 *
 * How many replicas (`sizeFor`): as the HPA does, proportionally,
 * `ceil(current × value / target)`, where the target is the middle of the two thresholds. So an
 * HPA with target T and tolerance t is the signal `{up: T(1+t), down: T(1-t)}`: inside the band
 * nothing changes, outside it the count moves to bring the value back to T.
 *
 * How signals combine (`agreement`):
 * - scale out when at least `require` signals are high: to the largest count that `require` of
 *   them ask for (the require-th largest; with require 1 it is the HPA's "largest of the metrics");
 * - scale in when at least `require` signals are low and none is high: to the largest count the
 *   low signals ask for, and never so far that a signal in its band would be pushed above its up
 *   threshold (that would only flap back). An unreadable signal blocks scaling in but not out, as
 *   the HPA does: it may be the one under load.
 * - Fewer than `require` readable signals: hold, or escalate when `onUnavailable: escalate`.
 * Then min/max, then `step` (the most one decision changes), then the cooldown. An HPA on the
 * Deployment owns its replica count: hold. A Deployment at 0 replicas is left alone, as the HPA
 * leaves it (scaling to zero is a person's decision), and the scaler never scales in to 0.
 */
import { formatDuration } from '../util/duration.ts';
import type {
  DecisionInput,
  ScalingDecision,
  ScalingPolicy,
  SignalInput,
  SignalReport,
  SignalSpec,
} from './types.ts';

export const DEFAULT_STALE_AFTER_MS = 60_000;

/** One signal judged, plus what it asks for. */
export interface JudgedSignal {
  spec: SignalSpec;
  report: SignalReport;
  /** High: the count it asks for; low: the count it would settle for; else null. */
  wants: number | null;
  /** Normal: the fewest replicas that keep it at or below its up threshold; else null. */
  floor: number | null;
}

/** A number as people read it: 0.93, 1.25, 1200, not 0.9300000000001. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(value);
  if (abs >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** Whole seconds, UTC, as Kubernetes writes times. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function replicasText(count: number): string {
  return count === 1 ? '1 replica' : `${count} replicas`;
}

/** A span of time as people say it: whole seconds once it is a second or more. */
function span(ms: number): string {
  return formatDuration(ms >= 1_000 ? Math.floor(ms / 1_000) * 1_000 : Math.max(0, Math.round(ms)));
}

/** ceil, forgiving the float error of a product that should be a whole number. */
function ceilish(x: number): number {
  return Math.ceil(x - 1e-9);
}

/**
 * The count that brings `value` back to `target`, as the HPA computes it:
 * `ceil(current × value / target)`. Null when that has no meaning (target ≤ 0, value < 0).
 */
export function proportionalReplicas(
  current: number,
  value: number,
  target: number,
): number | null {
  if (!(target > 0) || !(value >= 0) || !Number.isFinite(value)) return null;
  return ceilish((current * value) / target);
}

/**
 * How long `holds` has been true without a break, counted up to `now` (the newest sample stands
 * until the next); null when the newest sample fails it.
 */
function heldForMs(
  samples: readonly { t: number; v: number }[],
  holds: (v: number) => boolean,
  now: number,
  maxGapMs: number,
): number | null {
  let start: number | undefined;
  let later: number | undefined;
  for (let i = samples.length - 1; i >= 0; i -= 1) {
    const sample = samples[i] as { t: number; v: number };
    if (!holds(sample.v)) break;
    if (later !== undefined && later - sample.t > maxGapMs) break;
    start = sample.t;
    later = sample.t;
  }
  return start === undefined ? null : Math.max(0, now - start);
}

/** The lowest or highest value of the samples in [from, now], the newest always included. */
function extremeSince(
  samples: readonly { t: number; v: number }[],
  from: number,
  pick: (a: number, b: number) => number,
  normalise: (v: number) => number,
): number {
  // The newest sample always counts: it stands until the next one, however old within bounds.
  let result = normalise((samples[samples.length - 1] as { t: number; v: number }).v);
  for (let i = samples.length - 2; i >= 0; i -= 1) {
    const sample = samples[i] as { t: number; v: number };
    if (sample.t < from) break;
    result = pick(result, normalise(sample.v));
  }
  return result;
}

function unavailable(spec: SignalSpec, why: string): JudgedSignal {
  return {
    spec,
    report: { name: spec.name, value: null, threshold: null, verdict: 'unavailable', why },
    wants: null,
    floor: null,
  };
}

/** Judges one signal against its thresholds and windows (see the file comment). */
export function judge(
  spec: SignalSpec,
  input: SignalInput | undefined,
  context: {
    policy: Pick<ScalingPolicy, 'stabilization'>;
    replicas: number;
    now: number;
    staleAfterMs: number;
  },
): JudgedSignal {
  if (input === undefined) return unavailable(spec, 'not read in this round');
  if (!input.ok) return unavailable(spec, input.error);
  const samples = input.samples;
  const newest = samples[samples.length - 1];
  if (newest === undefined) return unavailable(spec, 'no data: the query returned no samples');
  if (!Number.isFinite(newest.v)) {
    return unavailable(
      spec,
      `the latest value is ${formatValue(newest.v)}, not a number to compare`,
    );
  }
  const { now, replicas, staleAfterMs } = context;
  const age = now - newest.t;
  if (age > staleAfterMs) {
    return unavailable(
      spec,
      `stale: the newest sample is ${span(age)} old (at most ${formatDuration(staleAfterMs)} allowed)`,
    );
  }
  const perReplica = spec.per === 'replica';
  if (perReplica && replicas <= 0) {
    return unavailable(spec, 'a per-replica value needs at least one replica to divide by');
  }
  const normalise = perReplica ? (v: number) => v / replicas : (v: number) => v;
  const unit = perReplica ? ' per replica' : '';
  const { up, down } = spec.thresholds;
  const target = (up + down) / 2;
  const upWindow = context.policy.stabilization.scaleUpMs;
  const downWindow = context.policy.stabilization.scaleDownMs;
  const gap = staleAfterMs;
  const highFor = heldForMs(samples, (v) => normalise(v) > up, now, gap);
  const lowFor = heldForMs(samples, (v) => normalise(v) < down, now, gap);
  const latest = normalise(newest.v);
  const note = input.ok && input.note ? `; ${input.note}` : '';
  const report = (
    value: number,
    threshold: number,
    verdict: SignalReport['verdict'],
    why: string,
  ): SignalReport => ({ name: spec.name, value, threshold, verdict, why: `${why}${note}` });

  if (highFor !== null && highFor >= upWindow) {
    const value = extremeSince(samples, now - upWindow, Math.min, normalise);
    return {
      spec,
      report: report(
        value,
        up,
        'high',
        `above ${formatValue(up)}${unit} for ${span(highFor)} (lowest ${formatValue(value)} in the last ${formatDuration(upWindow)})`,
      ),
      wants: Math.max(replicas + 1, proportionalReplicas(replicas, value, target) ?? replicas + 1),
      floor: null,
    };
  }
  if (lowFor !== null && lowFor >= downWindow) {
    const value = extremeSince(samples, now - downWindow, Math.max, normalise);
    return {
      spec,
      report: report(
        value,
        down,
        'low',
        `below ${formatValue(down)}${unit} for ${span(lowFor)} (highest ${formatValue(value)} in the last ${formatDuration(downWindow)})`,
      ),
      wants: Math.min(replicas, proportionalReplicas(replicas, value, target) ?? replicas - 1),
      floor: null,
    };
  }
  const floor = proportionalReplicas(replicas, latest, up) ?? replicas;
  if (latest > up) {
    return {
      spec,
      report: report(
        latest,
        up,
        'normal',
        `above ${formatValue(up)}${unit} (${formatValue(latest)}) for only ${span(highFor ?? 0)} of the ${formatDuration(upWindow)} needed`,
      ),
      wants: null,
      floor,
    };
  }
  if (latest < down) {
    return {
      spec,
      report: report(
        latest,
        down,
        'normal',
        `below ${formatValue(down)}${unit} (${formatValue(latest)}) for only ${span(lowFor ?? 0)} of the ${formatDuration(downWindow)} needed`,
      ),
      wants: null,
      floor,
    };
  }
  return {
    spec,
    report: report(
      latest,
      latest >= target ? up : down,
      'normal',
      `${formatValue(latest)}${unit} is between ${formatValue(down)} and ${formatValue(up)}`,
    ),
    wants: null,
    floor,
  };
}

function names(signals: readonly JudgedSignal[]): string {
  const list = signals.map((s) => s.spec.name);
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
}

function values(signals: readonly JudgedSignal[], sign: '>' | '<'): string {
  return signals
    .map((s) => {
      const unit = s.spec.per === 'replica' ? ' per replica' : '';
      return `${s.spec.name} ${formatValue(s.report.value ?? Number.NaN)}${unit} ${sign} ${formatValue(s.report.threshold ?? Number.NaN)}`;
    })
    .join(', ');
}

function whyUnavailable(signals: readonly JudgedSignal[]): string {
  return signals.map((s) => `${s.spec.name}: ${s.report.why}`).join('; ');
}

/** What the signals together ask for, before bounds, step and cooldown. */
type Agreement =
  | { kind: 'out'; to: number; because: string }
  | { kind: 'in'; to: number; because: string }
  | { kind: 'none'; because: string };

function agreement(
  policy: ScalingPolicy,
  judged: readonly JudgedSignal[],
  current: number,
): Agreement {
  const k = policy.require;
  const n = judged.length;
  const high = judged.filter((s) => s.report.verdict === 'high');
  const low = judged.filter((s) => s.report.verdict === 'low');
  const missing = judged.filter((s) => s.report.verdict === 'unavailable');
  const upWindow = formatDuration(policy.stabilization.scaleUpMs);
  const downWindow = formatDuration(policy.stabilization.scaleDownMs);

  if (high.length >= k) {
    const asks = high.map((s) => s.wants ?? current + 1).sort((a, b) => b - a);
    const to = asks[k - 1] ?? current + 1;
    return {
      kind: 'out',
      to,
      because: `${high.length} of ${n} signals have been above their up threshold for at least ${upWindow} (${values(high, '>')})${k > 1 ? ` and ${k} must agree` : ''}`,
    };
  }
  if (low.length >= k) {
    const lowText = `${low.length} of ${n} signals have been below their down threshold for at least ${downWindow} (${values(low, '<')})`;
    if (high.length > 0) {
      return {
        kind: 'none',
        because: `${lowText}, but ${names(high)} ${high.length === 1 ? 'is' : 'are'} above the up threshold`,
      };
    }
    if (missing.length > 0) {
      return {
        kind: 'none',
        because: `${lowText}, but ${names(missing)} cannot be read (${missing.length === 1 ? missing[0]?.report.why : whyUnavailable(missing)}) and might be the one under load`,
      };
    }
    const settle = Math.max(...low.map((s) => s.wants ?? current));
    const guards = judged.filter((s) => s.floor !== null && s.floor > settle);
    const guardTo = Math.max(settle, ...guards.map((s) => s.floor ?? settle));
    if (guardTo >= current) {
      const needing =
        guards.length > 0
          ? `, but fewer replicas would push ${names(guards)} above the up threshold`
          : `, but the load still needs ${replicasText(current)}`;
      return { kind: 'none', because: `${lowText}${needing}` };
    }
    const guardText =
      guards.length > 0
        ? `; ${names(guards)} ${guards.length === 1 ? 'needs' : 'need'} at least ${guardTo} to stay below the up threshold`
        : '';
    return {
      kind: 'in',
      to: guardTo,
      because: `${lowText}${k > 1 ? ` and ${k} must agree` : ''}${guardText}`,
    };
  }
  if (high.length > 0) {
    return {
      kind: 'none',
      because: `only ${high.length} of ${n} signals (${names(high)}) ${high.length === 1 ? 'has' : 'have'} been above the up threshold for ${upWindow}, and ${k} must agree`,
    };
  }
  if (low.length > 0) {
    return {
      kind: 'none',
      because: `only ${low.length} of ${n} signals (${names(low)}) ${low.length === 1 ? 'has' : 'have'} been below the down threshold for ${downWindow}, and ${k} must agree`,
    };
  }
  const readable = judged.filter((s) => s.report.verdict !== 'unavailable');
  const whys = readable.map((s) => `${s.spec.name} ${s.report.why}`).join('; ');
  return {
    kind: 'none',
    because: `no signal has called for a change long enough (${whys})`,
  };
}

/** The decision for one Deployment now (see the file comment for the rules). */
export function decide(input: DecisionInput): ScalingDecision {
  const { policy, now } = input;
  const from = input.replicas;
  const staleAfterMs = input.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const judged = policy.signals.map((spec) =>
    judge(spec, input.signals[spec.name], { policy, replicas: from, now, staleAfterMs }),
  );
  const signals = judged.map((s) => s.report);
  const hold = (because: string): ScalingDecision => ({
    decision: 'hold',
    from,
    to: from,
    reason: `hold at ${replicasText(from)}: ${because}`,
    signals,
  });

  if (input.hpa !== null) {
    return hold(
      `HorizontalPodAutoscaler ${input.hpa.name} targets this Deployment and owns its replica count, so kube-remedy does not scale it`,
    );
  }
  if (from <= 0) {
    return hold(
      'the Deployment is scaled to zero; kube-remedy does not scale from zero (as the HPA does not): scale it up by hand to resume',
    );
  }

  const lower = Math.max(policy.minReplicas, 1);
  const upper = Math.max(policy.maxReplicas, lower);
  const bounded = (count: number) => Math.min(upper, Math.max(lower, count));
  const outOfBounds =
    from > upper
      ? `${from} is above the policy's maxReplicas ${upper}`
      : from < lower
        ? `${from} is below the policy's ${policy.minReplicas >= 1 ? `minReplicas ${lower}` : 'minimum of 1 (the scaler never scales to zero)'}`
        : null;

  const minimumText = policy.minReplicas >= 1 ? `minReplicas ${lower}` : 'minimum of 1';
  let wanted: number;
  let because: string;
  const readable = judged.filter((s) => s.report.verdict !== 'unavailable');
  if (readable.length < policy.require) {
    const missing = judged.filter((s) => s.report.verdict === 'unavailable');
    const shortfall = `only ${readable.length} of ${judged.length} signals can be read and ${policy.require} must agree (${whyUnavailable(missing)})`;
    if (outOfBounds === null) {
      if (policy.onUnavailable === 'escalate') {
        return {
          decision: 'escalate',
          from,
          to: from,
          reason: `escalate: ${shortfall}; the replicas stay at ${from} until people look (onUnavailable: escalate)`,
          signals,
        };
      }
      return hold(shortfall);
    }
    // The bounds need no signal: bring the count back within them.
    wanted = bounded(from);
    because = `${outOfBounds} (the signals cannot decide: ${shortfall})`;
  } else {
    const agreed = agreement(policy, judged, from);
    if (agreed.kind === 'none') {
      if (outOfBounds === null) return hold(agreed.because);
      wanted = bounded(from);
      because = `${outOfBounds}; ${agreed.because}`;
    } else {
      wanted = bounded(agreed.to);
      because = agreed.because;
      if (wanted === from) {
        // The signals ask to go past the bound the Deployment is already at.
        const bound =
          agreed.kind === 'out'
            ? 'maxReplicas'
            : policy.minReplicas >= 1
              ? 'minReplicas'
              : 'minimum of 1 (the scaler never scales to zero)';
        return hold(`${because}, but ${from} is the policy's ${bound}`);
      }
      if (outOfBounds !== null) because = `${outOfBounds}; ${because}`;
      else if (wanted !== agreed.to) {
        because +=
          agreed.to > upper
            ? `; ${agreed.to} would be above the policy's maxReplicas ${upper}`
            : `; ${agreed.to} would be below the policy's ${minimumText}`;
      }
    }
  }

  const direction = wanted > from ? 'out' : 'in';
  const change = Math.min(policy.step, Math.abs(wanted - from));
  const to = direction === 'out' ? from + change : from - change;
  const stepNote =
    to !== wanted ? `; step ${policy.step} limits this decision (${wanted} wanted)` : '';

  if (input.lastScaleAt !== null && now < input.lastScaleAt + policy.cooldownMs) {
    const until = input.lastScaleAt + policy.cooldownMs;
    return hold(
      `would scale ${direction} to ${to} (${because}), but the last scale was ${span(now - input.lastScaleAt)} ago and the cooldown of ${formatDuration(policy.cooldownMs)} lasts until ${formatTime(until)}`,
    );
  }

  return {
    decision: direction === 'out' ? 'scaleOut' : 'scaleIn',
    from,
    to,
    reason: `scale ${direction} from ${from} to ${replicasText(to)}: ${because}${stepNote}`,
    signals,
  };
}
