import { describe, expect, it } from 'vitest';
import {
  loadScenarioFile,
  parseScenario,
  simulate,
  withPolicies,
} from '../../../src/simulate/index.ts';
import { MemoryBudgets } from '../../../src/budgets/memory.ts';
import { parseRecording } from '../../../src/simulate/recording.ts';
import { parsePolicy, type Policy } from '../../../src/policy/index.ts';
import { formatText } from '../../../src/simulate/report.ts';
import { actions, entriesOf, examplePath, moves, notifications, runText } from './support.ts';

const RESTART_POLICY = `
  - apiVersion: remedy.kube-remedy.io/v1alpha1
    kind: AutoRemediationPolicy
    metadata: { name: restart, namespace: shop }
    spec:
      selector: { kinds: [Pod], matchLabels: { app: web } }
      mode: auto
      detections:
        - { type: CrashLoopBackOff, threshold: 2, window: 10m, action: restartPod }`;

const WEB_POD = `
  - kind: Pod
    metadata: { name: web-1, namespace: shop, labels: { app: web }, ownerReferences: [{ kind: StatefulSet, name: web, controller: true }] }
    spec: { containers: [{ name: web }] }`;

const CRASH = `
  - { at: 1m, object: Pod/shop/web-1, crashLoop: { restarts: 1 } }
  - { at: 2m, object: Pod/shop/web-1, crashLoop: { restarts: 2 } }`;

function scenario(rest: string): string {
  return `name: test\ndescription: a test\nduration: 30m\npolicies:${RESTART_POLICY}\nobjects:${WEB_POD}\n${rest}\n`;
}

function policy(spec: Record<string, unknown>, name = 'restart'): Policy {
  const parsed = parsePolicy({ metadata: { name, namespace: 'shop', generation: 1 }, spec });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.policy;
}

describe('effect outcomes', () => {
  it('succeed after the effect delay by default', async () => {
    const result = await runText(scenario(`timeline:${CRASH}`));
    expect(actions(result)).toEqual([
      ['00:02:00', 'Pod/shop/web-1', 'remediate-1', 'restartPod', 'done'],
    ]);
    const restart = result.effects.find((e) => e.kind === 'restartPod');
    expect(restart?.resultAt).toBe(result.scenario.start + 2 * 60_000 + 5_000);
  });

  it('tells Slack of the escalation only under a policy that names a channel, as the runtime does', async () => {
    const failing = `timeline:${CRASH}\neffects:\n  - { match: { kind: restartPod }, result: failed, error: 'pods "web-1" is forbidden' }`;
    const withoutSlack = await runText(scenario(failing));
    const withSlack = await runText(
      scenario(failing).replace('mode: auto', "mode: auto\n      slack: { channel: '#shop' }"),
    );
    // Either way the Event on the pod tells the escalation.
    for (const result of [withoutSlack, withSlack]) {
      const recorded = entriesOf(result, 'machine').flatMap((e) =>
        e.type === 'machine' ? e.events.map((event) => event.reason) : [],
      );
      expect(recorded).toContain('Escalated');
    }
    const told = (result: typeof withSlack) =>
      notifications(result)
        .map(([, , , description]) => description)
        .filter((description) => description?.startsWith('notify'));
    expect(told(withoutSlack)).toEqual([]);
    expect(told(withSlack)).toEqual(['notify Slack #shop (escalated)']);
  });

  it('can fail: the machine escalates with the worker’s error', async () => {
    const result = await runText(
      scenario(
        `timeline:${CRASH}\neffects:\n  - { match: { kind: restartPod }, result: failed, error: 'pods "web-1" is forbidden', after: 30s }`,
      ),
    );
    expect(actions(result)).toEqual([
      ['00:02:00', 'Pod/shop/web-1', 'remediate-1', 'restartPod', 'failed'],
    ]);
    expect(moves(result, 'Pod/shop/web-1')).toContainEqual({
      at: '00:02:30',
      move: 'remediating → escalated (exhausted, symptomPresent)',
      reason: 'restartPod failed: pods "web-1" is forbidden',
    });
  });

  it('can never come back: the machine gives up after its effect time-out', async () => {
    const result = await runText(
      scenario(
        `timeline:${CRASH}\neffects:\n  - { match: { object: Pod/shop/web-1, nth: 1 }, result: none }`,
      ),
    );
    expect(actions(result)[0]?.[4]).toBe('none');
    expect(moves(result, 'Pod/shop/web-1')).toContainEqual({
      at: '00:12:00',
      move: 'remediating → escalated (exhausted, symptomPresent)',
      reason: 'restartPod did not report back within 10m',
    });
  });

  it('change the objects as the action would, unless told not to', async () => {
    const applied = await runText(scenario(`timeline:${CRASH}`));
    expect(entriesOf(applied, 'world').map((e) => e.type === 'world' && e.text)).toContain(
      'replaced by a fresh pod',
    );
    const scripted = await runText(
      scenario(
        `timeline:${CRASH}\neffects:\n  - match: { kind: restartPod }\n    applies: false\n    then: [{ after: 1m, crashLoop: { restarts: 3 } }]`,
      ),
    );
    expect(entriesOf(scripted, 'world').map((e) => e.type === 'world' && e.text)).not.toContain(
      'replaced by a fresh pod',
    );
    // The symptom never went away: verification fails and people take over.
    expect(moves(scripted, 'Pod/shop/web-1').at(-1)?.move).toMatch(/^verifying → escalated/);
  });
});

