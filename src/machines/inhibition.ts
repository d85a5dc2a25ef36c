/**
 * How a node's machine inhibits the pods on its node: while the node has a problem (suspected or
 * being handled), a pod's symptom there is the node's problem, and pod machines wait instead of
 * restarting pods onto, or away from, a node that is about to be drained. The runtime sends the
 * result to the node's pods as the `inhibited` fact.
 */
import type { Inhibition, RemediationContext } from './context.ts';
import { primaryDetection } from './symptoms.ts';

/** States of the node machine in which the node is fine as far as its pods are concerned. */
const NOT_INHIBITING: ReadonlySet<string> = new Set(['healthy', 'coolingDown']);

export function inhibitionFromNode(snapshot: {
  value: unknown;
  context: RemediationContext;
}): Inhibition | null {
  const state =
    typeof snapshot.value === 'string'
      ? snapshot.value
      : Object.keys(snapshot.value as Record<string, unknown>)[0];
  if (state === undefined || NOT_INHIBITING.has(state)) return null;
  const { context } = snapshot;
  const problem =
    context.incident?.decision?.reason ??
    (context.incident?.trigger.kind === 'detection'
      ? context.incident.trigger.detection.reason
      : null) ??
    primaryDetection(context.policy, context.detections)?.reason ??
    `the node is ${state}`;
  return { by: context.actorKey, reason: problem };
}
