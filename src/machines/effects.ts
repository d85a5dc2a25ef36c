/**
 * The effects machines ask for, as data. A machine never performs one: it calls the named action
 * `enqueueEffect` with an `EffectRequest`, which the runtime turns into a BullMQ job whose id is
 * derived from (actorKey, incidentId, step), so a replayed transition can never double an action.
 * `recordEvent` asks for a Kubernetes Event on the object, so `kubectl describe` tells the story.
 */
import type { DetectionType, ObjectKind } from '../policy/vocabulary.ts';
import type { EscalationTarget } from './policy.ts';

/** The object an effect acts on, with the preconditions a worker checks (uid, resourceVersion). */
export interface ObjectRef {
  kind: ObjectKind;
  /** null for nodes. */
  namespace: string | null;
  name: string;
  uid: string;
  resourceVersion: string;
}

type Acting = {
  /** The object of the incident. Workload actions asked for a Pod act on its owning Deployment. */
  target: ObjectRef;
  /** Why, in the words people will read (Events, Slack, the policy status). */
  reason: string;
};

export type Taint = {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
};

/**
 * The taint that tells Kubernetes a node is shut down for good (non-graceful node shutdown): the
 * pod garbage collector deletes its pods and the attach/detach controller detaches their volumes,
 * so StatefulSet pods start elsewhere. Only ever put on a node confirmed fenced.
 */
export const OUT_OF_SERVICE_TAINT: Taint = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

/** A change to desired state that gitops mode proposes instead of making. */
export type ProposedChange =
  | { kind: 'rollback'; fromRevision: string | null }
  | { kind: 'scale'; from: number | null; to: number }
  | { kind: 'increaseMemory'; containers: string[]; increasePercent: number; max: string | null };

/** Effects whose result the machine waits for (`EFFECT.DONE` / `EFFECT.FAILED`). */
export type RemediationEffect =
  | (Acting & {
      kind: 'restartPod' | 'deletePod' | 'evictPod';
      /** The policy allows deleting a pod that no controller recreates (deleteBarePods). */
      deleteBarePod?: true;
    })
  | (Acting & {
      kind: 'rolloutRestart';
      /** Asked for a pod: the ReplicaSet of the failing pod (the worker refuses once it is not current). */
      fromReplicaSet?: string;
    })
  | (Acting & { kind: 'cordon' | 'uncordon' })
  | (Acting & { kind: 'drain'; minHealthyNodes: number })
  | (Acting & { kind: 'taint' | 'untaint'; taint: Taint })
  | (Acting & {
      kind: 'rollback';
      fromRevision: string | null;
      /** Asked for a pod: the ReplicaSet of the failing pod (the worker refuses once it is not current). */
      fromReplicaSet?: string;
    })
  | (Acting & { kind: 'scale'; from: number | null; to: number })
  | (Acting & { kind: 'openPullRequest'; proposes: ProposedChange });

/**
 * `unverified`: the incident ended without a verdict (no pod of the workload was left to verify
 * its restart); people hear it, with no buttons, since there is nothing left to decide.
 */
export type NotifyPurpose =
  'approvalRequested' | 'escalated' | 'quarantined' | 'resolved' | 'unverified';

/** Effects that tell or record; nothing waits for them. */
export type NotificationEffect =
  | (Acting & {
      kind: 'notify';
      purpose: NotifyPurpose;
      /** Whom: an escalation target, or null for the policy's own channel. */
      to: EscalationTarget | null;
      /** The escalation level (0-based) for escalation notices. */
      level: number | null;
      /** For approval requests: what would be done once approved, and until when one may approve. */
      proposes?: RemediationEffect;
      expiresAt?: number;
    })
  | (Acting & { kind: 'openTicket'; level: number })
  | (Acting & {
      kind: 'updateTicket';
      /** The problem whose ticket it is: its fingerprint is the actor key and this type. */
      detection: DetectionType;
      /** Resolve (close) the ticket after the comment; otherwise only comment. */
      resolve: boolean;
    })
  | (Acting & { kind: 'collectEvidence' });

export type Effect = RemediationEffect | NotificationEffect;
export type EffectKind = Effect['kind'];

