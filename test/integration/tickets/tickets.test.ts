import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../src/adapters/github/client.ts';
import { GitHubIssueTracker } from '../../../src/adapters/github/issues.ts';
import {
  createJiraClient,
  FINGERPRINT_PROPERTY,
  JiraTracker,
} from '../../../src/adapters/jira/tracker.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer, type ControlMessage } from '../../../src/effects/control-stream.ts';
import { RetryLaterError } from '../../../src/effects/errors.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { ticketProcessors } from '../../../src/effects/tickets/index.ts';
import { startEffectWorkers, type ProcessorContext } from '../../../src/effects/workers.ts';
import { fingerprintLabel, ticketFingerprint } from '../../../src/tickets/tickets.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { FakeJira } from '../../support/fake-jira.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest } from '../../support/redis.ts';

const ACTOR = 'Pod/shop/web-7d9f8-abcde';
const FP = ticketFingerprint(ACTOR, 'CrashLoopBackOff');

function job(
  kind: 'openTicket' | 'updateTicket',
  step: string,
  ticket: { provider: string; project: string },
  extra: Record<string, unknown> = {},
): EffectJob {
  return {
    owner: 'agent-node-1',
    actorKey: ACTOR,
    incidentId: `${ACTOR}#3@1732000000000`,
    step,
    policy: 'shop/crashloops',
    requestedAt: 1_732_000_000_000,
    effect: {
      kind,
      target: {
        kind: 'Pod',
        namespace: 'shop',
        name: 'web-7d9f8-abcde',
        uid: 'u-9',
        resourceVersion: '12',
      },
      reason: 'container app restarted 6 times in 10m (CrashLoopBackOff); restarts did not hold',
      detection: 'CrashLoopBackOff',
      ticket,
      evidence: { s3: { bucket: 'evidence', prefix: '' } },
      ...extra,
    },
  };
}

const WORKLOAD = 'shop/Deployment/web';
const WORKLOAD_FP = ticketFingerprint(WORKLOAD, 'CrashLoopBackOff');

/** A job of one pod of the Deployment `web`, for the workload's incident. */
function podJob(
  pod: string,
  kind: 'openTicket' | 'updateTicket',
  step: string,
  ticket: { provider: string; project: string },
  extra: Record<string, unknown> = {},
): EffectJob {
  const base = job(kind, step, ticket, extra);
  return {
    ...base,
    actorKey: `Pod/shop/${pod}`,
    workload: WORKLOAD,
    incidentId: `${ACTOR}#3@1732000000000`,
    effect: {
      ...base.effect,
      target: { kind: 'Pod', namespace: 'shop', name: pod, uid: `u-${pod}`, resourceVersion: '1' },
    },
  };
}

function context(jobId: string): ProcessorContext {
  return {
    jobId,
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  };
}

