/**
 * From what a machine asks for (`EffectRequest`) to the job a worker runs (`EffectJob`): the
 * effect's parameters in the shape its processor validates, the queue owner that may carry it
 * out, and the owner whose control stream gets the result.
 */
import type { EffectJob, Effect as JobEffect } from '../effects/catalogue.ts';
import type { EffectRequest } from '../machines/index.ts';

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
  budget?: EffectJob['budget'];
}

export function toEffectJob(request: EffectRequest, context: JobContext): EffectJob {
  const effect = jobEffect(request.effect);
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
    ...(context.budget ? { budget: context.budget } : {}),
  };
}
