import { beforeEach, describe, expect, it } from 'vitest';
import {
  companionJobs,
  DEFAULT_EVIDENCE_WAIT_MS,
  jobEffect,
  notificationChannel,
  planEffectJob,
  roleEffectSink,
  toEffectJob,
} from '../../../src/actors/effect-jobs.ts';
import { effectJobId, type EffectJob } from '../../../src/effects/catalogue.ts';
import type { EffectRequest, RemediationContext } from '../../../src/machines/index.ts';
import { parsePolicy, type Policy, type UnsentNotice } from '../../../src/policy/index.ts';
import type { Logger } from '../../../src/telemetry/index.ts';

const target = {
  kind: 'Pod' as const,
  namespace: 'shop',
  name: 'cart-1',
  uid: 'u1',
  resourceVersion: '7',
};

function request(effect: Record<string, unknown>): EffectRequest {
  return {
    actorKey: 'Pod/shop/cart-1',
    incidentId: 'Pod/shop/cart-1#1@5',
    step: 'remediate-1',
    effectId: 'Pod/shop/cart-1#1@5/remediate-1',
    requestedAt: 5,
    effect: { target, reason: 'crash loop', ...effect } as EffectRequest['effect'],
  };
}

function policy(spec: Record<string, unknown>): Policy {
  const parsed = parsePolicy({
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    metadata: { name: 'p', namespace: 'shop', generation: 1 },
    spec: {
      selector: { kinds: ['Pod'] },
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
      ...spec,
    },
  });
  if (!parsed.ok) throw new Error('policy does not parse');
  return parsed.policy;
}

const actor = {
  incident: {
    trigger: { kind: 'detection', detection: { type: 'CrashLoopBackOff', reason: 'crash loop' } },
  },
  history: [{ at: 5, decision: 'remediate', reason: 'crash loop' }],
} as unknown as RemediationContext;

describe('machine effects as jobs', () => {
  it('gives a pod restart the parameters its processor checks, for the agent to run', () => {
    const job = toEffectJob(request({ kind: 'restartPod' }), {
      owner: 'agent-n1',
      policyRef: 'shop/p',
    });
    expect(job).toMatchObject({
      owner: 'agent-n1',
      effect: { kind: 'restartPod', namespace: 'shop', name: 'cart-1', uid: 'u1' },
      policy: 'shop/p',
    });
    expect(job?.executor).toBeUndefined();
  });

  it('runs actions on Deployments in the controller, with the result going to the asking agent', () => {
    const job = toEffectJob(
      request({ kind: 'rolloutRestart', target: { ...target, kind: 'Deployment', name: 'cart' } }),
      { owner: 'agent-n1', policyRef: 'shop/p' },
    );
    expect(job).toMatchObject({
      owner: 'agent-n1',
      executor: 'controller',
      effect: { kind: 'rolloutRestart', name: 'cart' },
    });
  });

  it("adds the policy's Slack channel and approvers to a notification", () => {
    const job = toEffectJob(
      request({ kind: 'notify', purpose: 'approvalRequested', to: null, level: null }),
      {
        owner: 'agent-n1',
        policyRef: 'shop/p',
        policy: policy({
          mode: 'approval',
          slack: { channel: '#shop' },
          approvers: { users: ['U1'], groups: [] },
        }),
      },
    );
    expect(job?.effect).toMatchObject({
      chatops: { channel: '#shop', approvers: { users: ['U1'], groups: [] } },
    });
  });

  it('adds the ticket project and the detection to a ticket', () => {
    const job = toEffectJob(request({ kind: 'openTicket', level: 2 }), {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ ticket: { provider: 'jira', project: 'OPS' } }),
      actor,
    });
    expect(job?.effect).toMatchObject({
      ticket: { provider: 'jira', project: 'OPS' },
      detection: 'CrashLoopBackOff',
    });
  });

  it('gives a ticket update the problem it names, asked for as the incident closes', () => {
    const update = { kind: 'updateTicket', detection: 'OOMKilled', resolve: true };
    const closed = { ...actor, incident: null } as RemediationContext;
    const job = toEffectJob(request(update), {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ ticket: { provider: 'github', project: 'shop/incidents' } }),
      actor: closed,
    });
    expect(job?.effect).toEqual({
      kind: 'updateTicket',
      target,
      reason: 'crash loop',
      detection: 'OOMKilled',
      resolve: true,
      ticket: { provider: 'github', project: 'shop/incidents' },
    });
  });

  it.each([
    ['a ticket', { kind: 'openTicket', level: 2 }, 'tickets'],
    [
      'a ticket update',
      { kind: 'updateTicket', detection: 'CrashLoopBackOff', resolve: true },
      'tickets',
    ],
    ['an evidence bundle', { kind: 'collectEvidence' }, 'evidence'],
    [
      'a pull request',
      { kind: 'openPullRequest', proposes: { kind: 'scale', from: 2, to: 4 } },
      'gitops',
    ],
    ['a notification', { kind: 'notify', purpose: 'escalated', to: null, level: null }, 'slack'],
    ['an escalation', { kind: 'escalate', purpose: 'escalated', to: null, level: null }, 'slack'],
  ])(
    'enqueues no %s when the policy does not configure where it goes',
    (_, effect, integration) => {
      const context = { owner: 'agent-n1', policyRef: 'shop/p', policy: policy({}), actor };
      expect(toEffectJob(request(effect), context)).toBeUndefined();
      expect(planEffectJob(request(effect), context)).toEqual({
        skipped: { integration, why: expect.any(String) as unknown },
      });
    },
  );
});

