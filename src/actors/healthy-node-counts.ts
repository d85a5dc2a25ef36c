/**
 * Per policy that governs nodes, the Ready, schedulable nodes it selects (the `healthyNodes`
 * fact of its node actors, read by the `minHealthyNodes` guard; src/budgets/healthy-nodes.ts has
 * the rule). Counted for every such policy before the first observation of a node (a node actor
 * decides on its first one), again on an interval and when a node policy changes; with no node
 * policy, the cluster's nodes are never listed. The agent and the controller count alike: each
 * runs node actors (pressure on the node's agent, readiness in the controller).
 */
import { countHealthyNodes, countSelectedNodes, nodeHealth } from '../budgets/healthy-nodes.ts';
import { nodeSelectorOf } from '../budgets/scopes.ts';
import type { Policy } from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';

export interface HealthyNodeCountsOptions {
  /** Lists the cluster's nodes (cheaply: from the watch cache). */
  listNodes: () => Promise<Parameters<typeof nodeHealth>[0][]>;
  policies: () => Iterable<Policy>;
  /** The node actors that run here. */
  nodeActors: () => Iterable<string>;
  /** The governing policy of an actor (`namespace/name`). */
  governingPolicy: (key: string) => string | undefined;
  /** Tells a node actor its policy's counts changed (healthy, and selected in all). */
  tell: (key: string, healthyNodes: number | null, selectedNodes: number | null) => void;
  logger: Logger;
}

export class HealthyNodeCounts {
  private readonly options: HealthyNodeCountsOptions;
  private readonly counts = new Map<string, number>();
  /** Per policy, every node it selects, healthy or not (for a percentage floor). */
  private readonly selected = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: HealthyNodeCountsOptions) {
    this.options = options;
  }

  /** The count for a node actor's policy; null while it is unknown (no node is taken out then). */
  of(key: string): number | null {
    const ref = this.options.governingPolicy(key);
    return ref === undefined ? null : (this.counts.get(ref) ?? null);
  }

  /** The facts a node actor starts with: its policy's healthy and selected nodes. */
  factsOf(key: string): { healthyNodes: number | null; selectedNodes: number | null } {
    return { healthyNodes: this.of(key), selectedNodes: this.selectedOf(key) };
  }

  /** How many nodes a node actor's policy selects in all; null while unknown. */
  selectedOf(key: string): number | null {
    const ref = this.options.governingPolicy(key);
    return ref === undefined ? null : (this.selected.get(ref) ?? null);
  }

  /** Counts again now; a failure leaves the counts as they were and is logged. */
  async count(): Promise<void> {
    try {
      const policies = [...this.options.policies()].filter((p) =>
        p.selector.kinds.includes('Node'),
      );
      if (policies.length === 0) return;
      const nodes = (await this.options.listNodes()).map(nodeHealth);
      const changed = new Set<string>();
      for (const policy of policies) {
        const ref = `${policy.ref.namespace}/${policy.ref.name}`;
        const selector = nodeSelectorOf(policy.selector);
        const count = countHealthyNodes(nodes, selector);
        const selected = countSelectedNodes(nodes, selector);
        if (this.counts.get(ref) === count && this.selected.get(ref) === selected) continue;
        this.counts.set(ref, count);
        this.selected.set(ref, selected);
        changed.add(ref);
      }
      for (const key of this.options.nodeActors()) {
        const ref = this.options.governingPolicy(key);
        if (ref !== undefined && changed.has(ref))
          this.options.tell(key, this.counts.get(ref) ?? null, this.selected.get(ref) ?? null);
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'could not count healthy nodes; node actions wait for the count',
      );
    }
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.count(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
