/**
 * Restoring an actor from a persisted snapshot, timers included.
 *
 * xstate persists state and context but not pending `after` timers (statelyai/xstate#5331). The
 * machines keep every wait as an absolute deadline in context and compute each delay as
 * (deadline − time of the event), and every state that waits re-enters itself on RESUME. So a
 * restore is: create the actor from the snapshot, start it, send RESUME stamped with the clock's
 * time. A deadline that passed while the process was down fires at once; the others fire when
 * they would have. `pendingDeadlines` lists what is armed, for `simulate`, metrics and tests.
 */
import {
  createActor,
  getNextTransitions,
  type Actor,
  type AnyStateMachine,
  type InspectionEvent,
  type Observer,
  type Snapshot,
} from 'xstate';
import type { DeadlineName, RemediationContext } from './context.ts';
import type { MachinePolicy } from './policy.ts';
import { DELAY_DEADLINES, type DelayName } from './time.ts';

/**
 * An actor clock (what `createActor` takes) that also tells the time. xstate's SimulatedClock is
 * one; `systemClock` is the real one.
 */
export interface TellingClock {
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

export const systemClock: TellingClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface RestoreOptions {
  clock: TellingClock;
  /** The actor's key, as for a fresh actor. */
  systemId?: string;
  /**
   * The policy now in force, if it changed while the actor was down (or to share one policy
   * object among many restored actors instead of one parsed copy each).
   */
  policy?: MachinePolicy;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export function restoreActor<TMachine extends AnyStateMachine>(
  machine: TMachine,
  snapshot: Snapshot<unknown>,
  options: RestoreOptions,
): Actor<TMachine> {
  const actor: Actor<AnyStateMachine> = createActor(machine as AnyStateMachine, {
    snapshot,
    clock: options.clock,
    ...(options.systemId === undefined ? {} : { systemId: options.systemId }),
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  });
  actor.start();
  const at = options.clock.now();
  if (options.policy) actor.send({ type: 'POLICY', at, policy: options.policy });
  actor.send({ type: 'RESUME', at });
  return actor as Actor<TMachine>;
}

export interface PendingDeadline {
  delay: DelayName;
  deadline: DeadlineName;
  /** ms since the epoch. */
  at: number;
}

function isDelayName(name: string): name is DelayName {
  return name in DELAY_DEADLINES;
}

/** The deadlines the current state waits on, soonest first. */
export function pendingDeadlines(snapshot: { context: RemediationContext }): PendingDeadline[] {
  const found = new Map<DelayName, PendingDeadline>();
  for (const transition of getNextTransitions(
    snapshot as Parameters<typeof getNextTransitions>[0],
  )) {
    // Delayed transitions listen for `xstate.after.<delay>.<state id>`.
    const [prefix, after, delay] = String(transition.eventType).split('.');
    if (prefix !== 'xstate' || after !== 'after' || delay === undefined || !isDelayName(delay)) {
      continue;
    }
    const deadline = DELAY_DEADLINES[delay];
    const at = snapshot.context.deadlines[deadline];
    if (at !== undefined) found.set(delay, { delay, deadline, at });
  }
  return [...found.values()].sort((a, b) => a.at - b.at);
}