describe('tickets on Jira', () => {
  let jira: FakeJira;
  const jiraTicket = { provider: 'jira', project: 'OPS' };

  beforeEach(async () => {
    jira = new FakeJira();
    await jira.start();
  });

  afterEach(async () => {
    await jira.stop();
    expect(jira.violations).toEqual([]);
  });

  function processors() {
    const client = createJiraClient({
      baseUrl: jira.url,
      email: jira.email,
      apiToken: jira.apiToken,
      onSchemaMismatch: 'throw',
    });
    return ticketProcessors({
      trackers: { jira: new JiraTracker({ client, baseUrl: jira.url, issueType: 'Incident' }) },
    });
  }

  it('opens one ticket per fingerprint, comments on recurrence, and resolves it', async () => {
    const { openTicket, updateTicket } = processors();
    const opened = await openTicket(
      job('openTicket', 'escalate-1-level-1', jiraTicket, { level: 0 }),
      context('job-1'),
    );
    expect(opened).toMatchObject({
      created: true,
      ticket: { provider: 'jira', key: 'OPS-1', url: `${jira.url}/browse/OPS-1` },
    });
    const issue = jira.issue('OPS-1');
    expect(issue).toMatchObject({
      summary: `[kube-remedy] CrashLoopBackOff: Pod shop/web-7d9f8-abcde`,
      issueType: 'Incident',
      labels: ['kube-remedy', fingerprintLabel(FP)],
      properties: {
        [FINGERPRINT_PROPERTY]: { fingerprint: FP, actorKey: ACTOR, detection: 'CrashLoopBackOff' },
      },
    });
    expect(jira.descriptionText('OPS-1')).toContain('restarts did not hold');
    expect(jira.descriptionText('OPS-1')).toContain(
      's3://evidence/shop/Pod/web-7d9f8-abcde/3-1732000000000/',
    );

    // The same job again: nothing new. The next level of the ladder: one comment.
    await openTicket(
      job('openTicket', 'escalate-1-level-1', jiraTicket, { level: 0 }),
      context('job-1'),
    );
    const next = await openTicket(
      job('openTicket', 'escalate-1-level-2', jiraTicket, { level: 1 }),
      context('job-2'),
    );
    expect(next).toMatchObject({ created: false, commented: true, ticket: { key: 'OPS-1' } });
    await openTicket(
      job('openTicket', 'escalate-1-level-2', jiraTicket, { level: 1 }),
      context('job-2'),
    );
    expect(jira.issues).toHaveLength(1);
    expect(jira.commentTexts('OPS-1')).toHaveLength(1);
    expect(jira.commentTexts('OPS-1')[0]).toContain(
      'The problem occurred again (escalation level 2).',
    );

    const resolved = await updateTicket(
      job('updateTicket', 'resolve', jiraTicket, {
        resolve: true,
        reason: 'healthy for 5m after the restart',
      }),
      context('job-3'),
    );
    expect(resolved).toMatchObject({ resolved: true, ticket: { key: 'OPS-1', status: 'Done' } });
    expect(jira.issue('OPS-1').status).toBe('done');
    expect(jira.commentTexts('OPS-1')[1]).toContain('Resolved: healthy for 5m after the restart');

    // Resolved: nothing open to update; the next occurrence opens a new ticket.
    await expect(
      updateTicket(job('updateTicket', 'resolve', jiraTicket, { resolve: true }), context('job-4')),
    ).resolves.toMatchObject({
      ticket: null,
      outcome: 'no open ticket for Pod shop/web-7d9f8-abcde (CrashLoopBackOff); nothing to update',
    });
    await expect(
      openTicket(job('openTicket', 'escalate-2-level-1', jiraTicket), context('job-5')),
    ).resolves.toMatchObject({
      created: true,
      ticket: { key: 'OPS-2' },
    });
  });

  it('comments once on an update that does not resolve, and leaves the ticket open', async () => {
    const { openTicket, updateTicket } = processors();
    await openTicket(job('openTicket', 'quarantine-0', jiraTicket, { level: 0 }), context('job-1'));
    const lifted = job('updateTicket', 'quarantine-lifted-ticket', jiraTicket, {
      resolve: false,
      reason:
        'remediations are allowed again: the quarantine window has passed; CrashLoopBackOff is still seen',
    });
    const first = await updateTicket(lifted, context('job-2'));
    expect(first).toMatchObject({
      commented: true,
      resolved: false,
      outcome: 'commented on ticket OPS-1',
    });
    // The job again (its result was lost): the marker says it is done.
    await expect(updateTicket(lifted, context('job-2'))).resolves.toMatchObject({
      commented: false,
      outcome: 'ticket OPS-1 already has this update',
    });
    expect(jira.commentTexts('OPS-1')).toEqual([
      expect.stringContaining(
        'Update: remediations are allowed again: the quarantine window has passed; CrashLoopBackOff is still seen',
      ) as unknown,
    ]);
    expect(jira.issue('OPS-1').status).toBe('todo');
  });

  it('gives the pods of one Deployment one ticket, which the pod that resolves the problem closes', async () => {
    const { openTicket, updateTicket } = processors();
    // The first crash-looping replica escalates; the ticket is the Deployment's.
    await openTicket(
      podJob('web-7d9f8-abcde', 'openTicket', 'quarantine-0', jiraTicket, { level: 0 }),
      context('job-1'),
    );
    expect(jira.issue('OPS-1')).toMatchObject({
      summary: '[kube-remedy] CrashLoopBackOff: Deployment shop/web',
      labels: ['kube-remedy', fingerprintLabel(WORKLOAD_FP)],
      properties: {
        [FINGERPRINT_PROPERTY]: {
          fingerprint: WORKLOAD_FP,
          actorKey: ACTOR,
          detection: 'CrashLoopBackOff',
          workload: WORKLOAD,
        },
      },
    });
    expect(jira.descriptionText('OPS-1')).toContain('Workload: Deployment shop/web');
    expect(jira.descriptionText('OPS-1')).toContain('Pod: Pod shop/web-7d9f8-abcde');
    // Another replica of the Deployment files the same problem: a comment, no second ticket.
    await expect(
      openTicket(
        podJob('web-7d9f8-fghij', 'openTicket', 'escalate-1-level-1', jiraTicket, { level: 0 }),
        context('job-2'),
      ),
    ).resolves.toMatchObject({ created: false, commented: true, ticket: { key: 'OPS-1' } });
    expect(jira.commentTexts('OPS-1')[0]).toContain('Pod: Pod shop/web-7d9f8-fghij');
    // The pod that replaced the first one verified the restart: it closes the ticket.
    await expect(
      updateTicket(
        podJob('web-7d9f8-klmno', 'updateTicket', 'resolved-ticket', jiraTicket, {
          resolve: true,
          reason: 'container app is in CrashLoopBackOff is gone',
        }),
        context('job-3'),
      ),
    ).resolves.toMatchObject({ resolved: true, ticket: { key: 'OPS-1', status: 'Done' } });
    expect(jira.issues).toHaveLength(1);
    expect(jira.issue('OPS-1').status).toBe('done');
  });

  it('keeps different problems of one object apart', async () => {
    const { openTicket } = processors();
    await openTicket(job('openTicket', 's1', jiraTicket), context('job-1'));
    await openTicket(
      job('openTicket', 's2', jiraTicket, { detection: 'OOMKilled' }),
      context('job-2'),
    );
    expect(jira.issues.map((i) => i.key)).toEqual(['OPS-1', 'OPS-2']);
  });

  it('maps Jira errors to retry-later and terminal failures', async () => {
    const { openTicket } = processors();
    jira.failNext({
      path: /./,
      status: 429,
      body: { errorMessages: ['Rate limit exceeded'] },
      headers: { 'retry-after': '12' },
    });
    const limited = await openTicket(job('openTicket', 's', jiraTicket), context('j')).catch(
      (e: unknown) => e,
    );
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(12_000);

    jira.failNext({ path: /./, status: 401, body: 'Client must be authenticated' });
    await expect(
      openTicket(job('openTicket', 's', jiraTicket), context('j')),
    ).rejects.toMatchObject({ code: 'unauthorized' });

    await expect(
      openTicket(job('openTicket', 's', { provider: 'jira', project: 'NOPE' }), context('j')),
    ).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringContaining('project: valid project is required') as unknown,
    });
    await expect(
      openTicket(job('openTicket', 's', { provider: 'github', project: 'o/r' }), context('j')),
    ).rejects.toMatchObject({
      code: 'not-configured',
    });
  });

  it('runs as an effect job and tells the owner where the ticket is', async () => {
    const scratch = await redisForTest();
    const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
    const reader = new Redis(scratch.url);
    const queues = new EffectQueues({
      connection,
      keyPrefix: scratch.prefix,
      attempts: 2,
      backoffMs: 10,
    });
    const workers = startEffectWorkers({
      connection,
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      integrations: ['tickets'],
      owner: 'agent-node-1',
      processors: processors(),
      logger: captureLogger().logger,
    });
    const messages: ControlMessage[] = [];
    const consumer = startControlConsumer({
      redis: reader,
      keyPrefix: scratch.prefix,
      owner: 'agent-node-1',
      handle: (m) => void messages.push(m),
      logger: captureLogger().logger,
      blockMs: 100,
    });
    try {
      await queues.enqueue(job('openTicket', 'escalate-1-level-3', jiraTicket, { level: 2 }));
      await eventually(() => expect(messages).toHaveLength(1));
      expect(messages[0]).toMatchObject({
        actorKey: ACTOR,
        type: 'EFFECT.DONE',
        payload: {
          kind: 'openTicket',
          result: {
            outcome: `opened ticket OPS-1 (${jira.url}/browse/OPS-1)`,
            url: `${jira.url}/browse/OPS-1`,
          },
        },
      });
    } finally {
      await consumer.stop();
      await workers.close();
      await queues.close();
      await Promise.all([connection.quit(), reader.quit()]);
      await scratch.cleanup();
    }
  });
});

