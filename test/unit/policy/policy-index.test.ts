import { describe, expect, it } from 'vitest';
import { parsePolicy, type Policy } from '../../../src/policy/policy.ts';
import {
  PolicyIndex,
  type Governance,
  type GovernanceChange,
  type ObjectIdentity,
} from '../../../src/policy/policy-index.ts';

const AGENT_NAMESPACE = 'kube-remedy-system';

interface PolicyShape {
  namespace?: string;
  kinds?: string[];
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
  mode?: string;
}

/** A real parsed policy (so the index sees exactly what the controller gives it). */
function policy(name: string, shape: PolicyShape = {}): Policy {
  const nodes = shape.kinds?.includes('Node') === true;
  const result = parsePolicy({
    metadata: { name, namespace: shape.namespace ?? 'shop', generation: 1 },
    spec: {
      selector: {
        ...(shape.kinds ? { kinds: shape.kinds } : {}),
        ...(shape.matchLabels ? { matchLabels: shape.matchLabels } : {}),
        ...(shape.matchExpressions ? { matchExpressions: shape.matchExpressions } : {}),
      },
      mode: shape.mode ?? 'auto',
      detections: [
        nodes
          ? { type: 'NotReady', action: 'cordon' }
          : shape.kinds?.includes('Pod') === false
            ? { type: 'RolloutFailed', action: 'notify' }
            : { type: 'CrashLoopBackOff', action: 'notify' },
      ],
    },
  });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.policy;
}

const pod = (
  labels: Record<string, string>,
  name = 'web-1',
  namespace = 'shop',
): ObjectIdentity => ({
  kind: 'Pod',
  namespace,
  name,
  labels,
});
const deployment = (labels: Record<string, string>, name = 'web'): ObjectIdentity => ({
  kind: 'Deployment',
  namespace: 'shop',
  name,
  labels,
});
const node = (labels: Record<string, string>, name = 'node-1'): ObjectIdentity => ({
  kind: 'Node',
  name,
  labels,
});

/** `shop/name` when governed, `conflict: a, b` when tied, `none` otherwise. */
function describeGovernance(governance: Governance): string {
  switch (governance.state) {
    case 'governed':
      return `${governance.policy.namespace}/${governance.policy.name}`;
    case 'conflict':
      return `conflict: ${governance.policies.map((ref) => ref.name).join(', ')}`;
    case 'ungoverned':
      return 'none';
  }
}

function indexWith(policies: Policy[]) {
  const changes: GovernanceChange[] = [];
  const index = new PolicyIndex({
    agentNamespace: AGENT_NAMESPACE,
    onChange: (change) => changes.push(change),
  });
  for (const p of policies) index.setPolicy(p);
  return { index, changes };
}

/** Changes as `key: from → to` lines, easy to read in a failing test. */
const moves = (changes: GovernanceChange[]) =>
  changes.map(({ key, from, to }) => `${key}: ${from ? from.name : '-'} → ${to ? to.name : '-'}`);

