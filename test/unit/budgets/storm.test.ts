import { describe, expect, it } from 'vitest';
import { SLACK_NOT_CONFIGURED, stormEscalationJob } from '../../../src/actors/effect-jobs.ts';
import {
  isUnhealthy,
  reportsByPolicy,
  stormTargetOf,
  stormRule,
  stormVerdict,
  sumReports,
  type StormRule,
  type StormTally,
} from '../../../src/budgets/storm.ts';
import { decodeReport, encodeReport } from '../../../src/budgets/storms.ts';
import { effectJobId } from '../../../src/effects/catalogue.ts';
import {
  defaultMachinePolicy,
  initialContext,
  type Incident,
  type RemediationContext,
} from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import { podObject, type PodShape } from '../../support/pods.ts';
import { parsedPolicy } from './support.ts';

describe('the storm verdict', () => {
  const rule: StormRule = { maxUnhealthyPercent: 50, minUnhealthy: 2 };
  it.each<[StormTally, StormRule, boolean, string]>([
    [
      { targets: 1, unhealthy: 1 },
      rule,
      false,
      '1 of 1 workloads unhealthy: fewer than the 2 a storm needs',
    ],
    [
      { targets: 4, unhealthy: 2 },
      rule,
      false,
      "2 of 4 workloads unhealthy: within the policy's 50%",
    ],
    [
      { targets: 5, unhealthy: 3 },
      rule,
      true,
      "3 of 5 workloads unhealthy at once, more than the policy's 50%",
    ],
    [
      { targets: 2, unhealthy: 2 },
      rule,
      true,
      "2 of 2 workloads unhealthy at once, more than the policy's 50%",
    ],
    [
      { targets: 3, unhealthy: 3 },
      { ...rule, minUnhealthy: 4 },
      false,
      '3 of 3 workloads unhealthy: fewer than the 4 a storm needs',
    ],
    [
      { targets: 10, unhealthy: 10 },
      { ...rule, maxUnhealthyPercent: 100 },
      false,
      "10 of 10 workloads unhealthy: within the policy's 100%",
    ],
    [
      { targets: 100, unhealthy: 2 },
      { ...rule, maxUnhealthyPercent: 1 },
      true,
      "2 of 100 workloads unhealthy at once, more than the policy's 1%",
    ],
    [
      { targets: 0, unhealthy: 0 },
      rule,
      false,
      '0 of 0 workloads unhealthy: fewer than the 2 a storm needs',
    ],
    [
      { targets: 4, unhealthy: 3 },
      { ...rule, counts: 'nodes' },
      true,
      "3 of 4 nodes unhealthy at once, more than the policy's 50%",
    ],
    // A count in place of the percentage: two of a hundred nodes may be down, three may not.
    [
      { targets: 100, unhealthy: 2 },
      { ...rule, maxUnhealthy: 2, counts: 'nodes' },
      false,
      "2 of 100 nodes unhealthy: within the policy's 2",
    ],
    [
      { targets: 100, unhealthy: 3 },
      { ...rule, maxUnhealthy: 2, counts: 'nodes' },
      true,
      "3 of 100 nodes unhealthy at once, more than the policy's 2",
    ],
    [
      { targets: 3, unhealthy: 1 },
      { ...rule, maxUnhealthy: 0 },
      false,
      '1 of 3 workloads unhealthy: fewer than the 2 a storm needs',
    ],
  ])('%j under %j is a storm: %s', (tally, r, storm, reason) => {
    expect(stormVerdict(tally, r)).toEqual({ storm, reason });
  });

  it("reads the policy's maxUnhealthy as a count or a percentage, in place of maxUnhealthyPercent", () => {
    const budget = { maxUnhealthyPercent: 50 };
    expect(stormRule(budget, 2, 'nodes')).toEqual({
      maxUnhealthyPercent: 50,
      minUnhealthy: 2,
      counts: 'nodes',
    });
    expect(stormRule({ ...budget, maxUnhealthy: 3 }, 2, 'nodes')).toEqual({
      maxUnhealthyPercent: 50,
      maxUnhealthy: 3,
      minUnhealthy: 2,
      counts: 'nodes',
    });
    expect(stormRule({ ...budget, maxUnhealthy: '40%' }, 2, 'workloads')).toEqual({
      maxUnhealthyPercent: 40,
      minUnhealthy: 2,
      counts: 'workloads',
    });
  });
});

const window = { type: 'CrashLoopBackOff', openedAt: 0, seen: 1, restartsAtOpen: 0 } as const;

