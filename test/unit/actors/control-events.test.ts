import { describe, expect, it } from 'vitest';
import { toMachineEvent } from '../../../src/actors/control-events.ts';
import type { ControlMessage } from '../../../src/effects/control-stream.ts';

const message = (type: string, payload: Record<string, unknown>): ControlMessage => ({
  id: 'm-1',
  actorKey: 'Pod/shop/cart-1',
  type,
  payload,
});

describe('control messages as machine events', () => {
  it.each<[string, ControlMessage, unknown]>([
    [
      'an effect result',
      message('EFFECT.DONE', {
        at: 5,
        effectId: 'job',
        incidentId: 'inc',
        step: 'remediate-1',
        result: { outcome: 'deleted pod shop/cart-1' },
      }),
      {
        type: 'EFFECT.DONE',
        at: 5,
        effectId: 'inc/remediate-1',
        outcome: 'deleted pod shop/cart-1',
      },
    ],
    [
      'an effect failure',
      message('EFFECT.FAILED', {
        at: 5,
        incidentId: 'inc',
        step: 'remediate-1',
        error: { message: 'not allowed', code: 'forbidden' },
      }),
      { type: 'EFFECT.FAILED', at: 5, effectId: 'inc/remediate-1', error: 'not allowed' },
    ],
    [
      'a merged pull request',
      message('PROPOSAL.MERGED', {
        at: 9,
        effectId: 'job',
        incidentId: 'inc',
        step: 'propose-1',
        by: 'octocat',
      }),
      { type: 'PROPOSAL.MERGED', at: 9, effectId: 'inc/propose-1', by: 'octocat' },
    ],
    [
      'an approval from Slack',
      message('APPROVE', { at: 7, by: 'U123', incidentId: 'inc' }),
      { type: 'APPROVE', at: 7, by: 'U123', incidentId: 'inc', id: 'm-1' },
    ],
    [
      'a snooze with its duration',
      message('SNOOZE', { at: 7, by: 'U123', incidentId: 'inc', durationMs: 3_600_000 }),
      { type: 'SNOOZE', at: 7, by: 'U123', incidentId: 'inc', id: 'm-1', durationMs: 3_600_000 },
    ],
    [
      'a trigger from Slack, with who asked and why (about no incident yet)',
      message('TRIGGER', { at: 8, by: 'U123', incidentId: '', reason: 'customers see 502s' }),
      { type: 'TRIGGER', at: 8, by: 'U123', reason: 'customers see 502s' },
    ],
    [
      'a scale proposal',
      message('SCALE.PROPOSED', { at: 3, from: 2, to: 4, reason: '2 of 3 signals high' }),
      { type: 'SCALE.PROPOSED', at: 3, from: 2, to: 4, reason: '2 of 3 signals high' },
    ],
  ])('translates %s', (_, input, expected) => {
    expect(toMachineEvent(input, 100)).toEqual({ event: expected });
  });

  it.each<[string, ControlMessage, RegExp]>([
    ['a command without who sent it', message('APPROVE', { incidentId: 'inc' }), /without who/],
    [
      'a snooze without a duration',
      message('SNOOZE', { by: 'U1', incidentId: 'inc' }),
      /SNOOZE without a duration/,
    ],
    [
      'a result without its step',
      message('EFFECT.DONE', { incidentId: 'inc' }),
      /without incident and step/,
    ],
    ['a trigger without who asked', message('TRIGGER', {}), /TRIGGER without who/],
    ['an unknown type', message('REBOOT', {}), /unknown control message type REBOOT/],
  ])('ignores %s, saying why', (_, input, why) => {
    const translated = toMachineEvent(input, 100);
    expect('ignored' in translated && translated.ignored).toMatch(why);
  });

  it('stamps a message without a time with the time it arrived', () => {
    expect(toMachineEvent(message('ACK', { by: 'U1', incidentId: 'inc' }), 42)).toEqual({
      event: { type: 'ACK', at: 42, by: 'U1', incidentId: 'inc', id: 'm-1' },
    });
  });
});
