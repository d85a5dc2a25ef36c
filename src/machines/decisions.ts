/**
 * The decision taken once an incident is confirmed (and again once it is approved): a pure
 * function of the machine's context returning `{decision, reason}`. The machine's `detected`
 * state only routes on the decision, so the rules read here in one place, in order.
 */
import { healthyFloor } from '../budgets/healthy-nodes.ts';
import { formatDuration } from '../util/duration.ts';
import {
  stormCounts,
  stormLimit,
  type Decision,
  type Incident,
  type RemediationContext,
} from './context.ts';
import {
  CLUSTER_CHANGING,
  describeEffect,
  objectName,
  TAKES_NODE_OUT,
  type RemediationEffect,
} from './effects.ts';
import { objectRef, planFor } from './plans.ts';
import { incidentSymptomIn } from './symptoms.ts';
import { needsClaim } from './workload.ts';

export function remediationsInWindow(context: RemediationContext, now: number): number {
  const since = now - context.policy.quarantine.windowMs;
  return context.remediations.filter((at) => at > since).length;
}

/**
 * Whether taking this node out of service keeps `minHealthyNodes`. The node counts as healthy
 * unless its observation says otherwise; a stale observation errs on the side of not acting.
 */
export function nodeCapacity(context: RemediationContext): { ok: boolean; reason: string } {
  const { healthyNodes } = context.facts;
  const min = nodeFloor(context);
  if (healthyNodes === null || min === null) {
    return {
      ok: false,
      reason: 'the number of healthy nodes is unknown, so no node is taken out of service',
    };
  }
  const o = context.observation;
  const countsNow = o?.kind === 'Node' && o.ready === 'True' && !o.unschedulable;
  const remaining = healthyNodes - (countsNow ? 1 : 0);
  const name = objectName(objectRef(context));
  const percent = context.policy.node.minHealthyPercent;
  const of =
    percent === undefined
      ? ''
      : `${percent}% of the ${context.facts.selectedNodes ?? 0} nodes it selects`;
  return remaining >= min
    ? {
        ok: true,
        reason: `${remaining} healthy nodes remain without ${name} (minimum ${min}${of === '' ? '' : `, ${of}`})`,
      }
    : {
        ok: false,
        reason: `taking ${name} out of service would leave ${remaining} healthy nodes, below the policy minimum of ${min}${of === '' ? '' : ` (${of})`}`,
      };
}

/**
 * The policy's floor of healthy nodes: its count, or its percentage of the nodes it selects
 * (rounded up); null while that number is unknown.
 */
export function nodeFloor(context: RemediationContext): number | null {
  const { minHealthyNodes, minHealthyPercent } = context.policy.node;
  return healthyFloor(
    { count: minHealthyNodes, percent: minHealthyPercent },
    context.facts.selectedNodes,
  );
}

/**
 * Why the policy's automation is held, or null when it is not: a person paused the policy, the
 * storm breaker (too many of its workloads, or of its nodes, are unhealthy at once) or a spent
 * disruption budget. Either limits
 * automation, not people: the machine hands the decision to a person instead of acting.
 */
export function automationHold(context: RemediationContext): string | null {
  const storm = context.facts.storm ?? null;
  const policy = context.policy.name;
  const paused = context.policy.paused;
  if (paused !== undefined) {
    return `${policy} is paused (annotation remedy.kube-remedy.io/paused${paused === '' ? '' : `: "${paused}"`})`;
  }
  if (storm !== null) {
    const counted = stormCounts([context.kind]);
    if (storm.resumesAt !== undefined) {
      return `${policy} is cooling down after a storm (${storm.unhealthy} of its ${storm.targets} ${counted} were unhealthy at once); automation resumes at ${new Date(storm.resumesAt).toISOString()}`;
    }
    return `the storm breaker holds ${policy}: ${storm.unhealthy} of its ${storm.targets} ${counted} are unhealthy at once (more than ${stormLimit(storm)})`;
  }
  if (!context.facts.budgetAvailable) return `the disruption budget for ${policy} is spent`;
  return null;
}

/**
 * Whether a person can still be asked about this incident. Refused and expired approvals never
 * come back here (a refusal closes the incident, an expiry escalates it); what remains is a policy
 * that leaves no time to approve.
 */
function approvalPossible(context: RemediationContext): boolean {
  return context.policy.approvalTimeoutMs > 0;
}

function describePlan(plan: readonly RemediationEffect[]): string {
  return plan.map(describeEffect).join(', then ');
}

function triggerReason(incident: Incident): string {
  return incident.trigger.kind === 'detection'
    ? incident.trigger.detection.reason
    : incident.trigger.reason;
}