/** The context of an actor under policy `policy`, observing the pod `shape` if it is a pod. */
function actor(
  actorKey: string,
  patch: Partial<RemediationContext> = {},
  policy = 'shop/web',
): RemediationContext {
  return {
    ...initialContext({ actorKey, policy: { ...defaultMachinePolicy, name: policy }, at: 0 }),
    ...patch,
  };
}

/** The context of a pod's actor, observing the pod. */
function podActor(
  shape: Omit<PodShape, 'restarts' | 'crashLooping'> & { name: string },
  patch: Partial<RemediationContext> = {},
  policy = 'shop/web',
): RemediationContext {
  const object = podObject({ restarts: 0, crashLooping: false, ...shape });
  const observation = observe(object as unknown as PodObject);
  return actor(`Pod/${shape.namespace ?? 'shop'}/${shape.name}`, { observation, ...patch }, policy);
}

/** A pod of Deployment `deployment` (its ReplicaSet `<deployment>-6d5f7c9b8`). */
const replica = (deployment: string, name: string): Parameters<typeof podActor>[0] => ({
  name,
  owner: { kind: 'ReplicaSet', name: `${deployment}-6d5f7c9b8` },
  labels: { 'pod-template-hash': '6d5f7c9b8' },
});

describe('unhealthy targets', () => {
  const incident = { id: 'Pod/shop/a#1@0' } as Incident;

  it.each<[string, Partial<RemediationContext>, boolean]>([
    ['healthy, cooling down or resolved: no window, no incident', {}, false],
    ['suspect: a detection window is open', { window }, true],
    ['any state with an open incident', { incident }, true],
  ])('%s', (_name, patch, unhealthy) => {
    expect(isUnhealthy(actor('Pod/shop/a', patch))).toBe(unhealthy);
  });
});

describe('what a target counts as', () => {
  it.each<[string, RemediationContext, string | null]>([
    [
      "a Deployment's pod: the Deployment",
      podActor(replica('web', 'web-6d5f7c9b8-qx7kt')),
      'Deployment/shop/web',
    ],
    [
      "a StatefulSet's pod: the StatefulSet",
      podActor({ name: 'db-0', owner: { kind: 'StatefulSet', name: 'db' } }),
      'StatefulSet/shop/db',
    ],
    [
      "a ReplicaSet's pod without a Deployment: the ReplicaSet",
      podActor({ name: 'cart-1' }),
      'ReplicaSet/shop/cart-6d4f',
    ],
    [
      'a pod no controller replaces: itself',
      podActor({ name: 'debug', owner: null }),
      'Pod/shop/debug',
    ],
    [
      'a mirror pod (its owner is the node): itself',
      podActor({ name: 'etcd-n1', owner: { kind: 'Node', name: 'n1' } }),
      'Pod/shop/etcd-n1',
    ],
    [
      "a pod not yet observed that took over its workload's incident: that workload",
      actor('Pod/shop/web-6d5f7c9b8-lfzx5', {
        incident: { id: 'x', workload: 'shop/Deployment/web' } as Incident,
      }),
      'Deployment/shop/web',
    ],
    [
      'a pod not yet observed, with no incident: nothing yet (it counts once it knows its workload)',
      actor('Pod/shop/web-1'),
      null,
    ],
    [
      'a Deployment: itself, the target its pods count as',
      actor('Deployment/shop/web'),
      'Deployment/shop/web',
    ],
    ['a node: itself', actor('Node/worker-1'), 'Node/worker-1'],
  ])('%s', (_name, context, target) => {
    expect(stormTargetOf(context)).toBe(target);
  });
});

describe("a runtime's report", () => {
  it('names each workload once per policy, unhealthy when any of its actors here is', () => {
    const reports = reportsByPolicy([
      // Five replicas of web, three of them failing.
      podActor(replica('web', 'web-a'), { window }),
      podActor(replica('web', 'web-b'), { window }),
      podActor(replica('web', 'web-c')),
      podActor(replica('web', 'web-d'), { window }),
      podActor(replica('web', 'web-e')),
      // Its Deployment's own actor, healthy: the same target.
      actor('Deployment/shop/web'),
      // Two healthy replicas of cart, and a healthy bare pod.
      podActor(replica('cart', 'cart-a')),
      podActor(replica('cart', 'cart-b')),
      podActor({ name: 'debug', owner: null }),
      // A pod spawned a moment ago, not yet observed: not counted yet.
      actor('Pod/shop/web-f'),
      // Another policy's pod.
      podActor({ name: 'db-0', owner: { kind: 'StatefulSet', name: 'db' } }, { window }, 'shop/db'),
    ]);
    expect(Object.fromEntries([...reports].map(([p, r]) => [p, Object.fromEntries(r)]))).toEqual({
      'shop/web': {
        'Deployment/shop/web': true,
        'Deployment/shop/cart': false,
        'Pod/shop/debug': false,
      },
      'shop/db': { 'StatefulSet/shop/db': true },
    });
  });
});

