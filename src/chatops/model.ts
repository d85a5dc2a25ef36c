/**
 * What ChatOps knows about an incident and the effect parameters it accepts. A Slack thread shows
 * one incident: one object's incident, or a group of objects with the same owner (the pods of one
 * Deployment) when the runtime passes a `group`. Everything here is plain JSON, kept in Redis.
 */
import { z } from 'zod';
import type { ButtonAction } from './tokens.ts';

export interface Approvers {
  /** Slack user IDs (`U…`), handles or e-mail addresses. */
  users: string[];
  /** Slack user group IDs (`S…`) or handles. */
  groups: string[];
}

/** What a policy says about Slack: where incidents go and who may act on them. */
export interface ChatOpsPolicy {
  channel?: string;
  approvers: Approvers;
}

/** Finds the Slack settings of a policy (`namespace/name`) for an actor, when a job has none. */
export type PolicyLookup = (
  policy: string | undefined,
  actorKey: string,
) => ChatOpsPolicy | undefined | Promise<ChatOpsPolicy | undefined>;

export type MemberStatus =
  | 'awaitingApproval'
  | 'approved'
  | 'rejected'
  | 'escalated'
  | 'acknowledged'
  | 'snoozed'
  | 'quarantined'
  | 'resolved'
  | 'unverified';

/** Buttons a member's incident offers, and until when. */
export interface ButtonSet {
  kind: 'approval' | 'escalation' | 'acknowledged';
  expiresAt: number;
}

/** One object's incident within a thread. */
export interface MemberView {
  actorKey: string;
  incidentId: string;
  /** Whose control stream the actor reads: `agent-<node>` or `controller`. */
  owner: string;
  /** `Pod shop/web-1`. */
  object: string;
  namespace: string | null;
  status: MemberStatus;
  /** The decision's reason, in the machine's words. */
  reason: string;
  /** What would be done once approved: `restart Pod shop/web-1`. */
  proposes?: string;
  /** The escalation level last told, 1-based. */
  level?: number;
  /** Who did the last thing people did: `<@U123>`. */
  by?: string;
  /** The time of the last change applied, ms since the epoch (older jobs do not undo newer ones). */
  updatedAt: number;
  buttons: ButtonSet | null;
}

export interface EvidenceLink {
  label: string;
  url: string;
}

export interface Suggestion {
  probableCause: string;
  /** 0..1. */
  confidence: number;
  suggestedSteps: string[];
  model?: string;
}

export interface ActivityEntry {
  at: number;
  text: string;
  /** The job or interaction that wrote it, so a rerun does not write it twice. */
  key?: string;
}

export interface ThreadView {
  /** The incident id of the first incident in the thread. */
  threadKey: string;
  /** The owner the thread groups by (`Deployment/shop/web`), or null for one object. */
  group: string | null;
  policy: string | null;
  /** Slack's channel ID and the parent message's ts. */
  channel: string;
  ts: string;
  openedAt: number;
  members: MemberView[];
  links: EvidenceLink[];
  suggestion: Suggestion | null;
  /** Why there is no suggestion, when one was asked for and none came. */
  noSuggestion: string | null;
  /** The last few things that happened, oldest first. */
  activity: ActivityEntry[];
}

/** An incident of an actor, as buttons and commands find it by its reference. */
export interface Subject {
  ref: string;
  owner: string;
  actorKey: string;
  incidentId: string;
  threadKey: string;
  group: string | null;
  policy: string | null;
  approvers: Approvers;
  /**
   * The workload (`namespace/Kind/name`) of a pod's incident kept in its workload's memory: a
   * command for it goes to the pod that holds the incident now. Absent from older records.
   */
  workload?: string;
}

export const ACTIVITY_LIMIT = 8;

// ---------------------------------------------------------------------------------------------
// Effect parameters

const objectRefSchema = z.looseObject({
  kind: z.string().min(1),
  namespace: z.string().nullable(),
  name: z.string().min(1),
});

const targetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('slack'), channel: z.string().min(1) }),
  z.object({ type: z.literal('slackUserGroup'), userGroup: z.string().min(1) }),
  z.object({ type: z.literal('page'), service: z.string().min(1) }),
  z.object({ type: z.literal('ticket') }),
]);

const approversSchema = z.object({
  users: z.array(z.string()).default([]),
  groups: z.array(z.string()).default([]),
});

export const linkSchema = z.object({
  label: z.string().min(1).max(200),
  /** A web link, or a place to copy (an `s3://` URI, a file path), shown as code. */
  url: z.union([
    z.url({ protocol: /^https?$/ }),
    // Shown inside a code span: only what could end it or make Slack markup is refused.
    z.string().regex(/^(s3:\/\/|\/)[^\s`<>&]{1,1000}$/, 'expected an s3:// URI or a path'),
  ]),
});

/**
 * The parameters of `notify` and `escalate` effects: what the machines ask for
 * (src/machines/effects.ts), plus what the runtime may add: the thread group, the policy's Slack
 * settings and evidence links.
 */
export const notifyEffectSchema = z.object({
  kind: z.enum(['notify', 'escalate']),
  purpose: z
    .enum(['approvalRequested', 'escalated', 'quarantined', 'resolved', 'unverified'])
    .optional(),
  to: targetSchema.nullable().default(null),
  /** 0-based escalation level. */
  level: z.number().int().min(0).nullable().default(null),
  target: objectRefSchema,
  reason: z.string().max(4000),
  proposes: z.looseObject({ kind: z.string(), target: objectRefSchema }).optional(),
  expiresAt: z.number().optional(),
  /** Objects with the same owner share a thread: e.g. `Deployment/shop/web` for its pods. */
  group: z.string().min(1).max(512).optional(),
  chatops: z
    .object({ channel: z.string().min(1).optional(), approvers: approversSchema.optional() })
    .optional(),
  links: z.array(linkSchema).max(10).optional(),
});
export type NotifyEffect = z.output<typeof notifyEffectSchema>;
export type EscalationTarget = z.output<typeof targetSchema>;

/** The control message type each button sends. */
export const CONTROL_TYPE: Readonly<Record<ButtonAction, string>> = {
  approve: 'APPROVE',
  reject: 'REJECT',
  escalate: 'ESCALATE',
  ack: 'ACK',
  'snooze-1h': 'SNOOZE',
  'snooze-4h': 'SNOOZE',
  'snooze-24h': 'SNOOZE',
};

/** Which buttons a set offers. */
export const BUTTONS: Readonly<Record<ButtonSet['kind'], readonly ButtonAction[]>> = {
  approval: ['approve', 'reject', 'escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
  escalation: ['ack', 'escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
  acknowledged: ['escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
};
