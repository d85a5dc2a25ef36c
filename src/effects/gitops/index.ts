/**
 * The `openPullRequest` processor: proposes a change to the workload's manifest in the policy's
 * repository (src/gitops/propose.ts) and registers the request, so that the proposal watcher
 * (src/gitops/watcher.ts) tells the actor when it is merged or closed (`PROPOSAL.MERGED`,
 * `PROPOSAL.CLOSED`, `PROPOSAL.STALE` on the owner's control stream).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { evidenceLocation } from '../../evidence/keys.ts';
import { kubeReaders, type KubeReaders } from '../../evidence/owners.ts';
import { podMemory, previousImages, resolveWorkload } from '../../gitops/cluster.ts';
import type { CodeHost, GitOpsProvider } from '../../gitops/code-host.ts';
import { ManifestNotFoundError } from '../../gitops/locate.ts';
import { NothingToChangeError, propose, type Proposal } from '../../gitops/propose.ts';
import { ProposalRegistry } from '../../gitops/watcher.ts';
import { YamlEditError } from '../../gitops/yaml-edit.ts';
import type { Redis } from '../../adapters/redis.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectProcessor } from '../workers.ts';
import { evidenceParam, objectRefParam, parseEffectParams } from '../evidence/params.ts';

const name = z.string().min(1);

export const openPullRequestParams = z.object({
  target: objectRefParam,
  reason: z.string(),
  /** The machine's ProposedChange. */
  proposes: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('scale'),
      from: z.number().int().nullable().default(null),
      to: z.number().int().min(0),
    }),
    z.object({
      kind: z.literal('increaseMemory'),
      /** OOM-killed containers; empty: read from the Pod. */
      containers: z.array(name).default([]),
      increasePercent: z.number().positive(),
      max: z.string().nullable().default(null),
    }),
    z.object({
      kind: z.literal('rollback'),
      fromRevision: z.string().nullable().default(null),
      /** The images to go back to; unset: the previous ReplicaSet's, read from the cluster. */
      images: z.array(z.object({ container: name, image: name })).optional(),
    }),
  ]),
  /** The policy's `spec.gitops`. */
  gitops: z.object({
    provider: z.enum(['github', 'gitlab']),
    repository: name,
    branch: name.default('main'),
    path: name,
    valuesKey: name.optional(),
  }),
  /** The workload whose manifest holds the field, when the runtime knows it (else resolved). */
  workload: z.object({ kind: name, name }).optional(),
  /** The policy's `spec.evidence`, to link the incident's bundle. */
  evidence: evidenceParam.optional(),
  ticketUrl: z.string().optional(),
});

export interface GitOpsProcessorsOptions {
  hosts: Partial<Record<GitOpsProvider, CodeHost>>;
  /** Where opened requests are registered for the proposal watcher. */
  redis: Redis;
  keyPrefix: string;
  /** For Pods: to find their workload, OOM-killed containers, live limits and previous images. */
  kc?: KubeConfig | undefined;
  linkTemplate?: string | undefined;
  /** The time now (ms). Default: Date.now. */
  now?: () => number;
}

function terminal(error: unknown): unknown {
  if (error instanceof ManifestNotFoundError) {
    return new TerminalEffectError('manifest-not-found', error.message, { cause: error });
  }
  if (error instanceof NothingToChangeError) {
    return new TerminalEffectError('nothing-to-change', error.message, { cause: error });
  }
  if (error instanceof YamlEditError) {
    return new TerminalEffectError('manifest-unsupported', error.message, { cause: error });
  }
  return error;
}

export function gitopsProcessors(options: GitOpsProcessorsOptions): {
  openPullRequest: EffectProcessor;
} {
  const api: KubeReaders | undefined =
    options.kc === undefined ? undefined : kubeReaders(options.kc);
  const registry = new ProposalRegistry(options.redis, options.keyPrefix);
  const now = options.now ?? Date.now;

  async function proposalOf(
    params: z.output<typeof openPullRequestParams>,
    workloadName: string,
  ): Promise<Proposal> {
    const p = params.proposes;
    const { target } = params;
    switch (p.kind) {
      case 'scale':
        return p;
      case 'increaseMemory': {
        let containers = p.containers;
        let live: Record<string, string> | undefined;
        if (target.kind === 'Pod' && target.namespace !== null && api !== undefined) {
          const memory = await podMemory(api, target.namespace, target.name);
          if (containers.length === 0) containers = memory.oomKilled;
          live = memory.limits;
        }
        if (containers.length === 0) {
          throw new TerminalEffectError(
            'bad-input',
            'increaseMemory names no container and none was OOM-killed',
          );
        }
        return {
          kind: 'increaseMemory',
          containers,
          increasePercent: p.increasePercent,
          max: p.max,
          ...(live === undefined ? {} : { live }),
        };
      }
      case 'rollback': {
        if (p.images !== undefined)
          return { kind: 'rollback', fromRevision: p.fromRevision, images: p.images };
        if (api === undefined || target.namespace === null) {
          throw new TerminalEffectError(
            'bad-input',
            'rollback names no images and this worker has no cluster access to read them',
          );
        }
        const images = await previousImages(api, target.namespace, workloadName, p.fromRevision);
        return { kind: 'rollback', fromRevision: p.fromRevision, images };
      }
    }
  }

  const openPullRequest: EffectProcessor = async (job, context) => {
    const params = parseEffectParams('openPullRequest', openPullRequestParams, job.effect);
    const host = options.hosts[params.gitops.provider];
    if (host === undefined) {
      throw new TerminalEffectError(
        'not-configured',
        `the policy proposes changes on ${params.gitops.provider}, which this worker has no token for`,
      );
    }
    try {
      const workload =
        params.workload !== undefined
          ? { ...params.workload, namespace: params.target.namespace }
          : await resolveWorkload(api, params.target);
      const proposal = await proposalOf(params, workload.name);
      const evidence =
        params.evidence === undefined
          ? undefined
          : evidenceLocation(params.evidence, params.target, job.incidentId, {
              linkTemplate: options.linkTemplate,
            }).link;
      const result = await propose({
        host,
        repo: params.gitops.repository,
        baseBranch: params.gitops.branch,
        path: params.gitops.path,
        valuesKey: params.gitops.valuesKey,
        workload,
        proposal,
        reason: params.reason,
        incidentId: job.incidentId,
        actorKey: job.actorKey,
        step: job.step,
        jobId: context.jobId,
        policy: job.policy,
        links: { evidence, ticket: params.ticketUrl },
        signal: context.signal,
        logger: context.logger,
      });
      await registry.track({
        provider: host.provider,
        repository: params.gitops.repository,
        number: result.request.number,
        url: result.request.url,
        owner: job.owner,
        actorKey: job.actorKey,
        incidentId: job.incidentId,
        step: job.step,
        jobId: context.jobId,
        registeredAt: now(),
      });
      const kind = host.provider === 'github' ? 'pull request' : 'merge request';
      const change = result.edits
        .map((e) => `${e.field} ${e.before ?? '(unset)'} → ${e.after}`)
        .join(', ');
      return {
        outcome: result.created
          ? `opened ${kind} ${result.request.url}: ${change}`
          : `${kind} ${result.request.url} was already open; ${result.committed === null ? 'no new commit' : 'pushed a new commit'}${result.commented ? ' and commented' : ''}`,
        url: result.request.url,
        number: result.request.number,
        provider: host.provider,
        repository: params.gitops.repository,
        branch: result.branch,
        created: result.created,
        commit: result.committed,
        edits: result.edits,
      };
    } catch (error) {
      throw terminal(error);
    }
  };

  return { openPullRequest };
}
