/**
 * What a machine remembers. Everything here is plain JSON (it is persisted as is) and bounded:
 * the latest observation, not all of them; the last few history entries; the remediation times
 * that quarantine needs. Time-outs are absolute deadlines, so a restored actor re-arms them.
 */
import type { NodePods } from '../observe/node-pods.ts';
import type { Detection, DetectionType } from '../analyzers/types.ts';
import type { Observation } from '../observe/index.ts';
import type { ObjectKind } from '../policy/vocabulary.ts';
import type { RemediationEffect } from './effects.ts';
import type { MachinePolicy } from './policy.ts';
import type { WorkloadFact } from './workload.ts';

/** Another actor owns this problem (a pod on a node under pressure is the node's problem). */
export interface Inhibition {
  /** The actor key of the owner, e.g. `Node/worker-1`. */
  by: string;
  reason: string;
}

/** What the runtime knows about the world around the object. */
export interface RuntimeFacts {
  /** Pods: set while the node's machine is handling a problem of the pod's node. */
  inhibited: Inhibition | null;
  /** Nodes: Ready, schedulable nodes in the cluster, this one included if it is one; null = unknown. */
  healthyNodes: number | null;
  /**
   * Nodes: how many nodes the policy selects, Ready or not, for a `minHealthyNodes` given as a
   * percentage. Absent or null while unknown.
   */
  selectedNodes?: number | null;
  /** Nodes handled for NotReady: what the node holds, for its escalation. Absent until listed. */
  nodePods?: NodePods | null;
  /** Deployments: a HorizontalPodAutoscaler that targets this Deployment, which owns its replicas. */
  hpa: { name: string } | null;
  /**
   * Whether the disruption budgets the policy's actions take from (its own, its namespace's, the
   * cluster's) have a token left. The worker takes the token atomically; this fact lets the
   * machine hand the decision to a person before asking for an action that would be refused.
   */
  budgetAvailable: boolean;
  /**
   * Set while the storm breaker holds the policy's automation: more than `maxUnhealthyPercent` of
   * its targets (its workloads, or its nodes) are unhealthy at once. Absent from snapshots that
   * predate it: read as no storm.
   */
  storm?: StormFact | null;
  /**
   * Pods: the runtime keeps the memory of each pod's workload (docs/adr/0014, part 4), so a
   * confirmed symptom is first claimed from the workload: one incident for all its pods. Absent
   * (tests of the machine alone, old snapshots): the pod decides alone.
   */
  workloadMemory?: boolean;
  /** Pods waiting on their workload (`joined`): where its incident or hold stands now. */
  workload?: WorkloadFact | null;
}

/**
 * How many of the policy's targets were unhealthy when the storm breaker tripped. Targets are
 * workloads (every pod of a Deployment counts as the one Deployment; a pod no controller
 * replaces, as itself) or, under a node policy, nodes (budgets/storm.ts).
 */
export interface StormFact {
  unhealthy: number;
  targets: number;
  /** The policy's `budget.maxUnhealthyPercent`, which the share exceeded. */
  maxUnhealthyPercent: number;
  /**
   * The policy's `budget.maxUnhealthy` when it is a count, which the number exceeded (it then
   * takes the place of the percentage). Absent otherwise.
   */
  maxUnhealthy?: number;
  /**
   * Set once the storm is over but its cooldown (`budget.stormCooldown`) is not: when automation
   * resumes, ms since the epoch. Until then the policy's automation still holds.
   */
  resumesAt?: number;
}

/** The limit a storm exceeded, in words: `50%`, or `2` for a count. */
export function stormLimit(fact: Pick<StormFact, 'maxUnhealthy' | 'maxUnhealthyPercent'>): string {
  return fact.maxUnhealthy === undefined ? `${fact.maxUnhealthyPercent}%` : `${fact.maxUnhealthy}`;
}

/** What the storm breaker counts, in words: a policy governs nodes alone, or workloads. */
export type StormCounted = 'workloads' | 'nodes';

/** What the storm breaker counts under a policy of these kinds (Node is never mixed). */
export function stormCounts(kinds: readonly ObjectKind[]): StormCounted {
  return kinds.includes('Node') ? 'nodes' : 'workloads';
}

export const UNKNOWN_FACTS: RuntimeFacts = {
  inhibited: null,
  healthyNodes: null,
  hpa: null,
  budgetAvailable: true,
  storm: null,
};

export type DecisionKind =
  | 'quarantine'
  | 'wait'
  | 'escalate'
  | 'dryRun'
  | 'askApproval'
  | 'propose'
  | 'remediate'
  | 'standDown'
  | 'claim'
  | 'join';

/** Every decision comes with its reason, in the words logs, Events and Slack will show. */
export interface Decision {
  decision: DecisionKind;
  reason: string;
}

export type IncidentTrigger =
  | { kind: 'detection'; detection: Detection }
  | { kind: 'scale'; from: number; to: number; reason: string };