/** The params of `enqueueEffect`; the field names match the runtime's EffectJob. */
export interface EffectRequest {
  /** `Kind/namespace/name` (or `Node/name`) of the actor that asks. */
  actorKey: string;
  incidentId: string;
  /** Unique within the incident and deterministic, e.g. `remediate-1`; no `:` in it. */
  step: string;
  /** `incidentId/step`: what `EFFECT.DONE` and `EFFECT.FAILED` name. */
  effectId: string;
  /** When the machine asked (the time of the event it was handling), ms since the epoch. */
  requestedAt: number;
  effect: Effect;
  /**
   * The workload (`namespace/Kind/name`) whose incident this is, for a pod's incident kept in
   * its workload's memory: the incident's ticket and people's commands follow the workload,
   * whichever of its pods asks.
   */
  workload?: string;
}

/** The params of `recordEvent`: a Kubernetes Event on the object. */
export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, as Kubernetes Event reasons are. */
  reason: string;
  message: string;
}

/** The step of the evidence collected as an incident is detected; pod-replacing jobs wait for it. */
export const DETECTION_EVIDENCE_STEP = 'detected-evidence';

/** Effects that change the cluster. None of them may ever be asked for in dryRun mode. */
export const CLUSTER_CHANGING: ReadonlySet<EffectKind> = new Set<EffectKind>([
  'restartPod',
  'deletePod',
  'evictPod',
  'rolloutRestart',
  'cordon',
  'uncordon',
  'drain',
  'taint',
  'untaint',
  'rollback',
  'scale',
]);

/** Effects that take a node out of service; each is guarded by `node.minHealthyNodes`. */
export const TAKES_NODE_OUT: ReadonlySet<EffectKind> = new Set<EffectKind>([
  'cordon',
  'drain',
  'taint',
]);

/** Changes to desired state: in gitops mode they are proposed as pull requests. */
export const DECLARATIVE: ReadonlySet<EffectKind> = new Set<EffectKind>(['rollback', 'scale']);

const VERB: Readonly<Record<RemediationEffect['kind'], string>> = {
  restartPod: 'restart',
  deletePod: 'delete',
  evictPod: 'evict',
  rolloutRestart: 'restart the rollout of',
  cordon: 'cordon',
  uncordon: 'uncordon',
  drain: 'drain',
  taint: 'taint',
  untaint: 'untaint',
  rollback: 'roll back',
  scale: 'scale',
  openPullRequest: 'open a pull request for',
};

export function objectName(ref: ObjectRef): string {
  return ref.namespace === null
    ? `${ref.kind} ${ref.name}`
    : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

function describeChange(change: ProposedChange): string {
  switch (change.kind) {
    case 'rollback':
      return `rolling back from revision ${change.fromRevision ?? 'current'}`;
    case 'scale':
      return `scaling to ${change.to} replicas`;
    case 'increaseMemory':
      return `raising the memory limit by ${change.increasePercent}%`;
  }
}

/** "restart Pod default/api", "scale Deployment shop/web from 3 to 5 replicas"… */
export function describeEffect(effect: RemediationEffect): string {
  const name = objectName(effect.target);
  switch (effect.kind) {
    case 'scale':
      return effect.from === null
        ? `scale ${name} to ${effect.to} replicas`
        : `scale ${name} from ${effect.from} to ${effect.to} replicas`;
    case 'taint':
    case 'untaint':
      return `${effect.kind} ${name} (${effect.taint.key}:${effect.taint.effect})`;
    case 'openPullRequest':
      return `open a pull request ${describeChange(effect.proposes)} for ${name}`;
    default:
      return `${VERB[effect.kind]} ${name}`;
  }
}

/**
 * What undoes a remediation whose verification failed, if anything does: only a scale can be put
 * back. A restart cannot be undone, and a cordoned sick node is safer left cordoned.
 */
export function undoOf(effect: RemediationEffect): RemediationEffect | null {
  if (effect.kind !== 'scale' || effect.from === null) return null;
  return {
    kind: 'scale',
    target: effect.target,
    from: effect.to,
    to: effect.from,
    reason: `undo: the scale to ${effect.to} replicas did not hold`,
  };
}
