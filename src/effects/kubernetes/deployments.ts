/**
 * Deployment actions. Each checks the Deployment is still the one the decision saw (UID) and is
 * written so that running it twice does what running it once did: a restart stamps the time of
 * the decision, a rollback leaves a mark naming its job, a scale is a no-op at the target count.
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { httpStatus } from '../../adapters/kubernetes/errors.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectResult } from '../workers.ts';
import { classify, retryOnConflict } from './api-errors.ts';
import type { ActionContext } from './context.ts';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** A JSON Pointer segment (RFC 6901): annotation keys hold `/`. */
function pointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}
export const REVISION = 'deployment.kubernetes.io/revision';
export const ROLLED_BACK_BY = 'remedy.kube-remedy.io/rolled-back-by';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export interface DeploymentTarget {
  namespace: string;
  name: string;
  uid?: string | undefined;
  /**
   * The ReplicaSet whose pods the decision saw failing (a pod's incident). The action refuses
   * once the Deployment has moved on from it: another replica's incident, or a person, already
   * acted, and acting again would roll back the good revision or restart it once more.
   */
  fromReplicaSet?: string | undefined;
}

async function readChecked(
  ctx: ActionContext,
  target: DeploymentTarget,
  what: string,
): Promise<V1Deployment> {
  let deployment: V1Deployment;
  try {
    deployment = await ctx.apps.readNamespacedDeployment({
      name: target.name,
      namespace: target.namespace,
    });
  } catch (error) {
    if (httpStatus(error) === 404) {
      throw new TerminalEffectError(
        'gone',
        `${what}: deployment ${target.namespace}/${target.name} no longer exists`,
      );
    }
    throw classify(error, what);
  }
  if (target.uid !== undefined && deployment.metadata?.uid !== target.uid) {
    throw new TerminalEffectError(
      'precondition-failed',
      `${what}: deployment was replaced (UID ${deployment.metadata?.uid ?? '?'})`,
    );
  }
  return deployment;
}

const dry = (ctx: ActionContext): { dryRun?: string } => (ctx.dryRun ? { dryRun: ctx.dryRun } : {});

/** The ReplicaSets the Deployment owns. */
async function ownedReplicaSets(
  ctx: ActionContext,
  deployment: V1Deployment,
  namespace: string,
): Promise<V1ReplicaSet[]> {
  const selector = Object.entries(deployment.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return (
    await ctx.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector })
  ).items.filter((rs: V1ReplicaSet) =>
    rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
  );
}

/** Refuses when the Deployment's current ReplicaSet is no longer the one the decision saw. */
function refuseIfMovedOn(
  target: DeploymentTarget,
  deployment: V1Deployment,
  owned: readonly V1ReplicaSet[],
  what: string,
): void {
  if (target.fromReplicaSet === undefined) return;
  const current = owned.find((rs) => revisionOf(rs) === revisionOf(deployment))?.metadata?.name;
  if (current !== target.fromReplicaSet) {
    throw new TerminalEffectError(
      'moved-on',
      `${what}: the deployment has moved on from ReplicaSet ${target.fromReplicaSet} (its current one is ${current ?? 'unknown'}), so nothing is done again`,
    );
  }
}

/** `kubectl rollout restart`: new pods from the same template. */
export async function rolloutRestart(
  ctx: ActionContext,
  target: DeploymentTarget,
): Promise<EffectResult> {
  const what = `restart rollout of deployment ${target.namespace}/${target.name}`;
  const deployment = await readChecked(ctx, target, what);
  if (target.fromReplicaSet !== undefined) {
    refuseIfMovedOn(
      target,
      deployment,
      await ownedReplicaSets(ctx, deployment, target.namespace),
      what,
    );
  }
  const stamp = new Date(ctx.requestedAt).toISOString();
  try {
    await ctx.apps.patchNamespacedDeployment(
      {
        name: target.name,
        namespace: target.namespace,
        body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } } } },
        ...dry(ctx),
      },
      MERGE,
    );
  } catch (error) {
    throw classify(error, what);
  }
  return {
    outcome: `${ctx.dryRun ? 'would restart' : 'restarted'} the rollout of ${target.namespace}/${target.name}`,
    inverse: null,
  };
}

function revisionOf(object: { metadata?: { annotations?: Record<string, string> } }): number {
  return Number(object.metadata?.annotations?.[REVISION] ?? 0);
}

/** Rolls the Deployment back to its previous ReplicaSet's template (or to `toRevision`). */
export async function rollback(
  ctx: ActionContext,
  target: DeploymentTarget & { toRevision?: number | undefined },
  jobId: string,
): Promise<EffectResult> {
  return retryOnConflict(() => rollbackOnce(ctx, target, jobId));
}

