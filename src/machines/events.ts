/**
 * The events a machine accepts. Every event carries `at`, the time (ms since the epoch) at which
 * what it says was true: when the object was observed, the result produced, the button pressed.
 * The source stamps it once, so a redelivered event says the same thing twice, and a machine's
 * decisions are a pure function of the events it was given: no clock is read inside a machine.
 */
import type { Detection } from '../analyzers/types.ts';
import type { Observation } from '../observe/index.ts';
import type { RuntimeFacts } from './context.ts';
import type { MachinePolicy } from './policy.ts';
import type { ClaimAnswer, WorkloadIncident } from './workload.ts';

interface Timed {
  /** When it was true, ms since the epoch. */
  at: number;
}

/** The whole latest observation of the object and what the analyzers found in it. */
export interface ObservedEvent extends Timed {
  type: 'OBSERVED';
  observation: Observation;
  detections: Detection[];
  /** Facts the runtime learned together with the observation. */
  facts?: Partial<RuntimeFacts>;
}

/** Facts about the world around the object (other actors, budgets, HPAs). */
export interface FactsEvent extends Timed {
  type: 'FACTS';
  facts: Partial<RuntimeFacts>;
}

/** An effect the machine asked for was carried out. */
export interface EffectDoneEvent extends Timed {
  type: 'EFFECT.DONE';
  effectId: string;
  /** The worker's words for what happened. */
  outcome?: string;
}

/** An effect could not be carried out (after the worker's retries). */
export interface EffectFailedEvent extends Timed {
  type: 'EFFECT.FAILED';
  effectId: string;
  error: string;
}

/** The pull request an `openPullRequest` effect opened was merged, or closed unmerged. */
export interface ProposalEvent extends Timed {
  type: 'PROPOSAL.MERGED' | 'PROPOSAL.CLOSED';
  effectId: string;
  by: string;
}

/** The scaler wants a different replica count for this Deployment. */
export interface ScaleProposedEvent extends Timed {
  type: 'SCALE.PROPOSED';
  from: number;
  to: number;
  reason: string;
}

/** Sent once after a restore: re-arms the timers of the current state from its deadlines. */
export interface ResumeEvent extends Timed {
  type: 'RESUME';
}

/** The governing policy changed; it applies from the next decision (running deadlines stay). */
export interface PolicyEvent extends Timed {
  type: 'POLICY';
  policy: MachinePolicy;
}

interface Command extends Timed {
  /** Who: a Slack user, a CLI user… */
  by: string;
  /** The incident the person saw; a command about another incident is ignored. */
  incidentId: string;
  /** The message id, when it has one: a repeated command is ignored. */
  id?: string;
}

export interface ApproveEvent extends Command {
  type: 'APPROVE';
}
export interface RejectEvent extends Command {
  type: 'REJECT';
  reason?: string;
}
export interface EscalateEvent extends Command {
  type: 'ESCALATE';
  reason?: string;
}
export interface SnoozeEvent extends Command {
  type: 'SNOOZE';
  durationMs: number;
}
export interface AckEvent extends Command {
  type: 'ACK';
}

export type CommandEvent = ApproveEvent | RejectEvent | EscalateEvent | SnoozeEvent | AckEvent;

/**
 * A person asks the policy to act now (`/kube-remedy trigger`): a symptom still in its detection
 * window is confirmed at once instead of at its threshold or deadline. About no incident (there
 * is none yet), so not a CommandEvent.
 */
export interface TriggerEvent extends Timed {
  type: 'TRIGGER';
  by: string;
  reason?: string;
}

/** The workload's answer to a claim (`claimWorkload`): who decides the incident. */
export interface WorkloadEvent extends Timed {
  type: 'WORKLOAD';
  /** The incident the claim was made for. */
  incidentId: string;
  answer: ClaimAnswer;
}

/**
 * A new pod replaces the one a remediation of its workload removed, and takes over the
 * workload's verification of it (sent before its first observation).
 */
export interface AdoptEvent extends Timed {
  type: 'ADOPT';
  /** `namespace/Kind/name` of the workload. */
  workload: string;
  incident: WorkloadIncident;
  /** The workload's remediations of the symptom, for quarantine. */
  remediations: number[];
  /** The symptom has an open ticket, which the verification's success closes. */
  ticket?: boolean;
}

/**
 * The verification this pod's actor holds failed elsewhere: a pod of the workload created after
 * the remediation shows the symptom and took the incident over (`by`). Its actor lets go.
 */
export interface TakenOverEvent extends Timed {
  type: 'TAKEN_OVER';
  incidentId: string;
  /** The pod actor that holds the incident now. */
  by: string;
}

export type RuntimeEvent =
  | ObservedEvent
  | FactsEvent
  | EffectDoneEvent
  | EffectFailedEvent
  | ProposalEvent
  | ScaleProposedEvent
  | ResumeEvent
  | PolicyEvent
  | WorkloadEvent
  | AdoptEvent
  | TakenOverEvent;

export type MachineEvent = RuntimeEvent | CommandEvent | TriggerEvent;

export const COMMAND_TYPES = ['APPROVE', 'REJECT', 'ESCALATE', 'SNOOZE', 'ACK'] as const;

export function isCommand(event: { type: string }): event is CommandEvent {
  return (COMMAND_TYPES as readonly string[]).includes(event.type);
}
