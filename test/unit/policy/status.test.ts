import { describe, expect, it } from 'vitest';
import { parsePolicy, type ParseResult } from '../../../src/policy/policy.ts';
import type { PolicyTally } from '../../../src/policy/policy-index.ts';
import {
  policyStatus,
  slackNotConfiguredProblem,
  statusDiffers,
  type Condition,
  type PolicyFacts,
} from '../../../src/policy/status.ts';
import { minimalSpec } from './corpus.ts';

const NOW = new Date('2026-11-28T12:00:00.000Z');
const EARLIER = '2026-11-27T08:00:00Z';

function parsed(spec: unknown, namespace = 'shop', generation = 4): ParseResult {
  return parsePolicy({ metadata: { name: 'web', namespace, generation }, spec });
}

const nodeSpec = {
  selector: { kinds: ['Node'] },
  mode: 'auto',
  detections: [{ type: 'NotReady', action: 'cordon' }],
};

function tally(changes: Partial<PolicyTally> = {}): PolicyTally {
  return {
    matched: { pods: 5, deployments: 1, nodes: 0, total: 6 },
    conflictedObjects: 0,
    conflictsWith: [],
    ...changes,
  };
}

function facts(changes: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    agentNamespace: 'kube-remedy-system',
    nodesNotAllowed: false,
    tally: tally(),
    now: NOW,
    ...changes,
  };
}

