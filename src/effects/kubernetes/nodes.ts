/**
 * Node actions. kube-remedy marks what it did (an annotation naming the actor), so undoing it
 * later never undoes what a person did: a node someone else cordoned stays cordoned. Before
 * acting, the condition that justified the action must still hold.
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Taint,
} from '@kubernetes/client-node';
import { httpStatus } from '../../adapters/kubernetes/errors.ts';
import { RetryLaterError, TerminalEffectError } from '../errors.ts';
import type { EffectResult } from '../workers.ts';
import { classify } from './api-errors.ts';
import type { ActionContext } from './context.ts';
import { OUT_OF_SERVICE_TAINT } from '../../machines/effects.ts';
import { FENCED_ANNOTATION } from '../../observe/observe.ts';
import { drainSkipReason } from './drain-rules.ts';
import { evictPod } from './pods.ts';

export { drainSkipReason };

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
export const CORDONED_BY = 'remedy.kube-remedy.io/cordoned-by';

export interface NodeTarget {
  node: string;
  uid?: string | undefined;
  requireCondition?: { type: string; status: string } | undefined;
}

const dry = (ctx: ActionContext): { dryRun?: string } => (ctx.dryRun ? { dryRun: ctx.dryRun } : {});

export async function readNodeChecked(
  ctx: ActionContext,
  target: NodeTarget,
  what: string,
): Promise<V1Node> {
  let node: V1Node;
  try {
    node = await ctx.core.readNode({ name: target.node });
  } catch (error) {
    if (httpStatus(error) === 404)
      throw new TerminalEffectError('gone', `${what}: node ${target.node} no longer exists`);
    throw classify(error, what);
  }
  if (target.uid !== undefined && node.metadata?.uid !== target.uid) {
    throw new TerminalEffectError(
      'precondition-failed',
      `${what}: node ${target.node} was replaced`,
    );
  }
  const required = target.requireCondition;
  if (required !== undefined) {
    const condition = node.status?.conditions?.find((c) => c.type === required.type);
    if (condition?.status !== required.status) {
      throw new TerminalEffectError(
        'condition-cleared',
        `${what}: ${required.type} is ${condition?.status ?? 'absent'} now, no longer ${required.status}`,
      );
    }
  }
  return node;
}

/** Marks the node unschedulable, recording that kube-remedy did it (for `by`). */
export async function cordon(
  ctx: ActionContext,
  target: NodeTarget,
  by: string,
): Promise<EffectResult> {
  const what = `cordon node ${target.node}`;
  const node = await readNodeChecked(ctx, target, what);
  if (node.spec?.unschedulable) {
    const ours = node.metadata?.annotations?.[CORDONED_BY] !== undefined;
    return {
      outcome: `node ${target.node} was already cordoned${ours ? ' by kube-remedy' : ''}`,
      inverse: null,
    };
  }
  try {
    await ctx.core.patchNode(
      {
        name: target.node,
        body: { metadata: { annotations: { [CORDONED_BY]: by } }, spec: { unschedulable: true } },
        ...dry(ctx),
      },
      MERGE,
    );
  } catch (error) {
    throw classify(error, what);
  }
  return {
    outcome: `${ctx.dryRun ? 'would cordon' : 'cordoned'} node ${target.node}`,
    inverse: { kind: 'uncordon', node: target.node },
  };
}

/** Makes the node schedulable again, but only if kube-remedy cordoned it. */
export async function uncordon(ctx: ActionContext, target: NodeTarget): Promise<EffectResult> {
  const what = `uncordon node ${target.node}`;
  const node = await readNodeChecked(ctx, { node: target.node, uid: target.uid }, what);
  const by = node.metadata?.annotations?.[CORDONED_BY];
  if (!node.spec?.unschedulable)
    return { outcome: `node ${target.node} was already schedulable`, inverse: null };
  if (by === undefined) {
    return {
      outcome: `node ${target.node} left cordoned: it was cordoned by someone else`,
      inverse: null,
      leftAlone: true,
    };
  }
  try {
    await ctx.core.patchNode(
      {
        name: target.node,
        body: { metadata: { annotations: { [CORDONED_BY]: null } }, spec: { unschedulable: null } },
        ...dry(ctx),
      },
      MERGE,
    );
  } catch (error) {
    throw classify(error, what);
  }
  return {
    outcome: `${ctx.dryRun ? 'would uncordon' : 'uncordoned'} node ${target.node}`,
    inverse: null,
  };
}

function sameTaint(a: V1Taint, b: { key: string; effect: string }): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/**
 * A taint as the API server stores it. The client reads `timeAdded` (set on the NoExecute taints
 * the node lifecycle controller puts on an unreachable node) as a Date and would write it back
 * with milliseconds, which the patch's `test` would not find equal to the stored
 * seconds-precision time: the patch would be refused whenever such a taint is there.
 */
