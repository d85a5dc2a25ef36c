/**
 * Lets go of node slots whose incident no longer justifies them (machines/node-slot.ts): told of
 * every transition of a node actor, it releases the node's slot once the node's incident ended,
 * was handed to people, or the node is back in service. The agent releases in Redis, the
 * simulator in memory.
 */
import { nodeSlotHolder, type RemediationContext } from '../machines/index.ts';

export type ReleaseNodeSlot = (node: string, incidentId: string | undefined) => unknown;

export class NodeSlotKeeper {
  /** Node → the incident last seen holding its slot (null: none). Unknown after a restart. */
  private readonly holders = new Map<string, string | null>();
  private readonly release: ReleaseNodeSlot;

  constructor(release: ReleaseNodeSlot) {
    this.release = release;
  }

  /** Call with every transition of a `Node/<name>` actor. */
  noteTransition(key: string, snapshot: { value: unknown; context: RemediationContext }): void {
    if (!key.startsWith('Node/')) return;
    const node = key.slice('Node/'.length);
    const holder = nodeSlotHolder(snapshot);
    const before = this.holders.get(node);
    this.holders.set(node, holder);
    if (holder !== null || before === null) return;
    // Unknown before (a restarted process): whatever this node's incidents held is let go.
    this.release(node, before);
  }
}
