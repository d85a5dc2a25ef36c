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
  /** Node → the incident during which the node was seen cordoned. */
  private readonly cordoned = new Map<string, string>();
  private readonly release: ReleaseNodeSlot;

  constructor(release: ReleaseNodeSlot) {
    this.release = release;
  }

  /** Call with every transition of a `Node/<name>` actor. */
  noteTransition(key: string, snapshot: { value: unknown; context: RemediationContext }): void {
    if (!key.startsWith('Node/')) return;
    const node = key.slice('Node/'.length);
    const incident = snapshot.context.incident?.id;
    const o = snapshot.context.observation;
    if (incident !== undefined && o?.kind === 'Node' && o.unschedulable)
      this.cordoned.set(node, incident);
    const holder = nodeSlotHolder(
      snapshot,
      incident !== undefined && this.cordoned.get(node) === incident,
    );
    const before = this.holders.get(node);
    this.holders.set(node, holder);
    if (holder !== null || before === null) return;
    // Unknown before (a restarted process): what this actor's latest incident may have held is
    // let go, and only that: the slot may be held by the other role's actor of the same node
    // (the controller handles a node that is not Ready; docs/adr/0017-dead-nodes.md).
    const held = before ?? latestIncident(snapshot.context);
    if (held !== undefined) this.release(node, held);
  }

  /** The Node was deleted: its slot, whoever holds it, is let go. */
  forget(node: string): void {
    this.holders.delete(node);
    this.cordoned.delete(node);
    this.release(node, undefined);
  }
}

/** The id of the actor's open incident, else of the latest one its history names. */
function latestIncident(context: RemediationContext): string | undefined {
  if (context.incident !== null) return context.incident.id;
  for (let i = context.history.length - 1; i >= 0; i -= 1) {
    const id = context.history[i]?.incidentId;
    if (id !== null && id !== undefined) return id;
  }
  return undefined;
}
