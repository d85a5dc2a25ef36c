/**
 * The safety budgets in memory, for `simulate`: the same rules as the workers' Redis budgets
 * (rules.ts), kept in maps instead of sorted sets and a hash.
 */
import {
  claimNodeSlot,
  liveTokens,
  scopeState,
  takeTokens,
  type BudgetDecision,
  type BudgetScope,
  type BudgetUsage,
  type NodeSlotDecision,
  type NodeSlotRequest,
  type Token,
} from './rules.ts';

export class MemoryBudgets {
  /** Scope → its tokens. */
  private readonly taken = new Map<string, Token[]>();
  /** Node → the incident holding its slot. */
  private readonly slots = new Map<string, string>();
  /** Incidents that let go of their slot. */
  private readonly released = new Set<string>();

  /** Takes one token for `actionId` from every scope, or from none. */
  take(actionId: string, scopes: readonly BudgetScope[], now: number): BudgetDecision {
    const outcome = takeTokens(
      scopes.map((scope) => scopeState(scope, this.taken.get(scope.scope) ?? [], actionId, now)),
      now,
    );
    if (outcome.take) {
      for (const scope of scopes) {
        const live = liveTokens(scope, this.taken.get(scope.scope) ?? [], now);
        this.taken.set(scope.scope, [...live, { id: actionId, at: now }]);
      }
    }
    return outcome.decision;
  }

  /** Gives a token back, for an action that did not happen. */
  giveBack(actionId: string, scopes: readonly BudgetScope[]): void {
    for (const scope of scopes) {
      const tokens = this.taken.get(scope.scope);
      if (tokens !== undefined)
        this.taken.set(
          scope.scope,
          tokens.filter((t) => t.id !== actionId),
        );
    }
  }

  /** Tokens in use in the scope's window. */
  used(scope: BudgetScope, now: number): number {
    return liveTokens(scope, this.taken.get(scope.scope) ?? [], now).length;
  }

  /** As `Budgets.usage`: the tokens in use in each scope's window at `now`. */
  usage(scopes: readonly BudgetScope[], now: number): BudgetUsage[] {
    return scopes.map((s) => ({
      scope: s.scope,
      used: this.used(s, now),
      limit: s.limit,
      windowMs: s.windowMs,
    }));
  }

  takeNodeSlot(request: NodeSlotRequest): NodeSlotDecision {
    const outcome = claimNodeSlot(
      Object.fromEntries(this.slots),
      request,
      this.released.has(request.incidentId),
    );
    if (outcome.take) this.slots.set(request.node, request.incidentId);
    return outcome.decision;
  }

  /** As `Budgets.releaseNodeSlot`: given `incidentId`, only that incident's hold is released. */
  releaseNodeSlot(node: string, incidentId?: string): boolean {
    const holder = this.slots.get(node);
    if (incidentId !== undefined) this.released.add(incidentId);
    if (holder === undefined || (incidentId !== undefined && holder !== incidentId)) return false;
    this.slots.delete(node);
    return true;
  }

  nodesDisrupted(): Record<string, string> {
    return Object.fromEntries(this.slots);
  }
}
