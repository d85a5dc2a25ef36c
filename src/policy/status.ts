/**
 * A policy's status as a pure function of the policy and what is known about it. The controller
 * (controller.ts) gathers the facts and writes the result; this file decides what it says.
 *
 * Conditions (standard metav1.Condition shape):
 * - Ready: True `Active` when the policy is in force (True `Paused` while its pause annotation
 *   hands every problem to a person); False `InvalidSpec` when the spec does not
 *   parse (e.g. stored before a CRD upgrade), False `NodesNotAllowedHere` when it selects Nodes
 *   outside kube-remedy's namespace.
 * - Conflict: True `TiedSelectors` while another policy selects some tracked object as specifically,
 *   so neither acts on it; False `NoConflict` otherwise.
 * - Degraded: True when in force but something it relies on reports a problem (an HPA on a scaled
 *   Deployment, unreadable signals…: facts from other components); False `AsExpected`, or False
 *   `NotInForce` while Ready is False.
 * lastTransitionTime moves only when a condition's status changes, as Kubernetes conventions ask.
 */
import type { PolicyTally } from './policy-index.ts';
import { PAUSE_ANNOTATION, policyKey, type ParseResult, type PolicyRef } from './policy.ts';
import type { RecentAction } from './schema.ts';

export const CONDITION_TYPES = ['Ready', 'Conflict', 'Degraded'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface PolicyStatus {
  observedGeneration: number;
  conditions: Condition[];
  matched: PolicyTally['matched'];
  conflictingPolicies: string[];
  actions24h: number;
  recentActions: RecentAction[];
}

/** A problem another component reports about a policy in force (makes it Degraded). */
export interface PolicyProblem {
  reason: string;
  message: string;
}

/**
 * A notification that was not sent because nothing configures Slack for it (neither the policy's
 * spec.slack nor the installation's slack.channel; src/actors/effect-jobs.ts decides).
 */
export interface UnsentNotice {
  /** When it would have been sent, ms since the epoch. */
  at: number;
  /** What it was about: `Kind/namespace/name` (`Kind/name` for nodes). */
  object: string;
  /** Its purpose: escalated, quarantined, resolved… */
  what: string;
  /** Why, in the words of the incident's Kubernetes Events. */
  reason: string;
}

/** A policy's notifications not sent: how many since when, and the latest. */
export interface UnsentNotifications {
  count: number;
  /** The earliest of them, ms since the epoch. */
  since: number;
  latest: UnsentNotice;
}

/** The latest notice's reason is quoted up to this many characters. */
const MAX_QUOTED_REASON = 300;

/**
 * What the status says, once, of notifications not sent for want of Slack (condition Degraded,
 * reason SlackNotConfigured): how many, since when, the latest, and what to set.
 */
export function slackNotConfiguredProblem(unsent: UnsentNotifications): PolicyProblem {
  const { count, latest } = unsent;
  const reason =
    latest.reason.length > MAX_QUOTED_REASON
      ? `${latest.reason.slice(0, MAX_QUOTED_REASON - 1)}…`
      : latest.reason;
  return {
    reason: 'SlackNotConfigured',
    message:
      `Slack is not configured: ${count} ${plural(count, 'notification')} not sent since ` +
      `${isoSeconds(unsent.since)} (latest: ${latest.what} ${latest.object} at ` +
      `${isoSeconds(latest.at)}${reason === '' ? '' : `: ${reason}`}). The Kubernetes Events of ` +
      "the objects tell what happened; set spec.slack.channel, or the installation's " +
      'slack.channel, to have notifications posted',
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface PolicyFacts {
  agentNamespace: string;
  /** Whether the index holds the policy but ignores it for selecting Nodes outside agentNamespace. */
  nodesNotAllowed: boolean;
  tally: PolicyTally;
  problems?: readonly PolicyProblem[];
  actions24h?: number;
  recentActions?: readonly RecentAction[];
  /** The conditions currently stored, so unchanged ones keep their lastTransitionTime. */
  previousConditions?: readonly Partial<Condition>[];
  now: Date;
}

/** status.recentActions holds at most this many, newest first. */
export const MAX_RECENT_ACTIONS = 20;
/** status.conflictingPolicies holds at most this many names. */
export const MAX_CONFLICTING_POLICIES = 16;

const EMPTY_MATCHED: PolicyTally['matched'] = { pods: 0, deployments: 0, nodes: 0, total: 0 };

export function policyStatus(parsed: ParseResult, facts: PolicyFacts): PolicyStatus {
  const ref = parsed.ok ? parsed.policy.ref : parsed.ref;
  const generation = parsed.ok ? parsed.policy.generation : parsed.generation;
  const inForce = parsed.ok && !facts.nodesNotAllowed;
  const condition = (
    type: ConditionType,
    status: ConditionStatus,
    reason: string,
    message: string,
  ): Condition => {
    const previous = facts.previousConditions?.find((c) => c.type === type);
    const lastTransitionTime =
      previous?.status === status && previous.lastTransitionTime !== undefined
        ? previous.lastTransitionTime
        : facts.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { type, status, observedGeneration: generation, lastTransitionTime, reason, message };
  };

  const ready = !parsed.ok
    ? condition(
        'Ready',
        'False',
        'InvalidSpec',
        `kube-remedy ignores this policy until its spec is fixed: ${parsed.problems.join('; ')}`,
      )
    : facts.nodesNotAllowed
      ? condition(
          'Ready',
          'False',
          'NodesNotAllowedHere',
          `this policy selects Nodes but lives in namespace ${ref.namespace}; only policies in ` +
            `${facts.agentNamespace} may select nodes, so it is ignored. Move it to ` +
            `${facts.agentNamespace}, or select Pods or Deployments of ${ref.namespace} instead.`,
        )
      : parsed.policy.paused !== undefined
        ? condition('Ready', 'True', 'Paused', pausedMessage(parsed.policy))
        : condition('Ready', 'True', 'Active', activeMessage(parsed.policy));

  const conflicts = inForce ? facts.tally.conflictsWith : [];
  const conflict =
    conflicts.length > 0
      ? condition('Conflict', 'True', 'TiedSelectors', conflictMessage(ref, facts.tally))
      : condition(
          'Conflict',
          'False',
          'NoConflict',
          'no other policy selects any of its objects as specifically',
        );

  const problems = inForce ? (facts.problems ?? []) : [];
  const degraded = !inForce
    ? condition('Degraded', 'False', 'NotInForce', 'the policy is not in force (see Ready)')
    : problems.length > 0
      ? condition(
          'Degraded',
          'True',
          problems.length === 1 ? (problems[0] as PolicyProblem).reason : 'MultipleProblems',
          problems.map((problem) => problem.message).join('; '),
        )
      : condition('Degraded', 'False', 'AsExpected', 'everything the policy relies on works');

  return {
    observedGeneration: generation,
    conditions: [ready, conflict, degraded],
    matched: inForce ? facts.tally.matched : EMPTY_MATCHED,
    conflictingPolicies: conflicts
      .slice(0, MAX_CONFLICTING_POLICIES)
      .map(({ policy }) => policy.name),
    actions24h: facts.actions24h ?? 0,
    recentActions: [...(facts.recentActions ?? [])]
      .sort((a, b) => b.time.localeCompare(a.time))
      .slice(0, MAX_RECENT_ACTIONS),
  };
}

function activeMessage(policy: Extract<ParseResult, { ok: true }>['policy']): string {
  const kinds = policy.selector.kinds.join(', ');
  const where = policy.selector.kinds.includes('Node')
    ? 'cluster-wide'
    : `in namespace ${policy.ref.namespace}`;
  return `in force in mode ${policy.mode} for ${kinds} ${where}`;
}

function pausedMessage(policy: Extract<ParseResult, { ok: true }>['policy']): string {
  const why = policy.paused === undefined || policy.paused === '' ? '' : ` ("${policy.paused}")`;
  return (
    `${activeMessage(policy)}, but paused by annotation ${PAUSE_ANNOTATION}${why}: every problem ` +
    'it confirms asks a person instead of being acted on. Remove the annotation to resume.'
  );
}

function conflictMessage(ref: PolicyRef, tally: PolicyTally): string {
  const others = tally.conflictsWith
    .map(({ policy, objects }) => `${policyKey(policy)} (${objects} ${plural(objects, 'object')})`)
    .join(', ');
  return (
    `${tally.conflictedObjects} ${plural(tally.conflictedObjects, 'object')} selected by ` +
    `${policyKey(ref)} ${tally.conflictedObjects === 1 ? 'is' : 'are'} selected as specifically by ${others}; ` +
    'no policy acts on them until one selector is more specific (add a label term or narrow spec.selector.kinds)'
  );
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

/** The part of a stored status this controller owns, normalised for comparison with `policyStatus`. */
export function ownedStatus(status: unknown): Record<string, unknown> {
  if (typeof status !== 'object' || status === null) return {};
  const source = status as Record<string, unknown>;
  const owned: Record<string, unknown> = {};
  for (const key of [
    'observedGeneration',
    'conditions',
    'matched',
    'conflictingPolicies',
    'actions24h',
    'recentActions',
  ]) {
    if (source[key] !== undefined) owned[key] = source[key];
  }
  return owned;
}

/**
 * Whether writing `next` would change what is stored. The API server drops empty lists and may
 * reorder keys, so compare canonical forms with empty lists removed.
 */
export function statusDiffers(stored: unknown, next: PolicyStatus): boolean {
  return canonical(ownedStatus(stored)) !== canonical(next);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (Array.isArray(inner)) return inner.length === 0 ? undefined : inner;
    if (typeof inner !== 'object' || inner === null) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) {
      sorted[key] = (inner as Record<string, unknown>)[key];
    }
    return sorted;
  });
}
