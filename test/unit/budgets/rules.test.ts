import { describe, expect, it } from 'vitest';
import { healthyCount } from '../../../src/budgets/healthy-nodes.ts';
import {
  claimNodeSlot,
  scopeState,
  takeTokens,
  type BudgetScope,
  type Token,
} from '../../../src/budgets/rules.ts';

/** Takes for `actionId` from scopes holding these tokens, at `now`. */
const take = (scopes: [BudgetScope, readonly Token[]][], actionId: string, now: number) =>
  takeTokens(
    scopes.map(([scope, tokens]) => scopeState(scope, tokens, actionId, now)),
    now,
  );

const MINUTE = 60_000;
const policy: BudgetScope = { scope: 'policy/shop/restart', limit: 2, windowMs: 10 * MINUTE };
const namespace: BudgetScope = { scope: 'namespace/shop', limit: 3, windowMs: 10 * MINUTE };

describe('the action budget rule', () => {
  it.each([
    ['a fresh scope', [], 'allowed', true],
    ['one token left', [{ id: 'a', at: 0 }], 'allowed', true],
    [
      'the limit reached',
      [
        { id: 'a', at: 0 },
        { id: 'b', at: MINUTE },
      ],
      'denied',
      false,
    ],
    [
      'the limit reached by tokens that left the window',
      [
        { id: 'a', at: -20 * MINUTE },
        { id: 'b', at: -11 * MINUTE },
      ],
      'allowed',
      true,
    ],
  ] as const)('with %s: %s', (_name, tokens, decision, writes) => {
    const outcome = take([[policy, tokens]], 'new', 2 * MINUTE);
    expect(outcome.decision.decision).toBe(decision);
    expect(outcome.take).toBe(writes);
  });

  it('says which scope is spent and when its next token comes', () => {
    const outcome = take(
      [
        [namespace, []],
        [
          policy,
          [
            { id: 'a', at: MINUTE },
            { id: 'b', at: 2 * MINUTE },
          ],
        ],
      ],
      'c',
      3 * MINUTE,
    );
    expect(outcome).toEqual({
      take: false,
      decision: {
        decision: 'denied',
        scope: 'policy/shop/restart',
        retryAfterMs: 8 * MINUTE,
        reason: 'budget policy/shop/restart spent: 2 actions per 600s; next token in 480s',
      },
    });
  });

  it('never takes a second token for an action that holds one, even in a spent scope', () => {
    const tokens = [
      { id: 'a', at: 0 },
      { id: 'b', at: 0 },
    ];
    expect(take([[policy, tokens]], 'b', 1)).toEqual({
      take: false,
      decision: { decision: 'allowed', reason: 'budget already taken for this action' },
    });
  });
});

describe('the node slot rule', () => {
  const request = {
    node: 'w1',
    incidentId: 'Node/w1#1@0',
    healthyNodes: 4,
    minHealthyNodes: 2,
  };

  it('gives a free node to its incident, and again to that incident’s later steps', () => {
    expect(claimNodeSlot({}, request)).toMatchObject({
      take: true,
      decision: { decision: 'allowed' },
    });
    expect(claimNodeSlot({ w1: 'Node/w1#1@0' }, { ...request, healthyNodes: 3 })).toEqual({
      take: false,
      decision: {
        decision: 'allowed',
        reason: 'node w1 is already out of service for this incident',
      },
    });
  });

  it.each([
    ['another incident holds this node', { w1: 'Node/w1#0@0' }, 4, 'node-busy'],
    ['another node is out of service', { w2: 'Node/w2#1@0' }, 4, 'another-node-draining'],
    ['too few healthy nodes would remain', {}, 2, 'min-healthy-nodes'],
  ] as const)('refuses when %s', (_name, holders, healthyNodes, why) => {
    const outcome = claimNodeSlot(holders, { ...request, healthyNodes });
    expect(outcome.take).toBe(false);
    expect(outcome.decision).toMatchObject({ decision: 'denied', why });
  });

  it('takes nothing from the floor for a node that is not healthy already (a dead node cordoned)', () => {
    // Two healthy nodes, both other than w1: cordoning w1 leaves two.
    const dead = { ...request, healthyNodes: 2, nodeIsHealthy: false };
    expect(claimNodeSlot({}, dead)).toMatchObject({ take: true });
    expect(claimNodeSlot({}, { ...dead, healthyNodes: 1 }).decision).toEqual({
      decision: 'denied',
      why: 'min-healthy-nodes',
      reason: 'taking w1 out of service would leave 1 healthy nodes, below minHealthyNodes 2',
    });
  });

  it('counts a node among the healthy only when it is Ready, schedulable and selected', () => {
    const nodes = [
      { name: 'w1', labels: { pool: 'a' }, unschedulable: false, ready: false },
      { name: 'w2', labels: { pool: 'a' }, unschedulable: false, ready: true },
      { name: 'w3', labels: { pool: 'b' }, unschedulable: false, ready: true },
    ];
    const pool = { matchLabels: { pool: 'a' } };
    // Pool a selects w1 and w2 (a percentage floor counts both); w2 alone is healthy.
    expect(healthyCount(nodes, pool, 'w1')).toEqual({
      count: 1,
      includesNode: false,
      selected: 2,
    });
    expect(healthyCount(nodes, pool, 'w2')).toEqual({ count: 1, includesNode: true, selected: 2 });
    expect(healthyCount(nodes, pool, 'w3')).toEqual({
      count: 1,
      includesNode: false,
      selected: 2,
    });
    expect(healthyCount(nodes, undefined, 'w3')).toEqual({
      count: 2,
      includesNode: true,
      selected: 3,
    });
  });

  it('refuses a late retry of an incident that already let go of its slot', () => {
    const outcome = claimNodeSlot({}, request, true);
    expect(outcome.take).toBe(false);
    expect(outcome.decision).toEqual({
      decision: 'denied',
      why: 'incident-ended',
      reason:
        'incident Node/w1#1@0 no longer holds node w1 (it ended or was handed to people), so the node is not taken out of service again',
    });
  });

  it('allows several nodes at once when the installation says so', () => {
    expect(claimNodeSlot({ w2: 'Node/w2#1@0' }, { ...request, maxAtOnce: 2 }).take).toBe(true);
  });
});
