/**
 * The Kubernetes action processors, ready for the effect workers. Disruptive actions take a
 * budget token first (atomic across agents) and node disruptions a node slot; a dry run takes
 * neither and writes nothing (the API server still validates and admits the request).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Budgets } from '../../budgets/budgets.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectJob } from '../catalogue.ts';
import type { EffectProcessor, EffectResult, ProcessorContext } from '../workers.ts';
import { kubeApis, type ActionContext, type KubeApis } from './context.ts';
import { rollback, rolloutRestart, scale } from './deployments.ts';
import { cordon, drain, taint, uncordon, untaint } from './nodes.ts';
import { parseParams, type KubernetesActionKind } from './params.ts';
import { deletePod, evictPod } from './pods.ts';

/** Actions that disrupt workloads and so spend budget. */
const DISRUPTIVE: ReadonlySet<KubernetesActionKind> = new Set([
  'deletePod',
  'restartPod',
  'evictPod',
  'rolloutRestart',
  'rollback',
  'scale',
  'cordon',
  'taint',
  'drain',
]);
const NODE_DISRUPTIONS: ReadonlySet<KubernetesActionKind> = new Set(['cordon', 'drain']);

async function healthyNodes(apis: KubeApis): Promise<number> {
  const nodes = (await apis.core.listNode()).items;
  return nodes.filter(
    (n) =>
      !n.spec?.unschedulable &&
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
}

export interface KubernetesProcessorsOptions {
  kc: KubeConfig;
  budgets?: Budgets;
}

export function kubernetesProcessors(
  options: KubernetesProcessorsOptions,
): Record<KubernetesActionKind, EffectProcessor> {
  const apis = kubeApis(options.kc);

  function context(job: EffectJob, processor: ProcessorContext): ActionContext {
    return {
      ...apis,
      dryRun: job.dryRun ? 'All' : undefined,
      logger: processor.logger,
      signal: processor.signal,
      requestedAt: job.requestedAt,
    };
  }

  async function spendBudget(
    kind: KubernetesActionKind,
    job: EffectJob,
    jobId: string,
    node?: string,
  ): Promise<void> {
    if (job.dryRun || options.budgets === undefined || !DISRUPTIVE.has(kind)) return;
    if (job.budget !== undefined && job.budget.scopes.length > 0) {
      const decision = await options.budgets.take(jobId, job.budget.scopes);
      if (decision.decision === 'denied')
        throw new TerminalEffectError('budget-exhausted', decision.reason);
    }
    if (node !== undefined && NODE_DISRUPTIONS.has(kind)) {
      const slot = await options.budgets.takeNodeSlot({
        node,
        actionId: jobId,
        healthyNodes: await healthyNodes(apis),
        minHealthyNodes: job.budget?.minHealthyNodes ?? 1,
      });
      if (slot.decision === 'denied') throw new TerminalEffectError(slot.why, slot.reason);
    }
  }

  function processor<K extends KubernetesActionKind>(
    kind: K,
    run: (
      ctx: ActionContext,
      params: ReturnType<typeof parseParams<K>>,
      job: EffectJob,
      jobId: string,
    ) => Promise<EffectResult>,
  ): EffectProcessor {
    return async (job, processorContext) => {
      const params = parseParams(kind, job.effect);
      const node = 'node' in params && typeof params.node === 'string' ? params.node : undefined;
      await spendBudget(kind, job, processorContext.jobId, node);
      return run(context(job, processorContext), params, job, processorContext.jobId);
    };
  }

  return {
    deletePod: processor('deletePod', (ctx, p) => deletePod(ctx, p)),
    restartPod: processor('restartPod', (ctx, p) => deletePod(ctx, p)),
    evictPod: processor('evictPod', (ctx, p) => evictPod(ctx, p)),
    rolloutRestart: processor('rolloutRestart', (ctx, p) => rolloutRestart(ctx, p)),
    rollback: processor('rollback', (ctx, p, _job, jobId) => rollback(ctx, p, jobId)),
    scale: processor('scale', (ctx, p) => scale(ctx, p)),
    cordon: processor('cordon', (ctx, p, job) => cordon(ctx, p, job.actorKey)),
    uncordon: processor('uncordon', async (ctx, p) => {
      const result = await uncordon(ctx, p);
      if (!ctx.dryRun) await options.budgets?.releaseNodeSlot(p.node);
      return result;
    }),
    taint: processor('taint', (ctx, p) => taint(ctx, p)),
    untaint: processor('untaint', (ctx, p) => untaint(ctx, p)),
    drain: processor('drain', (ctx, p, job) => drain(ctx, p, job.actorKey)),
  };
}