/** `Type=Status/Reason` for each condition. */
const summary = (conditions: Condition[]) =>
  conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('policyStatus', () => {
  it.each<[string, ParseResult, Partial<PolicyFacts>, string[]]>([
    [
      'a valid policy without conflicts is Ready',
      parsed(minimalSpec()),
      {},
      ['Ready=True/Active', 'Conflict=False/NoConflict', 'Degraded=False/AsExpected'],
    ],
    [
      'a spec the parse rejects is not Ready',
      parsed({ ...minimalSpec(), mode: 'gitops' }),
      {},
      ['Ready=False/InvalidSpec', 'Conflict=False/NoConflict', 'Degraded=False/NotInForce'],
    ],
    [
      "a node policy outside the agent's namespace is not Ready",
      parsed(nodeSpec, 'team-a'),
      { nodesNotAllowed: true },
      ['Ready=False/NodesNotAllowedHere', 'Conflict=False/NoConflict', 'Degraded=False/NotInForce'],
    ],
    [
      'a tie with another policy is a Conflict, and the policy stays Ready',
      parsed(minimalSpec()),
      {
        tally: tally({
          conflictedObjects: 3,
          conflictsWith: [{ policy: { namespace: 'shop', name: 'other' }, objects: 3 }],
        }),
      },
      ['Ready=True/Active', 'Conflict=True/TiedSelectors', 'Degraded=False/AsExpected'],
    ],
    [
      'one reported problem makes it Degraded with that reason',
      parsed(minimalSpec()),
      { problems: [{ reason: 'HorizontalPodAutoscalerPresent', message: 'HPA web scales it' }] },
      [
        'Ready=True/Active',
        'Conflict=False/NoConflict',
        'Degraded=True/HorizontalPodAutoscalerPresent',
      ],
    ],
    [
      'several problems are Degraded as MultipleProblems',
      parsed(minimalSpec()),
      {
        problems: [
          { reason: 'SignalsUnavailable', message: 'a' },
          { reason: 'BudgetExhausted', message: 'b' },
        ],
      },
      ['Ready=True/Active', 'Conflict=False/NoConflict', 'Degraded=True/MultipleProblems'],
    ],
    [
      'problems of a policy not in force are not reported as Degraded',
      parsed(nodeSpec, 'team-a'),
      { nodesNotAllowed: true, problems: [{ reason: 'SignalsUnavailable', message: 'a' }] },
      ['Ready=False/NodesNotAllowedHere', 'Conflict=False/NoConflict', 'Degraded=False/NotInForce'],
    ],
  ])('%s', (_name, policy, changes, expected) => {
    const status = policyStatus(policy, facts(changes));
    expect(summary(status.conditions)).toEqual(expected);
    expect(status.observedGeneration).toBe(4);
    expect(status.conditions.every((c) => c.observedGeneration === 4)).toBe(true);
  });

  it('says a paused policy is in force but hands every problem to a person, quoting why', () => {
    const paused = (annotations: Record<string, string>) =>
      policyStatus(
        parsePolicy({
          metadata: { name: 'web', namespace: 'shop', generation: 4, annotations },
          spec: minimalSpec(),
        }),
        facts(),
      ).conditions[0];
    const ready = paused({ 'remedy.kube-remedy.io/paused': 'db migration, alice' });
    expect(`${ready?.status}/${ready?.reason}`).toBe('True/Paused');
    expect(ready?.message).toMatch(
      /^in force in mode \w+ for .*, but paused by annotation remedy\.kube-remedy\.io\/paused \("db migration, alice"\): every problem it confirms asks a person instead of being acted on\. Remove the annotation to resume\.$/,
    );
    expect(paused({ 'remedy.kube-remedy.io/paused': '' })?.reason).toBe('Paused');
    // `false` (any case) and other annotations pause nothing.
    expect(paused({ 'remedy.kube-remedy.io/paused': 'False' })?.reason).toBe('Active');
    expect(paused({ 'remedy.kube-remedy.io/other': 'true' })?.reason).toBe('Active');
  });

  it('says why a node policy is ignored and what to do', () => {
    const status = policyStatus(parsed(nodeSpec, 'team-a'), facts({ nodesNotAllowed: true }));
    expect(status.conditions[0]!.message).toBe(
      'this policy selects Nodes but lives in namespace team-a; only policies in kube-remedy-system ' +
        'may select nodes, so it is ignored. Move it to kube-remedy-system, or select Pods or ' +
        'Deployments of team-a instead.',
    );
    expect(status.matched).toEqual({ pods: 0, deployments: 0, nodes: 0, total: 0 });
  });

  it('lists the problems of an invalid spec with their fields', () => {
    const status = policyStatus(parsed({ ...minimalSpec(), mode: 'gitops' }), facts());
    expect(status.conditions[0]!.message).toBe(
      'kube-remedy ignores this policy until its spec is fixed: spec.mode: mode gitops needs ' +
        'spec.gitops: the repository, branch and path where changes are proposed as pull requests',
    );
  });

  it('names the policies it ties with, how many objects, and the fix', () => {
    const status = policyStatus(
      parsed(minimalSpec()),
      facts({
        tally: tally({
          conflictedObjects: 3,
          conflictsWith: [
            { policy: { namespace: 'shop', name: 'canary' }, objects: 1 },
            { policy: { namespace: 'shop', name: 'other' }, objects: 2 },
          ],
        }),
      }),
    );
    expect(status.conditions[1]!.message).toBe(
      '3 objects selected by shop/web are selected as specifically by shop/canary (1 object), ' +
        'shop/other (2 objects); no policy acts on them until one selector is more specific ' +
        '(add a label term or narrow spec.selector.kinds)',
    );
    expect(status.conflictingPolicies).toEqual(['canary', 'other']);
  });

  it('reports the matched counts of the index', () => {
    expect(policyStatus(parsed(minimalSpec()), facts()).matched).toEqual({
      pods: 5,
      deployments: 1,
      nodes: 0,
      total: 6,
    });
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a change', () => {
    const previousConditions = [
      { type: 'Ready' as const, status: 'True' as const, lastTransitionTime: EARLIER },
      { type: 'Conflict' as const, status: 'False' as const, lastTransitionTime: EARLIER },
    ];
    const status = policyStatus(
      parsed(minimalSpec()),
      facts({
        previousConditions,
        tally: tally({
          conflictedObjects: 1,
          conflictsWith: [{ policy: { namespace: 'shop', name: 'b' }, objects: 1 }],
        }),
      }),
    );
    expect(status.conditions.map((c) => [c.type, c.lastTransitionTime])).toEqual([
      ['Ready', EARLIER],
      ['Conflict', '2026-11-28T12:00:00Z'],
      ['Degraded', '2026-11-28T12:00:00Z'],
    ]);
  });

  it('keeps the 20 most recent actions, newest first', () => {
    const recentActions = Array.from({ length: 25 }, (_, i) => ({
      time: new Date(Date.UTC(2026, 10, 28, 0, i)).toISOString(),
      object: `Pod/shop/web-${i}`,
      detection: 'CrashLoopBackOff',
      action: 'restartPod',
      outcome: 'Succeeded' as const,
    }));
    const status = policyStatus(parsed(minimalSpec()), facts({ recentActions, actions24h: 25 }));
    expect(status.recentActions).toHaveLength(20);
    expect(status.recentActions[0]!.object).toBe('Pod/shop/web-24');
    expect(status.recentActions[19]!.object).toBe('Pod/shop/web-5');
    expect(status.actions24h).toBe(25);
  });
});