describe('the tally over every reporter', () => {
  const report = (entries: Record<string, boolean>) => new Map(Object.entries(entries));

  it.each<[string, Record<string, boolean>[], StormTally]>([
    ['no reporter: nothing', [], { targets: 0, unhealthy: 0 }],
    [
      'one workload whose pods fail under three agents: one target, unhealthy',
      [
        { 'Deployment/shop/web': true },
        { 'Deployment/shop/web': true },
        { 'Deployment/shop/web': true },
      ],
      { targets: 1, unhealthy: 1 },
    ],
    [
      'a workload healthy under one agent and failing under another: unhealthy',
      [{ 'Deployment/shop/web': false }, { 'Deployment/shop/web': true }],
      { targets: 1, unhealthy: 1 },
    ],
    [
      'a workload healthy under every agent: healthy',
      [{ 'Deployment/shop/web': false }, { 'Deployment/shop/web': false }],
      { targets: 1, unhealthy: 0 },
    ],
    [
      'several workloads, bare pods and a Deployment seen by the controller',
      [
        { 'Deployment/shop/web': true, 'Pod/shop/debug': false, 'StatefulSet/shop/db': true },
        { 'Deployment/shop/web': false, 'Deployment/shop/cart': false },
        { 'Deployment/shop/web': false, 'Deployment/shop/cart': false },
      ],
      { targets: 4, unhealthy: 2 },
    ],
  ])('%s', (_name, reports, tally) => {
    expect(sumReports(reports.map(report))).toEqual(tally);
  });

  it('so all the replicas of a one-Deployment policy failing are no storm, and five StatefulSets are', () => {
    const rule: StormRule = { maxUnhealthyPercent: 50, minUnhealthy: 2 };
    const web = reportsByPolicy(
      ['a', 'b', 'c', 'd', 'e'].map((x) => podActor(replica('api', `api-${x}`), { window })),
    ).get('shop/web');
    expect(stormVerdict(sumReports([web ?? new Map()]), rule)).toEqual({
      storm: false,
      reason: '1 of 1 workloads unhealthy: fewer than the 2 a storm needs',
    });
    const shards = reportsByPolicy(
      [0, 1, 2, 3, 4].map((i) =>
        podActor(
          {
            name: `orders-shard-${i}-0`,
            owner: { kind: 'StatefulSet', name: `orders-shard-${i}` },
          },
          { window },
        ),
      ),
    ).get('shop/web');
    expect(stormVerdict(sumReports([shards ?? new Map()]), rule)).toEqual({
      storm: true,
      reason: "5 of 5 workloads unhealthy at once, more than the policy's 50%",
    });
  });
});

describe('a report as Redis keeps it', () => {
  it('reads back as written', () => {
    const report = new Map([
      ['Node/worker-1', true],
      ['Deployment/shop/web', false],
      ['Pod/shop/debug', true],
    ]);
    const text = encodeReport(report);
    expect(text).toBe('0 Deployment/shop/web\n1 Node/worker-1\n1 Pod/shop/debug');
    expect(decodeReport(text)).toEqual(report);
    expect(encodeReport(new Map())).toBe('');
    expect(decodeReport('')).toEqual(new Map());
  });

  it('leaves out what it cannot read', () => {
    expect(decodeReport('1 Deployment/shop/web\n4 2 1764324000000\nx\n0 ')).toEqual(
      new Map([['Deployment/shop/web', true]]),
    );
  });
});