/**
 * A pod with workload memory asks its workload first (one incident per workload and symptom),
 * then waits when another pod of it decides, or when the workload is held.
 */
function workloadDecision(context: RemediationContext, incident: Incident): Decision | null {
  if (needsClaim(context)) {
    return {
      decision: 'claim',
      reason: `asking ${incident.workload ?? 'the workload'} whether one of its pods already handles this`,
    };
  }
  const joined = incident.joinedTo;
  if (incident.claim === 'member' && joined !== undefined && 'incidentId' in joined) {
    return {
      decision: 'join',
      reason: `${joined.holder ?? 'another pod'} already handles it for ${incident.workload ?? 'the workload'} (incident ${joined.incidentId}); this pod waits`,
    };
  }
  if (incident.claim === 'held' && joined !== undefined && 'held' in joined) {
    const what =
      joined.held === 'quarantined'
        ? 'is quarantined: its remediations did not hold'
        : 'is cooling down after its last incident';
    return {
      decision: 'join',
      reason: `${incident.workload ?? 'the workload'} ${what}, until ${new Date(joined.until).toISOString()}; this pod waits`,
    };
  }
  return null;
}

/** The decision as if the mode were not dryRun. */
function decideForReal(context: RemediationContext, incident: Incident, now: number): Decision {
  const why = triggerReason(incident);
  if (incident.trigger.kind === 'detection') {
    if (!incidentSymptomIn(incident, context.policy, context.detections)) {
      return {
        decision: 'standDown',
        reason: `the symptom cleared before anything was done (${why})`,
      };
    }
    const workload = workloadDecision(context, incident);
    if (workload !== null) return workload;
    const done = remediationsInWindow(context, now);
    const { maxRemediations, windowMs } = context.policy.quarantine;
    if (done >= maxRemediations) {
      return {
        decision: 'quarantine',
        reason: `${done} remediations within ${formatDuration(windowMs)} did not hold (the policy allows ${maxRemediations}): no more automatic remediation of ${incident.trigger.detection.type}`,
      };
    }
  }
  if (context.kind === 'Pod' && context.facts.inhibited) {
    const { by, reason } = context.facts.inhibited;
    return { decision: 'wait', reason: `${by} is handling it: ${reason}` };
  }
  const planned = planFor(context, incident);
  if ('escalate' in planned) return { decision: 'escalate', reason: `${planned.escalate}: ${why}` };
  const { plan } = planned;
  if (plan.some((e) => TAKES_NODE_OUT.has(e.kind))) {
    const capacity = nodeCapacity(context);
    if (!capacity.ok) return { decision: 'escalate', reason: `${capacity.reason}: ${why}` };
  }
  const what = `${describePlan(plan)}: ${why}`;
  // A spent budget or a storm lowers autonomy: whatever the mode, a person decides. An incident a
  // person approved goes ahead (its actions take no budget tokens): budgets limit automation.
  const changesCluster = plan.some((e) => CLUSTER_CHANGING.has(e.kind));
  const hold = changesCluster && incident.approvedBy === null ? automationHold(context) : null;
  if (hold !== null) {
    return approvalPossible(context)
      ? { decision: 'askApproval', reason: `${hold}, so a person decides whether to ${what}` }
      : {
          decision: 'escalate',
          reason: `${hold} and the policy leaves no time to approve: ${why}`,
        };
  }
  if (plan[0]?.kind === 'openPullRequest') return { decision: 'propose', reason: what };
  if (context.policy.mode === 'approval' && incident.approvedBy === null) {
    return { decision: 'askApproval', reason: `approval needed to ${what}` };
  }
  return { decision: 'remediate', reason: what };
}

const WOULD: Partial<Record<Decision['decision'], string>> = {
  quarantine: 'would stop remediating',
  wait: 'would wait:',
  join: 'would wait:',
  escalate: 'would escalate',
  propose: 'would',
  remediate: 'would',
  // Only a held automation asks for approval in dryRun mode (see automationHold).
  askApproval: 'would hand it to a person:',
};

/**
 * What to do about the open incident, and why. In dryRun mode every decision but standing down
 * becomes a record of what would have been done, so a dry run never holds an incident open.
 */
export function decide(context: RemediationContext, now: number): Decision {
  const incident = context.incident;
  if (!incident) return { decision: 'standDown', reason: 'there is no incident to act on' };
  const decision = decideForReal(context, incident, now);
  const would = WOULD[decision.decision];
  if (context.policy.mode === 'dryRun' && would !== undefined) {
    return { decision: 'dryRun', reason: `dry run: ${would} ${decision.reason}` };
  }
  return decision;
}
