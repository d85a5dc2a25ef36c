/**
 * The safety budgets in Redis, shared by every agent, the controller and the workers, so that
 * together they never exceed what the policies and the installation allow. The rules are those of
 * rules.ts (the simulator applies the same ones in memory); this file only stores:
 * - an action budget scope is a sorted set of action ids scored by when they took their token;
 * - the node slots are one hash, node → the incident holding it.
 * Each take reads the keys, applies the rule and writes in one optimistic transaction (WATCH,
 * then MULTI/EXEC, again if another process wrote in between), so concurrent takers on many
 * nodes never both get the last token. WATCH belongs to a connection, so takes run one at a time
 * on a connection of their own.
 */
import type { Redis } from '../adapters/redis.ts';
import { WatchedTransactions, type Decided } from '../adapters/redis-transactions.ts';
import {
  claimNodeSlot,
  takeTokens,
  type BudgetDecision,
  type BudgetScope,
  type BudgetUsage,
  type NodeSlotDecision,
  type NodeSlotRequest,
  type ScopeState,
} from './rules.ts';

export type {
  BudgetDecision,
  BudgetScope,
  BudgetUsage,
  NodeSlotDecision,
  NodeSlotRequest,
} from './rules.ts';

/** How long an incident that let go of its node slot is remembered: longer than job retries. */
const RELEASED_TTL_S = 24 * 3600;

/** Optimistic transactions that lost to a concurrent writer this many times in a row give up. */
const MAX_ATTEMPTS = 50;

export class Budgets {
  private readonly redis: Redis;
  private readonly prefix: string;
  /** Takes run one at a time on a connection of their own (WATCH belongs to a connection). */
  private readonly transactions: WatchedTransactions;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:budget`;
    this.transactions = new WatchedTransactions(redis, 'budget keys', MAX_ATTEMPTS);
  }

  private key(scope: string): string {
    return `${this.prefix}:${scope}`;
  }

  private get slotsKey(): string {
    return `${this.prefix}:nodes-disrupted`;
  }

  /** Incidents that let go of their node slot, kept a day (longer than any job retries). */
  private get releasedKey(): string {
    return `${this.prefix}:nodes-released`;
  }

  private transact<T>(
    keys: readonly string[],
    decide: (tx: Redis) => Promise<Decided<T>>,
  ): Promise<T> {
    return this.transactions.run(keys, decide);
  }

  /** Takes one token for `actionId` from every scope, or from none (rules.ts `takeTokens`). */
  take(
    actionId: string,
    scopes: readonly BudgetScope[],
    now: number = Date.now(),
  ): Promise<BudgetDecision> {
    const keys = scopes.map((s) => this.key(s.scope));
    return this.transact(keys, async (tx) => {
      const states = await Promise.all(
        scopes.map((scope, i) => this.scopeState(tx, keys[i] as string, scope, actionId, now)),
      );
      const outcome = takeTokens(states, now);
      if (!outcome.take) return { result: outcome.decision };
      return {
        result: outcome.decision,
        write: (multi) => {
          scopes.forEach((s, i) => {
            const key = keys[i] as string;
            multi.zremrangebyscore(key, '-inf', now - s.windowMs);
            multi.zadd(key, now, actionId);
            multi.pexpire(key, s.windowMs);
          });
        },
      };
    });
  }

  /** The rule's view of one scope: three reads bounded by the set's size' logarithm. */
  private async scopeState(
    redis: Redis,
    key: string,
    scope: BudgetScope,
    actionId: string,
    now: number,
  ): Promise<ScopeState> {
    const from = `(${now - scope.windowMs}`;
    const [held, live, oldest] = await Promise.all([
      redis.zscore(key, actionId),
      redis.zcount(key, from, '+inf'),
      redis.zrangebyscore(key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
    ]);
    return {
      scope,
      live,
      oldestLiveAt: oldest[1] === undefined ? null : Number(oldest[1]),
      holds: held !== null,
    };
  }

  /** Gives a token back, for an action that did not happen (precondition failed). */
  async giveBack(actionId: string, scopes: readonly BudgetScope[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const s of scopes) pipeline.zrem(this.key(s.scope), actionId);
    await pipeline.exec();
  }

  async usage(scopes: readonly BudgetScope[], now: number = Date.now()): Promise<BudgetUsage[]> {
    return Promise.all(
      scopes.map(async (s) => ({
        scope: s.scope,
        used: await this.redis.zcount(this.key(s.scope), `(${now - s.windowMs}`, '+inf'),
        limit: s.limit,
        windowMs: s.windowMs,
      })),
    );
  }

  /** Reserves the right to take a node out of service for an incident (rules.ts `claimNodeSlot`). */
  takeNodeSlot(request: NodeSlotRequest): Promise<NodeSlotDecision> {
    const key = this.slotsKey;
    return this.transact([key], async (tx) => {
      const [holders, ended] = await Promise.all([
        tx.hgetall(key),
        tx.sismember(this.releasedKey, request.incidentId),
      ]);
      const outcome = claimNodeSlot(holders, request, ended === 1);
      if (!outcome.take) return { result: outcome.decision };
      return {
        result: outcome.decision,
        write: (multi) => multi.hset(key, request.node, request.incidentId),
      };
    });
  }

  /**
   * Frees the node's slot: its incident ended, was handed to a person, or the node is back in
   * service. Given `incidentId`, only that incident's hold is released.
   */
  async releaseNodeSlot(node: string, incidentId?: string): Promise<boolean> {
    const key = this.slotsKey;
    if (incidentId === undefined) return (await this.redis.hdel(key, node)) > 0;
    const released = this.releasedKey;
    return this.transact([key], async (tx) => {
      const holder = await tx.hget(key, node);
      return {
        result: holder === incidentId,
        write: (multi) => {
          if (holder === incidentId) multi.hdel(key, node);
          multi.sadd(released, incidentId);
          multi.expire(released, RELEASED_TTL_S);
        },
      };
    });
  }

  async nodesDisrupted(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.slotsKey);
  }

  /** Closes the connection takes run on (the shared one is the caller's). */
  close(): Promise<void> {
    return this.transactions.close();
  }
}
