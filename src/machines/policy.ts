/**
 * The policy as the machines read it: already parsed, defaults applied, durations in milliseconds.
 * The AutoRemediationPolicy compiler (src/policy) produces it from the CRD spec; machines never see
 * the CRD's shape, its approver lists or its integration settings (Slack channels, repositories),
 * which are the runtime's concern. Every field below says what it changes in the machines.
 */
import type { EscalationTarget } from '../policy/schema.ts';
import type { Action, DetectionType, Mode } from '../policy/vocabulary.ts';
import { DETECTION_TYPES } from '../policy/vocabulary.ts';

export type { Action, DetectionType, EscalationTarget, Mode };

/**
 * The longest duration a machine arms as a timer: Node's `setTimeout` fires at once for anything
 * longer than 2^31-1 ms (about 24.8 days), which would turn a long snooze into none.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** How one detection type is confirmed and what is done about it. */
export interface DetectionRule {
  /**
   * How many times the symptom must be seen within `windowMs` to confirm it early. Counted as
   * restarts for CrashLoopBackOff and OOMKilled (see THRESHOLD_COUNTS), as observations carrying
   * the detection otherwise. A symptom still present when its window ends is confirmed too: with
   * unchanged observations dropped upstream, a steady condition arrives once, not `threshold` times.
   */
  threshold: number;
  /** How long the symptom is given to go away on its own (the `suspect` state), in ms. */
  windowMs: number;
  /**
   * What to do once confirmed. `notify` tells people and changes nothing (the machine escalates);
   * `drain` cordons first and drains only when `node.drainAllowed`; `increaseMemory` is always a
   * pull request; `rollback` on a Deployment also needs `deployment.rollbackOnFailedRollout`.
   */
  action: Action;
  /** For `scale`: the replica count the Deployment is scaled to. */
  replicas?: number;
  /** For `taint`: the taint put on the node. */
  taint?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' };
  /** For `increaseMemory`: how much the limit grows in the proposed change, and its ceiling. */
  memory?: { increasePercent: number; max?: string };
  /**
   * For `restartPod`, `deletePod` and `evictPod`: act on a pod that no controller recreates,
   * which deletes it for good. Otherwise such a pod's incident goes to people.
   */
  deleteBarePods?: boolean;
  /**
   * How many times `action` is tried within one incident before the ladder moves on: the symptom
   * back on the pod, or on a replacement of it, during verification counts as not held. Default 1.
   */
  attempts?: number;
  /**
   * What follows when `action` did not hold `attempts` times: `rollback` rolls the pod's
   * Deployment back to the revision before the failing ReplicaSet, then people decide;
   * `escalate` (the default) hands it to people at once.
   */
  then?: 'rollback' | 'escalate';
  /**
   * For NotReady (cordon or drain): once the node has not come back and is confirmed fenced
   * (its `remedy.kube-remedy.io/fenced` annotation), taint it `node.kubernetes.io/out-of-service`
   * so its stateful pods fail over; the taint is removed first when the node returns.
   */
  outOfServiceWhenFenced?: boolean;
}

/** One rung of the escalation ladder. */
export interface EscalationLevel {
  /** When this level is told, counted from the moment the incident escalated, in ms. Increasing. */
  afterMs: number;
  /** Who is told: `ticket` targets open a ticket, the others get a notification. */
  targets: EscalationTarget[];
}

export interface MachinePolicy {
  /** `namespace/name` of the AutoRemediationPolicy, quoted in reasons and effects. */
  name: string;
  /**
   * How remediations happen. `auto`: at once. `approval`: a person approves first (the approval
   * request expires after `approvalTimeoutMs`, then the incident escalates). `dryRun`: the machine
   * records what it would do and changes nothing. `gitops`: changes to desired state (rollback,
   * scale) become pull requests and the machine waits for them to be merged or closed; imperative
   * actions (restarting a pod, cordoning a node) change no desired state and are done directly.
   */
  mode: Mode;
  /** Which detections this policy acts on; a type without a rule is ignored. */
  detections: Partial<Record<DetectionType, DetectionRule>>;
  /**
   * Set while the policy carries the pause annotation (`remedy.kube-remedy.io/paused`), to its
   * value (who paused it and why, or empty). Automation holds, as in a storm: each problem the
   * policy confirms asks a person instead of being acted on. Incidents already acting go on.
   */
  paused?: string;
  /** Quiet time after every incident (resolved, rejected or dry run) before the next one, in ms. */
  cooldownMs: number;
  /**
   * How long the symptom must stay away after a remediation for it to count as resolved, in ms.
   * Also how long an escalated incident's symptom must stay away before it closes by itself.
   */
  verificationWindowMs: number;
  /** How long an approval request or a pull request waits for people before escalating, in ms. */
  approvalTimeoutMs: number;
  /** How long the machine waits for a worker to report an effect's result before escalating, in ms. */
  effectTimeoutMs: number;
  /** Who is told, and when, once an incident escalates. May be empty: then only the policy's channel. */
  escalation: EscalationLevel[];
  /**
   * Stop acting when remediations do not hold: once `maxRemediations` remediations happened within
   * `windowMs` and the symptom is back, the machine escalates once and stays hands-off until the
   * oldest of them leaves the window.
   */
  quarantine: { maxRemediations: number; windowMs: number };
  node: {
    /** Whether a `drain` action may evict pods; when false the node is only cordoned. */
    drainAllowed: boolean;
    /**
     * Never cordon, drain or taint a node if fewer than this many Ready, schedulable nodes would
     * remain (the runtime reports the count in the `healthyNodes` fact).
     */
    minHealthyNodes: number;
    /**
     * When the policy gives its floor as a percentage: of the nodes it selects (the `selectedNodes`
     * fact), rounded up, in place of `minHealthyNodes`.
     */
    minHealthyPercent?: number;
  };
  deployment: {
    /** Whether a failed rollout may be rolled back; when false the machine escalates instead. */
    rollbackOnFailedRollout: boolean;
  };
}

