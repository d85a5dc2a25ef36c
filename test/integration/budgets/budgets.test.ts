import { afterEach, describe, expect, it } from 'vitest';
import { Budgets, type BudgetScope } from '../../../src/budgets/budgets.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const MINUTE = 60_000;

describe('safety budgets in Redis', () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function budgets(): Promise<Budgets> {
    scratch = await redisForTest();
    return new Budgets(scratch.redis, scratch.prefix);
  }

  const policy: BudgetScope = { scope: 'policy/shop/restarts', limit: 3, windowMs: 10 * MINUTE };
  const namespace: BudgetScope = { scope: 'namespace/shop', limit: 5, windowMs: 10 * MINUTE };
  const cluster: BudgetScope = { scope: 'cluster', limit: 100, windowMs: MINUTE };

  it('allows actions up to the limit, then denies with when the next token comes', async () => {
    const b = await budgets();
    for (const [i, at] of [0, 1000, 2000].entries()) {
      expect((await b.take(`a${i}`, [policy], at)).decision).toBe('allowed');
    }
    const denied = await b.take('a3', [policy], 3000);
    expect(denied).toEqual({
      decision: 'denied',
      scope: 'policy/shop/restarts',
      retryAfterMs: 10 * MINUTE - 3000,
      reason: 'budget policy/shop/restarts spent: 3 actions per 600s; next token in 597s',
    });
  });

  it('refills as the window slides past old actions', async () => {
    const b = await budgets();
    for (const id of ['a', 'b', 'c']) await b.take(id, [policy], 0);
    expect((await b.take('d', [policy], 10 * MINUTE - 1)).decision).toBe('denied');
    expect((await b.take('d', [policy], 10 * MINUTE + 1)).decision).toBe('allowed');
  });

  it('takes from every scope or from none', async () => {
    const b = await budgets();
    const tightNamespace = { ...namespace, limit: 1 };
    expect((await b.take('x', [tightNamespace], 0)).decision).toBe('allowed');
    const denied = await b.take('y', [policy, tightNamespace, cluster], 1);
    expect(denied).toMatchObject({ decision: 'denied', scope: 'namespace/shop' });
    const usage = await b.usage([policy, tightNamespace, cluster], 2);
    expect(usage.map((u) => [u.scope, u.used])).toEqual([
      ['policy/shop/restarts', 0],
      ['namespace/shop', 1],
      ['cluster', 0],
    ]);
  });

  it('never spends twice for the same action, however often it is retried', async () => {
    const b = await budgets();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await b.take('restart-cart-1', [policy, namespace], attempt)).decision).toBe(
        'allowed',
      );
    }
    expect((await b.usage([policy], 10))[0]?.used).toBe(1);
  });

  it('lets exactly the limit through when many workers race for it', async () => {
    const b = await budgets();
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => b.take(`race-${i}`, [policy, namespace, cluster], 0)),
    );
    expect(decisions.filter((d) => d.decision === 'allowed')).toHaveLength(3);
  });

  it('gives a token back for an action that did not happen', async () => {
    const b = await budgets();
    for (const id of ['a', 'b', 'c']) await b.take(id, [policy], 0);
    await b.giveBack('c', [policy]);
    expect((await b.take('d', [policy], 1)).decision).toBe('allowed');
  });

  describe('node slots', () => {
    it('drains one node at a time', async () => {
      const b = await budgets();
      const first = await b.takeNodeSlot({
        node: 'n1',
        actionId: 'drain-n1',
        healthyNodes: 10,
        minHealthyNodes: 2,
      });
      expect(first.decision).toBe('allowed');
      const second = await b.takeNodeSlot({
        node: 'n2',
        actionId: 'drain-n2',
        healthyNodes: 9,
        minHealthyNodes: 2,
      });
      expect(second).toEqual({
        decision: 'denied',
        why: 'another-node-draining',
        reason: 'another node is being drained; nodes are drained one at a time',
      });
      await b.releaseNodeSlot('n1');
      expect(
        (
          await b.takeNodeSlot({
            node: 'n2',
            actionId: 'drain-n2',
            healthyNodes: 9,
            minHealthyNodes: 2,
          })
        ).decision,
      ).toBe('allowed');
    });

    it('never goes below minHealthyNodes', async () => {
      const b = await budgets();
      const decision = await b.takeNodeSlot({
        node: 'n1',
        actionId: 'd',
        healthyNodes: 3,
        minHealthyNodes: 3,
      });
      expect(decision).toEqual({
        decision: 'denied',
        why: 'min-healthy-nodes',
        reason: 'draining n1 would leave 2 healthy nodes, below minHealthyNodes 3',
      });
      expect(await b.nodesDisrupted()).toEqual({});
    });

    it('lets the same action retake its own slot', async () => {
      const b = await budgets();
      await b.takeNodeSlot({
        node: 'n1',
        actionId: 'drain-n1',
        healthyNodes: 5,
        minHealthyNodes: 1,
      });
      const again = await b.takeNodeSlot({
        node: 'n1',
        actionId: 'drain-n1',
        healthyNodes: 4,
        minHealthyNodes: 1,
      });
      expect(again.decision).toBe('allowed');
      const other = await b.takeNodeSlot({
        node: 'n1',
        actionId: 'taint-n1',
        healthyNodes: 4,
        minHealthyNodes: 1,
      });
      expect(other).toMatchObject({ decision: 'denied', why: 'node-busy' });
    });
  });
});
