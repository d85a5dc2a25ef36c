/**
 * From what a machine asks for (`EffectRequest`) to the job a worker runs (`EffectJob`): the
 * effect's parameters in the shape its processor validates, the queue owner that may carry it
 * out, and the owner whose control stream gets the result.
 */
import { jobBudget, type BudgetLimits } from '../budgets/scopes.ts';
import { stormEscalationReason } from '../budgets/storm.ts';
import {
  effectJobId,
  type EffectJob,
  type Integration,
  type Effect as JobEffect,
} from '../effects/catalogue.ts';
import {
  DETECTION_EVIDENCE_STEP,
  type EffectRequest,
  type RemediationContext,
  type StormFact,
} from '../machines/index.ts';
import type { Policy, UnsentNotice } from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';

/** Who runs Kubernetes actions on Deployments: agents hold no rights on them. */
export const CONTROLLER_OWNER = 'controller';

export function agentOwner(node: string): string {
  return `agent-${node}`;
}

function workloadTarget(effect: EffectRequest['effect']): {
  namespace: string;
  name: string;
  uid?: string;
} {
  // A workload a pod's incident acts on is known by name only (no uid to hold it to).
  return {
    namespace: effect.target.namespace ?? '',
    name: effect.target.name,
    ...(effect.target.uid === '' ? {} : { uid: effect.target.uid }),
  };
}

/** The processor parameters of a machine effect. Non-Kubernetes effects pass through whole. */
export function jobEffect(effect: EffectRequest['effect']): JobEffect {
  switch (effect.kind) {
    case 'restartPod':
    case 'deletePod':
    case 'evictPod':
      return {
        kind: effect.kind,
        ...workloadTarget(effect),
        ...(effect.deleteBarePod === true ? { deleteBarePod: true } : {}),
      };
    case 'rolloutRestart':
    case 'rollback':
      return {
        kind: effect.kind,
        ...workloadTarget(effect),
        ...(effect.fromReplicaSet === undefined ? {} : { fromReplicaSet: effect.fromReplicaSet }),
      };
    case 'scale':
      return {
        kind: 'scale',
        ...workloadTarget(effect),
        replicas: effect.to,
        ...(effect.from === null ? {} : { fromReplicas: effect.from }),
      };
    case 'cordon':
    case 'uncordon':
      return { kind: effect.kind, node: effect.target.name, uid: effect.target.uid };
    case 'drain':
      return {
        kind: 'drain',
        node: effect.target.name,
        uid: effect.target.uid,
        minHealthyNodes: effect.minHealthyNodes,
      };
    case 'taint':
    case 'untaint':
      return {
        kind: effect.kind,
        node: effect.target.name,
        uid: effect.target.uid,
        taint: effect.taint,
      };
    default:
      return { ...effect };
  }
}

export interface JobContext {
  /** The actor's owner: its control stream gets the result. */
  owner: string;
  policyRef: string;
  /** The budgets the job takes from; computed from `limits` and the policy when not given. */
  budget?: EffectJob['budget'];
  /** The installation's namespace and cluster budgets (configuration `budget`). */
  limits?: BudgetLimits | undefined;
  /** The governing policy: integration effects take its Slack, GitOps, ticket and evidence blocks. */
  policy?: Policy | undefined;
  /** The asking actor's context: the detection and history of the incident. */
  actor?: RemediationContext | undefined;
  /**
   * How long an action that replaces pods waits for the evidence collected at detection
   * (configuration `evidence.waitBeforeActionMs`). Default: DEFAULT_EVIDENCE_WAIT_MS; 0: no wait.
   */
  evidenceWaitMs?: number | undefined;
  /**
   * The installation's Slack channel for policies that name none (configuration `slack.channel`).
   * Default: none, so only the policy's spec.slack or an escalation target's channel configures
   * Slack for a notification.
   */
  slackChannel?: string | undefined;
}

export const DEFAULT_EVIDENCE_WAIT_MS = 15_000;

/** Actions after which a pod's logs and object may be gone. */
const REPLACES_PODS: ReadonlySet<string> = new Set([
  'restartPod',
  'deletePod',
  'evictPod',
  'drain',
  'rolloutRestart',
  'rollback',
]);

/**
 * The evidence job an action must wait for: the one its incident asked for at detection, when
 * the policy keeps evidence and the action would take the evidence away.
 */
