/**
 * Which role's actors act on which symptom of a node (docs/adr/0017-dead-nodes.md). A node that is
 * NotReady or Unknown usually has a dead or unreachable agent, so its readiness is judged from
 * outside, by the leader-elected controller; pressure is reported by a kubelet that still runs,
 * beside an agent that is there to act on it. Each role compiles its policies with only its own
 * symptoms, so exactly one actor acts on a given symptom whatever the other role's state.
 */
import type { Detection } from '../analyzers/types.ts';
import { DETECTION_KIND, type DetectionType } from '../policy/vocabulary.ts';

/** Node symptoms judged from outside the node. */
export const JUDGED_FROM_OUTSIDE: ReadonlySet<DetectionType> = new Set<DetectionType>(['NotReady']);

/** The agent: pods, and the pressure of its own node. */
export function agentActsOn(type: DetectionType): boolean {
  return !JUDGED_FROM_OUTSIDE.has(type);
}

/** The controller: Deployments, and node readiness; never a node's pressure. */
export function controllerActsOn(type: DetectionType): boolean {
  return DETECTION_KIND[type] !== 'Node' || JUDGED_FROM_OUTSIDE.has(type);
}

/**
 * What the agent's actors see: nothing of a node judged from outside (NotReady). Its kubelet's
 * other conditions say nothing reliable then, and the controller owns the node until it is Ready
 * again, so the agent's actor neither acts on pressure nor lets go of what it did: it keeps what
 * it saw before, and judges again once the node is Ready.
 */
export function agentSees(detections: Detection[]): Detection[] | null {
  return detections.some((d) => JUDGED_FROM_OUTSIDE.has(d.type)) ? null : detections;
}
