/**
 * `minHealthyNodes` counts the nodes its policy selects: the Ready, schedulable ones among
 * them. A policy for one pool of workers ("keep three of these four up") is not satisfied by
 * nodes of another pool it may not touch and whose capacity its workloads may not use. The
 * agent counts for its node's decision, the workers again just before they act, `simulate` on
 * its world: one rule.
 */
import { compileSelector, type Labels } from '../policy/selector.ts';
import type { PolicySelector } from '../policy/schema.ts';

/** The label part of a policy's selector, as a job carries it to the workers. */
export type NodeSelector = Pick<PolicySelector, 'matchLabels' | 'matchExpressions'>;

/** What the count reads of a node. */
export interface NodeHealth {
  name?: string;
  labels: Labels;
  unschedulable: boolean;
  ready: boolean;
}

/** Ready, schedulable nodes that `selector` selects (every node when there is none). */
export function countHealthyNodes(
  nodes: Iterable<NodeHealth>,
  selector: NodeSelector | undefined,
): number {
  const compiled =
    selector === undefined ? undefined : compileSelector({ kinds: ['Node'], ...selector });
  const selected = (labels: Labels): boolean => compiled === undefined || compiled.matches(labels);
  let count = 0;
  for (const node of nodes) {
    if (node.ready && !node.unschedulable && selected(node.labels)) count += 1;
  }
  return count;
}

/** The nodes `selector` selects, healthy or not (every node when there is none). */
export function countSelectedNodes(
  nodes: Iterable<NodeHealth>,
  selector: NodeSelector | undefined,
): number {
  const compiled =
    selector === undefined ? undefined : compileSelector({ kinds: ['Node'], ...selector });
  let count = 0;
  for (const node of nodes) if (compiled === undefined || compiled.matches(node.labels)) count += 1;
  return count;
}

/**
 * The floor `minHealthyNodes` sets: a count as it is, or a percentage of the nodes the policy
 * selects, rounded up (as NodeHealthCheck's `minHealthy`). Null when a percentage meets an
 * unknown number of nodes: nothing is taken out of service then.
 */
export function healthyFloor(
  min: { count: number; percent?: number | undefined },
  selected: number | null | undefined,
): number | null {
  if (min.percent === undefined) return min.count;
  if (selected === null || selected === undefined) return null;
  return Math.ceil((min.percent * selected) / 100);
}

/**
 * A policy's `minHealthyNodes` as machines and jobs carry it: a count, or (`60%`) a percentage
 * of the nodes the policy selects in place of the count.
 */
export function splitFloor(min: number | string): {
  minHealthyNodes: number;
  minHealthyPercent?: number;
} {
  return typeof min === 'number'
    ? { minHealthyNodes: min }
    : { minHealthyNodes: 0, minHealthyPercent: Number.parseInt(min, 10) };
}

/**
 * The count for taking `node` out of service: the healthy nodes the selector selects, and whether
 * `node` is one of them (a node that is not Ready is not: taking it out leaves as many as before),
 * and how many nodes it selects in all (for a floor given as a percentage).
 */
export function healthyCount(
  nodes: readonly NodeHealth[],
  selector: NodeSelector | undefined,
  node: string,
): { count: number; includesNode: boolean; selected: number } {
  const self = nodes.find((n) => n.name === node);
  return {
    selected: countSelectedNodes(nodes, selector),
    count: countHealthyNodes(nodes, selector),
    includesNode:
      self !== undefined &&
      self.ready &&
      !self.unschedulable &&
      countHealthyNodes([self], selector) === 1,
  };
}

/** A node as the API returns it, as the count reads it. */
export function nodeHealth(node: {
  metadata?: { name?: string | null; labels?: Record<string, string> | null } | null;
  spec?: { unschedulable?: boolean | null } | null;
  status?: { conditions?: readonly { type?: string; status?: string }[] | null } | null;
}): NodeHealth {
  return {
    ...(node.metadata?.name == null ? {} : { name: node.metadata.name }),
    labels: node.metadata?.labels ?? {},
    unschedulable: node.spec?.unschedulable === true,
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  };
}
