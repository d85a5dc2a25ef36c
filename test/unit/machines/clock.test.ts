/**
 * Time-driven behaviour on real actors: the machines' `after` delays run on a SimulatedClock, and
 * effects are recorded by the implementations a runtime would provide.
 */
import { createActor, SimulatedClock, type Actor, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  podMachine,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
  type RecordedEvent,
  type RemediationContext,
} from '../../../src/machines/index.ts';
import { crashLoopingPod, MINUTE, observed, policy, POD_KEY, runningPod, T0 } from './fixtures.ts';

interface Recorded {
  at: number;
  step: string;
  kind: string;
  to?: string;
}

function start(machinePolicy: MachinePolicy) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const effects: Recorded[] = [];
  const records: RecordedEvent[] = [];
  const machine = podMachine.provide({
    actions: {
      enqueueEffect: (_, request: EffectRequest) => {
        const { effect } = request;
        const to = effect.kind === 'notify' && effect.to ? JSON.stringify(effect.to) : undefined;
        effects.push({
          at: clock.now() - T0,
          step: request.step,
          kind: effect.kind,
          ...(to ? { to } : {}),
        });
      },
      recordEvent: (_, event: RecordedEvent) => {
        records.push(event);
      },
    },
  });
  const actor: Actor<AnyStateMachine> = createActor(machine, {
    clock,
    input: { actorKey: POD_KEY, policy: machinePolicy, at: T0 },
  }).start();
  const send = (event: (at: number) => MachineEvent) => actor.send(event(clock.now()));
  const advanceTo = (minutes: number) => clock.set(T0 + minutes * MINUTE);
  const context = () => actor.getSnapshot().context as RemediationContext;
  /** A crash loop confirmed at once and a restart that fails: the incident escalates. */
  const escalateNow = () => {
    send((at) => observed(crashLoopingPod(5), at));
    const effectId = context().incident?.awaiting?.effectId ?? '';
    send((at) => ({ type: 'EFFECT.FAILED', at, effectId, error: 'forbidden' }));
    effects.length = 0;
  };
  return { actor, clock, effects, records, send, advanceTo, context, escalateNow };
}

const ladder = policy({
  detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
  escalation: [
    { afterMs: 0, targets: [{ type: 'slack', channel: '#shop-oncall' }] },
    {
      afterMs: 15 * MINUTE,
      targets: [{ type: 'page', service: 'shop-primary' }, { type: 'ticket' }],
    },
    { afterMs: 45 * MINUTE, targets: [{ type: 'page', service: 'shop-secondary' }] },
  ],
  verificationWindowMs: 10 * MINUTE,
});

const m = (minutes: number) => minutes * MINUTE;

describe('the escalation ladder on a simulated clock', () => {
  it('tells each level when it is due, counted from the escalation', () => {
    const { effects, advanceTo, escalateNow } = start(ladder);
    escalateNow();
    expect(effects).toEqual([]);
    // Escalation at 0 collected evidence and told level 1; those effects were cleared above.
    advanceTo(14.99);
    expect(effects).toEqual([]);
    advanceTo(15);
    expect(effects).toEqual([
      {
        at: m(15),
        step: expect.stringMatching(/-level-2-0$/) as string,
        kind: 'notify',
        to: '{"type":"page","service":"shop-primary"}',
      },
      { at: m(15), step: expect.stringMatching(/-level-2-1$/) as string, kind: 'openTicket' },
    ]);
    advanceTo(45);
    expect(effects.map((e) => [e.at, e.to])).toContainEqual([
      m(45),
      '{"type":"page","service":"shop-secondary"}',
    ]);
  });

  it('stops telling anyone once someone acknowledges', () => {
    const { effects, advanceTo, escalateNow, send, context, records } = start(ladder);
    escalateNow();
    advanceTo(5);
    send((at) => ({ type: 'ACK', at, by: 'alice', incidentId: context().incident?.id ?? '' }));
    advanceTo(120);
    expect(effects).toEqual([]);
    expect(records.at(-1)?.message).toBe('acknowledged by alice: the ladder stops');
  });

  it('holds the ladder while snoozed, then tells the level that fell due', () => {
    const { effects, advanceTo, escalateNow, send, context } = start(ladder);
    escalateNow();
    advanceTo(5);
    send((at) => ({
      type: 'SNOOZE',
      at,
      by: 'bob',
      incidentId: context().incident?.id ?? '',
      durationMs: m(30),
    }));
    advanceTo(34.9);
    expect(effects).toEqual([]);
    advanceTo(35);
    expect(effects.map((e) => [e.at, e.kind])).toEqual([
      [m(35), 'notify'],
      [m(35), 'openTicket'],
    ]);
  });

  it('tells the next level at once when a person escalates', () => {
    const { effects, advanceTo, escalateNow, send, context } = start(ladder);
    escalateNow();
    advanceTo(2);
    send((at) => ({ type: 'ESCALATE', at, by: 'carol', incidentId: context().incident?.id ?? '' }));
    expect(effects.map((e) => [e.at, e.kind])).toEqual([
      [m(2), 'notify'],
      [m(2), 'openTicket'],
    ]);
    advanceTo(15);
    expect(effects).toHaveLength(2);
    advanceTo(45);
    expect(effects).toHaveLength(3);
  });

  it('closes the incident once the symptom stays away for the verification window, and says so', () => {
    const { actor, effects, advanceTo, escalateNow, send } = start(ladder);
    escalateNow();
    advanceTo(3);
    send((at) => observed(runningPod(5), at));
    advanceTo(8);
    send((at) => observed(crashLoopingPod(6), at));
    advanceTo(9);
    send((at) => observed(runningPod(6), at));
    advanceTo(18.9);
    expect(actor.getSnapshot().matches('escalated')).toBe(true);
    advanceTo(19);
    expect(actor.getSnapshot().value).toBe('coolingDown');
    // People are told it ended, and the ticket the ladder opened at 15 minutes is closed.
    expect(effects.slice(-2)).toEqual([
      { at: m(19), step: 'resolved', kind: 'notify' },
      { at: m(19), step: 'resolved-ticket', kind: 'updateTicket' },
    ]);
  });
});

describe('approval and cooldown deadlines on a simulated clock', () => {
  it('escalates an approval request exactly when it expires', () => {
    const { actor, advanceTo, send } = start({
      ...ladder,
      mode: 'approval',
      approvalTimeoutMs: m(30),
    });
    send((at) => observed(crashLoopingPod(5), at));
    advanceTo(29.99);
    expect(actor.getSnapshot().value).toBe('awaitingApproval');
    advanceTo(30);
    expect(actor.getSnapshot().matches('escalated')).toBe(true);
  });

  it('returns to healthy exactly when the cooldown ends', () => {
    const { actor, advanceTo, send, context } = start({
      ...ladder,
      cooldownMs: m(20),
      verificationWindowMs: m(5),
    });
    send((at) => observed(crashLoopingPod(5), at));
    const effectId = context().incident?.awaiting?.effectId ?? '';
    advanceTo(1);
    send((at) => ({ type: 'EFFECT.DONE', at, effectId }));
    send((at) => observed(runningPod(0), at));
    advanceTo(6);
    expect(actor.getSnapshot().value).toBe('coolingDown');
    advanceTo(25.99);
    expect(actor.getSnapshot().value).toBe('coolingDown');
    advanceTo(26);
    expect(actor.getSnapshot().value).toBe('healthy');
  });
});
