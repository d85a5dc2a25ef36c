/**
 * The record of actions each policy's status shows (`status.actions24h`, `status.recentActions`):
 * every cluster change and pull request a worker finished, with which process decided it. The
 * workers that carry the actions out (an agent's, the controller's, the integration workers)
 * write it when a job ends; the leading controller reads it when it writes the policies' status.
 *
 * Kept in Redis per policy: a sorted set of job ids by time and a hash of their entries, trimmed
 * to a day and to MAX_KEPT entries on every write. A job id is the job's, so a result published
 * twice (a worker that died after acting) is one entry.
 */
import type { Redis } from '../adapters/redis.ts';
import { CLUSTER_CHANGING } from '../machines/effects.ts';
import type { EffectJob } from './catalogue.ts';
import type { ActionOutcome, RecentAction } from '../policy/index.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** More than a status shows (20) and enough to count a day of a busy policy's actions. */
export const MAX_KEPT = 500;

/** What a job that ended says to the log, or null when it is not an action a policy shows. */
export function actionEntry(
  job: EffectJob,
  ended: { done: boolean; at: number; message: string },
): RecentAction | null {
  const kind = job.effect.kind;
  const proposal = kind === 'openPullRequest';
  if (!proposal && !CLUSTER_CHANGING.has(kind as never)) return null;
  const outcome: ActionOutcome = !ended.done ? 'Failed' : proposal ? 'Proposed' : 'Succeeded';
  return {
    time: new Date(ended.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    object: job.actorKey,
    detection: job.detection ?? '',
    action: proposal ? proposedAction(job) : kind,
    outcome,
    incident: job.incidentId.slice(0, 128),
    message: ended.message.slice(0, 1024),
    decidedBy: job.owner,
  };
}

/** What a pull request proposes, in the words of the action it stands for. */
function proposedAction(job: EffectJob): string {
  const change = (job.effect as { change?: { kind?: unknown } }).change;
  return typeof change?.kind === 'string' ? change.kind : 'openPullRequest';
}

export interface PolicyActions {
  actions24h: number;
  /** Newest first, at most `limit`. */
  recent: RecentAction[];
}

export class ActionLog {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:actions`;
  }

  async record(policy: string, jobId: string, entry: RecentAction): Promise<void> {
    const at = Date.parse(entry.time);
    const times = `${this.prefix}:${policy}`;
    const entries = `${times}:entries`;
    const results = await this.redis
      .multi()
      .zadd(times, at, jobId)
      .hset(entries, jobId, JSON.stringify(entry))
      .zremrangebyscore(times, '-inf', at - DAY_MS)
      .zremrangebyrank(times, 0, -(MAX_KEPT + 1))
      .exec();
    // Entries whose ids a trim removed go too: only read when a trim removed any.
    const trimmed = (results ?? []).slice(2).some(([, removed]) => Number(removed) > 0);
    if (!trimmed) return;
    const kept = new Set(await this.redis.zrange(times, '0', '-1'));
    const stale = (await this.redis.hkeys(entries)).filter((id) => !kept.has(id));
    if (stale.length > 0) await this.redis.hdel(entries, ...stale);
  }

  async read(policy: string, now: number, limit = 20): Promise<PolicyActions> {
    const times = `${this.prefix}:${policy}`;
    const [count, ids] = await Promise.all([
      this.redis.zcount(times, now - DAY_MS, '+inf'),
      this.redis.zrevrange(times, 0, limit - 1),
    ]);
    const texts = ids.length === 0 ? [] : await this.redis.hmget(`${times}:entries`, ...ids);
    const recent: RecentAction[] = [];
    for (const text of texts) {
      if (text === null) continue;
      try {
        recent.push(JSON.parse(text) as RecentAction);
      } catch {
        // An entry nobody can read is left out of the status, not a reason to write none.
      }
    }
    return { actions24h: count, recent };
  }
}
