/**
 * From what a machine asks for (`EffectRequest`) to the job a worker runs (`EffectJob`): the
 * effect's parameters in the shape its processor validates, the queue owner that may carry it
 * out, and the owner whose control stream gets the result.
 */
import { jobBudget, type BudgetLimits } from '../budgets/scopes.ts';
import { stormEscalationReason } from '../budgets/storm.ts';
import { effectJobId, type EffectJob, type Effect as JobEffect } from '../effects/catalogue.ts';
import {
  DETECTION_EVIDENCE_STEP,
  type EffectRequest,
  type RemediationContext,
  type StormFact,
} from '../machines/index.ts';
import type { Policy } from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';

/** Who runs Kubernetes actions on Deployments: agents hold no rights on them. */
export const CONTROLLER_OWNER = 'controller';

export function agentOwner(node: string): string {
  return `agent-${node}`;
}

function workloadTarget(effect: EffectRequest['effect']): {
  namespace: string;
  name: string;
  uid: string;
} {
  return {
    namespace: effect.target.namespace ?? '',
    name: effect.target.name,
    uid: effect.target.uid,
  };
}

/** The processor parameters of a machine effect. Non-Kubernetes effects pass through whole. */
export function jobEffect(effect: EffectRequest['effect']): JobEffect {
  switch (effect.kind) {
    case 'restartPod':
    case 'deletePod':
    case 'evictPod':
    case 'rolloutRestart':
      return { kind: effect.kind, ...workloadTarget(effect) };
    case 'rollback':
      return { kind: 'rollback', ...workloadTarget(effect) };
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
 * What an integration needs from the policy, added to the effect: the machines know nothing of
 * channels, repositories or ticket projects. Returns undefined when the policy does not configure
 * the integration the effect needs, so the effect is not enqueued at all.
 */
export function withPolicyBlocks(effect: JobEffect, context: JobContext): JobEffect | undefined {
  const policy = context.policy;
  const detection = detectionOf(context.actor);
  const evidence = policy?.evidence === undefined ? {} : { evidence: policy.evidence };
  switch (effect.kind) {
    case 'notify':
    case 'escalate':
      return {
        ...effect,
        chatops: {
          ...(policy?.slack === undefined ? {} : { channel: policy.slack.channel }),
          approvers: policy?.approvers ?? { users: [], groups: [] },
        },
        // To link the incident's evidence from the message, when it has some.
        ...(detection !== undefined || PEOPLE_TAKE_OVER.has(effect['purpose']) ? evidence : {}),
      };
    case 'openPullRequest':
      if (policy?.gitops === undefined) return undefined;
      return { ...effect, gitops: policy.gitops, ...evidence };
    case 'openTicket':
    case 'updateTicket': {
      // An update names its problem itself: it is asked for as the incident closes.
      const problem = typeof effect['detection'] === 'string' ? effect['detection'] : detection;
      if (policy?.ticket === undefined || problem === undefined) return undefined;
      return { ...effect, ticket: policy.ticket, detection: problem, ...evidence };
    }
    case 'collectEvidence':
      if (policy?.evidence === undefined) return undefined;
      return {
        ...effect,
        ...evidence,
        ...(detection === undefined ? {} : { detection }),
        ...(context.actor === undefined ? {} : { history: context.actor.history }),
      };
    default:
      return effect;
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

/** The job for a machine's request, or undefined when its integration is not configured. */
export function toEffectJob(request: EffectRequest, context: JobContext): EffectJob | undefined {
  const effect = withPolicyBlocks(jobEffect(request.effect), context);
  if (effect === undefined) return undefined;
  const budget = budgetOf(request, context);
  const evidence = evidenceFirst(request, context);
  // Actions on Deployments run in the controller whoever asked (a pod actor's rollout restart).
  const executor = request.effect.target.kind === 'Deployment' ? CONTROLLER_OWNER : context.owner;
  return {
    owner: context.owner,
    ...(executor === context.owner ? {} : { executor }),
    actorKey: request.actorKey,
    incidentId: request.incidentId,
    step: request.step,
    effect,
    policy: context.policyRef,
    requestedAt: request.requestedAt,
    ...(evidence === undefined ? {} : { evidenceFirst: evidence }),
    ...(budget === undefined ? {} : { budget }),
  };
}

/** Notifications that ask people to look: the moments an LLM's suggested cause helps. */
const ASKS_PEOPLE: ReadonlySet<unknown> = new Set([
  'approvalRequested',
  'escalated',
  'quarantined',
]);

/**
 * Jobs that go with a request: when a notification asks people to look and the policy enables
 * the LLM, a `suggestCause` job for the same incident, whose answer is attached to the Slack
 * thread (shown, never executed).
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
  logger: Logger;
  onEnqueued?: (job: EffectJob) => void;
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
    };
    const job = toEffectJob(request, jobContext);
    if (job === undefined) {
      options.logger.debug(
        { object: actor.key, effect: request.effect.kind },
        'effect skipped: its integration is not configured in the policy',
      );
      return;
    }
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
 */
export function stormEscalationJob(options: {
  owner: string;
  policy: Policy;
  startedAt: number;
  storm: StormFact;
}): EffectJob {
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
    reason: stormEscalationReason(policyRef, options.storm),
  };
  return {
    owner: options.owner,
    actorKey,
    incidentId: `${actorKey}#storm@${options.startedAt}`,
    step: 'storm-escalation',
    // A notify job always gets its policy's Slack settings.
    effect: withPolicyBlocks(effect, { owner: options.owner, policyRef, policy }) ?? effect,
    policy: policyRef,
    requestedAt: options.startedAt,
  };
}
