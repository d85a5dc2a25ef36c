/**
 * Tells a node actor handling a NotReady node what the node holds (`nodePods`), so that its
 * escalation names the StatefulSet pods and the pods with data on the node: the ones that do not
 * come back elsewhere by themselves. Listed once per incident, as the node is taken out of
 * service (before its verification can end), by the process that runs the node's actor: the
 * controller (docs/adr/0017-dead-nodes.md), or `simulate` on its world.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { RemediationContext, RuntimeFacts } from '../machines/index.ts';
import { summarizeNodePods, type NodePodObject } from '../observe/node-pods.ts';
import type { Logger } from '../telemetry/index.ts';

export interface DeadNodePodsOptions {
  /** The pods bound to a node. */
  list: (node: string) => Promise<Iterable<NodePodObject>>;
  facts: (key: string, facts: Partial<RuntimeFacts>) => Promise<void>;
  logger: Logger;
}

/** The states in which the pods are listed: the node is being, or has been, taken out. */
const LISTED_IN: ReadonlySet<string> = new Set(['remediating', 'verifying']);

export class DeadNodePods {
  private readonly options: DeadNodePodsOptions;
  /** Node actor → the incident its pods were listed for. */
  private readonly listed = new Map<string, string>();

  constructor(options: DeadNodePodsOptions) {
    this.options = options;
  }

  noteTransition(key: string, snapshot: { value: unknown; context: RemediationContext }): void {
    const incident = snapshot.context.incident;
    const state = typeof snapshot.value === 'string' ? snapshot.value : '';
    if (
      !key.startsWith('Node/') ||
      incident === null ||
      incident.trigger.kind !== 'detection' ||
      incident.trigger.detection.type !== 'NotReady' ||
      !LISTED_IN.has(state) ||
      this.listed.get(key) === incident.id
    )
      return;
    this.listed.set(key, incident.id);
    const node = key.slice('Node/'.length);
    void this.options
      .list(node)
      .then((pods) => this.options.facts(key, { nodePods: summarizeNodePods(pods) }))
      .catch((error: unknown) => {
        // Listed again at the next incident; its escalation only lacks the names.
        this.options.logger.warn({ err: error, node }, 'could not list the pods of a dead node');
      });
  }

  forget(key: string): void {
    this.listed.delete(key);
  }
}

/** The pods bound to a node, cluster-wide (the controller's `pods list` right). */
export function podsOnNode(kc: KubeConfig): (node: string) => Promise<NodePodObject[]> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (node) =>
    (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
}
