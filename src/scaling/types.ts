/**
 * The vocabulary of multi-signal scaling: the policy it reads (the AutoRemediationPolicy's
 * `spec.scaling`, as src/policy parses it), what it is given about each signal, and the decision
 * it returns, which carries its reason in the words people read in Events, Slack and status.
 */
import type { Sample } from '../adapters/prometheus/index.ts';
import type { Scaling } from '../policy/schema.ts';

export type { Sample };

/**
 * `spec.scaling` as src/policy/schema.ts parses it: `minReplicas`, `maxReplicas`, `step` (most
 * replicas one decision adds or removes), `require` (k of n), `cooldownMs`,
 * `stabilization.{scaleUpMs,scaleDownMs}`, `onUnavailable` and the `signals`.
 */
export type ScalingPolicy = Scaling;

/**
 * One signal of the policy. `per: replica` divides the query's value by the current replica
 * count before comparing it with the thresholds; `per: total` compares it as it is. Above
 * `thresholds.up` the signal calls for more replicas, below `thresholds.down` for fewer; the
 * scaler sizes a change to bring the signal back to the middle of the two (see decide.ts).
 */
export type SignalSpec = ScalingPolicy['signals'][number];

/**
 * What the scaler could learn about one signal: its samples over the window (raw query values,
 * oldest first, before any per-replica division), or why it could not read them.
 */
export type SignalInput =
  | {
      ok: true;
      samples: readonly Sample[];
      /** Something worth saying about how the samples were read (e.g. several series returned). */
      note?: string;
    }
  | { ok: false; error: string };

/** A HorizontalPodAutoscaler whose scaleTargetRef names the Deployment. */
export interface HpaRef {
  /** `metadata.name` of the HPA (same namespace as the Deployment). */
  name: string;
}

export interface DecisionInput {
  policy: ScalingPolicy;
  /** When the decision is taken, ms since the epoch. */
  now: number;
  /** The Deployment's desired replica count (`spec.replicas`) as last observed. */
  replicas: number;
  /** An HPA targeting the Deployment, which then owns its replica count; null if none. */
  hpa: HpaRef | null;
  /** When the last scale this scaler asked for happened (ms), null if none is known. */
  lastScaleAt: number | null;
  /** Per signal name. A signal missing here counts as unavailable. */
  signals: Readonly<Record<string, SignalInput>>;
  /**
   * A signal whose newest sample is older than this is unavailable, and two samples further
   * apart than this break a window. Default: 60 s.
   */
  staleAfterMs?: number;
}

export type SignalVerdict = 'high' | 'low' | 'normal' | 'unavailable';

/** How one signal stood when the decision was taken. */
export interface SignalReport {
  name: string;
  /**
   * The value judged (per replica when `per: replica`): the lowest of the scale-up window when
   * high, the highest of the scale-down window when low, else the latest; null when unavailable.
   */
  value: number | null;
  /** The threshold the value was judged against (up when high, down when low, the nearer one otherwise); null when unavailable. */
  threshold: number | null;
  verdict: SignalVerdict;
  /** Why, in words: "above 0.8 per replica for 2m (lowest 0.93)", "Prometheus rejected the query …". */
  why: string;
}

export type ScalingDecisionKind = 'scaleOut' | 'scaleIn' | 'hold' | 'escalate';

/** A scaling decision and everything that explains it. `from === to` unless it scales. */
export interface ScalingDecision {
  decision: ScalingDecisionKind;
  from: number;
  to: number;
  /** One sentence for Kubernetes Events, Slack and the policy status. */
  reason: string;
  signals: SignalReport[];
}
