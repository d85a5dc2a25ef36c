import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Budgets, type BudgetScope } from '../../../src/budgets/budgets.ts';
import { budgetClaim, spendBudget, type BudgetStore } from '../../../src/budgets/claims.ts';
import { MemoryBudgets } from '../../../src/budgets/memory.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const MINUTE = 60_000;

describe('safety budgets in Redis', () => {
  let scratch: RedisForTest | undefined;
  const opened: { close: () => Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function budgets(): Promise<Budgets> {
    scratch = await redisForTest();
    const b = new Budgets(scratch.redis, scratch.prefix);
    opened.push(b);
    return b;
  }

  /** Another process's view of the same budgets: its own connections. */
  function elsewhere(s: RedisForTest): Budgets {
    const redis = new Redis(s.url, { lazyConnect: true });
    const b = new Budgets(redis, s.prefix);
    opened.push({ close: () => b.close().then(() => redis.quit()) });
    return b;
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

  it('lets exactly the limit through when workers in many processes race for it', async () => {
    const b = await budgets();
    const s = scratch as RedisForTest;
    const processes = [b, elsewhere(s), elsewhere(s), elsewhere(s)];
    const decisions = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (processes[i % processes.length] as Budgets).take(`race-${i}`, [policy, namespace], 0),
      ),
    );
    expect(decisions.filter((d) => d.decision === 'allowed')).toHaveLength(3);
    expect((await b.usage([policy, namespace], 1)).map((u) => u.used)).toEqual([3, 3]);
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
        incidentId: 'drain-n1',
        healthyNodes: 10,
        minHealthyNodes: 2,
      });
      expect(first.decision).toBe('allowed');
      const second = await b.takeNodeSlot({
        node: 'n2',
        incidentId: 'drain-n2',
        healthyNodes: 9,
        minHealthyNodes: 2,
      });
      expect(second).toEqual({
        decision: 'denied',
        why: 'another-node-draining',
        reason: 'another node is out of service; nodes are taken out of service one at a time',
      });
      await b.releaseNodeSlot('n1');
      expect(
        (
          await b.takeNodeSlot({
            node: 'n2',
            incidentId: 'drain-n2',
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
        incidentId: 'd',
        healthyNodes: 3,
        minHealthyNodes: 3,
      });
      expect(decision).toEqual({
        decision: 'denied',
        why: 'min-healthy-nodes',
        reason: 'taking n1 out of service would leave 2 healthy nodes, below minHealthyNodes 3',
      });
      expect(await b.nodesDisrupted()).toEqual({});
    });

    it("lets the incident's later steps retake its own slot, and no other incident", async () => {
      const b = await budgets();
      await b.takeNodeSlot({
        node: 'n1',
        incidentId: 'Node/n1#1@0',
        healthyNodes: 5,
        minHealthyNodes: 1,
      });
      const again = await b.takeNodeSlot({
        node: 'n1',
        incidentId: 'Node/n1#1@0',
        healthyNodes: 4,
        minHealthyNodes: 1,
      });
      expect(again.decision).toBe('allowed');
      const other = await b.takeNodeSlot({
        node: 'n1',
        incidentId: 'Node/n1#2@5000',
        healthyNodes: 4,
        minHealthyNodes: 1,
      });
      expect(other).toMatchObject({ decision: 'denied', why: 'node-busy' });
    });
  });

  describe('node slots', () => {
    it('lets one of many nodes racing from many processes go out of service', async () => {
      const b = await budgets();
      const s = scratch as RedisForTest;
      const processes = [b, elsewhere(s), elsewhere(s)];
      const decisions = await Promise.all(
        ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((node, i) =>
          (processes[i % processes.length] as Budgets).takeNodeSlot({
            node,
            incidentId: `Node/${node}#1@0`,
            healthyNodes: 6,
            minHealthyNodes: 1,
          }),
        ),
      );
      expect(decisions.filter((d) => d.decision === 'allowed')).toHaveLength(1);
      expect(Object.keys(await b.nodesDisrupted())).toHaveLength(1);
    });

    it("releases an incident's own hold and nobody else's", async () => {
      const b = await budgets();
      await b.takeNodeSlot({
        node: 'n1',
        incidentId: 'Node/n1#1@0',
        healthyNodes: 5,
        minHealthyNodes: 1,
      });
      expect(await b.releaseNodeSlot('n1', 'Node/n1#0@0')).toBe(false);
      expect(await b.nodesDisrupted()).toEqual({ n1: 'Node/n1#1@0' });
      expect(await b.releaseNodeSlot('n1', 'Node/n1#1@0')).toBe(true);
      expect(await b.nodesDisrupted()).toEqual({});
    });
  });
});

