/**
 * Safety budgets kept in Redis and taken atomically, so agents on many nodes and a restarted
 * worker can never together exceed what the policies allow:
 * - action budgets: at most `limit` disruptive actions per sliding `window`, per policy, per
 *   namespace and cluster-wide, all taken in one script or not at all;
 * - node slots: nodes are cordoned/drained one at a time and never below `minHealthyNodes`.
 * Tokens are keyed by action id, so a retried or duplicated job never spends twice.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from '../adapters/redis.ts';

const TAKE_BUDGET = readFileSync(new URL('./take-budget.lua', import.meta.url), 'utf8');
const TAKE_NODE_SLOT = readFileSync(new URL('./take-node-slot.lua', import.meta.url), 'utf8');

export interface BudgetScope {
  /** `policy/<namespace>/<name>`, `namespace/<name>` or `cluster`. */
  scope: string;
  limit: number;
  windowMs: number;
}

export type BudgetDecision =
  | { decision: 'allowed'; reason: string }
  | { decision: 'denied'; scope: string; retryAfterMs: number; reason: string };

export type NodeSlotDecision =
  | { decision: 'allowed'; reason: string }
  | {
      decision: 'denied';
      why: 'node-busy' | 'another-node-draining' | 'min-healthy-nodes';
      reason: string;
    };

export interface BudgetUsage {
  scope: string;
  used: number;
  limit: number;
  windowMs: number;
}

type BudgetReply = [1, 'taken' | 'already'] | [0, number, number];
type SlotReply =
  [1, 'taken' | 'already'] | [0, 'node-busy' | 'another-node-draining' | 'min-healthy-nodes'];

export class Budgets {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:budget`;
  }

  private key(scope: string): string {
    return `${this.prefix}:${scope}`;
  }

  /** Takes one token for `actionId` from every scope, or from none. */
  async take(
    actionId: string,
    scopes: readonly BudgetScope[],
    now: number = Date.now(),
  ): Promise<BudgetDecision> {
    const args = scopes.flatMap((s) => [String(s.limit), String(s.windowMs)]);
    const reply = (await this.redis.eval(
      TAKE_BUDGET,
      scopes.length,
      ...scopes.map((s) => this.key(s.scope)),
      actionId,
      String(now),
      ...args,
    )) as BudgetReply;
    if (reply[0] === 1) {
      return {
        decision: 'allowed',
        reason: reply[1] === 'already' ? 'budget already taken for this action' : 'within budget',
      };
    }
    const exhausted = scopes[reply[1] - 1] as BudgetScope;
    const retryAfterMs = Math.max(0, reply[2]);
    return {
      decision: 'denied',
      scope: exhausted.scope,
      retryAfterMs,
      reason: `budget ${exhausted.scope} spent: ${exhausted.limit} actions per ${Math.round(exhausted.windowMs / 1000)}s; next token in ${Math.ceil(retryAfterMs / 1000)}s`,
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
        used: await this.redis.zcount(this.key(s.scope), now - s.windowMs, '+inf'),
        limit: s.limit,
        windowMs: s.windowMs,
      })),
    );
  }

  /** Reserves the right to disrupt `node`; see take-node-slot.lua. */
  async takeNodeSlot(options: {
    node: string;
    actionId: string;
    healthyNodes: number;
    minHealthyNodes: number;
    maxAtOnce?: number;
  }): Promise<NodeSlotDecision> {
    const reply = (await this.redis.eval(
      TAKE_NODE_SLOT,
      1,
      `${this.prefix}:nodes-disrupted`,
      options.node,
      options.actionId,
      String(options.healthyNodes),
      String(options.minHealthyNodes),
      String(options.maxAtOnce ?? 1),
    )) as SlotReply;
    if (reply[0] === 1)
      return { decision: 'allowed', reason: `node ${options.node} may be drained` };
    const reasons = {
      'node-busy': `node ${options.node} is already being remediated by another action`,
      'another-node-draining': 'another node is being drained; nodes are drained one at a time',
      'min-healthy-nodes': `draining ${options.node} would leave ${options.healthyNodes - 1} healthy nodes, below minHealthyNodes ${options.minHealthyNodes}`,
    } as const;
    return { decision: 'denied', why: reply[1], reason: reasons[reply[1]] };
  }

  /** Frees the node's slot once it is uncordoned or handed to a person. */
  async releaseNodeSlot(node: string): Promise<void> {
    await this.redis.hdel(`${this.prefix}:nodes-disrupted`, node);
  }

  async nodesDisrupted(): Promise<Record<string, string>> {
    return this.redis.hgetall(`${this.prefix}:nodes-disrupted`);
  }
}
