/**
 * Which budgets an action takes a token from, as pure functions of the policy and the
 * installation's limits (configuration `budget`):
 * - `policy/<namespace>/<name>`: the policy's `budget.maxActions` per `budget.window`;
 * - `namespace/<namespace>`: `budget.namespaceMaxActions` per `budget.window`, for actions on
 *   namespaced objects (a node is in no namespace);
 * - `cluster`: `budget.clusterMaxActions` per `budget.window`, for every action.
 * An action a person approved takes no token (budgets limit automation, not people); node
 * disruptions still need a node slot and `minHealthyNodes`. See docs/adr/0011-budgets-and-storms.md.
 */
import { splitFloor } from './healthy-nodes.ts';
import type { EffectJob } from '../effects/catalogue.ts';
import type { Policy } from '../policy/index.ts';
import type { BudgetScope } from './budgets.ts';
import type { NodeSelector } from './healthy-nodes.ts';

/** Effects that disrupt workloads and so take budget (as the Kubernetes workers count them). */
export const DISRUPTIVE_KINDS: ReadonlySet<string> = new Set([
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

/** The installation's own budgets, from configuration `budget`. */
export interface BudgetLimits {
  namespaceMaxActions: number;
  clusterMaxActions: number;
  windowMs: number;
}

/** What budgets need of a policy. */
export type BudgetedPolicy = Pick<Policy, 'ref' | 'budget' | 'selector'>;

export function policyScope(policy: BudgetedPolicy): BudgetScope {
  return {
    scope: `policy/${policy.ref.namespace}/${policy.ref.name}`,
    limit: policy.budget.maxActions,
    windowMs: policy.budget.windowMs,
  };
}

export function namespaceScope(namespace: string, limits: BudgetLimits): BudgetScope {
  return {
    scope: `namespace/${namespace}`,
    limit: limits.namespaceMaxActions,
    windowMs: limits.windowMs,
  };
}

export function clusterScope(limits: BudgetLimits): BudgetScope {
  return { scope: 'cluster', limit: limits.clusterMaxActions, windowMs: limits.windowMs };
}

/**
 * The scopes an action on an object in `namespace` (null for a node) takes a token from. Without
 * a policy (deleted while the action was asked for) the namespace and cluster still count.
 */
export function actionScopes(
  policy: BudgetedPolicy | undefined,
  namespace: string | null,
  limits: BudgetLimits,
): BudgetScope[] {
  return [
    ...(policy === undefined ? [] : [policyScope(policy)]),
    ...(namespace === null || namespace === '' ? [] : [namespaceScope(namespace, limits)]),
    clusterScope(limits),
  ];
}

/**
 * The scopes that decide whether a policy's automation may still act: every scope its actions
 * take from. A policy governs objects of its own namespace, or nodes (a node policy selects
 * nothing else), so its actions take from its namespace's scope unless it governs nodes.
 */
export function policyScopes(policy: BudgetedPolicy, limits: BudgetLimits): BudgetScope[] {
  const governsNodes = policy.selector.kinds.includes('Node');
  return actionScopes(policy, governsNodes ? null : policy.ref.namespace, limits);
}

/** The label part of a policy's selector: the nodes its `minHealthyNodes` counts. */
export function nodeSelectorOf(selector: BudgetedPolicy['selector']): NodeSelector {
  return {
    ...(selector.matchLabels === undefined ? {} : { matchLabels: selector.matchLabels }),
    ...(selector.matchExpressions === undefined
      ? {}
      : { matchExpressions: selector.matchExpressions }),
  };
}

/**
 * The `budget` of a Kubernetes job, or undefined for an effect that disrupts nothing. An action
 * a person approved takes no token but keeps `minHealthyNodes` (and its node slot).
 */
export function jobBudget(options: {
  kind: string;
  policy: BudgetedPolicy | undefined;
  /** The namespace of the object acted on; null for a node. */
  namespace: string | null;
  limits: BudgetLimits;
  approvedBy: string | null;
}): EffectJob['budget'] {
  if (!DISRUPTIVE_KINDS.has(options.kind)) return undefined;
  const scopes =
    options.approvedBy === null
      ? actionScopes(options.policy, options.namespace, options.limits)
      : [];
  const { policy } = options;
  return {
    scopes,
    ...(policy === undefined
      ? {}
      : {
          ...splitFloor(policy.budget.minHealthyNodes),
          ...(policy.selector.kinds.includes('Node')
            ? { nodeSelector: nodeSelectorOf(policy.selector) }
            : {}),
        }),
  };
}