function evidenceFirst(
  request: EffectRequest,
  context: JobContext,
): EffectJob['evidenceFirst'] | undefined {
  const waitMs = context.evidenceWaitMs ?? DEFAULT_EVIDENCE_WAIT_MS;
  const incident = context.actor?.incident;
  if (
    waitMs <= 0 ||
    !REPLACES_PODS.has(request.effect.kind) ||
    context.policy?.evidence === undefined ||
    incident?.id !== request.incidentId ||
    incident.trigger.kind !== 'detection'
  )
    return undefined;
  const jobId = effectJobId({
    actorKey: request.actorKey,
    incidentId: request.incidentId,
    step: DETECTION_EVIDENCE_STEP,
  });
  return { jobId, askedAt: incident.openedAt, waitMs };
}

/**
 * Notifications whose incident has evidence even when it was not detected (a scale proposal):
 * escalating and quarantining collect it.
 */
const PEOPLE_TAKE_OVER: ReadonlySet<unknown> = new Set(['escalated', 'quarantined']);

/** The detection type the actor's current incident is about, when it is about one. */
function detectionOf(actor: RemediationContext | undefined): string | undefined {
  const trigger = actor?.incident?.trigger;
  return trigger?.kind === 'detection' ? trigger.detection.type : undefined;
}

/**
 * Why an effect gets no job: the integration that would carry it out is not configured for it
 * (or, for tickets, the incident has no detection to file one under).
 */
export interface SkippedEffect {
  integration: Integration;
  why: string;
}

/** Said of a notification no Slack channel is configured for. */
export const SLACK_NOT_CONFIGURED =
  "no Slack channel: the policy has no spec.slack.channel, the installation no slack.channel, and the notification's escalation target none";

/**
 * The Slack channel a notification can start its incident's thread in: the policy's, else the
 * installation's, else its escalation target's when that is a Slack channel. The workers' notifier
 * picks the same way (src/chatops/notifier.ts); without one it has nowhere to post.
 */
export function notificationChannel(effect: JobEffect, context: JobContext): string | undefined {
  const to = effect['to'] as { type?: unknown; channel?: unknown } | null | undefined;
  const target = to?.type === 'slack' && typeof to.channel === 'string' ? to.channel : undefined;
  return context.policy?.slack?.channel ?? context.slackChannel ?? target;
}

/**
 * What an integration needs from the policy, added to the effect: the machines know nothing of
 * channels, repositories or ticket projects. When neither the policy nor the installation
 * configures the integration the effect needs, says so instead, and the effect is not enqueued
 * at all: the one rule of which effects become jobs, for the roles and for `simulate`.
 */
export function withPolicyBlocks(
  effect: JobEffect,
  context: JobContext,
): { effect: JobEffect } | { skipped: SkippedEffect } {
  const policy = context.policy;
  const detection = detectionOf(context.actor);
  const evidence = policy?.evidence === undefined ? {} : { evidence: policy.evidence };
  const skipped = (integration: Integration, why: string) => ({ skipped: { integration, why } });
  const add = (blocks: Record<string, unknown>) => ({ effect: { ...effect, ...blocks } });
  switch (effect.kind) {
    case 'notify':
    case 'escalate':
      if (notificationChannel(effect, context) === undefined) {
        return skipped('slack', SLACK_NOT_CONFIGURED);
      }
      return add({
        chatops: {
          ...(policy?.slack === undefined ? {} : { channel: policy.slack.channel }),
          approvers: policy?.approvers ?? { users: [], groups: [] },
        },
        // To link the incident's evidence from the message, when it has some.
        ...(detection !== undefined || PEOPLE_TAKE_OVER.has(effect['purpose']) ? evidence : {}),
      });
    case 'openPullRequest':
      if (policy?.gitops === undefined) return skipped('gitops', 'the policy has no spec.gitops');
      return add({ gitops: policy.gitops, ...evidence });
    case 'openTicket':
      if (policy?.ticket === undefined) return skipped('tickets', 'the policy has no spec.ticket');
      if (detection === undefined) {
        return skipped('tickets', 'the incident has no detection to file a ticket under');
      }
      return add({ ticket: policy.ticket, detection, ...evidence });
    case 'updateTicket': {
      // An update names its problem itself: it is asked for as the incident closes.
      const problem = typeof effect['detection'] === 'string' ? effect['detection'] : detection;
      if (policy?.ticket === undefined) return skipped('tickets', 'the policy has no spec.ticket');
      if (problem === undefined) {
        return skipped('tickets', 'the incident has no detection to file a ticket under');
      }
      return add({ ticket: policy.ticket, detection: problem, ...evidence });
    }
    case 'collectEvidence':
      if (policy?.evidence === undefined) {
        return skipped('evidence', 'the policy has no spec.evidence');
      }
      return add({
        ...evidence,
        ...(detection === undefined ? {} : { detection }),
        ...(context.actor === undefined ? {} : { history: context.actor.history }),
      });
    default:
      return { effect };
  }
}