describe('PolicyIndex: the most specific selector wins', () => {
  const web = { app: 'web', tier: 'frontend' };
  it.each<[string, Policy[], ObjectIdentity, string]>([
    ['a catch-all policy governs any pod', [policy('all')], pod(web), 'shop/all'],
    [
      'a label term beats none',
      [policy('all'), policy('app', { matchLabels: { app: 'web' } })],
      pod(web),
      'shop/app',
    ],
    [
      'two label terms beat one',
      [
        policy('app', { matchLabels: { app: 'web' } }),
        policy('app-tier', { matchLabels: { app: 'web', tier: 'frontend' } }),
      ],
      pod(web),
      'shop/app-tier',
    ],
    [
      'a matchExpressions requirement counts as one term, like a matchLabels entry',
      [
        policy('app', { matchLabels: { app: 'web' } }),
        policy('app-tier', {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'Exists' }],
        }),
      ],
      pod(web),
      'shop/app-tier',
    ],
    [
      'an explicit kind beats the default Pods-and-Deployments at equal label terms',
      [
        policy('any-kind', { matchLabels: { app: 'web' } }),
        policy('pods', { kinds: ['Pod'], matchLabels: { app: 'web' } }),
      ],
      pod(web),
      'shop/pods',
    ],
    [
      'label terms outrank kinds: app=web over any kind beats every Pod',
      [policy('pods', { kinds: ['Pod'] }), policy('app', { matchLabels: { app: 'web' } })],
      pod(web),
      'shop/app',
    ],
    [
      'a more specific policy that does not match is passed over',
      [policy('all'), policy('api', { matchLabels: { app: 'api', tier: 'frontend' } })],
      pod(web),
      'shop/all',
    ],
    [
      'equal terms are a tie, however they are written',
      [
        policy('by-label', { matchLabels: { app: 'web' } }),
        policy('by-expression', {
          matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }],
        }),
      ],
      pod(web),
      'conflict: by-expression, by-label',
    ],
    [
      'a tie at the top is a conflict even when a less specific policy also matches',
      [
        policy('all'),
        policy('a', { matchLabels: { app: 'web' } }),
        policy('b', { matchLabels: { tier: 'frontend' } }),
      ],
      pod(web),
      'conflict: a, b',
    ],
    [
      'three-way ties list every policy, by name',
      [
        policy('c', { kinds: ['Pod'] }),
        policy('a', { kinds: ['Pod'] }),
        policy('b', { kinds: ['Pod'] }),
      ],
      pod(web),
      'conflict: a, b, c',
    ],
    [
      'NotIn matches a pod without the label, as in Kubernetes',
      [
        policy('not-batch', {
          matchExpressions: [{ key: 'workload', operator: 'NotIn', values: ['batch'] }],
        }),
      ],
      pod(web),
      'shop/not-batch',
    ],
    [
      'DoesNotExist excludes a pod with the label',
      [policy('no-tier', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] })],
      pod(web),
      'none',
    ],
    [
      'a label must match its value exactly',
      [policy('app', { matchLabels: { app: 'Web' } })],
      pod(web),
      'none',
    ],
    [
      'a Pod-only policy does not govern Deployments',
      [policy('pods', { kinds: ['Pod'] })],
      deployment(web),
      'none',
    ],
    [
      'Deployments fall to the policy that selects them even if another is more specific for Pods',
      [
        policy('deployments', { kinds: ['Deployment'] }),
        policy('pods', { kinds: ['Pod'], matchLabels: { app: 'web' } }),
      ],
      deployment(web),
      'shop/deployments',
    ],
  ])('%s', (_name, policies, object, expected) => {
    const { index } = indexWith(policies);
    expect(describeGovernance(index.lookup(object))).toBe(expected);
  });

  it('gives the same answer whatever order the policies arrive in', () => {
    const policies = [
      policy('all'),
      policy('app', { matchLabels: { app: 'web' } }),
      policy('pods-app', { kinds: ['Pod'], matchLabels: { app: 'web' } }),
      policy('tier', { kinds: ['Pod'], matchLabels: { tier: 'frontend' } }),
    ];
    const answers = new Set(
      [
        policies,
        [...policies].reverse(),
        [policies[2]!, policies[0]!, policies[3]!, policies[1]!],
      ].map((order) => describeGovernance(indexWith(order).index.lookup(pod(web)))),
    );
    expect([...answers]).toEqual(['conflict: pods-app, tier']);
  });
});