async function rollbackOnce(
  ctx: ActionContext,
  target: DeploymentTarget & { toRevision?: number | undefined },
  jobId: string,
): Promise<EffectResult> {
  const what = `roll back deployment ${target.namespace}/${target.name}`;
  const deployment = await readChecked(ctx, target, what);
  if (deployment.metadata?.annotations?.[ROLLED_BACK_BY] === jobId) {
    return {
      outcome: `deployment ${target.namespace}/${target.name} was already rolled back by this action`,
      inverse: null,
    };
  }
  const current = revisionOf(deployment);
  const owned = await ownedReplicaSets(ctx, deployment, target.namespace);
  refuseIfMovedOn(target, deployment, owned, what);
  const candidates = owned
    .filter((rs) =>
      target.toRevision === undefined
        ? revisionOf(rs) < current
        : revisionOf(rs) === target.toRevision,
    )
    .sort((a, b) => revisionOf(b) - revisionOf(a));
  const chosen = candidates[0];
  if (chosen?.spec?.template === undefined) {
    throw new TerminalEffectError(
      'no-previous-revision',
      target.toRevision === undefined
        ? `${what}: no revision before ${current} is left to roll back to`
        : `${what}: revision ${target.toRevision} not found`,
    );
  }
  const template = structuredClone(chosen.spec.template);
  delete template.metadata?.labels?.['pod-template-hash'];
  try {
    await ctx.apps.patchNamespacedDeployment(
      {
        name: target.name,
        namespace: target.namespace,
        // The template is replaced, not merged: a merge would keep what the failing release
        // added to its maps (an annotation, a nodeSelector entry, a resource limit), so the
        // Deployment would run a template no revision had. Writing the resourceVersion read
        // makes this a compare-and-swap: a concurrent change wins (409, retried).
        body: [
          {
            op: 'replace',
            path: '/metadata/resourceVersion',
            value: deployment.metadata?.resourceVersion,
          },
          { op: 'replace', path: '/spec/template', value: template },
          deployment.metadata?.annotations === undefined
            ? { op: 'add', path: '/metadata/annotations', value: { [ROLLED_BACK_BY]: jobId } }
            : { op: 'add', path: `/metadata/annotations/${pointer(ROLLED_BACK_BY)}`, value: jobId },
        ],
        ...dry(ctx),
      },
      JSON_PATCH,
    );
  } catch (error) {
    throw classify(error, what);
  }
  return {
    outcome: `${ctx.dryRun ? 'would roll back' : 'rolled back'} ${target.namespace}/${target.name} from revision ${current} to revision ${revisionOf(chosen)}`,
    fromRevision: current,
    toRevision: revisionOf(chosen),
    inverse: null,
  };
}

/** Scales through the scale subresource, refusing if someone else scaled since the decision. */
export async function scale(
  ctx: ActionContext,
  target: DeploymentTarget & { replicas: number; fromReplicas?: number | undefined },
): Promise<EffectResult> {
  return retryOnConflict(() => scaleOnce(ctx, target));
}

async function scaleOnce(
  ctx: ActionContext,
  target: DeploymentTarget & { replicas: number; fromReplicas?: number | undefined },
): Promise<EffectResult> {
  const what = `scale deployment ${target.namespace}/${target.name} to ${target.replicas}`;
  await readChecked(ctx, target, what);
  const current = await ctx.apps.readNamespacedDeploymentScale({
    name: target.name,
    namespace: target.namespace,
  });
  const now = current.spec?.replicas ?? 0;
  if (now === target.replicas) {
    return {
      outcome: `${target.namespace}/${target.name} already has ${now} replicas`,
      inverse: null,
    };
  }
  if (target.fromReplicas !== undefined && now !== target.fromReplicas) {
    throw new TerminalEffectError(
      'precondition-failed',
      `${what}: it has ${now} replicas, not the ${target.fromReplicas} the decision saw; someone else scaled it`,
    );
  }
  try {
    await ctx.apps.patchNamespacedDeploymentScale(
      {
        name: target.name,
        namespace: target.namespace,
        body: {
          metadata: { resourceVersion: current.metadata?.resourceVersion },
          spec: { replicas: target.replicas },
        },
        ...dry(ctx),
      },
      MERGE,
    );
  } catch (error) {
    throw classify(error, what);
  }
  return {
    outcome: `${ctx.dryRun ? 'would scale' : 'scaled'} ${target.namespace}/${target.name} from ${now} to ${target.replicas} replicas`,
    inverse: {
      kind: 'scale',
      namespace: target.namespace,
      name: target.name,
      replicas: now,
      fromReplicas: target.replicas,
    },
  };
}