describe('tickets', () => {
  it('are closed when the incident that escalated to one resolves, and the report says so', async () => {
    const result = await runText(`name: ticket
description: a restart fails, people get a ticket, the pod recovers
duration: 40m
policies:
  - apiVersion: remedy.kube-remedy.io/v1alpha1
    kind: AutoRemediationPolicy
    metadata: { name: restart, namespace: shop }
    spec:
      selector: { kinds: [Pod], matchLabels: { app: web } }
      mode: auto
      detections:
        - { type: CrashLoopBackOff, threshold: 2, window: 10m, action: restartPod }
      verification: { window: 5m }
      ticket: { provider: jira, project: SHOP }
      escalation:
        levels:
          - { after: 0s, targets: [{ type: ticket }] }
objects:${WEB_POD}
timeline:${CRASH}
  - { at: 20m, object: Pod/shop/web-1, healthy: true }
effects:
  - { match: { kind: restartPod }, result: failed, error: 'pods "web-1" is forbidden', applies: false }
`);
    expect(notifications(result)).toEqual([
      ['00:02:05', 'Pod/shop/web-1', 'escalate-1-level-1-0', 'open a ticket for Pod shop/web-1'],
      [
        '00:25:00',
        'Pod/shop/web-1',
        'resolved-ticket',
        'resolve the CrashLoopBackOff ticket of Pod shop/web-1',
      ],
    ]);
    expect(formatText(result)).toContain(
      '↳ asks for updateTicket (resolved-ticket): resolve the CrashLoopBackOff ticket of Pod shop/web-1',
    );
    // People heard of it twice: the ticket, then the ticket closed. The policy names no Slack
    // channel, so no notice of the end is sent (its Events still tell it).
    expect(result.effects.map((e) => e.kind)).toEqual(['restartPod', 'openTicket', 'updateTicket']);
    expect(result.summary.notifications).toBe(2);
  });
});