function asStored(taint: V1Taint): Record<string, unknown> {
  const { timeAdded, ...rest } = taint;
  if (timeAdded === undefined || timeAdded === null) return rest;
  const time = timeAdded instanceof Date ? timeAdded : new Date(String(timeAdded));
  return { ...rest, timeAdded: time.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

async function setTaints(
  ctx: ActionContext,
  node: V1Node,
  taints: V1Taint[],
  what: string,
): Promise<void> {
  try {
    // test-then-replace: a concurrent change of the taints makes the patch fail instead of being lost.
    await ctx.core.patchNode(
      {
        name: node.metadata?.name ?? '',
        body:
          node.spec?.taints === undefined
            ? [{ op: 'add', path: '/spec/taints', value: taints.map(asStored) }]
            : [
                { op: 'test', path: '/spec/taints', value: node.spec.taints.map(asStored) },
                { op: 'replace', path: '/spec/taints', value: taints.map(asStored) },
              ],
        ...dry(ctx),
      },
      JSON_PATCH,
    );
  } catch (error) {
    throw classify(error, what);
  }
}

/**
 * Kubernetes deletes every pod of a node with the out-of-service taint and detaches its volumes:
 * it goes only on a node that is still not Ready and still fenced when the worker acts (a job
 * that waited while the node came back, or a fence lifted meanwhile, is refused).
 */
function refuseUnlessGoneAndFenced(node: V1Node, what: string): void {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  if (ready === 'True') {
    throw new TerminalEffectError('condition-cleared', `${what}: the node is Ready again`);
  }
  const fenced = node.metadata?.annotations?.[FENCED_ANNOTATION];
  if (fenced === undefined || fenced.trim().toLowerCase() === 'false') {
    throw new TerminalEffectError(
      'precondition-failed',
      `${what}: the node is not fenced (no ${FENCED_ANNOTATION} annotation)`,
    );
  }
}

export async function taint(
  ctx: ActionContext,
  target: NodeTarget & { taint: { key: string; value?: string | undefined; effect: string } },
): Promise<EffectResult> {
  const what = `taint node ${target.node} with ${target.taint.key}:${target.taint.effect}`;
  const node = await readNodeChecked(ctx, target, what);
  if (target.taint.key === OUT_OF_SERVICE_TAINT.key) refuseUnlessGoneAndFenced(node, what);
  const taints = node.spec?.taints ?? [];
  if (taints.some((t) => sameTaint(t, target.taint)))
    return { outcome: `node ${target.node} already has taint ${target.taint.key}`, inverse: null };
  const added: V1Taint = {
    key: target.taint.key,
    effect: target.taint.effect,
    ...(target.taint.value === undefined ? {} : { value: target.taint.value }),
  };
  await setTaints(ctx, node, [...taints, added], what);
  return {
    outcome: `${ctx.dryRun ? 'would taint' : 'tainted'} node ${target.node} with ${target.taint.key}:${target.taint.effect}`,
    inverse: { kind: 'untaint', node: target.node, taint: target.taint },
  };
}

export async function untaint(
  ctx: ActionContext,
  target: NodeTarget & { taint: { key: string; effect: string } },
): Promise<EffectResult> {
  const what = `remove taint ${target.taint.key} from node ${target.node}`;
  const node = await readNodeChecked(ctx, { node: target.node, uid: target.uid }, what);
  const taints = node.spec?.taints ?? [];
  if (!taints.some((t) => sameTaint(t, target.taint)))
    return { outcome: `node ${target.node} has no taint ${target.taint.key}`, inverse: null };
  await setTaints(
    ctx,
    node,
    taints.filter((t) => !sameTaint(t, target.taint)),
    what,
  );
  return {
    outcome: `${ctx.dryRun ? 'would remove' : 'removed'} taint ${target.taint.key} from node ${target.node}`,
    inverse: null,
  };
}

/**
 * Cordons the node, then evicts every evictable pod through the Eviction API until none is
 * left or `timeoutMs` passes. Pods a PodDisruptionBudget protects make the drain retry later;
 * it never deletes around a budget.
 */
export async function drain(
  ctx: ActionContext,
  target: NodeTarget & { timeoutMs?: number | undefined },
  by: string,
): Promise<EffectResult> {
  await cordon(ctx, target, by);
  const deadline = Date.now() + (target.timeoutMs ?? 5 * 60_000);
  const evicted = new Set<string>();
  const skipped = new Map<string, string>();
  for (;;) {
    const pods = (
      await ctx.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${target.node}` })
    ).items;
    const blocked: string[] = [];
    let remaining = 0;
    for (const pod of pods) {
      const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
      const skip = drainSkipReason(pod);
      if (skip !== undefined) {
        if (pod.metadata?.deletionTimestamp === undefined) skipped.set(key, skip);
        continue;
      }
      remaining += 1;
      try {
        await evictPod(ctx, {
          namespace: pod.metadata?.namespace ?? '',
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
        });
        evicted.add(key);
      } catch (error) {
        if (error instanceof RetryLaterError) blocked.push(key);
        else throw error;
      }
    }
    if (remaining === 0 || ctx.dryRun) break;
    if (Date.now() > deadline || ctx.signal.aborted) {
      throw new RetryLaterError(
        `drain of node ${target.node} is waiting${blocked.length ? ` for PodDisruptionBudgets of ${blocked.join(', ')}` : ' for pods to terminate'}`,
        30_000,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const left = [...skipped].map(([pod, why]) => `${pod} (${why})`);
  return {
    outcome: `${ctx.dryRun ? 'would drain' : 'drained'} node ${target.node}: ${evicted.size} pod(s) evicted${left.length ? `; left ${left.join(', ')}` : ''}`,
    evicted: [...evicted],
    skipped: Object.fromEntries(skipped),
    // Uncordoning removes only kube-remedy's own cordon, so it is the inverse even on a rerun.
    inverse: { kind: 'uncordon', node: target.node },
  };
}
