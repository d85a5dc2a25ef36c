/**
 * Notifications no job was enqueued for, because nothing configures Slack for them
 * (effect-jobs.ts decides). Whoever skips one (an agent, the controller) records it here, in one
 * Redis hash per policy, so that the leading controller, which alone writes policy status, can
 * say in the policy's status how many were not sent, since when, and the latest: once, however
 * many there were (status.ts words it, condition Degraded, reason SlackNotConfigured). A policy
 * that skips none for a day is forgotten.
 *
 * Logs say it once too: the first skip of a policy in this process is logged at info level, the
 * rest at debug level.
 */
import type { Redis } from '../adapters/redis.ts';
import {
  slackNotConfiguredProblem,
  type Policy,
  type PolicyProblem,
  type UnsentNotice,
  type UnsentNotifications,
} from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';

/**
 * What a policy's status says of its notifications not sent: nothing once the policy (or the
 * installation, `slackChannel`) configures Slack, since what is sent from then on reaches Slack;
 * otherwise the SlackNotConfigured problem, when there are any.
 */
export function unsentProblems(
  policy: Pick<Policy, 'slack'> | undefined,
  slackChannel: string | undefined,
  unsent: UnsentNotifications | undefined,
): PolicyProblem[] {
  if (unsent === undefined || policy?.slack !== undefined || slackChannel !== undefined) return [];
  return [slackNotConfiguredProblem(unsent)];
}

/** How long a policy's record is kept after its latest skipped notification. */
export const UNSENT_KEPT_MS = 24 * 3600_000;

export interface UnsentNotificationStoreOptions {
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  /** How long a record is kept after its latest notice. Default: UNSENT_KEPT_MS. */
  keptMs?: number;
}

export class UnsentNotificationStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly keptMs: number;
  /** Policies whose first skipped notification this process has logged at info level. */
  private readonly told = new Set<string>();

  constructor(options: UnsentNotificationStoreOptions) {
    this.redis = options.redis;
    this.prefix = `${options.keyPrefix}:unsent:slack`;
    this.logger = options.logger;
    this.keptMs = options.keptMs ?? UNSENT_KEPT_MS;
  }

  private key(policyRef: string): string {
    return `${this.prefix}:${policyRef}`;
  }

  /**
   * Counts one notification of `policyRef` (`namespace/name`) not sent. Never throws: a record
   * Redis refuses costs the status a count, not the actor its transition.
   */
  async record(policyRef: string, notice: UnsentNotice): Promise<void> {
    const fields = { policy: policyRef, object: notice.object, notification: notice.what };
    // Concurrent recorders (agents) may write `latest` out of order by a moment: last one wins.
    if (this.told.has(policyRef)) {
      this.logger.debug(fields, 'notification not sent: Slack is not configured for the policy');
    } else {
      this.told.add(policyRef);
      this.logger.info(
        fields,
        'notification not sent: Slack is not configured for the policy (no spec.slack.channel, no slack.channel); its status counts the ones not sent, and further ones are logged at debug level',
      );
    }
    const key = this.key(policyRef);
    try {
      await this.redis
        .multi()
        .hincrby(key, 'count', 1)
        .hsetnx(key, 'since', String(notice.at))
        .hset(key, 'latest', JSON.stringify(notice))
        .pexpire(key, this.keptMs)
        .exec();
    } catch (error) {
      this.logger.warn(
        { err: error, policy: policyRef },
        'could not record a notification not sent',
      );
    }
  }

  /** The records of these policies (`namespace/name`), for those that have one. */
  async read(policyRefs: readonly string[]): Promise<Map<string, UnsentNotifications>> {
    const found = new Map<string, UnsentNotifications>();
    if (policyRefs.length === 0) return found;
    const pipeline = this.redis.pipeline();
    for (const ref of policyRefs) pipeline.hgetall(this.key(ref));
    const replies = (await pipeline.exec()) ?? [];
    policyRefs.forEach((ref, i) => {
      const [error, hash] = replies[i] ?? [null, null];
      if (error !== null || hash === null) return;
      const parsed = parseRecord(hash as Record<string, string>);
      if (parsed !== undefined) found.set(ref, parsed);
    });
    return found;
  }
}

function parseRecord(hash: Record<string, string>): UnsentNotifications | undefined {
  const count = Number(hash['count']);
  const since = Number(hash['since']);
  if (!Number.isFinite(count) || count <= 0 || !Number.isFinite(since)) return undefined;
  try {
    const latest = JSON.parse(hash['latest'] ?? '') as UnsentNotice;
    if (typeof latest.at !== 'number' || typeof latest.object !== 'string') return undefined;
    return { count, since: Math.min(since, latest.at), latest };
  } catch {
    return undefined;
  }
}
