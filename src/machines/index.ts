/**
 * The statecharts. Machines are pure: they name the effects they need (`enqueueEffect`,
 * `recordEvent`) and the runtime provides them with `machine.provide()`. See
 * docs/adr/0004-statecharts.md and visualizations/.
 */
import type { ObjectKind } from '../policy/vocabulary.ts';
import { deploymentMachine } from './deployment.ts';
import { nodeMachine } from './node.ts';
import { podMachine } from './pod.ts';

export { deploymentMachine, nodeMachine, podMachine };
export * from './context.ts';
export * from './effects.ts';
export * from './events.ts';
export * from './policy.ts';
export { decide, nodeCapacity, remediationsInWindow } from './decisions.ts';
export { inhibitionFromNode } from './inhibition.ts';
export { nodeSlotHolder } from './node-slot.ts';
export { pendingDeadlines, restoreActor, systemClock } from './restore.ts';
export type { PendingDeadline, RestoreOptions, TellingClock } from './restore.ts';
export { DETECTION_PRIORITY, THRESHOLD_COUNTS } from './symptoms.ts';
export { DELAY_DEADLINES, type DelayName } from './time.ts';

/** One machine per kind, for the actor registry. */
export const MACHINES = {
  Pod: podMachine,
  Node: nodeMachine,
  Deployment: deploymentMachine,
} as const satisfies Record<ObjectKind, unknown>;

/**
 * Bumped whenever a change makes old snapshots unfit (renamed states, context fields). The
 * snapshot store keeps `<machine id>@<version>` with each snapshot and drops other versions.
 */
export const MACHINE_VERSION = 1;

export type RemediationMachine = (typeof MACHINES)[ObjectKind];