describe('a notification and its Slack channel', () => {
  const escalated = (to: Record<string, unknown> | null) =>
    request({ kind: 'notify', purpose: 'escalated', to, level: to === null ? null : 0 });
  const context = (spec: Record<string, unknown>, slackChannel?: string) => ({
    owner: 'agent-n1',
    policyRef: 'shop/p',
    policy: policy(spec),
    actor,
    ...(slackChannel === undefined ? {} : { slackChannel }),
  });
  const ladder = (target: Record<string, unknown>) => ({
    escalation: { levels: [{ after: '0s', targets: [target] }] },
  });

  it.each<
    [
      string,
      Record<string, unknown> | null,
      Record<string, unknown>,
      string | undefined,
      string | undefined,
    ]
  >([
    ["the policy's", null, { slack: { channel: '#shop' } }, '#ops', '#shop'],
    ["the installation's, when the policy names none", null, {}, '#ops', '#ops'],
    [
      "its escalation target's, when neither names one",
      { type: 'slack', channel: '#oncall' },
      ladder({ type: 'slack', channel: '#oncall' }),
      undefined,
      '#oncall',
    ],
    [
      'none for a page without a channel to post it in',
      { type: 'page', service: 'primary' },
      ladder({ type: 'page', service: 'primary' }),
      undefined,
      undefined,
    ],
    [
      "none for the policy's own channel when only a ladder target has one",
      null,
      ladder({ type: 'slack', channel: '#oncall' }),
      undefined,
      undefined,
    ],
  ])('is %s', (_name, to, spec, slackChannel, channel) => {
    expect(notificationChannel(jobEffect(escalated(to).effect), context(spec, slackChannel))).toBe(
      channel,
    );
    expect(toEffectJob(escalated(to), context(spec, slackChannel)) !== undefined).toBe(
      channel !== undefined,
    );
  });

  it("leaves the job's channel to the policy, so the workers' notifier still chooses", () => {
    // The installation's channel stands in at the workers (slack.channel): the job says nothing.
    const job = toEffectJob(escalated(null), context({}, '#ops'));
    expect(job?.effect['chatops']).toEqual({ approvers: { users: [], groups: [] } });
  });
});

describe("the roles' effect sink", () => {
  const enqueued: EffectJob[] = [];
  const unsent: [string, UnsentNotice][] = [];
  const logs: string[] = [];
  const logger = {
    debug: (_fields: object, message: string) => logs.push(message),
  } as unknown as Logger;
  const sink = (spec: Record<string, unknown>) =>
    roleEffectSink({
      owner: 'agent-n1',
      queues: { enqueue: (job) => Promise.resolve(enqueued.push(job)) },
      policyOf: () => policy(spec),
      limits: undefined,
      logger,
      onUnsent: (ref, notice) => Promise.resolve(void unsent.push([ref, notice])),
    });
  const actorRef = { key: 'Pod/shop/cart-1', policyRef: 'shop/p' };
  const quarantined = request({ kind: 'notify', purpose: 'quarantined', to: null, level: null });

  beforeEach(() => {
    enqueued.length = 0;
    unsent.length = 0;
    logs.length = 0;
  });

  it('enqueues nothing for a notification without Slack, not even its LLM companion, and says so', async () => {
    await sink({ llm: { enabled: true, model: 'small-model' } })(quarantined, actorRef, actor);
    expect(enqueued).toEqual([]);
    expect(unsent).toEqual([
      ['shop/p', { at: 5, object: 'Pod/shop/cart-1', what: 'quarantined', reason: 'crash loop' }],
    ]);
  });

  it('sends the notification and its LLM companion when the policy has Slack', async () => {
    const spec = { slack: { channel: '#shop' }, llm: { enabled: true, model: 'small-model' } };
    await sink(spec)(quarantined, actorRef, actor);
    expect(enqueued.map((job) => job.effect.kind)).toEqual(['notify', 'suggestCause']);
    expect(unsent).toEqual([]);
  });

  it('counts only notifications: other effects without their integration are logged at debug level', async () => {
    await sink({})(request({ kind: 'collectEvidence' }), actorRef, actor);
    expect(enqueued).toEqual([]);
    expect(unsent).toEqual([]);
    expect(logs).toEqual(['effect skipped: its integration is not configured']);
  });
});

