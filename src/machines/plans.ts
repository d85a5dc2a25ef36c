/**
 * What a remediation does, step by step, for an incident on a given kind of object: a table from
 * the policy's action to effects, plus the mode's say on how a change is made (gitops proposes).
 */
import type { Detection } from '../analyzers/types.ts';
import { healthyFloor } from '../budgets/healthy-nodes.ts';
import type { RemediationContext, Incident } from './context.ts';
import { isReplaced, workloadOf, type WorkloadRef } from '../observe/workload.ts';
import {
  DECLARATIVE,
  objectName,
  type ObjectRef,
  type ProposedChange,
  type RemediationEffect,
  type Taint,
} from './effects.ts';
import type { Action, DetectionRule } from './policy.ts';
import { ladderStep } from './workload.ts';

export type PlanResult = { plan: RemediationEffect[] } | { escalate: string };

const DEFAULT_TAINT: Taint = { key: 'remedy.kube-remedy.io/unhealthy', effect: 'NoSchedule' };

/** The object of the machine, with the preconditions of its latest observation. */
export function objectRef(context: RemediationContext): ObjectRef {
  const o = context.observation;
  if (o) {
    return {
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      resourceVersion: o.resourceVersion,
    };
  }
  const [, ...rest] = context.actorKey.split('/');
  const namespace = context.kind === 'Node' ? null : (rest[0] ?? null);
  const name = context.kind === 'Node' ? rest.join('/') : rest.slice(1).join('/');
  return { kind: context.kind, namespace, name, uid: '', resourceVersion: '' };
}

function oomContainers(context: RemediationContext): string[] {
  const o = context.observation;
  if (o?.kind !== 'Pod') return [];
  return o.containers
    .filter((c) => c.reason === 'OOMKilled' || c.lastTermination?.reason === 'OOMKilled')
    .map((c) => c.name);
}

function currentReplicas(context: RemediationContext): number | null {
  return context.observation?.kind === 'Deployment' ? context.observation.desiredReplicas : null;
}

function mismatch(action: Action, context: RemediationContext): PlanResult {
  return { escalate: `action ${action} does not apply to a ${context.kind}, so people decide` };
}

/** The pod's workload (observe/workload.ts); older observations carry only the owner. */
function podWorkload(context: RemediationContext): WorkloadRef | null {
  const o = context.observation;
  if (o?.kind !== 'Pod') return null;
  return o.workload ?? workloadOf({ name: o.name, owner: o.owner });
}

/**
 * Deleting a pod that no controller recreates removes it for good: only when the rule says so.
 * Null when the action may go ahead.
 */
function barePodRefusal(
  context: RemediationContext,
  action: Action,
  rule: DetectionRule,
): string | null {
  const workload = podWorkload(context);
  if (workload === null || isReplaced(workload) || rule.deleteBarePods === true) return null;
  return `${objectName(objectRef(context))} has no controller that would recreate it, so ${action} would delete it for good; people decide (deleteBarePods on the detection allows it)`;
}

/**
 * Where a workload action (rollout restart, rollback, scale) asked for a pod goes: the
 * Deployment the pod belongs to, with what was known of it. A pod of another workload leaves
 * the decision to people.
 */
function workloadTarget(
  context: RemediationContext,
  action: Action,
): ObjectRef | { escalate: string } {
  if (context.kind !== 'Pod') return objectRef(context);
  const workload = podWorkload(context);
  const pod = objectRef(context);
  if (workload?.kind !== 'Deployment') {
    const of = workload === null ? 'no workload' : `${workload.kind} ${workload.name}`;
    return {
      escalate: `action ${action} acts on a Deployment and ${objectName(pod)} belongs to ${of}, so people decide`,
    };
  }
  return {
    kind: 'Deployment',
    namespace: pod.namespace,
    name: workload.name,
    uid: '',
    resourceVersion: '',
  };
}

/** For a pod's workload action: the ReplicaSet of the failing pod, which the worker holds it to. */
function fromReplicaSet(context: RemediationContext): { fromReplicaSet?: string } {
  const o = context.observation;
  return o?.kind === 'Pod' && o.owner?.kind === 'ReplicaSet'
    ? { fromReplicaSet: o.owner.name }
    : {};
}

