/**
 * The Kubernetes action processors, ready for the effect workers. Disruptive actions take a
 * budget token first (atomic across agents) and node disruptions a node slot; a dry run takes
 * neither and writes nothing (the API server still validates and admits the request).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Budgets } from '../../budgets/budgets.ts';
import { budgetClaim, spendBudget } from '../../budgets/claims.ts';
import { healthyCount, nodeHealth, type NodeSelector } from '../../budgets/healthy-nodes.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectJob } from '../catalogue.ts';
import type { EffectProcessor, EffectResult, ProcessorContext } from '../workers.ts';
import { kubeApis, type ActionContext, type KubeApis } from './context.ts';
import { rollback, rolloutRestart, scale } from './deployments.ts';
import { cordon, drain, taint, uncordon, untaint } from './nodes.ts';
import { parseParams, type KubernetesActionKind } from './params.ts';
import { deletePod, evictPod, refuseBarePod } from './pods.ts';

/** Read fresh (not from a cache) just before a node is taken out of service. */
async function healthyNodes(
  apis: KubeApis,
  selector: NodeSelector | undefined,
  node: string,
): Promise<ReturnType<typeof healthyCount>> {
  return healthyCount((await apis.core.listNode()).items.map(nodeHealth), selector, node);
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

  /** Spends what the job must take; returns how to give back a token it took, if it took one. */
  async function spend(job: EffectJob, jobId: string): Promise<() => Promise<void>> {
    const budgets = options.budgets;
    const claim = budgets === undefined ? null : budgetClaim(job, jobId);
    if (budgets === undefined || claim === null) return () => Promise.resolve();
    const outcome = await spendBudget(budgets, claim, {
      now: Date.now(),
      healthyNodes: (selector, node) => healthyNodes(apis, selector, node),
    });
    if (!outcome.spent) throw new TerminalEffectError(outcome.why, outcome.reason);
    return outcome.tokenTaken
      ? () => budgets.giveBack(claim.actionId, claim.scopes)
      : () => Promise.resolve();
  }

  function processor<K extends KubernetesActionKind>(
    kind: K,
    run: (
      ctx: ActionContext,
      params: ReturnType<typeof parseParams<K>>,
      job: EffectJob,
      jobId: string,
    ) => Promise<EffectResult>,
    /**
     * Refuses after the budget check (a spent budget is answered without asking the API server)
     * and before acting; a refusal gives back the token it took, since nothing was disrupted.
     */
    precheck?: (ctx: ActionContext, params: ReturnType<typeof parseParams<K>>) => Promise<void>,
  ): EffectProcessor {
    return async (job, processorContext) => {
      const params = parseParams(kind, job.effect);
      const ctx = context(job, processorContext);
      const giveBack = await spend(job, processorContext.jobId);
      try {
        await precheck?.(ctx, params);
      } catch (error) {
        await giveBack();
        throw error;
      }
      return run(ctx, params, job, processorContext.jobId);
    };
  }

  return {
    deletePod: processor(
      'deletePod',
      (ctx, p) => deletePod(ctx, p),
      (ctx, p) => refuseBarePod(ctx, p, `delete pod ${p.namespace}/${p.name}`),
    ),
    restartPod: processor(
      'restartPod',
      (ctx, p) => deletePod(ctx, p),
      (ctx, p) => refuseBarePod(ctx, p, `restart pod ${p.namespace}/${p.name}`),
    ),
    evictPod: processor(
      'evictPod',
      (ctx, p) => evictPod(ctx, p),
      (ctx, p) => refuseBarePod(ctx, p, `evict pod ${p.namespace}/${p.name}`),
    ),
    rolloutRestart: processor('rolloutRestart', (ctx, p) => rolloutRestart(ctx, p)),
    rollback: processor('rollback', (ctx, p, _job, jobId) => rollback(ctx, p, jobId)),
    scale: processor('scale', (ctx, p) => scale(ctx, p)),
    cordon: processor('cordon', (ctx, p, job) => cordon(ctx, p, job.actorKey)),
    // The node's slot is let go by the agent when the incident no longer holds it
    // (src/actors/node-slots.ts), which an uncordon leads to: one place decides.
    uncordon: processor('uncordon', (ctx, p) => uncordon(ctx, p)),
    taint: processor('taint', (ctx, p) => taint(ctx, p)),
    untaint: processor('untaint', (ctx, p) => untaint(ctx, p)),
    drain: processor('drain', (ctx, p, job) => drain(ctx, p, job.actorKey)),
  };
}