/**
 * The budgets a disruptive action takes a token from: the policy's, its namespace's and the
 * cluster's, none for an incident a person approved (budgets limit automation, not people).
 */
function budgetOf(request: EffectRequest, context: JobContext): EffectJob['budget'] {
  if (context.budget !== undefined) return context.budget;
  if (context.limits === undefined) return undefined;
  const incident = context.actor?.incident;
  const approvedBy = incident?.id === request.incidentId ? incident.approvedBy : null;
  return jobBudget({
    kind: request.effect.kind,
    policy: context.policy,
    namespace: request.effect.target.namespace,
    limits: context.limits,
    approvedBy,
  });
}

/** The job for a machine's request, or why there is none (its integration is not configured). */
export function planEffectJob(
  request: EffectRequest,
  context: JobContext,
): { job: EffectJob } | { skipped: SkippedEffect } {
  const blocks = withPolicyBlocks(jobEffect(request.effect), context);
  if ('skipped' in blocks) return blocks;
  const effect = blocks.effect;
  const budget = budgetOf(request, context);
  const evidence = evidenceFirst(request, context);
  // Actions on Deployments run in the controller whoever asked (a pod actor's rollout restart).
  const executor = request.effect.target.kind === 'Deployment' ? CONTROLLER_OWNER : context.owner;
  const incident = context.actor?.incident;
  const trigger = incident?.id === request.incidentId ? incident.trigger : undefined;
  const detection =
    trigger === undefined
      ? undefined
      : trigger.kind === 'detection'
        ? trigger.detection.type
        : 'scale';
  return {
    job: {
      owner: context.owner,
      ...(executor === context.owner ? {} : { executor }),
      actorKey: request.actorKey,
      ...(request.workload === undefined ? {} : { workload: request.workload }),
      incidentId: request.incidentId,
      step: request.step,
      effect,
      policy: context.policyRef,
      ...(detection === undefined ? {} : { detection }),
      requestedAt: request.requestedAt,
      ...(evidence === undefined ? {} : { evidenceFirst: evidence }),
      ...(budget === undefined ? {} : { budget }),
    },
  };
}

/** The job for a machine's request, or undefined when its integration is not configured. */
export function toEffectJob(request: EffectRequest, context: JobContext): EffectJob | undefined {
  const planned = planEffectJob(request, context);
  return 'job' in planned ? planned.job : undefined;
}

/**
 * A notification that was not sent, for the policy's status: what it would have said, about
 * which object, when.
 */
export function unsentNotice(
  effect: { kind: string; purpose?: unknown; reason?: unknown },
  object: string,
  at: number,
): UnsentNotice {
  const purpose = typeof effect.purpose === 'string' ? effect.purpose : effect.kind;
  const reason = typeof effect.reason === 'string' ? effect.reason : '';
  return { at, object, what: purpose, reason };
}

/** Notifications that ask people to look: the moments an LLM's suggested cause helps. */
const ASKS_PEOPLE: ReadonlySet<unknown> = new Set([
  'approvalRequested',
  'escalated',
  'quarantined',
]);

/**
 * Jobs that go with a request's job: when a notification asks people to look and the policy
 * enables the LLM, a `suggestCause` job for the same incident, whose answer is attached to the
 * Slack thread (shown, never executed). Only a notification that is sent has companions: with no
 * job for the notification (Slack not configured), there is no thread to attach an answer to.
 */
