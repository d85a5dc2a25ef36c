/**
 * What a pod machine knows of its workload's memory (src/workloads/rules.ts): whether a symptom
 * must be claimed from the workload before deciding, where the policy's ladder goes next, and
 * what the pod's actor tells the workload after each of its transitions. Pure.
 */
import type { Detection } from '../analyzers/types.ts';
import { isReplaced, workloadOf } from '../observe/workload.ts';
import type { DetectionType } from '../policy/vocabulary.ts';
import type { WorkloadPhase, WorkloadReport } from '../workloads/rules.ts';
import type { RemediationContext } from './context.ts';
import type { DetectionRule } from './policy.ts';

export type { ClaimAnswer, WorkloadIncident } from '../workloads/rules.ts';

/** Where the workload's incident of one symptom stands, for a pod that waits on it. */
export interface WorkloadFact {
  type: DetectionType;
  /** The workload's open incident, or null. */
  incidentId: string | null;
  /** Until when the workload is quarantined or cooling down for the symptom, or null. */
  heldUntil: number | null;
  /**
   * When the remediation whose verification a pod holds now was asked for, or null when none
   * is being verified: a waiting pod created since is one of its results, and its symptom
   * says the remediation did not hold. Absent in facts told before it was kept.
   */
  verifyingActedAt?: number | null;
}

/** The params of `claimWorkload`: a pod confirmed a symptom and asks its workload who decides. */
export interface WorkloadClaimRequest {
  actorKey: string;
  /** `namespace/Kind/name` of the pod's workload. */
  workload: string;
  incidentId: string;
  trigger: Detection;
  verificationWindowMs: number;
  requestedAt: number;
  /** When the pod was created, if known: a pod created after a remediation is its result. */
  createdAt?: number;
}

/** `shop/Deployment/web`: the key of a pod's workload memory, or null for a pod nothing replaces. */
export function workloadKeyOf(context: RemediationContext): string | null {
  const o = context.observation;
  if (o?.kind !== 'Pod') return null;
  const workload = o.workload ?? workloadOf({ name: o.name, owner: o.owner });
  return isReplaced(workload) ? `${o.namespace}/${workload.kind}/${workload.name}` : null;
}

/** Whether the confirmed symptom must first be claimed from the pod's workload. */
export function needsClaim(context: RemediationContext): boolean {
  const incident = context.incident;
  return (
    context.kind === 'Pod' &&
    context.facts.workloadMemory === true &&
    // A dry run changes nothing, so it has nothing to share: each pod records what it would do.
    context.policy.mode !== 'dryRun' &&
    incident !== null &&
    incident.trigger.kind === 'detection' &&
    incident.claim === undefined &&
    // An incident opened before the runtime said it keeps workload memory is decided alone.
    incident.workload !== undefined
  );
}

/**
 * What the ladder does once `done` remediations of the incident did not hold: the rule's action
 * again (until it was tried `attempts` times), then its `then` once, then nothing (people).
 */
export function ladderStep(rule: DetectionRule, done: number): 'action' | 'then' | null {
  const attempts = rule.attempts ?? 1;
  if (done < attempts) return 'action';
  if (done === attempts && rule.then === 'rollback') return 'then';
  return null;
}

/** The incident's rule, if it has one. */
export function incidentRule(context: RemediationContext): DetectionRule | undefined {
  const trigger = context.incident?.trigger;
  return trigger?.kind === 'detection'
    ? context.policy.detections[trigger.detection.type]
    : undefined;
}

const PHASES: Readonly<Record<string, WorkloadPhase>> = {
  claiming: 'deciding',
  detected: 'deciding',
  awaitingApproval: 'deciding',
  remediating: 'remediating',
  awaitingMerge: 'remediating',
  verifying: 'verifying',
  escalated: 'escalated',
  quarantined: 'quarantined',
};

const REPLACES_POD: ReadonlySet<string> = new Set(['restartPod', 'deletePod', 'evictPod']);

function topState(value: unknown): string {
  return typeof value === 'string' ? value : (Object.keys(value as object)[0] ?? '');
}

/**
 * What a pod actor tells its workload after a transition: its incident of the symptom as it
 * stands when it leads one, and the remediations and deadlines the workload keeps for all its
 * pods. Null for pods without workload memory.
 */
export function workloadReport(snapshot: {
  value: unknown;
  context: RemediationContext;
}): { workload: string; type: DetectionType | null; report: WorkloadReport } | null {
  const { context } = snapshot;
  if (context.kind !== 'Pod' || context.facts.workloadMemory !== true) return null;
  const workload = context.incident?.workload ?? workloadKeyOf(context);
  if (workload === null) return null;
  const state = topState(snapshot.value);
  const incident = context.incident;
  const leads =
    incident !== null &&
    incident.trigger.kind === 'detection' &&
    (incident.claim === 'lead' || incident.claim === 'alone');
  const phase = PHASES[state];
  let reported: WorkloadReport['incident'] = null;
  if (leads && incident.trigger.kind === 'detection' && phase !== undefined) {
    const latest =
      incident.awaiting?.kind ??
      incident.plan[Math.min(incident.step, incident.plan.length - 1)]?.kind;
    reported = {
      id: incident.id,
      openedAt: incident.openedAt,
      phase,
      attempts: incident.attempts ?? 0,
      actedAt: incident.actedAt ?? null,
      replacesPod: latest !== undefined && REPLACES_POD.has(latest),
      verifyUntil: phase === 'verifying' ? (context.deadlines.verificationEnds ?? null) : null,
      verificationWindowMs: context.policy.verificationWindowMs,
      announced: incident.announced,
      trigger: incident.trigger.detection,
    };
  }
  return {
    workload,
    type: incident?.trigger.kind === 'detection' ? incident.trigger.detection.type : null,
    report: {
      holder: context.actorKey,
      incident: reported,
      remediations: context.remediations,
      quietUntil: state === 'coolingDown' ? (context.deadlines.cooldownEnds ?? null) : null,
      quarantinedUntil: state === 'quarantined' ? (context.deadlines.quarantineEnds ?? null) : null,
    },
  };
}
