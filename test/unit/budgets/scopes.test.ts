import { describe, expect, it } from 'vitest';
import { countHealthyNodes } from '../../../src/budgets/healthy-nodes.ts';
import { toEffectJob } from '../../../src/actors/effect-jobs.ts';
import {
  actionScopes,
  DISRUPTIVE_KINDS,
  jobBudget,
  policyScopes,
  type BudgetLimits,
} from '../../../src/budgets/scopes.ts';
import type { EffectRequest, RemediationContext } from '../../../src/machines/index.ts';
import { parsedPolicy } from './support.ts';

const HOUR = 3_600_000;
const limits: BudgetLimits = { namespaceMaxActions: 20, clusterMaxActions: 100, windowMs: HOUR };
const restarts = parsedPolicy('shop', 'restarts', { budget: { maxActions: 3, window: '10m' } });
const nodes = parsedPolicy('kube-remedy-system', 'nodes', {
  selector: { kinds: ['Node'] },
  detections: [{ type: 'NotReady', action: 'cordon' }],
  budget: { minHealthyNodes: 4 },
});

const policyScope = { scope: 'policy/shop/restarts', limit: 3, windowMs: 600_000 };
const namespaceScope = { scope: 'namespace/shop', limit: 20, windowMs: HOUR };
const clusterScope = { scope: 'cluster', limit: 100, windowMs: HOUR };

describe('budget scopes', () => {
  it.each([
    ['a pod action', restarts, 'shop', [policyScope, namespaceScope, clusterScope]],
    [
      'a node action',
      nodes,
      null,
      [{ scope: 'policy/kube-remedy-system/nodes', limit: 10, windowMs: HOUR }, clusterScope],
    ],
    ['an action whose policy is gone', undefined, 'shop', [namespaceScope, clusterScope]],
  ] as const)('%s takes from its policy, its namespace and the cluster', (_n, p, ns, scopes) => {
    expect(actionScopes(p, ns, limits)).toEqual(scopes);
  });

  it("decides a policy's automation on every scope its actions take from", () => {
    expect(policyScopes(restarts, limits)).toEqual([policyScope, namespaceScope, clusterScope]);
    expect(policyScopes(nodes, limits).map((s) => s.scope)).toEqual([
      'policy/kube-remedy-system/nodes',
      'cluster',
    ]);
  });

  it.each([
    ['restartPod', null, { scopes: [policyScope, namespaceScope, clusterScope] }],
    ['rollback', null, { scopes: [policyScope, namespaceScope, clusterScope] }],
    ['restartPod', 'alice', { scopes: [] }],
    ['uncordon', null, undefined],
    ['notify', null, undefined],
  ] as const)('gives a %s job approved by %s the budget %j', (kind, approvedBy, expected) => {
    const budget = jobBudget({ kind, policy: restarts, namespace: 'shop', limits, approvedBy });
    expect(budget).toEqual(
      expected === undefined ? undefined : { ...expected, minHealthyNodes: 1 },
    );
  });

  it('keeps minHealthyNodes for an approved node disruption, which takes no token', () => {
    expect(
      jobBudget({ kind: 'drain', policy: nodes, namespace: null, limits, approvedBy: 'bob' }),
    ).toEqual({ scopes: [], minHealthyNodes: 4, nodeSelector: {} });
  });

  it("counts a node policy's minHealthyNodes among the nodes it selects", () => {
    const pool = parsedPolicy('kube-remedy-system', 'pool', {
      selector: { kinds: ['Node'], matchLabels: { pool: 'batch' } },
      detections: [{ type: 'MemoryPressure', action: 'drain' }],
      budget: { minHealthyNodes: 2 },
    });
    const budget = jobBudget({
      kind: 'drain',
      policy: pool,
      namespace: null,
      limits,
      approvedBy: null,
    });
    expect(budget?.nodeSelector).toEqual({ matchLabels: { pool: 'batch' } });
    const node = (pool: string, ready = true, unschedulable = false) => ({
      labels: { pool },
      ready,
      unschedulable,
    });
    const cluster = [
      node('batch'),
      node('batch'),
      node('batch', false),
      node('batch', true, true),
      node('web'),
      node('web'),
    ];
    // Two Ready, schedulable batch nodes: the web pool's capacity does not count for this policy.
    expect(countHealthyNodes(cluster, budget?.nodeSelector)).toBe(2);
    expect(countHealthyNodes(cluster, undefined)).toBe(4);
  });

  it('counts exactly the kinds the Kubernetes workers spend budget on', () => {
    expect([...DISRUPTIVE_KINDS].sort()).toEqual(
      [
        'cordon',
        'deletePod',
        'drain',
        'evictPod',
        'restartPod',
        'rollback',
        'rolloutRestart',
        'scale',
        'taint',
      ].sort(),
    );
  });
});

describe('budgets on the jobs the runtime enqueues', () => {
  const target = {
    kind: 'Pod' as const,
    namespace: 'shop',
    name: 'cart-1',
    uid: 'u1',
    resourceVersion: '7',
  };
  const incidentId = 'Pod/shop/cart-1#1@5';
  const request: EffectRequest = {
    actorKey: 'Pod/shop/cart-1',
    incidentId,
    step: 'remediate-1',
    effectId: `${incidentId}/remediate-1`,
    requestedAt: 5,
    effect: { kind: 'restartPod', target, reason: 'crash loop' },
  };
  const actor = (approvedBy: string | null, id = incidentId) =>
    ({
      incident: { id, approvedBy, trigger: { kind: 'scale' } },
      history: [],
    }) as unknown as RemediationContext;
  const context = { owner: 'agent-n1', policyRef: 'shop/restarts', policy: restarts, limits };

  it('carries the three scopes and minHealthyNodes on an automatic restart', () => {
    expect(toEffectJob(request, { ...context, actor: actor(null) })?.budget).toEqual({
      scopes: [policyScope, namespaceScope, clusterScope],
      minHealthyNodes: 1,
    });
  });

  it('takes no token for an incident a person approved', () => {
    expect(toEffectJob(request, { ...context, actor: actor('alice') })?.budget).toEqual({
      scopes: [],
      minHealthyNodes: 1,
    });
  });

  it("does not borrow another incident's approval", () => {
    const job = toEffectJob(request, { ...context, actor: actor('alice', 'Pod/shop/cart-1#2@9') });
    expect(job?.budget?.scopes).toHaveLength(3);
  });

  it('carries no budget on what disrupts nothing', () => {
    const notify: EffectRequest = {
      ...request,
      step: 'approval',
      effect: {
        kind: 'notify',
        purpose: 'approvalRequested',
        to: null,
        level: null,
        target,
        reason: 'x',
      },
    };
    expect(toEffectJob(notify, { ...context, actor: actor(null) })?.budget).toBeUndefined();
  });
});