export function companionJobs(
  request: EffectRequest,
  job: EffectJob,
  context: JobContext,
): EffectJob[] {
  const llm = context.policy?.llm;
  if (job.effect.kind !== 'notify' || !ASKS_PEOPLE.has(job.effect['purpose']) || !llm?.enabled)
    return [];
  return [
    {
      ...job,
      step: `${request.step}-suggest`,
      effect: {
        kind: 'suggestCause',
        target: request.effect.target,
        reason: request.effect.reason,
        ...(llm.model === undefined ? {} : { model: llm.model }),
        // Where the suggestion is kept with the incident's evidence, when the policy keeps it.
        ...(context.policy?.evidence === undefined
          ? {}
          : { evidenceTarget: context.policy.evidence }),
        evidence: {
          summary: request.effect.reason,
          ...(context.actor === undefined ? {} : { history: context.actor.history }),
        },
      },
    },
  ];
}

/** What the agent and the controller do with each request of their actors. */
export function roleEffectSink(options: {
  owner: string;
  queues: { enqueue: (job: EffectJob) => Promise<unknown> };
  policyOf: (ref: string) => Policy | undefined;
  limits: JobContext['limits'];
  evidenceWaitMs?: number | undefined;
  slackChannel?: string | undefined;
  logger: Logger;
  onEnqueued?: (job: EffectJob) => void;
  /**
   * Told of each notification not sent because nothing configures Slack for it (the policy's
   * status reports them); it logs. Other skipped effects are logged at debug level only.
   */
  onUnsent?: (policyRef: string, notice: UnsentNotice) => Promise<void>;
}): (
  request: EffectRequest,
  actor: { key: string; policyRef: string },
  context: RemediationContext,
) => Promise<void> {
  return async (request, actor, context) => {
    const jobContext: JobContext = {
      owner: options.owner,
      policyRef: actor.policyRef,
      policy: options.policyOf(actor.policyRef),
      actor: context,
      limits: options.limits,
      evidenceWaitMs: options.evidenceWaitMs,
      slackChannel: options.slackChannel,
    };
    const planned = planEffectJob(request, jobContext);
    if ('skipped' in planned) {
      const { integration, why } = planned.skipped;
      if (integration === 'slack' && options.onUnsent !== undefined) {
        const notice = unsentNotice(request.effect, actor.key, request.requestedAt);
        await options.onUnsent(actor.policyRef, notice);
      } else {
        options.logger.debug(
          { object: actor.key, effect: request.effect.kind, integration, why },
          'effect skipped: its integration is not configured',
        );
      }
      return;
    }
    const job = planned.job;
    for (const each of [job, ...companionJobs(request, job, jobContext)]) {
      await options.queues.enqueue(each);
      options.onEnqueued?.(each);
    }
  };
}

/** The kind in the actor key of a policy's own jobs (a storm's group escalation). */
export const POLICY_KIND = 'AutoRemediationPolicy';

/**
 * The one group escalation of a storm: an `escalate` job for the policy, told where the first
 * level of its escalation ladder goes (its own channel without a ladder). The job id follows from
 * the policy and the storm's start, so every agent that sees the storm enqueues the same job.
 * Skipped, as any notification, when no Slack channel is configured for it.
 */
export function stormEscalationJob(options: {
  owner: string;
  policy: Policy;
  startedAt: number;
  storm: StormFact;
  /** The installation's Slack channel (configuration `slack.channel`). */
  slackChannel?: string | undefined;
}): { job: EffectJob } | { skipped: SkippedEffect; notice: UnsentNotice } {
  const { policy } = options;
  const { namespace, name } = policy.ref;
  const policyRef = `${namespace}/${name}`;
  const actorKey = `${POLICY_KIND}/${namespace}/${name}`;
  const to = policy.escalation?.levels[0]?.targets.find((t) => t.type !== 'ticket') ?? null;
  const effect: JobEffect = {
    kind: 'escalate',
    purpose: 'escalated',
    to,
    level: to === null ? null : 0,
    target: { kind: POLICY_KIND, namespace, name, uid: policy.uid ?? '', resourceVersion: '' },
    reason: stormEscalationReason(policyRef, options.storm, policy.selector.kinds),
  };
  const withBlocks = withPolicyBlocks(effect, {
    owner: options.owner,
    policyRef,
    policy,
    slackChannel: options.slackChannel,
  });
  if ('skipped' in withBlocks) {
    return {
      skipped: withBlocks.skipped,
      notice: unsentNotice(effect, actorKey, options.startedAt),
    };
  }
  return {
    job: {
      owner: options.owner,
      actorKey,
      incidentId: `${actorKey}#storm@${options.startedAt}`,
      step: 'storm-escalation',
      effect: withBlocks.effect,
      policy: policyRef,
      requestedAt: options.startedAt,
    },
  };
}