function detectionPlan(
  context: RemediationContext,
  detection: Detection,
  rule: DetectionRule,
): PlanResult {
  const target = objectRef(context);
  const reason = detection.reason;
  const { policy, kind } = context;
  const isNode = kind === 'Node';
  switch (rule.action) {
    case 'notify':
      return { escalate: `the policy asks to tell people about ${detection.type}, not to act` };
    case 'restartPod':
    case 'deletePod':
    case 'evictPod': {
      if (kind !== 'Pod') return mismatch(rule.action, context);
      const refusal = barePodRefusal(context, rule.action, rule);
      if (refusal !== null) return { escalate: refusal };
      return {
        plan: [
          {
            kind: rule.action,
            target,
            reason,
            ...(rule.deleteBarePods === true ? { deleteBarePod: true } : {}),
          },
        ],
      };
    }
    case 'rolloutRestart': {
      if (isNode) return mismatch(rule.action, context);
      const deployment = workloadTarget(context, rule.action);
      return 'escalate' in deployment
        ? deployment
        : {
            plan: [
              { kind: 'rolloutRestart', target: deployment, reason, ...fromReplicaSet(context) },
            ],
          };
    }
    case 'rollback': {
      if (isNode) return mismatch(rule.action, context);
      if (kind === 'Deployment' && !policy.deployment.rollbackOnFailedRollout) {
        return {
          escalate: 'the policy does not allow rollbacks (deployment.rollbackOnFailedRollout)',
        };
      }
      const deployment = workloadTarget(context, rule.action);
      if ('escalate' in deployment) return deployment;
      return {
        plan: [
          {
            kind: 'rollback',
            target: deployment,
            reason,
            fromRevision:
              context.observation?.kind === 'Deployment' ? context.observation.revision : null,
            ...fromReplicaSet(context),
          },
        ],
      };
    }
    case 'scale': {
      if (isNode) return mismatch(rule.action, context);
      const deployment = workloadTarget(context, rule.action);
      if ('escalate' in deployment) return deployment;
      return {
        plan: [
          {
            kind: 'scale',
            target: deployment,
            reason,
            from: currentReplicas(context),
            to: rule.replicas ?? 0,
          },
        ],
      };
    }
    case 'increaseMemory': {
      if (isNode) return mismatch(rule.action, context);
      const proposes: ProposedChange = {
        kind: 'increaseMemory',
        containers: oomContainers(context),
        increasePercent: rule.memory?.increasePercent ?? 50,
        max: rule.memory?.max ?? null,
      };
      // A memory limit lives in the manifest: it is always a pull request, whatever the mode.
      return { plan: [{ kind: 'openPullRequest', target, reason, proposes }] };
    }
    case 'cordon':
      return isNode
        ? { plan: [{ kind: 'cordon', target, reason }] }
        : mismatch(rule.action, context);
    case 'drain': {
      if (!isNode) return mismatch(rule.action, context);
      const cordon: RemediationEffect = { kind: 'cordon', target, reason };
      if (!policy.node.drainAllowed) return { plan: [cordon] };
      const drain: RemediationEffect = {
        kind: 'drain',
        target,
        reason,
        minHealthyNodes:
          healthyFloor(
            { count: policy.node.minHealthyNodes, percent: policy.node.minHealthyPercent },
            context.facts.selectedNodes,
          ) ?? policy.node.minHealthyNodes,
      };
      return { plan: [cordon, drain] };
    }
    case 'taint':
      return isNode
        ? { plan: [{ kind: 'taint', target, reason, taint: rule.taint ?? DEFAULT_TAINT }] }
        : mismatch(rule.action, context);
  }
}

/** In gitops mode a change to desired state becomes a pull request proposing it. */
function asProposal(effect: RemediationEffect): RemediationEffect {
  if (!DECLARATIVE.has(effect.kind)) return effect;
  const proposes: ProposedChange | null =
    effect.kind === 'rollback'
      ? { kind: 'rollback', fromRevision: effect.fromRevision }
      : effect.kind === 'scale'
        ? { kind: 'scale', from: effect.from, to: effect.to }
        : null;
  return proposes
    ? { kind: 'openPullRequest', target: effect.target, reason: effect.reason, proposes }
    : effect;
}

export function planFor(context: RemediationContext, incident: Incident): PlanResult {
  let result: PlanResult;
  if (incident.trigger.kind === 'scale') {
    const { from, to, reason } = incident.trigger;
    result = { plan: [{ kind: 'scale', target: objectRef(context), reason, from, to }] };
  } else {
    const detection = incident.trigger.detection;
    const rule = context.policy.detections[detection.type];
    if (!rule) return { escalate: `the policy no longer has a rule for ${detection.type}` };
    const done = incident.attempts ?? 0;
    const next = ladderStep(rule, done);
    if (next === null) {
      const tried = rule.then === 'rollback' ? `${rule.action}, then rollback,` : rule.action;
      return {
        escalate: `${tried} did not hold (${done} remediation${done === 1 ? '' : 's'} in this incident), so people decide`,
      };
    }
    result = detectionPlan(
      context,
      detection,
      next === 'then' ? { ...rule, action: 'rollback' } : rule,
    );
  }
  if ('plan' in result && context.policy.mode === 'gitops') {
    return { plan: result.plan.map(asProposal) };
  }
  return result;
}
