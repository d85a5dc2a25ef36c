import { describe, expect, it } from 'vitest';
import {
  companionJobs,
  DEFAULT_EVIDENCE_WAIT_MS,
  toEffectJob,
} from '../../../src/actors/effect-jobs.ts';
import { effectJobId } from '../../../src/effects/catalogue.ts';
import type { EffectRequest, RemediationContext } from '../../../src/machines/index.ts';
import { parsePolicy, type Policy } from '../../../src/policy/index.ts';

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
    ['a ticket', { kind: 'openTicket', level: 2 }],
    ['a ticket update', { kind: 'updateTicket', detection: 'CrashLoopBackOff', resolve: true }],
    ['an evidence bundle', { kind: 'collectEvidence' }],
    ['a pull request', { kind: 'openPullRequest', proposes: { kind: 'scale', from: 2, to: 4 } }],
  ])('enqueues no %s when the policy does not configure where it goes', (_, effect) => {
    expect(
      toEffectJob(request(effect), {
        owner: 'agent-n1',
        policyRef: 'shop/p',
        policy: policy({}),
        actor,
      }),
    ).toBeUndefined();
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

  it('asks the LLM for a suggested cause when a notification asks people to look', () => {
    const context = {
      owner: 'agent-n1',
      policyRef: 'shop/p',
      policy: policy({ llm: { enabled: true, model: 'small-model' } }),
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
      policy: policy({ llm: { enabled: true, model: 'small-model' }, evidence }),
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
      policy: policy({ evidence }),
      actor: scaling,
    };
    // A scale proposal collects no evidence until people take over.
    expect(toEffectJob(notify, context)?.effect['evidence']).toBeUndefined();
    const escalated = request({ kind: 'notify', purpose: 'escalated', to: null, level: null });
    expect(toEffectJob(escalated, context)?.effect['evidence']).toEqual(evidence);
  });

  it('asks nothing when the policy leaves the LLM off', () => {
    const context = { owner: 'agent-n1', policyRef: 'shop/p', policy: policy({}), actor };
    const job = toEffectJob(notify, context);
    if (job === undefined) throw new Error('no notify job');
    expect(companionJobs(notify, job, context)).toEqual([]);
  });
});