describe('PolicyIndex: tenancy', () => {
  it.each<[string, Policy[], ObjectIdentity, string]>([
    [
      'a policy governs only its own namespace',
      [policy('all', { namespace: 'shop' })],
      pod({}, 'api-1', 'payments'),
      'none',
    ],
    [
      'each namespace has its own winner',
      [policy('all', { namespace: 'shop' }), policy('all', { namespace: 'payments' })],
      pod({}, 'api-1', 'payments'),
      'payments/all',
    ],
    [
      "node policies in the agent's namespace govern nodes",
      [policy('nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] })],
      node({ pool: 'general' }),
      'kube-remedy-system/nodes',
    ],
    [
      'node policies elsewhere govern no node',
      [policy('nodes', { namespace: 'shop', kinds: ['Node'] })],
      node({ pool: 'general' }),
      'none',
    ],
    [
      'node policies elsewhere govern no pod of their namespace either',
      [policy('nodes', { namespace: 'shop', kinds: ['Node'] })],
      pod({}),
      'none',
    ],
    [
      "a workload policy in the agent's namespace governs no node",
      [policy('all', { namespace: AGENT_NAMESPACE })],
      node({}),
      'none',
    ],
    [
      "a node policy in the agent's namespace governs no pod there",
      [policy('nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] })],
      pod({}, 'agent-abc', AGENT_NAMESPACE),
      'none',
    ],
    [
      'node policies compete on specificity like any other',
      [
        policy('all-nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] }),
        policy('gpu-nodes', {
          namespace: AGENT_NAMESPACE,
          kinds: ['Node'],
          matchLabels: { pool: 'gpu' },
        }),
      ],
      node({ pool: 'gpu' }),
      'kube-remedy-system/gpu-nodes',
    ],
  ])('%s', (_name, policies, object, expected) => {
    const { index } = indexWith(policies);
    expect(describeGovernance(index.lookup(object))).toBe(expected);
  });

  it('reports node policies outside the agent namespace as not allowed, and only those', () => {
    const outside = policy('nodes', { namespace: 'shop', kinds: ['Node'] });
    const inside = policy('nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] });
    const workloads = policy('all', { namespace: 'shop' });
    const { index } = indexWith([outside, inside, workloads]);
    expect(index.nodesNotAllowed(outside.ref)).toBe(true);
    expect(index.nodesNotAllowed(inside.ref)).toBe(false);
    expect(index.nodesNotAllowed(workloads.ref)).toBe(false);
  });

  it('uses the configured agent namespace', () => {
    const index = new PolicyIndex({ agentNamespace: 'remedy' });
    index.setPolicy(policy('nodes', { namespace: 'remedy', kinds: ['Node'] }));
    index.setPolicy(policy('nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] }));
    expect(describeGovernance(index.lookup(node({})))).toBe('remedy/nodes');
  });
});

describe('PolicyIndex: changes are reported to the actor registry', () => {
  const web = pod({ app: 'web' });

  it.each<[string, (index: PolicyIndex) => void, string[]]>([
    [
      'a new object selected by a policy',
      (index) => index.setObject(web),
      ['Pod/shop/web-1: - → all'],
    ],
    [
      'a more specific policy takes the object over',
      (index) => {
        index.setObject(web);
        index.setPolicy(policy('app', { matchLabels: { app: 'web' } }));
      },
      ['Pod/shop/web-1: - → all', 'Pod/shop/web-1: all → app'],
    ],
    [
      'deleting that policy hands the object back',
      (index) => {
        index.setPolicy(policy('app', { matchLabels: { app: 'web' } }));
        index.setObject(web);
        index.removePolicy({ namespace: 'shop', name: 'app' });
      },
      ['Pod/shop/web-1: - → app', 'Pod/shop/web-1: app → all'],
    ],
    [
      'a label change moves the object between policies',
      (index) => {
        index.setPolicy(policy('web', { matchLabels: { app: 'web' } }));
        index.setPolicy(policy('api', { matchLabels: { app: 'api' } }));
        index.setObject(web);
        index.setObject(pod({ app: 'api' }));
      },
      ['Pod/shop/web-1: - → web', 'Pod/shop/web-1: web → api'],
    ],
    [
      'a label change that keeps the winner reports nothing',
      (index) => {
        index.setObject(web);
        index.setObject(pod({ app: 'web', version: '2' }));
      },
      ['Pod/shop/web-1: - → all'],
    ],
    [
      'deleting the object',
      (index) => {
        index.setObject(web);
        index.removeObject(web);
      },
      ['Pod/shop/web-1: - → all', 'Pod/shop/web-1: all → -'],
    ],
    [
      'a policy that ties with the winner leaves the object ungoverned',
      (index) => {
        index.setObject(web);
        index.setPolicy(policy('twin'));
      },
      ['Pod/shop/web-1: - → all', 'Pod/shop/web-1: all → -'],
    ],
    [
      'resolving the tie gives the object to the winner',
      (index) => {
        index.setPolicy(policy('twin'));
        index.setObject(web);
        index.setPolicy(policy('twin', { matchLabels: { app: 'web' } }));
      },
      ['Pod/shop/web-1: - → twin'],
    ],
    [
      'narrowing a policy so it no longer matches',
      (index) => {
        index.setPolicy(policy('app', { matchLabels: { app: 'web' } }));
        index.setObject(web);
        index.setPolicy(policy('app', { matchLabels: { app: 'api' } }));
      },
      ['Pod/shop/web-1: - → app', 'Pod/shop/web-1: app → all'],
    ],
    [
      'changing only the mode of the winner reports nothing',
      (index) => {
        index.setObject(web);
        index.setPolicy(policy('all', { mode: 'dryRun' }));
      },
      ['Pod/shop/web-1: - → all'],
    ],
    [
      'a policy in another namespace changes nothing here',
      (index) => {
        index.setObject(web);
        index.setPolicy(policy('app', { namespace: 'payments', matchLabels: { app: 'web' } }));
        index.removePolicy({ namespace: 'payments', name: 'app' });
      },
      ['Pod/shop/web-1: - → all'],
    ],
    [
      'nodes follow node policies',
      (index) => {
        index.setObject(node({ pool: 'gpu' }));
        index.setPolicy(
          policy('gpu', {
            namespace: AGENT_NAMESPACE,
            kinds: ['Node'],
            matchLabels: { pool: 'gpu' },
          }),
        );
        index.setObject(node({ pool: 'general' }));
      },
      ['Node/node-1: - → gpu', 'Node/node-1: gpu → -'],
    ],
    [
      'a node policy outside the agent namespace never takes a node',
      (index) => {
        index.setObject(node({}));
        index.setPolicy(policy('nodes', { namespace: 'shop', kinds: ['Node'] }));
      },
      [],
    ],
  ])('%s', (_name, act, expected) => {
    const { index, changes } = indexWith([policy('all')]);
    act(index);
    expect(moves(changes)).toEqual(expected);
  });

  it('lets the listener read the index in its final state', () => {
    const seen: string[] = [];
    const index: PolicyIndex = new PolicyIndex({
      agentNamespace: AGENT_NAMESPACE,
      onChange: (change) => seen.push(describeGovernance(index.governanceOf(change.key))),
    });
    index.setPolicy(policy('all'));
    index.setObject(web);
    index.setPolicy(policy('twin'));
    expect(seen).toEqual(['shop/all', 'conflict: all, twin']);
  });

  it('hands out the current version of a policy after a change', () => {
    const { index } = indexWith([policy('all')]);
    index.setPolicy(policy('all', { mode: 'dryRun' }));
    expect(index.policy({ namespace: 'shop', name: 'all' })?.mode).toBe('dryRun');
    expect(index.policies()).toHaveLength(1);
  });
});

describe('PolicyIndex: tallies for the policy status', () => {
  it('counts governed objects by kind', () => {
    const { index } = indexWith([
      policy('all'),
      policy('nodes', { namespace: AGENT_NAMESPACE, kinds: ['Node'] }),
    ]);
    index.setObject(pod({}, 'a'));
    index.setObject(pod({}, 'b'));
    index.setObject(deployment({}));
    index.setObject(pod({}, 'elsewhere', 'payments'));
    index.setObject(node({}, 'n1'));
    expect(index.tally({ namespace: 'shop', name: 'all' }).matched).toEqual({
      pods: 2,
      deployments: 1,
      nodes: 0,
      total: 3,
    });
    expect(index.tally({ namespace: AGENT_NAMESPACE, name: 'nodes' }).matched.nodes).toBe(1);
    expect(index.objectCount).toBe(5);
  });

  it('counts tied objects for each side, and forgets them once the tie is resolved', () => {
    const { index } = indexWith([policy('a', { kinds: ['Pod'] }), policy('b', { kinds: ['Pod'] })]);
    index.setObject(pod({}, 'one'));
    index.setObject(pod({}, 'two'));
    index.setObject(deployment({}));
    expect(index.tally({ namespace: 'shop', name: 'a' })).toEqual({
      matched: { pods: 0, deployments: 0, nodes: 0, total: 0 },
      conflictedObjects: 2,
      conflictsWith: [{ policy: { namespace: 'shop', name: 'b' }, objects: 2 }],
    });
    index.removePolicy({ namespace: 'shop', name: 'b' });
    expect(index.tally({ namespace: 'shop', name: 'a' })).toEqual({
      matched: { pods: 2, deployments: 0, nodes: 0, total: 2 },
      conflictedObjects: 0,
      conflictsWith: [],
    });
  });

  it('counts nothing for a policy it does not know', () => {
    const { index } = indexWith([]);
    expect(index.tally({ namespace: 'shop', name: 'ghost' }).matched.total).toBe(0);
  });
});
