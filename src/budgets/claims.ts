/**
 * What a Kubernetes action job takes before it acts, and taking it: the one procedure the workers
 * follow against Redis and `simulate` against memory, so both refuse the same action for the same
 * reason.
 * - A disruptive action takes a token from each of its job's budget scopes (none when a person
 *   approved it). Its action id is the job's, except for the actions that take a node out of
 *   service: those of one incident on one node share one token (the drain after its own cordon
 *   is the same disruption, counted once).
 * - Those actions also take the node's slot for their incident (rules.ts `claimNodeSlot`). A
 *   refused slot gives back the token just taken: nothing was disrupted.
 */
import type { EffectJob } from '../effects/catalogue.ts';
import {
  ALREADY_TAKEN,
  type BudgetDecision,
  type BudgetScope,
  type NodeSlotDecision,
  type NodeSlotRefusal,
  type NodeSlotRequest,
} from './rules.ts';
import { OUT_OF_SERVICE_TAINT } from '../machines/effects.ts';
import { DISRUPTIVE_KINDS } from './scopes.ts';
import { healthyFloor, type NodeSelector } from './healthy-nodes.ts';

/** Actions that take a node out of service, and so hold the node's slot for their incident. */
export const NODE_DISRUPTIONS: ReadonlySet<string> = new Set(['cordon', 'drain', 'taint']);

export interface BudgetClaim {
  actionId: string;
  scopes: BudgetScope[];
  nodeSlot: {
    node: string;
    incidentId: string;
    minHealthyNodes: number;
    /** The floor as a percentage of the nodes the selector selects, in place of the count. */
    minHealthyPercent?: number;
    /** The nodes `minHealthyNodes` counts: the policy's. */
    nodeSelector: NodeSelector | undefined;
  } | null;
}

/** What `job` must take before it acts, or null when it takes nothing (dry runs, non-disruptive). */
export function budgetClaim(job: EffectJob, jobId: string): BudgetClaim | null {
  const kind = job.effect.kind;
  if (job.dryRun || !DISRUPTIVE_KINDS.has(kind)) return null;
  const node = typeof job.effect['node'] === 'string' ? job.effect['node'] : undefined;
  const takesNode = node !== undefined && NODE_DISRUPTIONS.has(kind);
  // The out-of-service taint goes on a node its incident already took out of service, which is
  // dead and fenced: no healthy node is lost, so no slot or floor applies (its token is shared).
  const failsOver =
    (job.effect['taint'] as { key?: unknown } | undefined)?.key === OUT_OF_SERVICE_TAINT.key;
  return {
    actionId: takesNode ? `${job.incidentId} ${node}` : jobId,
    scopes: job.budget?.scopes ?? [],
    nodeSlot:
      takesNode && !failsOver
        ? {
            node,
            incidentId: job.incidentId,
            minHealthyNodes: job.budget?.minHealthyNodes ?? 1,
            ...(job.budget?.minHealthyPercent === undefined
              ? {}
              : { minHealthyPercent: job.budget.minHealthyPercent }),
            nodeSelector: job.budget?.nodeSelector,
          }
        : null,
  };
}

/** Either store: Budgets (Redis) or MemoryBudgets. */
export interface BudgetStore {
  take(
    actionId: string,
    scopes: readonly BudgetScope[],
    now: number,
  ): Promise<BudgetDecision> | BudgetDecision;
  giveBack(actionId: string, scopes: readonly BudgetScope[]): Promise<void> | void;
  takeNodeSlot(request: NodeSlotRequest): Promise<NodeSlotDecision> | NodeSlotDecision;
}

/** The healthy nodes a selector selects now, whether the node is one, and how many it selects. */
export interface HealthyNodesNow {
  count: number;
  includesNode: boolean;
  /** Every node the selector selects, healthy or not (for a floor given as a percentage). */
  selected: number;
}

export type SpendOutcome =
  | {
      spent: true;
      /** Whether this take spent a token (not one an earlier attempt already held). */
      tokenTaken: boolean;
    }
  | { spent: false; why: 'budget-exhausted' | NodeSlotRefusal; reason: string };

/**
 * Takes what the claim names, or nothing. `healthyNodes` (the Ready, schedulable nodes the
 * selector selects) is asked only for a node slot.
 */
export async function spendBudget(
  store: BudgetStore,
  claim: BudgetClaim,
  options: {
    now: number;
    /** The healthy nodes the selector selects, and whether `node` is one of them. */
    healthyNodes: (
      selector: NodeSelector | undefined,
      node: string,
    ) => Promise<HealthyNodesNow> | HealthyNodesNow;
  },
): Promise<SpendOutcome> {
  let tokenTaken = false;
  if (claim.scopes.length > 0) {
    const decision = await store.take(claim.actionId, claim.scopes, options.now);
    if (decision.decision === 'denied')
      return { spent: false, why: 'budget-exhausted', reason: decision.reason };
    tokenTaken = decision.reason !== ALREADY_TAKEN;
  }
  if (claim.nodeSlot !== null) {
    const { nodeSelector, minHealthyPercent, ...slotRequest } = claim.nodeSlot;
    const healthy = await options.healthyNodes(nodeSelector, slotRequest.node);
    const slot = await store.takeNodeSlot({
      ...slotRequest,
      // A percentage is of the nodes selected now, counted with the healthy ones.
      minHealthyNodes: healthyFloor(
        { count: slotRequest.minHealthyNodes, percent: minHealthyPercent },
        healthy.selected,
      ) as number,
      healthyNodes: healthy.count,
      nodeIsHealthy: healthy.includesNode,
    });
    if (slot.decision === 'denied') {
      if (tokenTaken) await store.giveBack(claim.actionId, claim.scopes);
      return { spent: false, why: slot.why, reason: slot.reason };
    }
  }
  return { spent: true, tokenTaken };
}
