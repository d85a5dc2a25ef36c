/**
 * The disruption budget of each policy, in memory: the same sliding window, the same rule for a
 * repeated action id and the same words as the Redis budget the workers take a token from
 * (src/budgets/take-budget.lua, `Budgets.take`), so a simulated storm is held where the real one
 * would be, with the reason people would read.
 */

/** Effects that disrupt workloads and so spend budget (as src/effects/kubernetes/index.ts). */
export const DISRUPTIVE: ReadonlySet<string> = new Set([
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

export interface BudgetScope {
  /** `policy/<namespace>/<name>`. */
  scope: string;
  limit: number;
  windowMs: number;
}

export type BudgetDecision =
  | { decision: 'allowed'; reason: string }
  | { decision: 'denied'; scope: string; retryAfterMs: number; reason: string };

export class MemoryBudgets {
  /** Scope → action id → when its token was taken. */
  private readonly taken = new Map<string, Map<string, number>>();

  private tokens(scope: BudgetScope): Map<string, number> {
    let tokens = this.taken.get(scope.scope);
    if (tokens === undefined) {
      tokens = new Map<string, number>();
      this.taken.set(scope.scope, tokens);
    }
    return tokens;
  }

  /** Takes one token for `actionId` from every scope, or from none (as take-budget.lua). */
  take(actionId: string, scopes: readonly BudgetScope[], now: number): BudgetDecision {
    if (scopes.some((scope) => this.tokens(scope).has(actionId))) {
      return { decision: 'allowed', reason: 'budget already taken for this action' };
    }
    for (const scope of scopes) {
      const tokens = this.tokens(scope);
      for (const [id, at] of tokens) if (at <= now - scope.windowMs) tokens.delete(id);
      if (tokens.size >= scope.limit) {
        const oldest = Math.min(...tokens.values());
        const retryAfterMs = Math.max(0, oldest + scope.windowMs - now);
        return {
          decision: 'denied',
          scope: scope.scope,
          retryAfterMs,
          reason: `budget ${scope.scope} spent: ${scope.limit} actions per ${Math.round(scope.windowMs / 1000)}s; next token in ${Math.ceil(retryAfterMs / 1000)}s`,
        };
      }
    }
    for (const scope of scopes) this.tokens(scope).set(actionId, now);
    return { decision: 'allowed', reason: 'within budget' };
  }

  /** Tokens in use in the scope's window. */
  used(scope: BudgetScope, now: number): number {
    const tokens = this.taken.get(scope.scope);
    if (tokens === undefined) return 0;
    return [...tokens.values()].filter((at) => at > now - scope.windowMs).length;
  }
}