describe("a storm's group escalation", () => {
  const storm = { unhealthy: 4, targets: 6, maxUnhealthyPercent: 50 };
  /** The job, which these policies configure Slack for. */
  const jobOf = (options: Parameters<typeof stormEscalationJob>[0]) => {
    const planned = stormEscalationJob(options);
    if (!('job' in planned)) throw new Error(`no job: ${planned.skipped.why}`);
    return planned.job;
  };
  const withSlack = { slack: { channel: '#shop' } };

  it('tells the first level of the ladder once, in words naming how many workloads are unhealthy', () => {
    const policy = parsedPolicy('shop', 'web', {
      slack: { channel: '#shop' },
      ticket: { provider: 'github', project: 'acme/ops' },
      escalation: {
        levels: [
          { after: '0s', targets: [{ type: 'ticket' }, { type: 'slack', channel: '#oncall' }] },
          { after: '15m', targets: [{ type: 'page', service: 'primary' }] },
        ],
      },
    });
    const job = jobOf({ owner: 'agent-n1', policy, startedAt: 1_000, storm });
    expect(job).toMatchObject({
      owner: 'agent-n1',
      actorKey: 'AutoRemediationPolicy/shop/web',
      incidentId: 'AutoRemediationPolicy/shop/web#storm@1000',
      step: 'storm-escalation',
      policy: 'shop/web',
      requestedAt: 1_000,
      effect: {
        kind: 'escalate',
        purpose: 'escalated',
        to: { type: 'slack', channel: '#oncall' },
        level: 0,
        target: { kind: 'AutoRemediationPolicy', namespace: 'shop', name: 'web', uid: 'uid-web' },
        chatops: { channel: '#shop' },
      },
    });
    expect(job.effect['reason']).toMatch(
      /^storm under policy shop\/web: 4 of its 6 workloads are unhealthy at once \(more than 50%\)/,
    );
  });

  it('counts nodes under a node policy', () => {
    const policy = parsedPolicy('kube-remedy-system', 'nodes', {
      ...withSlack,
      selector: { kinds: ['Node'] },
      detections: [{ type: 'NotReady', action: 'cordon' }],
    });
    const job = jobOf({ owner: 'agent-n1', policy, startedAt: 1_000, storm });
    expect(job.effect['reason']).toMatch(
      /^storm under policy kube-remedy-system\/nodes: 4 of its 6 nodes are unhealthy at once/,
    );
  });

  it('names the count a storm exceeded when the policy gives one', () => {
    const policy = parsedPolicy('kube-remedy-system', 'nodes', {
      ...withSlack,
      selector: { kinds: ['Node'] },
      detections: [{ type: 'NotReady', action: 'cordon' }],
      budget: { maxUnhealthy: 2 },
    });
    const job = jobOf({
      owner: 'controller',
      policy,
      startedAt: 1_000,
      storm: { ...storm, maxUnhealthy: 2 },
    });
    expect(job.effect['reason']).toMatch(
      /4 of its 6 nodes are unhealthy at once \(more than 2\)\./,
    );
  });

  it("goes to the policy's own channel without a ladder", () => {
    const job = jobOf({
      owner: 'controller',
      policy: parsedPolicy('shop', 'web', withSlack),
      startedAt: 1_000,
      storm,
    });
    expect(job.effect).toMatchObject({ to: null, level: null });
  });

  it("goes to the installation's channel when the policy names none", () => {
    const policy = parsedPolicy('shop', 'web');
    const job = jobOf({
      owner: 'controller',
      policy,
      startedAt: 1_000,
      storm,
      slackChannel: '#ops',
    });
    expect(job.effect).toMatchObject({ kind: 'escalate', to: null });
  });

  it("goes to the ladder's Slack channel when neither the policy nor the installation names one", () => {
    const policy = parsedPolicy('shop', 'web', {
      escalation: { levels: [{ after: '0s', targets: [{ type: 'slack', channel: '#oncall' }] }] },
    });
    const job = jobOf({ owner: 'controller', policy, startedAt: 1_000, storm });
    expect(job.effect).toMatchObject({ to: { type: 'slack', channel: '#oncall' }, level: 0 });
  });

  it('is not enqueued when nothing configures Slack, and says what it would have told', () => {
    const policy = parsedPolicy('shop', 'web', {
      escalation: { levels: [{ after: '0s', targets: [{ type: 'page', service: 'primary' }] }] },
    });
    const planned = stormEscalationJob({ owner: 'agent-n1', policy, startedAt: 1_000, storm });
    expect(planned).toEqual({
      skipped: { integration: 'slack', why: SLACK_NOT_CONFIGURED },
      notice: {
        at: 1_000,
        object: 'AutoRemediationPolicy/shop/web',
        what: 'escalated',
        reason: expect.stringMatching(
          /^storm under policy shop\/web: 4 of its 6 workloads/,
        ) as unknown,
      },
    });
  });

  it('is the same job whoever enqueues it, and another job for another storm', () => {
    const policy = parsedPolicy('shop', 'web', withSlack);
    const id = (owner: string, startedAt: number) =>
      effectJobId(jobOf({ owner, policy, startedAt, storm }));
    expect(id('agent-a', 1_000)).toBe(id('agent-b', 1_000));
    expect(id('agent-a', 1_000)).not.toBe(id('agent-a', 2_000));
  });
});