export interface Incident {
  /** `<actorKey>#<seq>@<openedAt>`: unique even if a snapshot is lost and the counter restarts. */
  id: string;
  seq: number;
  openedAt: number;
  trigger: IncidentTrigger;
  decision: Decision | null;
  /** The remediation steps, decided once; `step` is the one in progress. */
  plan: RemediationEffect[];
  step: number;
  /** The effect whose result the machine is waiting for. */
  awaiting: { effectId: string; kind: RemediationEffect['kind'] } | null;
  approvedBy: string | null;
  /** How many times this incident escalated (a node can escalate again after a failed uncordon). */
  escalations: number;
  escalation: { startedAt: number; level: number; acknowledgedBy: string | null } | null;
  /** Uncordon attempts, so each is a step of its own. */
  uncordons: number;
  /** A cordon (or taint) of ours is in place and has not been undone. */
  nodeOutOfService: boolean;
  /**
   * Nodes whose rule fails over when fenced (`outOfServiceWhenFenced`): the
   * `node.kubernetes.io/out-of-service` taint was asked for, is in place, or could not be put
   * (never asked again in this incident). Absent otherwise.
   */
  outOfServiceTaint?: 'asked' | 'applied' | 'failed';
  /** People were told about this incident, so they are told when it ends. */
  announced: boolean;
  /** Ids of the commands already handled (bounded), so a redelivered one is ignored. */
  commands: string[];
  /**
   * Remediations asked for in this incident so far: its position on the policy's ladder (the
   * rule's action `attempts` times, then its `then`). Absent from older snapshots: read as 0.
   */
  attempts?: number;
  /** When the latest remediation was asked for: pods created after it replace the pod it removed. */
  actedAt?: number;
  /**
   * Pods with workload memory: what the workload answered when the symptom was claimed. `lead`:
   * this pod decides for the workload; `member`: another pod does (`joinedTo` names it); `held`:
   * the workload is quarantined or cooling down; `alone`: the workload did not answer in time.
   */
  claim?: 'lead' | 'member' | 'held' | 'alone';
  /** For a member: the workload's incident it waits on and which pod actor decides it. */
  joinedTo?:
    | { incidentId: string; holder: string | null }
    | { held: 'quarantined' | 'coolingDown'; until: number };
  /** The workload (`namespace/Kind/name`) whose incident this is, for pods with workload memory. */
  workload?: string;
}

export interface DetectionWindow {
  type: DetectionType;
  openedAt: number;
  /** Sightings so far (restarts for restart-counted types). */
  seen: number;
  /** The restart count when the window opened. */
  restartsAtOpen: number;
}

export const DEADLINE_NAMES = [
  'windowEnds',
  'approvalExpires',
  'effectTimesOut',
  'verificationEnds',
  'cooldownEnds',
  'nextEscalation',
  'snoozeEnds',
  'recoveryHolds',
  'quarantineEnds',
  'workloadFree',
] as const;
export type DeadlineName = (typeof DEADLINE_NAMES)[number];

export interface HistoryEntry {
  at: number;
  incidentId: string | null;
  decision: string;
  reason: string;
}

export interface RemediationContext {
  /** `Kind/namespace/name`, or `Node/name`: the actor's systemId. */
  actorKey: string;
  kind: ObjectKind;
  policy: MachinePolicy;
  /**
   * The time of what the machine last handled: an event's `at`, or the deadline of a timer that
   * fired. Deadlines are computed from it, so a schedule keeps its times even when a timer fires
   * late (after a restore).
   */
  now: number;
  /**
   * The latest time the actor's clock is known to have reached (event times, RESUME). Delays are
   * measured from it: after a restore, overdue timers fire at once and later ones exactly on time.
   */
  clockAt: number;
  observation: Observation | null;
  detections: Detection[];
  facts: RuntimeFacts;
  window: DetectionWindow | null;
  incident: Incident | null;
  /** Incidents opened so far: the counter in incident ids. */
  incidentCount: number;
  /** When remediations started, oldest first; at most `quarantine.maxRemediations` kept. */
  remediations: number[];
  /** Absolute deadlines (ms since the epoch); the `after` delays are computed from them. */
  deadlines: Partial<Record<DeadlineName, number>>;
  /** The last HISTORY_LIMIT decisions, newest last. */
  history: HistoryEntry[];
  /**
   * The problems (detection types) a ticket was asked for and not yet resolved, at most one entry
   * each. Kept apart from the incident, because the incident that resolves a problem may be a
   * later one than the incident that opened its ticket (after a quarantine). Absent from
   * snapshots that predate it: read as none.
   */
  tickets?: DetectionType[];
}

export const HISTORY_LIMIT = 12;
/** Attempts to put a recovered node back in service before leaving it to people. */
export const MAX_RETURN_ATTEMPTS = 2;
export const COMMAND_MEMORY = 8;

export interface MachineInput {
  actorKey: string;
  policy: MachinePolicy;
  /** When the actor was created, ms since the epoch. */
  at: number;
  facts?: Partial<RuntimeFacts>;
}

/** `Pod/shop/web-1` → Pod; `Node/worker-1` → Node. */
export function kindOfKey(actorKey: string): ObjectKind {
  const kind = actorKey.split('/')[0];
  if (kind === 'Pod' || kind === 'Node' || kind === 'Deployment') return kind;
  throw new Error(`actor key "${actorKey}" does not start with Pod/, Node/ or Deployment/`);
}

export function initialContext(input: MachineInput): RemediationContext {
  return {
    actorKey: input.actorKey,
    kind: kindOfKey(input.actorKey),
    policy: input.policy,
    now: input.at,
    clockAt: input.at,
    observation: null,
    detections: [],
    facts: { ...UNKNOWN_FACTS, ...input.facts },
    window: null,
    incident: null,
    incidentCount: 0,
    remediations: [],
    deadlines: {},
    history: [],
    tickets: [],
  };
}
