/**
 * How a proposal's fate gets back to the actor that is waiting for it. The `openPullRequest`
 * processor registers every request it opens or reuses (one Redis hash per installation, one
 * field per request, holding the job that asked last). A watcher in the workers role checks each
 * registered request and publishes to the owner's control stream:
 *
 * | type              | when                                                        | then                  |
 * | ----------------- | ----------------------------------------------------------- | --------------------- |
 * | `PROPOSAL.MERGED` | the request was merged                                      | unregistered          |
 * | `PROPOSAL.CLOSED` | the request was closed without merging                      | unregistered          |
 * | `PROPOSAL.STALE`  | still open with no activity for `staleAfterMs` (sent once)  | stays registered      |
 *
 * The payload mirrors `EFFECT.DONE`'s (`effectId` = the job id, `step`, `incidentId`, `kind`) plus
 * `by`, `at` (ms), `url`, `number`, `provider`, `repository`. Message ids are `<jobId>-merged` /
 * `-closed` / `-stale`, so a message published twice (a crash between publish and unregister) is
 * ignored by the actor as a repeat. A Redis lock lets one worker replica poll at a time.
 */
import type { Redis } from '../adapters/redis.ts';
import { publishControl } from '../effects/control-stream.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ChangeRequest, CodeHost, GitOpsProvider } from './code-host.ts';

export const PROPOSAL_MERGED = 'PROPOSAL.MERGED';
export const PROPOSAL_CLOSED = 'PROPOSAL.CLOSED';
export const PROPOSAL_STALE = 'PROPOSAL.STALE';
export type ProposalMessageType =
  typeof PROPOSAL_MERGED | typeof PROPOSAL_CLOSED | typeof PROPOSAL_STALE;

/** A request someone is waiting for. */
export interface TrackedProposal {
  provider: GitOpsProvider;
  repository: string;
  number: number;
  url: string;
  /** Whose control stream hears about it, and which actor, incident and step asked. */
  owner: string;
  actorKey: string;
  incidentId: string;
  step: string;
  jobId: string;
  /** When it was registered (ms); staleness counts from the later of this and the last activity. */
  registeredAt: number;
  staleNotified?: boolean;
}

function registryKey(keyPrefix: string): string {
  return `${keyPrefix}:gitops:proposals`;
}

function fieldOf(p: Pick<TrackedProposal, 'provider' | 'repository' | 'number'>): string {
  return `${p.provider}|${p.repository}|${p.number}`;
}

export class ProposalRegistry {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.key = registryKey(keyPrefix);
  }

  /** Registers (or re-registers for a later step) a request; the latest asker is the one told. */
  async track(proposal: TrackedProposal): Promise<void> {
    await this.redis.hset(this.key, fieldOf(proposal), JSON.stringify(proposal));
  }

  async untrack(
    proposal: Pick<TrackedProposal, 'provider' | 'repository' | 'number'>,
  ): Promise<void> {
    await this.redis.hdel(this.key, fieldOf(proposal));
  }

  async all(): Promise<TrackedProposal[]> {
    const entries = await this.redis.hvals(this.key);
    return entries.flatMap((raw) => {
      try {
        return [JSON.parse(raw) as TrackedProposal];
      } catch {
        return [];
      }
    });
  }
}

export interface CheckProposalsOptions {
  redis: Redis;
  keyPrefix: string;
  hosts: Partial<Record<GitOpsProvider, CodeHost>>;
  logger: Logger;
  /** Open with no activity for this long: `PROPOSAL.STALE`, once. Default: 3 days. */
  staleAfterMs?: number;
  /** The time now (ms). Default: Date.now(). */
  now?: number;
  signal?: AbortSignal;
}

export interface CheckSummary {
  checked: number;
  published: { type: ProposalMessageType; url: string; actorKey: string }[];
  failed: number;
}

function endedAt(request: ChangeRequest, fallback: number): number {
  const at = request.endedAt === null ? Number.NaN : Date.parse(request.endedAt);
  return Number.isFinite(at) ? at : fallback;
}

