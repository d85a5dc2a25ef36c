/**
 * Pod actions. Each names the pod by UID as a precondition, so it never touches a newer pod
 * that took the same name; a pod already gone counts as done, so a rerun is harmless.
 */
import { httpStatus } from '../../adapters/kubernetes/errors.ts';
import type { EffectResult } from '../workers.ts';
import { classify } from './api-errors.ts';
import type { ActionContext } from './context.ts';
import { RetryLaterError, TerminalEffectError } from '../errors.ts';

export interface PodTarget {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * Refuses to delete or evict a pod that no controller would recreate, unless the policy allowed
 * it when it decided (the decision said so; the pod is read again here since it may have lost its
 * owner meanwhile). A pod already gone passes: deleting it again is a harmless no-op.
 */
export async function refuseBarePod(
  ctx: ActionContext,
  pod: PodTarget & { deleteBarePod: boolean },
  what: string,
): Promise<void> {
  if (pod.deleteBarePod) return;
  let live;
  try {
    live = await ctx.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
  } catch (error) {
    if (httpStatus(error) === 404) return;
    throw classify(error, what);
  }
  if (live.metadata?.uid !== pod.uid) return;
  if (!live.metadata.ownerReferences?.some((o) => o.controller === true)) {
    throw new TerminalEffectError(
      'bare-pod',
      `${what}: pod ${pod.namespace}/${pod.name} has no controller that would recreate it, so it is not deleted; people decide (deleteBarePods on the detection allows it)`,
    );
  }
}

/** Deletes the pod so its controller starts a fresh one (the usual fix for a crash loop). */
export async function deletePod(ctx: ActionContext, pod: PodTarget): Promise<EffectResult> {
  const what = `delete pod ${pod.namespace}/${pod.name}`;
  try {
    await ctx.core.deleteNamespacedPod({
      name: pod.name,
      namespace: pod.namespace,
      // With a body, the API server reads DeleteOptions from it and ignores the query, so the
      // dry run must be said there.
      body: { preconditions: { uid: pod.uid }, ...(ctx.dryRun ? { dryRun: [ctx.dryRun] } : {}) },
    });
    return {
      outcome: `${ctx.dryRun ? 'would delete' : 'deleted'} pod ${pod.namespace}/${pod.name}`,
      inverse: null,
    };
  } catch (error) {
    if (httpStatus(error) === 404)
      return { outcome: `pod ${pod.namespace}/${pod.name} was already gone`, inverse: null };
    throw classify(error, what);
  }
}

/**
 * Evicts the pod through the Eviction API, which honours PodDisruptionBudgets. A budget that
 * allows no disruption now answers 429: that means later, never force.
 */
export async function evictPod(ctx: ActionContext, pod: PodTarget): Promise<EffectResult> {
  const what = `evict pod ${pod.namespace}/${pod.name}`;
  try {
    await ctx.core.createNamespacedPodEviction({
      name: pod.name,
      namespace: pod.namespace,
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: pod.name, namespace: pod.namespace },
        deleteOptions: {
          preconditions: { uid: pod.uid },
          ...(ctx.dryRun ? { dryRun: [ctx.dryRun] } : {}),
        },
      },
      ...(ctx.dryRun ? { dryRun: ctx.dryRun } : {}),
    });
    return {
      outcome: `${ctx.dryRun ? 'would evict' : 'evicted'} pod ${pod.namespace}/${pod.name}`,
      inverse: null,
    };
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404)
      return { outcome: `pod ${pod.namespace}/${pod.name} was already gone`, inverse: null };
    if (status === 429) {
      throw new RetryLaterError(
        `a PodDisruptionBudget allows no disruption of ${pod.namespace}/${pod.name} now`,
        10_000,
        {
          cause: error,
        },
      );
    }
    throw classify(error, what);
  }
}