describe('people', () => {
  it('cannot act when there is no open incident', async () => {
    const result = await runText(
      scenario(`timeline:\n  - { at: 1m, object: Pod/shop/web-1, ack: { by: alice } }`),
    );
    expect(entriesOf(result, 'person')).toEqual([
      {
        type: 'person',
        at: result.scenario.start + 60_000,
        object: 'Pod/shop/web-1',
        text: 'alice acknowledges in Slack: refused, there is no open incident on Pod/shop/web-1',
        accepted: false,
      },
    ]);
  });

  it('are refused from Slack under a policy that names no approvers', async () => {
    const result = await runText(
      scenario(
        `timeline:${CRASH}\n  - { at: 3m, object: Pod/shop/web-1, escalate: { by: alice } }\neffects:\n  - { match: { kind: restartPod }, result: none }`,
      ),
    );
    expect(entriesOf(result, 'person').map((e) => e.type === 'person' && e.text)).toEqual([
      'alice escalates in Slack: refused, policy shop/restart names no approvers, so nobody may act on it from Slack',
    ]);
  });

  it('can trigger the policy on a suspected symptom, acting before its threshold', async () => {
    // Five restarts to confirm; alice triggers after the first.
    const text = scenario(
      [
        'people:',
        '  alice: { slackId: U0ALICE }',
        '  mallory: { slackId: U0MALLORY }',
        'timeline:',
        '  - { at: 1m, object: Pod/shop/web-1, crashLoop: { restarts: 1 } }',
        '  - { at: 2m, object: Pod/shop/web-1, trigger: { by: mallory } }',
        "  - { at: 3m, object: Pod/shop/web-1, trigger: { by: alice, reason: 'customers see 502s' } }",
      ].join('\n'),
    )
      .replace('threshold: 2', 'threshold: 5')
      .replace('mode: auto', 'mode: auto\n      approvers: { users: [U0ALICE] }');
    const result = await runText(text);
    expect(entriesOf(result, 'person').map((e) => e.type === 'person' && e.text)).toEqual([
      'mallory triggers the policy in Slack: refused, mallory is not an approver under policy shop/restart',
      'alice triggers the policy in Slack: customers see 502s',
    ]);
    expect(actions(result)).toEqual([
      ['00:03:00', 'Pod/shop/web-1', 'remediate-1', 'restartPod', 'done'],
    ]);
  });

  it('trigger nothing on a healthy object, which keeps the request in its history', async () => {
    const text = scenario(
      'people:\n  alice: { slackId: U0ALICE }\ntimeline:\n  - { at: 1m, object: Pod/shop/web-1, trigger: { by: alice } }',
    ).replace('mode: auto', 'mode: auto\n      approvers: { users: [U0ALICE] }');
    const result = await runText(text);
    expect(actions(result)).toEqual([]);
    expect(moves(result, 'Pod/shop/web-1').at(-1)).toEqual({
      at: '00:01:00',
      move: 'healthy → healthy',
      reason: 'TRIGGER from alice (Slack U0ALICE) ignored (no open incident)',
    });
  });
});

describe('what if: --policy', () => {
  it('replaces the policy of the same name: in dry run nothing is done, and the record says what would have been', async () => {
    const example = loadScenarioFile(examplePath('01-crash-loop-restart.yaml'));
    const dryRun = policy(
      {
        selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
        mode: 'dryRun',
        detections: [
          { type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' },
        ],
      },
      'restart-cart',
    );
    const result = await simulate(withPolicies(example, [dryRun]));
    expect(result.scenario.policies).toEqual([{ name: 'shop/restart-cart', mode: 'dryRun' }]);
    expect(actions(result)).toEqual([]);
    const pod = moves(result, 'Pod/shop/cart-7d9f-x2x4q');
    expect(pod).toContainEqual(
      expect.objectContaining({
        at: '00:04:00',
        move: 'suspect → coolingDown',
        reason: expect.stringMatching(
          /^dry run: would restart Pod shop\/cart-7d9f-x2x4q: /,
        ) as string,
      }),
    );
  });

  it('adds a policy of another name: the more specific selector governs', async () => {
    const example = loadScenarioFile(examplePath('01-crash-loop-restart.yaml'));
    const specific = policy(
      {
        selector: { kinds: ['Pod'], matchLabels: { app: 'cart', tier: 'web' } },
        mode: 'auto',
        detections: [{ type: 'CrashLoopBackOff', action: 'deletePod' }],
      },
      'cart-web',
    );
    const labelled = {
      ...example,
      objects: example.objects.map((o) =>
        o.kind === 'Pod'
          ? { ...o, metadata: { ...o.metadata, labels: { app: 'cart', tier: 'web' } } }
          : o,
      ),
    };
    const result = await simulate(withPolicies(labelled, [specific]));
    expect(actions(result).map((a) => a[3])).toEqual(['deletePod']);
    expect(result.effects[0]?.policy).toBe('shop/cart-web');
  });
});

describe('replaying a recording', () => {
  const start = Date.UTC(2026, 2, 1, 12, 0, 0);
  const pod = (restarts: number, resourceVersion: string) => ({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'web-1',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion,
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'StatefulSet', name: 'web', uid: 'sts-web', controller: true }],
    },
    spec: { nodeName: 'n1', containers: [{ name: 'web' }] },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'web',
          restartCount: restarts,
          ready: restarts === 0,
          state: restarts === 0 ? { running: {} } : { waiting: { reason: 'CrashLoopBackOff' } },
        },
      ],
    },
  });
  const recordedPolicy = {
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    metadata: { name: 'restart', namespace: 'shop', generation: 1 },
    spec: {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
      mode: 'dryRun',
      detections: [{ type: 'CrashLoopBackOff', threshold: 2, window: '10m', action: 'restartPod' }],
    },
  };
  const lines = [
    {
      recording: 'kube-remedy',
      version: 1,
      startedAt: start,
      namespace: 'shop',
      agentNamespace: 'kube-remedy-system',
      server: 'https://k8s',
    },
    { at: start + 10, type: 'upsert', object: recordedPolicy },
    { at: start + 20, type: 'upsert', object: pod(0, '1') },
    { at: start + 60_000, type: 'upsert', object: pod(1, '2') },
    { at: start + 90_000, type: 'upsert', object: pod(2, '3') },
    { at: start + 95_000, type: 'delete', object: pod(2, '4') },
    { end: start + 300_000, events: 5 },
  ];
  const text = lines.map((l) => JSON.stringify(l)).join('\n');

  it('runs the recorded history under the recorded policies', async () => {
    const result = await simulate(parseRecording(text, 'rec.jsonl'));
    expect(result.scenario).toMatchObject({ replay: true, start, end: start + 300_000 });
    expect(actions(result)).toEqual([]);
    expect(moves(result, 'Pod/shop/web-1').map((m) => [m.at, m.move])).toEqual([
      ['00:00:00', 'new → healthy'],
      ['00:01:00', 'healthy → suspect'],
      ['00:01:30', 'suspect → coolingDown'],
      ['00:01:35', 'coolingDown → stopped'],
    ]);
  });

  it('backtests another policy against the same history', async () => {
    const auto = policy({ ...recordedPolicy.spec, mode: 'auto' });
    const result = await simulate(withPolicies(parseRecording(text, 'rec.jsonl'), [auto]));
    expect(actions(result)).toEqual([
      ['00:01:30', 'Pod/shop/web-1', 'remediate-1', 'restartPod', 'done'],
    ]);
    // A replay holds what really happened to the objects: the effect changes none of them.
    expect(entriesOf(result, 'world').map((e) => e.type === 'world' && e.text)).not.toContain(
      'replaced by a fresh pod',
    );
  });
});