describe('tickets as GitHub issues', () => {
  let github: FakeGitHub;
  const ticket = { provider: 'github', project: 'shop/incidents' };

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    github.createRepo('shop/incidents', { 'README.md': '# incidents\n' });
  });

  afterEach(async () => {
    await github.stop();
    expect(github.violations).toEqual([]);
  });

  function processors() {
    const tracker = new GitHubIssueTracker(
      createGitHubClient({ token: github.token, baseUrl: github.url }),
    );
    return ticketProcessors({ trackers: { github: tracker } });
  }

  it('opens one issue per fingerprint, comments once per job, and closes it', async () => {
    const { openTicket, updateTicket } = processors();
    const opened = await openTicket(
      job('openTicket', 'l1', ticket, { level: 0 }),
      context('job-1'),
    );
    expect(opened).toMatchObject({
      created: true,
      ticket: { key: '#1', url: 'https://github.example/shop/incidents/issues/1' },
    });
    const [issue] = github.issues('shop/incidents');
    expect(issue).toMatchObject({ state: 'open', labels: ['kube-remedy', fingerprintLabel(FP)] });
    expect(issue!.body).toContain('restarts did not hold');
    expect(issue!.body).toContain('<!-- kube-remedy:job=job-1 -->');

    await openTicket(job('openTicket', 'l1', ticket, { level: 0 }), context('job-1'));
    await openTicket(job('openTicket', 'l2', ticket, { level: 1 }), context('job-2'));
    await openTicket(job('openTicket', 'l2', ticket, { level: 1 }), context('job-2'));
    expect(github.issues('shop/incidents')).toHaveLength(1);
    expect(github.comments('shop/incidents', 1)).toHaveLength(1);

    const closed = await updateTicket(
      job('updateTicket', 'resolve', ticket, { resolve: true }),
      context('job-3'),
    );
    expect(closed).toMatchObject({ resolved: true, ticket: { status: 'closed' } });
    expect(github.issues('shop/incidents')[0]).toMatchObject({
      state: 'closed',
      stateReason: 'completed',
    });
  });

  it('comments once on an update that does not resolve, and leaves the issue open', async () => {
    const { openTicket, updateTicket } = processors();
    await openTicket(job('openTicket', 'quarantine-0', ticket, { level: 0 }), context('job-1'));
    const left = job('updateTicket', 'left-out-of-service-ticket', ticket, {
      resolve: false,
      reason: 'Node worker-1 recovered but is still out of service; uncordon it by hand',
    });
    await updateTicket(left, context('job-2'));
    await updateTicket(left, context('job-2'));
    const comments = github.comments('shop/incidents', 1);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain(
      '**Update:** Node worker-1 recovered but is still out of service; uncordon it by hand',
    );
    expect(github.issues('shop/incidents')[0]).toMatchObject({ state: 'open' });
  });

  it("still finds the ticket a pod opened before tickets were its workload's, and closes it", async () => {
    const { openTicket, updateTicket } = processors();
    // Opened by an earlier version: fingerprinted by the pod's actor key.
    await openTicket(job('openTicket', 'l1', ticket, { level: 0 }), context('job-1'));
    expect(github.issues('shop/incidents')[0]).toMatchObject({
      title: '[kube-remedy] CrashLoopBackOff: Pod shop/web-7d9f8-abcde',
      labels: ['kube-remedy', fingerprintLabel(FP)],
    });
    // The same pod's actor, upgraded, now files under its workload: it finds the old ticket.
    const upgraded = podJob('web-7d9f8-abcde', 'openTicket', 'l2', ticket, { level: 1 });
    await expect(openTicket(upgraded, context('job-2'))).resolves.toMatchObject({
      created: false,
      commented: true,
      ticket: { key: '#1' },
    });
    await expect(
      updateTicket(
        podJob('web-7d9f8-abcde', 'updateTicket', 'resolved-ticket', ticket, { resolve: true }),
        context('job-3'),
      ),
    ).resolves.toMatchObject({ resolved: true, ticket: { key: '#1', status: 'closed' } });
    expect(github.issues('shop/incidents')).toHaveLength(1);
    // The next ticket of the problem is the workload's.
    await openTicket(
      podJob('web-7d9f8-pqrst', 'openTicket', 'l1', ticket, { level: 0 }),
      context('job-4'),
    );
    expect(github.issues('shop/incidents')[1]).toMatchObject({
      title: '[kube-remedy] CrashLoopBackOff: Deployment shop/web',
      labels: ['kube-remedy', fingerprintLabel(WORKLOAD_FP)],
    });
  });

  it('does not take an open pull request with the label for a ticket', async () => {
    // Issues and pull requests share GitHub's issues list; only issues are tickets.
    const pull = github.openPull('shop/incidents', {
      head: 'fix',
      title: 'fix the crash',
      labels: [fingerprintLabel(FP)],
    });
    const { openTicket } = processors();
    const opened = await openTicket(job('openTicket', 'l1', ticket), context('job-1'));
    expect(opened).toMatchObject({ created: true, ticket: { key: '#2' } });
    expect(github.issues('shop/incidents')).toHaveLength(1);
    expect(github.comments('shop/incidents', pull.number)).toEqual([]);
  });
});