describe('evidence before an action that replaces pods', () => {
  const keeping = policy({ evidence: { efs: { path: '/evidence/shop' } } });
  const detected = {
    ...actor,
    incident: { ...actor.incident, id: 'Pod/shop/cart-1#1@5', openedAt: 5 },
  } as unknown as RemediationContext;
  const context = { owner: 'agent-n1', policyRef: 'shop/p', policy: keeping, actor: detected };
  const evidenceJobId = effectJobId({
    actorKey: 'Pod/shop/cart-1',
    incidentId: 'Pod/shop/cart-1#1@5',
    step: 'detected-evidence',
  });

  it.each(['restartPod', 'deletePod', 'evictPod', 'drain', 'rolloutRestart', 'rollback'])(
    'makes %s wait for the evidence its incident collected at detection',
    (kind) => {
      const job = toEffectJob(request({ kind }), { ...context, evidenceWaitMs: 20_000 });
      expect(job?.evidenceFirst).toEqual({ jobId: evidenceJobId, askedAt: 5, waitMs: 20_000 });
    },
  );

  it('waits the default time when the configuration says nothing', () => {
    expect(toEffectJob(request({ kind: 'restartPod' }), context)?.evidenceFirst?.waitMs).toBe(
      DEFAULT_EVIDENCE_WAIT_MS,
    );
  });

  it('does not hold actions that keep pods, policies without evidence, or a wait of 0', () => {
    const cordon = request({ kind: 'cordon', target: { ...target, kind: 'Node', name: 'n1' } });
    expect(toEffectJob(cordon, context)?.evidenceFirst).toBeUndefined();
    const bare = { ...context, policy: policy({}) };
    expect(toEffectJob(request({ kind: 'restartPod' }), bare)?.evidenceFirst).toBeUndefined();
    const off = { ...context, evidenceWaitMs: 0 };
    expect(toEffectJob(request({ kind: 'restartPod' }), off)?.evidenceFirst).toBeUndefined();
  });

  it('does not hold an action of another incident than the one detected', () => {
    const later = { ...request({ kind: 'restartPod' }), incidentId: 'Pod/shop/cart-1#2@9' };
    expect(toEffectJob(later, context)?.evidenceFirst).toBeUndefined();
  });
});

describe('jobs that go with a request', () => {
  const notify = request({ kind: 'notify', purpose: 'approvalRequested', to: null, level: null });
  const slack = { slack: { channel: '#shop' } };

  it('asks the LLM for a suggested cause when a notification asks people to look', () => {
    const context = {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ ...slack, llm: { enabled: true, model: 'small-model' } }),
      actor,
    };
    const job = toEffectJob(notify, context);
    if (job === undefined) throw new Error('no notify job');
    expect(companionJobs(notify, job, context)).toEqual([
      expect.objectContaining({
        step: 'remediate-1-suggest',
        effect: expect.objectContaining({
          kind: 'suggestCause',
          model: 'small-model',
          reason: 'crash loop',
        }) as unknown,
      }),
    ]);
  });

  it('says where to keep the suggestion when the policy keeps evidence', () => {
    const evidence = { s3: { bucket: 'evidence', prefix: 'prod' } };
    const context = {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ ...slack, llm: { enabled: true, model: 'small-model' }, evidence }),
      actor,
    };
    const job = toEffectJob(notify, context);
    if (job === undefined) throw new Error('no notify job');
    // The notification links the evidence, and the suggestion is kept with it.
    expect(job.effect['evidence']).toEqual(evidence);
    expect(companionJobs(notify, job, context)[0]?.effect['evidenceTarget']).toEqual(evidence);
  });

  it('links evidence only from notifications of incidents that collect it', () => {
    const evidence = { s3: { bucket: 'evidence', prefix: 'prod' } };
    const scaling = {
      ...actor,
      incident: { trigger: { kind: 'scale', from: 2, to: 4, reason: 'load' } },
    } as unknown as RemediationContext;
    const context = {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ ...slack, evidence }),
      actor: scaling,
    };
    // A scale proposal collects no evidence until people take over.
    expect(toEffectJob(notify, context)?.effect['evidence']).toBeUndefined();
    const escalated = request({ kind: 'notify', purpose: 'escalated', to: null, level: null });
    expect(toEffectJob(escalated, context)?.effect['evidence']).toEqual(evidence);
  });

  it('asks nothing when the policy leaves the LLM off', () => {
    const context = { owner: 'agent-n1', policyRef: 'shop/p', policy: policy(slack), actor };
    const job = toEffectJob(notify, context);
    if (job === undefined) throw new Error('no notify job');
    expect(companionJobs(notify, job, context)).toEqual([]);
  });
});
