import { describe, expect, it } from 'vitest';
import type { SlackUser } from '../../../src/adapters/slack/client.ts';
import { timestampProblem } from '../../../src/chatops/app.ts';
import { namesUser } from '../../../src/chatops/approvers.ts';
import { parseCommand, parseObjectReference } from '../../../src/chatops/commands.ts';

describe('object references in commands', () => {
  it.each([
    ['Pod/shop/web-1', { actorKey: 'Pod/shop/web-1' }],
    ['pod/shop/web-1', { actorKey: 'Pod/shop/web-1' }],
    ['po/shop/web-1', { actorKey: 'Pod/shop/web-1' }],
    ['deploy/shop/web', { actorKey: 'Deployment/shop/web' }],
    ['Node/worker-1', { actorKey: 'Node/worker-1' }],
    ['no/ip-10-0-0-1.ec2.internal', { actorKey: 'Node/ip-10-0-0-1.ec2.internal' }],
    [
      'Pod/shop/web-1#3@1800000000000',
      { actorKey: 'Pod/shop/web-1', incidentId: 'Pod/shop/web-1#3@1800000000000' },
    ],
    ['shop/web-1', null],
    ['Node/shop/web-1', null],
    ['Pod/web-1', null],
    ['Service/shop/web', null],
    ['Pod/Shop/web', null],
    ['Pod/shop/web-1#x', null],
    ['Pod/shop/web-1#3@1800000000000extra', null],
  ])('%s → %o', (text, expected) => {
    expect(parseObjectReference(text)).toEqual(expected);
  });
});

describe('parseCommand', () => {
  it.each([
    ['', { verb: 'help' }],
    ['help', { verb: 'help' }],
    ['status Pod/shop/web-1', { verb: 'status', target: { actorKey: 'Pod/shop/web-1' } }],
    [
      '  approve   deploy/shop/web  ',
      { verb: 'approve', target: { actorKey: 'Deployment/shop/web' } },
    ],
    [
      'snooze Node/worker-1 4h',
      { verb: 'snooze', target: { actorKey: 'Node/worker-1' }, durationMs: 14_400_000 },
    ],
    [
      'snooze Node/worker-1 1h30m',
      { verb: 'snooze', target: { actorKey: 'Node/worker-1' }, durationMs: 5_400_000 },
    ],
    ['trigger Pod/shop/web-1', { verb: 'trigger', target: { actorKey: 'Pod/shop/web-1' } }],
    [
      'trigger Pod/shop/web-1 disk is full',
      { verb: 'trigger', target: { actorKey: 'Pod/shop/web-1' }, reason: 'disk is full' },
    ],
    ['delete Pod/shop/web-1', { verb: 'help', error: 'unknown command "delete"' }],
    ['status', { verb: 'help', error: 'status needs an object or incident' }],
    ['status web-1', { verb: 'help', error: '"web-1" is not an object or incident' }],
    ['approve Pod/shop/web-1 now', { verb: 'help', error: 'approve takes one object or incident' }],
    ['snooze Pod/shop/web-1', { verb: 'help', error: 'snooze needs one duration, e.g. 4h' }],
    ['snooze Pod/shop/web-1 30s', { verb: 'help', error: 'snooze for at least 1m and at most 7d' }],
    ['snooze Pod/shop/web-1 8d', { verb: 'help', error: 'snooze for at least 1m and at most 7d' }],
  ])('%j → %o', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe("bounds on Slack's request timestamp", () => {
  const NOW = 1_800_000_000_000;
  const at = (offsetSeconds: number) => ({
    'x-slack-request-timestamp': String(NOW / 1000 + offsetSeconds),
  });
  it.each([
    ['now', at(0), undefined],
    ['59 s ahead (clock skew)', at(59), undefined],
    ['61 s ahead', at(61), 'request timestamp is in the future'],
    ['a day ahead', at(86_400), 'request timestamp is in the future'],
    ['4 minutes old', at(-240), undefined],
    ['6 minutes old', at(-360), 'request timestamp is too old'],
    ['missing', {}, 'missing or unreadable X-Slack-Request-Timestamp'],
    [
      'not a number',
      { 'x-slack-request-timestamp': '17e8' },
      'missing or unreadable X-Slack-Request-Timestamp',
    ],
    [
      'repeated',
      { 'x-slack-request-timestamp': ['1', '2'] },
      'missing or unreadable X-Slack-Request-Timestamp',
    ],
  ])('%s → %s', (_case, headers, expected) => {
    expect(timestampProblem(headers, NOW, 60_000, 300_000)).toBe(expected);
  });
});

describe('who a policy names as an approver', () => {
  const user: SlackUser = {
    id: 'U0ALICE',
    name: 'alice',
    displayName: 'Alice',
    email: 'Alice@Example.com',
    deleted: false,
    isBot: false,
  };
  it.each([
    ['U0ALICE', true],
    ['alice', true],
    ['@alice', true],
    ['alice@example.com', true],
    ['ALICE@EXAMPLE.COM', true],
    ['u0alice', false],
    ['bob', false],
    ['bob@example.com', false],
    ['', false],
  ])('%j names Alice: %s', (entry, expected) => {
    expect(namesUser(entry, user)).toBe(expected);
  });

  it('an e-mail entry names nobody when Slack does not share e-mail addresses', () => {
    const { email: _email, ...withoutEmail } = user;
    expect(namesUser('alice@example.com', withoutEmail)).toBe(false);
  });
});