async function publish(
  options: CheckProposalsOptions,
  proposal: TrackedProposal,
  type: ProposalMessageType,
  request: ChangeRequest,
  at: number,
): Promise<void> {
  const suffix =
    type === PROPOSAL_MERGED ? 'merged' : type === PROPOSAL_CLOSED ? 'closed' : 'stale';
  await publishControl(options.redis, options.keyPrefix, proposal.owner, {
    id: `${proposal.jobId}-${suffix}`,
    actorKey: proposal.actorKey,
    type,
    payload: {
      effectId: proposal.jobId,
      step: proposal.step,
      incidentId: proposal.incidentId,
      kind: 'openPullRequest',
      by: request.by ?? 'unknown',
      at,
      url: request.url,
      number: request.number,
      provider: proposal.provider,
      repository: proposal.repository,
    },
  });
}

/** One pass over every registered request. Errors for one request do not stop the others. */
export async function checkProposals(options: CheckProposalsOptions): Promise<CheckSummary> {
  const registry = new ProposalRegistry(options.redis, options.keyPrefix);
  const now = options.now ?? Date.now();
  const staleAfter = options.staleAfterMs ?? 3 * 24 * 3600_000;
  const summary: CheckSummary = { checked: 0, published: [], failed: 0 };
  for (const proposal of await registry.all()) {
    if (options.signal?.aborted === true) break;
    const host = options.hosts[proposal.provider];
    const log = options.logger.child({ proposal: proposal.url, object: proposal.actorKey });
    if (host === undefined) {
      log.warn(
        { provider: proposal.provider },
        'no code host configured for a registered proposal',
      );
      summary.failed += 1;
      continue;
    }
    try {
      const request = await host.getChangeRequest(
        proposal.repository,
        proposal.number,
        options.signal,
      );
      summary.checked += 1;
      if (request.state === 'merged' || request.state === 'closed') {
        const type = request.state === 'merged' ? PROPOSAL_MERGED : PROPOSAL_CLOSED;
        await publish(options, proposal, type, request, endedAt(request, now));
        await registry.untrack(proposal);
        summary.published.push({ type, url: request.url, actorKey: proposal.actorKey });
        log.info({ type, by: request.by }, `proposal ${request.state}`);
        continue;
      }
      const lastActivity = Math.max(proposal.registeredAt, Date.parse(request.updatedAt) || 0);
      if (proposal.staleNotified !== true && now - lastActivity >= staleAfter) {
        await publish(options, proposal, PROPOSAL_STALE, request, now);
        await registry.track({ ...proposal, staleNotified: true });
        summary.published.push({
          type: PROPOSAL_STALE,
          url: request.url,
          actorKey: proposal.actorKey,
        });
        log.info({ idleMs: now - lastActivity }, 'proposal stale');
      }
    } catch (error) {
      summary.failed += 1;
      log.warn({ err: error }, 'checking a proposal failed; will check again');
    }
  }
  return summary;
}

export interface ProposalWatcherOptions extends Omit<CheckProposalsOptions, 'now' | 'signal'> {
  /** Time between passes. Default: 60 s. */
  intervalMs?: number;
}

export interface ProposalWatcher {
  stop: () => Promise<void>;
}

/**
 * Checks registered proposals every `intervalMs`. A lock in Redis (SET NX PX, held for one
 * interval) keeps several worker replicas from polling the providers at the same time.
 */
export function startProposalWatcher(options: ProposalWatcherOptions): ProposalWatcher {
  const interval = options.intervalMs ?? 60_000;
  const lockKey = `${options.keyPrefix}:gitops:watcher-lock`;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const pass = async (): Promise<void> => {
    try {
      const got = await options.redis.set(lockKey, String(process.pid), 'PX', interval, 'NX');
      if (got === 'OK') await checkProposals({ ...options, signal: controller.signal });
    } catch (error) {
      options.logger.warn({ err: error }, 'proposal watcher pass failed');
    }
  };
  const schedule = (): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      running = pass().finally(schedule);
    }, interval);
    timer.unref();
  };
  running = pass().finally(schedule);
  return {
    stop: async () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