describe('notifications not sent for want of Slack', () => {
  const unsent = {
    count: 3,
    since: Date.UTC(2026, 10, 28, 10, 0, 0, 250),
    latest: {
      at: Date.UTC(2026, 10, 28, 11, 59, 30),
      object: 'Pod/shop/cart-1',
      what: 'escalated',
      reason: 'restartPod failed: pod shop/cart-1 no longer exists',
    },
  };

  it('say once how many, since when, the latest, and what to set', () => {
    expect(slackNotConfiguredProblem(unsent)).toEqual({
      reason: 'SlackNotConfigured',
      message:
        'Slack is not configured: 3 notifications not sent since 2026-11-28T10:00:00Z (latest: ' +
        'escalated Pod/shop/cart-1 at 2026-11-28T11:59:30Z: restartPod failed: pod shop/cart-1 ' +
        'no longer exists). The Kubernetes Events of the objects tell what happened; set ' +
        "spec.slack.channel, or the installation's slack.channel, to have notifications posted",
    });
  });

  it('count one in the singular and quote a long reason in part', () => {
    const long = { ...unsent, count: 1, latest: { ...unsent.latest, reason: 'x'.repeat(1000) } };
    const { message } = slackNotConfiguredProblem(long);
    expect(message).toMatch(/^Slack is not configured: 1 notification not sent since /);
    expect(message).toContain(`: ${'x'.repeat(299)}…). The Kubernetes Events`);
  });

  it('make a policy in force Degraded, with reason SlackNotConfigured', () => {
    const status = policyStatus(
      parsed(minimalSpec()),
      facts({ problems: [slackNotConfiguredProblem(unsent)] }),
    );
    expect(status.conditions[2]).toMatchObject({
      type: 'Degraded',
      status: 'True',
      reason: 'SlackNotConfigured',
      message: expect.stringMatching(
        /^Slack is not configured: 3 notifications not sent/,
      ) as unknown,
    });
  });
});

describe('statusDiffers', () => {
  const status = policyStatus(parsed(minimalSpec()), facts());

  it('is false for the same status read back from the API server', () => {
    const stored = JSON.parse(JSON.stringify({ ...status, somethingElse: 1 })) as unknown;
    expect(statusDiffers(stored, status)).toBe(false);
  });

  it('is true when nothing is stored yet', () => {
    expect(statusDiffers(undefined, status)).toBe(true);
  });

  it('is true when the generation moved on', () => {
    const next = policyStatus(parsed(minimalSpec(), 'shop', 5), facts());
    expect(statusDiffers(status, next)).toBe(true);
  });

  it('is true when only a count changed', () => {
    const next = policyStatus(
      parsed(minimalSpec()),
      facts({ tally: tally({ matched: { pods: 6, deployments: 1, nodes: 0, total: 7 } }) }),
    );
    expect(statusDiffers(status, next)).toBe(true);
  });
});
