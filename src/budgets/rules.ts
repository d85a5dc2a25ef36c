/**
 * The rules of the safety budgets, as pure functions of what is stored: the one implementation
 * both stores apply, Redis for the workers (budgets.ts, read and written in one optimistic
 * transaction) and memory for `simulate` (memory.ts). So a simulated storm is held, and a
 * simulated drain refused, exactly where and in the words the real ones would be.
 *
 * - Action budgets: at most `limit` disruptive actions per sliding `windowMs`, per scope; an
 *   action takes a token from every scope it names or from none; an action id that already holds
 *   a token never spends a second one (a retried job, or the drain after its own cordon).
 * - Node slots: nodes are taken out of service one at a time (`maxAtOnce`), never below
 *   `minHealthyNodes`; the slot is held by the incident, so every step of that incident on that
 *   node (cordon, then drain) uses the same slot.
 */

export interface BudgetScope {
  /** `policy/<namespace>/<name>`, `namespace/<name>` or `cluster`. */
  scope: string;
  limit: number;
  windowMs: number;
}

/** How much of a scope's window is taken: what tells a runtime whether a policy's budget is spent. */
export interface BudgetUsage {
  scope: string;
  used: number;
  limit: number;
  windowMs: number;
}

export type BudgetDecision =
  | { decision: 'allowed'; reason: string }
  | { decision: 'denied'; scope: string; retryAfterMs: number; reason: string };

/** One token: the action that took it and when (ms since the epoch). */
export interface Token {
  id: string;
  at: number;
}

/**
 * What the rule needs to know of one scope at `now`: bounded by the scope's limit, whatever the
 * store keeps (Redis answers it with a few O(log n) reads, never a whole set).
 */
export interface ScopeState {
  scope: BudgetScope;
  /** Tokens inside the window. */
  live: number;
  /** When the oldest of them was taken; null when there is none. */
  oldestLiveAt: number | null;
  /** The action already holds a token of this scope (in the window or not yet dropped). */
  holds: boolean;
}

export interface TakeResult {
  decision: BudgetDecision;
  /** Whether the store must add the token to every scope (and drop the expired ones). */
  take: boolean;
}

/** Tokens still inside the scope's window at `now`. */
export function liveTokens(scope: BudgetScope, tokens: readonly Token[], now: number): Token[] {
  return tokens.filter((t) => t.at > now - scope.windowMs);
}

/** The rule's view of a scope kept as a list of tokens (the in-memory store). */
export function scopeState(
  scope: BudgetScope,
  tokens: readonly Token[],
  actionId: string,
  now: number,
): ScopeState {
  const live = liveTokens(scope, tokens, now);
  return {
    scope,
    live: live.length,
    oldestLiveAt: live.length === 0 ? null : Math.min(...live.map((t) => t.at)),
    holds: tokens.some((t) => t.id === actionId),
  };
}

/** The reason of a take by an action that already holds its token. */
export const ALREADY_TAKEN = 'budget already taken for this action';

/** Takes one token from every scope, or from none. */
export function takeTokens(scopes: readonly ScopeState[], now: number): TakeResult {
  if (scopes.some((s) => s.holds)) {
    return { decision: { decision: 'allowed', reason: ALREADY_TAKEN }, take: false };
  }
  for (const { scope, live, oldestLiveAt } of scopes) {
    if (live >= scope.limit) {
      const retryAfterMs = Math.max(
        0,
        oldestLiveAt === null ? scope.windowMs : oldestLiveAt + scope.windowMs - now,
      );
      return {
        decision: {
          decision: 'denied',
          scope: scope.scope,
          retryAfterMs,
          reason: `budget ${scope.scope} spent: ${scope.limit} actions per ${Math.round(scope.windowMs / 1000)}s; next token in ${Math.ceil(retryAfterMs / 1000)}s`,
        },
        take: false,
      };
    }
  }
  return { decision: { decision: 'allowed', reason: 'within budget' }, take: true };
}

export type NodeSlotRefusal =
  'node-busy' | 'another-node-draining' | 'min-healthy-nodes' | 'incident-ended';

export type NodeSlotDecision =
  | { decision: 'allowed'; reason: string }
  | { decision: 'denied'; why: NodeSlotRefusal; reason: string };

export interface NodeSlotRequest {
  node: string;
  /** The incident that takes the node out of service: its cordon and its drain share the slot. */
  incidentId: string;
  /** Ready, schedulable nodes now (from the API), this one included if it is one. */
  healthyNodes: number;
  /**
   * Whether this node is one of `healthyNodes` (default: it is). A node that is not Ready (the
   * controller cordons a dead one) takes nothing from the healthy count.
   */
  nodeIsHealthy?: boolean;
  minHealthyNodes: number;
  /** Nodes out of service at once. Default: 1. */
  maxAtOnce?: number;
}

export interface NodeSlotResult {
  decision: NodeSlotDecision;
  /** Whether the store must record `node → incidentId`. */
  take: boolean;
}

/**
 * Reserves the right to take `node` out of service, given who holds which node now. `ended`: the
 * incident already let go of its slot (it ended, or was handed to people); a late retry of one
 * of its jobs must not take the node out of service again, since nothing would let go of it.
 */
export function claimNodeSlot(
  holders: Readonly<Record<string, string>>,
  request: NodeSlotRequest,
  ended = false,
): NodeSlotResult {
  const { node, incidentId, healthyNodes, minHealthyNodes } = request;
  if (ended) {
    return {
      decision: {
        decision: 'denied',
        why: 'incident-ended',
        reason: `incident ${incidentId} no longer holds node ${node} (it ended or was handed to people), so the node is not taken out of service again`,
      },
      take: false,
    };
  }
  const holder = holders[node];
  if (holder === incidentId) {
    return {
      decision: {
        decision: 'allowed',
        reason: `node ${node} is already out of service for this incident`,
      },
      take: false,
    };
  }
  if (holder !== undefined) {
    return {
      decision: {
        decision: 'denied',
        why: 'node-busy',
        reason: `node ${node} is already being remediated for another incident (${holder})`,
      },
      take: false,
    };
  }
  if (Object.keys(holders).length >= (request.maxAtOnce ?? 1)) {
    return {
      decision: {
        decision: 'denied',
        why: 'another-node-draining',
        reason: 'another node is out of service; nodes are taken out of service one at a time',
      },
      take: false,
    };
  }
  // The node about to go out of service stops counting as healthy: refuse if that breaks the floor.
  const remaining = healthyNodes - (request.nodeIsHealthy === false ? 0 : 1);
  if (remaining < minHealthyNodes) {
    return {
      decision: {
        decision: 'denied',
        why: 'min-healthy-nodes',
        reason: `taking ${node} out of service would leave ${remaining} healthy nodes, below minHealthyNodes ${minHealthyNodes}`,
      },
      take: false,
    };
  }
  return {
    decision: { decision: 'allowed', reason: `node ${node} may be taken out of service` },
    take: true,
  };
}
