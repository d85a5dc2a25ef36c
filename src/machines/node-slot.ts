/**
 * When a node's incident holds the node's slot (the right to keep it out of service, one node at
 * a time: budgets/rules.ts). The slot is taken by the incident's first cordon, drain or taint,
 * and held while that incident is acting on the node or verifying it; it is let go when the
 * incident ends, is handed to people (escalated, quarantined), or the node is back in service
 * whoever put it back (a person's uncordon included). The runtime releases a slot as soon as
 * this says its incident no longer holds it; the simulator applies the same rule.
 */
import type { RemediationContext } from './context.ts';

/** Node states in which the incident still acts on the node or watches what it did. */
const ACTING: ReadonlySet<string> = new Set(['remediating', 'verifying', 'uncordoning']);

/**
 * The incident whose hold on the node's slot is justified now, or null when none is.
 * `cordonSeen`: the node was seen cordoned during this incident. Until it was, a schedulable
 * node in the observation is the one from before the cordon (the cordon's result and the watch
 * event that shows it arrive in either order), not a person's uncordon.
 */
export function nodeSlotHolder(
  snapshot: { value: unknown; context: RemediationContext },
  cordonSeen = true,
): string | null {
  const state = typeof snapshot.value === 'string' ? snapshot.value : null;
  const { context } = snapshot;
  const incident = context.incident;
  if (context.kind !== 'Node' || state === null || !ACTING.has(state) || incident === null)
    return null;
  // While a cordon may be in flight the node is not cordoned yet; afterwards an uncordoned node
  // is back in service, whoever uncordoned it. Taints are not observed: a taint's incident holds
  // the slot until it ends or is handed to people.
  if (state === 'remediating') return incident.id;
  const o = context.observation;
  const tainted = incident.plan.some((e) => e.kind === 'taint');
  const uncordoned = o?.kind === 'Node' && !o.unschedulable && cordonSeen;
  return tainted || !uncordoned ? incident.id : null;
}
