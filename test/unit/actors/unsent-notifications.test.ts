import { describe, expect, it } from 'vitest';
import { unsentProblems } from '../../../src/actors/unsent-notifications.ts';

const unsent = {
  count: 2,
  since: Date.UTC(2026, 10, 28, 10),
  latest: {
    at: Date.UTC(2026, 10, 28, 11),
    object: 'Pod/shop/cart-1',
    what: 'quarantined',
    reason: 'restarts did not hold',
  },
};

describe("what a policy's status says of notifications not sent", () => {
  it.each<[string, { slack?: { channel: string } } | undefined, string | undefined, boolean]>([
    ['the policy and the installation name no channel', {}, undefined, true],
    ['the policy is not known (yet)', undefined, undefined, true],
    ['the policy names a channel now', { slack: { channel: '#shop' } }, undefined, false],
    ['the installation names a channel now', {}, '#ops', false],
  ])('when %s', (_name, policy, slackChannel, told) => {
    expect(unsentProblems(policy, slackChannel, unsent).map((p) => p.reason)).toEqual(
      told ? ['SlackNotConfigured'] : [],
    );
  });

  it('is nothing when no notification was skipped', () => {
    expect(unsentProblems({}, undefined, undefined)).toEqual([]);
  });
});