describe('the in-memory budget', () => {
  const scope = { scope: 'policy/shop/p', limit: 2, windowMs: 60_000 };

  it('holds the third action of a window, with the words of the Redis budget, and frees a token as the window slides', () => {
    const budgets = new MemoryBudgets();
    expect(budgets.take('a', [scope], 0).decision).toBe('allowed');
    expect(budgets.take('b', [scope], 10_000).decision).toBe('allowed');
    expect(budgets.take('c', [scope], 20_000)).toEqual({
      decision: 'denied',
      scope: 'policy/shop/p',
      retryAfterMs: 40_000,
      reason: 'budget policy/shop/p spent: 2 actions per 60s; next token in 40s',
    });
    expect(budgets.take('c', [scope], 60_001).decision).toBe('allowed');
    expect(budgets.used(scope, 60_001)).toBe(2);
  });

  it('never spends twice for the same action', () => {
    const budgets = new MemoryBudgets();
    budgets.take('a', [scope], 0);
    expect(budgets.take('a', [scope], 1)).toEqual({
      decision: 'allowed',
      reason: 'budget already taken for this action',
    });
    expect(budgets.used(scope, 1)).toBe(1);
  });
});

describe('time', () => {
  it('takes the steps of a file in order of time, steps at the same time in the order written', () => {
    const parsed = parseScenario(
      scenario(
        `timeline:\n  - { at: 2m, object: Pod/shop/web-1, healthy: true }\n  - { at: 1m, object: Pod/shop/web-1, crashLoop: { restarts: 1 } }\n  - { at: 1m, object: Pod/shop/web-1, crashLoop: { restarts: 2 } }`,
      ),
      'scenario.yaml',
    );
    expect(parsed.steps.map((s) => [s.at - parsed.start, s.change.type, s.source])).toEqual([
      [60_000, 'crashLoop', 'scenario.yaml:19'],
      [60_000, 'crashLoop', 'scenario.yaml:20'],
      [120_000, 'healthy', 'scenario.yaml:18'],
    ]);
  });
});