/** A node action job as the agent enqueues it. */
function nodeJob(
  kind: 'cordon' | 'drain',
  node: string,
  incidentId: string,
  scopes: BudgetScope[],
): EffectJob {
  return {
    owner: `agent-${node}`,
    actorKey: `Node/${node}`,
    incidentId,
    step: kind === 'cordon' ? 'remediate-1' : 'remediate-2',
    effect: { kind, node, uid: 'u' },
    requestedAt: 0,
    budget: { scopes, minHealthyNodes: 2 },
  };
}

describe.each([
  ['Redis', 'redis'],
  ['memory (simulate)', 'memory'],
] as const)('what an action takes before it acts, from the %s budgets', (_name, store) => {
  let scratch: RedisForTest | undefined;
  let redisBudgets: Budgets | undefined;
  afterEach(async () => {
    await redisBudgets?.close();
    await scratch?.cleanup();
    scratch = redisBudgets = undefined;
  });

  async function open(): Promise<
    BudgetStore & {
      nodesDisrupted: () => unknown;
      releaseNodeSlot: (node: string, incidentId?: string) => Promise<boolean> | boolean;
    }
  > {
    if (store === 'memory') return new MemoryBudgets();
    scratch = await redisForTest();
    redisBudgets = new Budgets(scratch.redis, scratch.prefix);
    return redisBudgets;
  }

  const nodes: BudgetScope = {
    scope: 'policy/kube-remedy-system/nodes',
    limit: 1,
    windowMs: 3_600_000,
  };

  it('lets a drain follow its own cordon: one token and one slot for the incident', async () => {
    const b = await open();
    const spend = (job: EffectJob, at: number) =>
      spendBudget(b, budgetClaim(job, `${job.step}-id`) ?? expect.fail('no claim'), {
        now: at,
        healthyNodes: () => ({ count: 4, includesNode: true, selected: 4 }),
      });
    const incident = 'Node/w1#1@0';
    expect(await spend(nodeJob('cordon', 'w1', incident, [nodes]), 1_000)).toEqual({
      spent: true,
      tokenTaken: true,
    });
    // The node is cordoned now, so it no longer counts as healthy; the drain still goes ahead.
    expect(await spend(nodeJob('drain', 'w1', incident, [nodes]), 2_000)).toEqual({
      spent: true,
      tokenTaken: false,
    });
    expect(await b.nodesDisrupted()).toEqual({ w1: incident });
    // Another node's incident: the policy's one token is spent, and the slot is taken.
    expect(await spend(nodeJob('cordon', 'w2', 'Node/w2#1@0', [nodes]), 3_000)).toMatchObject({
      spent: false,
      why: 'budget-exhausted',
    });
  });

  it('never lets a late retry of an incident that let go of its slot take the node again', async () => {
    const b = await open();
    const claim =
      budgetClaim(nodeJob('drain', 'w1', 'Node/w1#1@0', []), 'x') ?? expect.fail('no claim');
    expect(
      await spendBudget(b, claim, {
        now: 0,
        healthyNodes: () => ({ count: 4, includesNode: true, selected: 4 }),
      }),
    ).toMatchObject({
      spent: true,
    });
    // The incident is handed to people: its slot is let go. Its drain, retried, finds it gone.
    expect(await b.releaseNodeSlot('w1', 'Node/w1#1@0')).toBe(true);
    expect(
      await spendBudget(b, claim, {
        now: 1,
        healthyNodes: () => ({ count: 4, includesNode: true, selected: 4 }),
      }),
    ).toMatchObject({
      spent: false,
      why: 'incident-ended',
    });
    expect(await b.nodesDisrupted()).toEqual({});
  });

  it('lets a dead node handed to people be tainted out of service: no slot, no second token', async () => {
    const b = await open();
    const incident = 'Node/w1#1@0';
    const healthy = () => ({ count: 4, includesNode: false, selected: 4 });
    const cordon = budgetClaim(nodeJob('cordon', 'w1', incident, [nodes]), 'c') ?? expect.fail();
    expect(await spendBudget(b, cordon, { now: 0, healthyNodes: healthy })).toMatchObject({
      spent: true,
      tokenTaken: true,
    });
    // Not back: people own it, and the incident lets go of the node's slot.
    expect(await b.releaseNodeSlot('w1', incident)).toBe(true);
    const failover: EffectJob = {
      ...nodeJob('cordon', 'w1', incident, [nodes]),
      step: 'out-of-service',
      effect: {
        kind: 'taint',
        node: 'w1',
        uid: 'u',
        taint: {
          key: 'node.kubernetes.io/out-of-service',
          value: 'nodeshutdown',
          effect: 'NoExecute',
        },
      },
    };
    const claim = budgetClaim(failover, 'o') ?? expect.fail('no claim');
    expect(claim.nodeSlot).toBeNull();
    expect(await spendBudget(b, claim, { now: 1, healthyNodes: healthy })).toEqual({
      spent: true,
      tokenTaken: false,
    });
    expect(await b.nodesDisrupted()).toEqual({});
  });

  it('reads a floor given as a percentage of the nodes the policy selects, counted now', async () => {
    const b = await open();
    const job: EffectJob = {
      ...nodeJob('cordon', 'w1', 'Node/w1#1@0', [{ ...nodes, limit: 5 }]),
      budget: { scopes: [{ ...nodes, limit: 5 }], minHealthyNodes: 0, minHealthyPercent: 60 },
    };
    const claim = budgetClaim(job, 'x') ?? expect.fail('no claim');
    // 60% of 5 selected is 3; w1 is one of the 3 healthy: 2 would remain.
    expect(
      await spendBudget(b, claim, {
        now: 0,
        healthyNodes: () => ({ count: 3, includesNode: true, selected: 5 }),
      }),
    ).toMatchObject({ spent: false, why: 'min-healthy-nodes' });
    // 60% of 4 selected is 3 (rounded up); 4 healthy: 3 remain.
    expect(
      await spendBudget(b, claim, {
        now: 1,
        healthyNodes: () => ({ count: 4, includesNode: true, selected: 4 }),
      }),
    ).toMatchObject({ spent: true });
  });

  it('gives the token back when the node slot is refused', async () => {
    const b = await open();
    const roomy = { ...nodes, limit: 5 };
    const claim = (node: string) =>
      budgetClaim(nodeJob('cordon', node, `Node/${node}#1@0`, [roomy]), 'x') ??
      expect.fail('no claim');
    await spendBudget(b, claim('w1'), {
      now: 0,
      healthyNodes: () => ({ count: 4, includesNode: true, selected: 4 }),
    });
    expect(
      await spendBudget(b, claim('w2'), {
        now: 1,
        healthyNodes: () => ({ count: 3, includesNode: true, selected: 3 }),
      }),
    ).toEqual({
      spent: false,
      why: 'another-node-draining',
      reason: 'another node is out of service; nodes are taken out of service one at a time',
    });
    // One token used (w1's), so four more actions fit.
    for (let i = 0; i < 4; i += 1)
      expect(await b.take(`later-${i}`, [roomy], 2)).toMatchObject({ decision: 'allowed' });
    expect(await b.take('one-too-many', [roomy], 2)).toMatchObject({ decision: 'denied' });
  });
});