const MINUTE = 60_000;

/** A complete policy for tests, `simulate` and examples: auto mode, every detection watched. */
export const defaultMachinePolicy: MachinePolicy = {
  name: 'kube-remedy/default',
  mode: 'auto',
  detections: {
    CrashLoopBackOff: { threshold: 3, windowMs: 10 * MINUTE, action: 'restartPod' },
    ImagePullBackOff: { threshold: 2, windowMs: 5 * MINUTE, action: 'notify' },
    OOMKilled: { threshold: 2, windowMs: 30 * MINUTE, action: 'notify' },
    MemoryPressure: { threshold: 3, windowMs: 5 * MINUTE, action: 'drain' },
    DiskPressure: { threshold: 3, windowMs: 5 * MINUTE, action: 'drain' },
    PIDPressure: { threshold: 3, windowMs: 5 * MINUTE, action: 'cordon' },
    NotReady: { threshold: 3, windowMs: 5 * MINUTE, action: 'drain' },
    RolloutFailed: { threshold: 1, windowMs: 1 * MINUTE, action: 'rollback' },
  },
  cooldownMs: 10 * MINUTE,
  verificationWindowMs: 5 * MINUTE,
  approvalTimeoutMs: 30 * MINUTE,
  effectTimeoutMs: 5 * MINUTE,
  escalation: [
    { afterMs: 0, targets: [{ type: 'slack', channel: '#oncall' }] },
    { afterMs: 15 * MINUTE, targets: [{ type: 'page', service: 'primary' }] },
    { afterMs: 45 * MINUTE, targets: [{ type: 'ticket' }] },
  ],
  quarantine: { maxRemediations: 3, windowMs: 60 * MINUTE },
  node: { drainAllowed: true, minHealthyNodes: 2 },
  deployment: { rollbackOnFailedRollout: true },
};

function durationProblem(path: string, ms: number): string | null {
  if (!Number.isFinite(ms) || ms < 0) return `${path}: expected a duration >= 0 ms, got ${ms}`;
  if (ms > MAX_DURATION_MS) {
    return `${path}: ${ms} ms is longer than timers can wait (${MAX_DURATION_MS} ms, about 24 days)`;
  }
  return null;
}

/**
 * What is wrong with a policy, one sentence per problem (empty when it is usable). The compiler
 * calls this once per policy so that a machine never runs on a policy it would misread.
 */
export function machinePolicyProblems(policy: MachinePolicy): string[] {
  const problems: (string | null)[] = [
    durationProblem('cooldownMs', policy.cooldownMs),
    durationProblem('verificationWindowMs', policy.verificationWindowMs),
    durationProblem('approvalTimeoutMs', policy.approvalTimeoutMs),
    durationProblem('effectTimeoutMs', policy.effectTimeoutMs),
    durationProblem('quarantine.windowMs', policy.quarantine.windowMs),
  ];
  for (const type of DETECTION_TYPES) {
    const rule = policy.detections[type];
    if (!rule) continue;
    problems.push(durationProblem(`detections.${type}.windowMs`, rule.windowMs));
    if (!Number.isInteger(rule.threshold) || rule.threshold < 1) {
      problems.push(`detections.${type}.threshold: expected an integer >= 1`);
    }
    if (rule.action === 'scale' && rule.replicas === undefined) {
      problems.push(`detections.${type}.replicas: action scale needs replicas`);
    }
  }
  policy.escalation.forEach((level, i) => {
    problems.push(durationProblem(`escalation[${i}].afterMs`, level.afterMs));
    const previous = policy.escalation[i - 1];
    if (previous && previous.afterMs >= level.afterMs) {
      problems.push(`escalation[${i}].afterMs: levels must come in increasing order`);
    }
  });
  if (policy.quarantine.maxRemediations < 1) {
    problems.push('quarantine.maxRemediations: expected at least 1');
  }
  if (policy.node.minHealthyNodes < 0) problems.push('node.minHealthyNodes: expected >= 0');
  return problems.filter((p): p is string => p !== null);
}
