/**
 * Replaying generated paths on real actors, on a SimulatedClock, with the effects recorded as a
 * runtime would carry them out.
 */
import {
  createActor,
  SimulatedClock,
  type Actor,
  type AnyStateMachine,
  type SnapshotFrom,
} from 'xstate';
import {
  DELAY_DEADLINES,
  pendingDeadlines,
  type DelayName,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
  type RecordedEvent,
  type RemediationContext,
} from '../../../src/machines/index.ts';
import { T0 } from './fixtures.ts';
import { eventsFor, type Model } from './model.ts';

export interface Recording {
  effects: EffectRequest[];
  records: RecordedEvent[];
}

export function recorded(machine: AnyStateMachine, into: Recording): AnyStateMachine {
  return machine.provide({
    actions: {
      enqueueEffect: (_: unknown, request: EffectRequest) => {
        into.effects.push(request);
      },
      recordEvent: (_: unknown, event: RecordedEvent) => {
        into.records.push(event);
      },
      // Claims are answered by the model's WORKLOAD events, not here.
      claimWorkload: () => undefined,
    },
  });
}

export function contextOf(actor: Actor<AnyStateMachine>): RemediationContext {
  return actor.getSnapshot().context as RemediationContext;
}

/**
 * What an event is, without its times and ids. The graph shares one stored snapshot among states
 * with the same projection, so a path's events carry times and ids of some equivalent state; the
 * replay takes the event of the same shape from the live actor's own candidates instead.
 */
export function shape(event: MachineEvent): string {
  const kept: Record<string, unknown> = { ...event };
  for (const key of ['at', 'incidentId', 'effectId']) delete kept[key];
  if (event.type === 'OBSERVED') kept['detections'] = event.detections.map((d) => d.type);
  // Restart counts follow the actor's own history; everything else tells observations apart.
  return JSON.stringify(kept, (key, value: unknown) =>
    key === 'restartCount' || key === 'resourceVersion' ? undefined : value,
  );
}

/**
 * Replays a generated path on a real actor on a SimulatedClock: each event as the live actor
 * would get it (a second after the last), each timer by letting the clock reach its deadline.
 * Stops where real time cannot follow the path (a later timer fired before an earlier one).
 */
export function replay(model: Model, events: readonly MachineEvent[], policy: MachinePolicy) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const log: Recording = { effects: [], records: [] };
  const actor = createActor(recorded(model.machine, log), {
    clock,
    input: {
      actorKey: model.actorKey,
      policy,
      at: T0,
      ...(model.facts0 ? { facts: model.facts0 } : {}),
    },
  }).start();
  const candidates = eventsFor(model);
  let stoppedAt: string | null = null;
  for (const event of events) {
    if (event.type === ('xstate.init' as string)) continue;
    const snapshot: SnapshotFrom<AnyStateMachine> = actor.getSnapshot();
    if (!event.type.startsWith('xstate.after.')) {
      const mine = candidates(snapshot).find((e) => shape(e) === shape(event));
      if (!mine || !('at' in mine)) {
        stoppedAt = `no ${shape(event)} in ${JSON.stringify(snapshot.value)}`;
        break;
      }
      const at = Math.max(clock.now(), contextOf(actor).now) + 1_000;
      clock.set(at);
      actor.send({ ...mine, at });
      continue;
    }
    const delay = event.type.split('.')[2] as DelayName;
    const due = contextOf(actor).deadlines[DELAY_DEADLINES[delay]];
    const soonest = pendingDeadlines(snapshot as { context: RemediationContext })[0];
    if (due === undefined || soonest === undefined || soonest.at < due) {
      stoppedAt = `${delay} not next in ${JSON.stringify(snapshot.value)}`;
      break;
    }
    clock.set(Math.max(clock.now(), due));
  }
  return { actor, clock, log, stoppedAt };
}

/** Steps every clock through the soonest pending deadline of any actor until none is left. */
export function runOut(
  pairs: readonly { actor: Actor<AnyStateMachine>; clock: SimulatedClock }[],
  until: number,
) {
  for (let i = 0; i < 5_000; i++) {
    const now = Math.max(...pairs.map((p) => p.clock.now()));
    const next = pairs
      .flatMap((p) => pendingDeadlines(p.actor.getSnapshot() as { context: RemediationContext }))
      .map((d) => Math.max(d.at, now))
      .sort((a, b) => a - b)[0];
    if (next === undefined || next > until) return;
    for (const p of pairs) p.clock.set(next);
  }
  const states = pairs.map((p) => JSON.stringify(p.actor.getSnapshot().value));
  throw new Error(`deadlines kept coming: a timer loop? in ${states.join(', ')}`);
}
