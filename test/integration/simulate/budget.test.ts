import { afterEach, describe, expect, it } from 'vitest';
import { Budgets } from '../../../src/budgets/budgets.ts';
import { MemoryBudgets } from '../../../src/budgets/memory.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

describe("the simulation's budget", () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('decides every take as the workers’ Redis budget does, in the same words', async () => {
    scratch = await redisForTest();
    const redis = new Budgets(scratch.redis, scratch.prefix);
    const memory = new MemoryBudgets();
    const policy = { scope: 'policy/shop/restart', limit: 2, windowMs: 60_000 };
    const namespace = { scope: 'namespace/shop', limit: 3, windowMs: 60_000 };
    const other = { scope: 'policy/shop/other', limit: 5, windowMs: 60_000 };
    const takes: [string, (typeof policy)[], number][] = [
      ['a', [policy, namespace], 1_000],
      ['a', [policy, namespace], 2_000], // a retried job: already holds its token
      ['b', [policy, namespace], 3_000],
      ['c', [policy, namespace], 4_000], // the policy is spent
      ['d', [other, namespace], 5_000], // the namespace has one left
      ['e', [other, namespace], 6_000], // the namespace is spent: nothing is taken from other
      ['f', [other], 7_000], // so other still has four
      ['c', [policy, namespace], 61_001], // a's token left the window
    ];
    for (const [id, scopes, now] of takes) {
      const expected = await redis.take(id, scopes, now);
      expect(memory.take(id, scopes, now), `${id} at ${now}`).toEqual(expected);
    }
    expect(memory.used(other, 7_000)).toBe(2);
  });
});
