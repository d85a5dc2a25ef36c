import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackApi } from '../../../src/adapters/slack/client.ts';
import { createNotifier } from '../../../src/chatops/notifier.ts';
import { ChatOpsStore } from '../../../src/chatops/store.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { createSlackProcessors } from '../../../src/effects/slack/index.ts';
import { startEffectWorkers, type ProcessorContext } from '../../../src/effects/workers.ts';
import { createRedactor } from '../../../src/redaction/index.ts';
import { SECRET_SAMPLES } from '../../unit/redaction/corpus.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import {
  approvalJob,
  buttonsOf,
  controlMessages,
  shownText,
  startHarness,
  APPROVERS,
  BOT_TOKEN,
  BUTTON_SECRET,
  type SlackHarness,
} from './support.ts';

let h: SlackHarness;
let n = 0;
const unique = (base: string) => `${base}-${(n += 1)}`;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function context(jobId: string): ProcessorContext {
  return { jobId, signal: new AbortController().signal, logger: h.logger, attempt: 1 };
}

const processors = () => createSlackProcessors(h.notifier);

describe('notify: one thread per incident', () => {
  it('an approval request opens a thread whose parent shows what, where, why, what would be done and the buttons', async () => {
    const job = approvalJob(unique('api'));
    const result = await processors().notify(job, context(unique('job')));

    const parent = h.slack.messages().find((m) => m.ts === result.threadTs);
    expect(parent?.channel).toBe('C0INCIDENTS');
    const shown = shownText(parent);
    expect(shown).toContain(`Awaiting approval: Pod shop/${job.actorKey.split('/')[2]}`);
    expect(shown).toContain(String(job.effect.reason));
    expect(shown).toContain('`shop`');
    expect(shown).toContain('policy `shop/web-policy`');
    expect(shown).toContain(`*Proposed action:* restart Pod shop/${job.actorKey.split('/')[2]}`);
    expect(shown).toContain(`incident \`${job.incidentId}\``);
    expect(Object.keys(buttonsOf(parent))).toEqual([
      'kube-remedy-approve',
      'kube-remedy-reject',
      'kube-remedy-escalate',
      'kube-remedy-snooze-1h',
      'kube-remedy-snooze-4h',
      'kube-remedy-snooze-24h',
    ]);
    const replies = h.slack.messages().filter((m) => m.threadTs === result.threadTs);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.text).toContain('*Approval requested* to restart Pod shop/');
    expect(result.outcome).toMatch(/^told Slack \(C0INCIDENTS\): awaiting approval: Pod shop\//);
  });

  it("links the incident's evidence when the policy keeps it, before the bundle is written", async () => {
    const evidence = { s3: { bucket: 'evidence', prefix: 'prod' } };
    const raw = approvalJob(unique('api'), {}, { evidence });
    const rawResult = await processors().notify(raw, context(unique('job')));
    const name = raw.actorKey.split('/')[2];
    const incident = raw.incidentId.replace(/^.*#(\d+)@(\d+)$/, '$1-$2');
    const rawParent = h.slack.messages().find((m) => m.ts === rawResult.threadTs);
    expect(shownText(rawParent)).toContain(
      `*Evidence:* Evidence \`s3://evidence/prod/shop/Pod/${name}/${incident}/\``,
    );

    const templated = approvalJob(unique('api'), {}, { evidence });
    const console = 'https://s3.console.aws.amazon.com/s3/buckets/{bucket}?prefix={key}';
    const linked = await createSlackProcessors(h.notifier, {
      evidenceLinkTemplate: console,
    }).notify(templated, context(unique('job')));
    const parent = h.slack.messages().find((m) => m.ts === linked.threadTs);
    expect(shownText(parent)).toContain(
      `<https://s3.console.aws.amazon.com/s3/buckets/evidence?prefix=prod/shop/Pod/${templated.actorKey.split('/')[2]}/`,
    );
  });

  it("links a node's evidence, and posts without a link when Slack could not show it", async () => {
    const node = unique('worker');
    const target = { kind: 'Node', namespace: null, name: node, uid: `uid-${node}` };
    const nodeJob = approvalJob(
      node,
      { actorKey: `Node/${node}`, incidentId: `Node/${node}#1@1732000000000` },
      {
        target,
        proposes: { kind: 'cordon', target, reason: 'MemoryPressure' },
        evidence: { efs: { path: '/mnt/evidence_team' } },
      },
    );
    const told = await processors().notify(nodeJob, context(unique('job')));
    const parent = h.slack.messages().find((m) => m.ts === told.threadTs);
    expect(shownText(parent)).toContain(
      `*Evidence:* Evidence \`/mnt/evidence_team/_cluster/Node/${node}/1-1732000000000/\``,
    );

    // A path with a space (the CRD allows it) cannot be shown as code: the message still goes.
    const odd = approvalJob(
      unique('api'),
      {},
      { evidence: { efs: { path: '/mnt/team evidence' } } },
    );
    const oddTold = await processors().notify(odd, context(unique('job')));
    const oddParent = h.slack.messages().find((m) => m.ts === oddTold.threadTs);
    expect(shownText(oddParent)).toContain('Awaiting approval');
    expect(shownText(oddParent)).not.toContain('*Evidence:*');
  });

  it('a rerun of the same job posts nothing twice', async () => {
    const job = approvalJob(unique('rerun'));
    const jobId = unique('job');
    const first = await processors().notify(job, context(jobId));
    const posted = h.slack.calls('chat.postMessage').length;
    const second = await processors().notify(job, context(jobId));
    expect(h.slack.calls('chat.postMessage')).toHaveLength(posted);
    expect(second).toEqual(first);
    const parent = h.slack.messages().find((m) => m.ts === first.threadTs);
    expect(shownText(parent).match(/awaiting approval: Pod/g)).toHaveLength(1); // one activity entry
  });

  it('a job that failed after posting the parent finds it again on retry instead of posting another', async () => {
    const job = approvalJob(unique('retry'));
    const jobId = unique('job');
    // First try: Slack fails the parent outright, so nothing is posted and the job is retried.
    h.slack.failNext('chat.postMessage', { error: 'fatal_error' });
    const before = h.slack.messages().length;
    await expect(processors().notify(job, context(jobId))).rejects.toThrow(/fatal_error/);
    expect(h.slack.messages()).toHaveLength(before);
    // Second try: parent and reply are posted, then the update of the parent fails.
    h.slack.failNext('chat.update', { error: 'fatal_error' });
    await expect(processors().notify(job, context(jobId))).rejects.toThrow(/fatal_error/);
    const afterFailure = h.slack.messages().length;
    expect(afterFailure).toBe(before + 2);
    // Third try: finds both posts under the job's id and only updates the parent.
    const result = await processors().notify(job, context(jobId));
    expect(h.slack.messages()).toHaveLength(afterFailure);
    expect(h.slack.messages().find((m) => m.ts === result.threadTs)?.updates).toBe(1);
  });

  it('keeps threading after a restart: the thread is found in Redis by a new process', async () => {
    const job = approvalJob(unique('restart'));
    const first = await processors().notify(job, context(unique('job')));

    const { logger } = captureLogger('warn');
    const restarted = createNotifier({
      slack: createSlackApi({ token: BOT_TOKEN, apiUrl: h.slack.apiUrl, logger }),
      store: new ChatOpsStore(h.redis, h.prefix),
      buttonSecret: BUTTON_SECRET,
      buttonTtlMs: 3_600_000,
      redactor: createRedactor(),
      policies: () => ({ channel: '#incidents', approvers: APPROVERS }),
    });
    const later = {
      ...job,
      step: 'resolved',
      requestedAt: job.requestedAt + 60_000,
      effect: {
        ...job.effect,
        purpose: 'resolved',
        reason: 'resolved: CrashLoopBackOff is gone',
        proposes: undefined,
      },
    };
    const second = await createSlackProcessors(restarted).notify(later, context(unique('job')));
    expect(second.threadTs).toBe(first.threadTs);
    const parent = h.slack.messages().find((m) => m.ts === first.threadTs);
    expect(shownText(parent)).toContain('Resolved: Pod shop/');
    expect(buttonsOf(parent)).toEqual({});
    expect(h.slack.messages().filter((m) => m.threadTs === first.threadTs)).toHaveLength(2);
  });

  it('an incident that ends unverified takes its buttons away and says so in its thread', async () => {
    const job = approvalJob(unique('restart'));
    const first = await processors().notify(job, context(unique('job')));
    const ended = {
      ...job,
      step: 'unverified',
      requestedAt: job.requestedAt + 60_000,
      effect: {
        ...job.effect,
        purpose: 'unverified',
        reason: 'ended unverified: no pod of Deployment shop/web came back',
        proposes: undefined,
      },
    };
    const second = await processors().notify(ended, context(unique('job')));
    expect(second.threadTs).toBe(first.threadTs);
    const parent = h.slack.messages().find((m) => m.ts === first.threadTs);
    expect(shownText(parent)).toContain('Ended unverified');
    expect(buttonsOf(parent)).toEqual({});
    const replies = h.slack.messages().filter((m) => m.threadTs === first.threadTs);
    expect(shownText(replies.at(-1))).toContain('Ended unverified');
  });

  it('pods of one Deployment share one thread while their incidents are open', async () => {
    const group = `Deployment/shop/${unique('web')}`;
    const a = approvalJob(
      unique('web-7d9f8-a'),
      {},
      { group, purpose: 'escalated', level: 0, proposes: undefined, expiresAt: undefined },
    );
    const b = approvalJob(
      unique('web-7d9f8-b'),
      {},
      { group, purpose: 'escalated', level: 0, proposes: undefined, expiresAt: undefined },
    );
    const first = await processors().notify(a, context(unique('job')));
    const second = await processors().notify(b, context(unique('job')));
    expect(second.threadTs).toBe(first.threadTs);
    const parent = h.slack.messages().find((m) => m.ts === first.threadTs);
    const shown = shownText(parent);
    expect(shown).toContain(
      `Escalated: ${group.replace('Deployment/', 'Deployment ')} (2 objects)`,
    );
    expect(shown).toContain(a.actorKey.replace('Pod/shop/', 'Pod shop/'));
    expect(shown).toContain(b.actorKey.replace('Pod/shop/', 'Pod shop/'));

    // Both resolve: the group's thread closes, and the next incident opens a new one.
    for (const job of [a, b]) {
      await processors().notify(
        {
          ...job,
          step: 'resolved',
          requestedAt: job.requestedAt + 1,
          effect: { ...job.effect, purpose: 'resolved', reason: 'gone' },
        },
        context(unique('job')),
      );
    }
    expect(shownText(h.slack.messages().find((m) => m.ts === first.threadTs))).toContain(
      `Resolved: ${group.replace('Deployment/', 'Deployment ')}`,
    );
    const c = approvalJob(unique('web-7d9f8-c'), {}, { group });
    const third = await processors().notify(c, context(unique('job')));
    expect(third.threadTs).not.toBe(first.threadTs);
  });
});

describe('escalate: every level is visible in the thread', () => {
  it('tells a channel target in its own channel, linking the thread, and a user group by mention', async () => {
    const name = unique('db');
    const base = approvalJob(
      name,
      { step: 'escalate-1-level-1' },
      { purpose: 'escalated', proposes: undefined, expiresAt: undefined },
    );
    const level1 = {
      ...base,
      effect: {
        ...base.effect,
        kind: 'escalate',
        level: 0,
        to: { type: 'slack', channel: '#oncall' },
      },
    };
    const level2 = {
      ...base,
      step: 'escalate-1-level-2',
      requestedAt: base.requestedAt + 15 * 60_000,
      effect: {
        ...base.effect,
        kind: 'escalate',
        level: 1,
        to: { type: 'slackUserGroup', userGroup: 'sre-oncall' },
      },
    };
    const level3 = {
      ...base,
      step: 'escalate-1-level-3',
      requestedAt: base.requestedAt + 45 * 60_000,
      effect: {
        ...base.effect,
        kind: 'escalate',
        level: 2,
        to: { type: 'page', service: 'primary' },
      },
    };
    const one = await processors().escalate(level1, context(unique('job')));
    const two = await processors().escalate(level2, context(unique('job')));
    const three = await processors().escalate(level3, context(unique('job')));
    expect(new Set([one.threadTs, two.threadTs, three.threadTs]).size).toBe(1);

    const thread = h.slack.messages().filter((m) => m.threadTs === one.threadTs);
    expect(thread.map((m) => m.text)).toEqual([
      expect.stringMatching(/^:rotating_light: \*Escalated \(level 1\)\* to #oncall: Pod shop\//),
      expect.stringMatching(
        /^:rotating_light: \*Escalated \(level 2\)\* to <!subteam\^S0SRE>: Pod shop\//,
      ),
      expect.stringMatching(
        /^:rotating_light: \*Escalated \(level 3\)\* to on-call service primary: .*Paging is not done from Slack/,
      ),
    ]);
    expect(thread[1]?.broadcast).toBe(true);
    const inOncall = h.slack
      .messages()
      .filter((m) => m.channel === 'C0ONCALL' && m.ts === one.targetTs);
    expect(inOncall).toHaveLength(1);
    expect(inOncall[0]?.text).toContain(`|Open the incident thread>`);
    expect(inOncall[0]?.text).toContain(
      `/archives/C0INCIDENTS/p${String(one.threadTs).replace('.', '')}`,
    );
    expect(Object.keys(buttonsOf(inOncall[0]))).toContain('kube-remedy-ack');
    expect(shownText(h.slack.messages().find((m) => m.ts === one.threadTs))).toContain('(level 3)');
  });
});

describe('what reaches Slack', () => {
  it('never shows a secret from a reason', async () => {
    const secrets = SECRET_SAMPLES.slice(0, 12);
    const reason = secrets.map((s) => s.text).join('\n');
    const job = approvalJob(unique('leaky'), {}, { reason });
    await processors().notify(job, context(unique('job')));
    const sent = JSON.stringify(h.slack.calls());
    for (const sample of secrets) expect(sent, sample.name).not.toContain(sample.secret);
    expect(sent).toContain('[REDACTED:');
  });

  it('cannot be made to mention the channel or disguise a link', async () => {
    const job = approvalJob(
      unique('inject'),
      {},
      { reason: 'OOMKilled <!channel> see <https://evil.example|the runbook>' },
    );
    const result = await processors().notify(job, context(unique('job')));
    const shown = shownText(h.slack.messages().find((m) => m.ts === result.threadTs));
    expect(shown).not.toContain('<!channel>');
    expect(shown).not.toContain('<https://evil.example|');
    expect(shown).toContain('&lt;!channel&gt;');
  });
});

describe('failures, typed for the queue', () => {
  it("waits as long as Slack's rate limit asks", async () => {
    h.slack.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 7 });
    const error: unknown = await processors()
      .notify(approvalJob(unique('limited')), context(unique('job')))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).retryAfterMs).toBe(7_000);
  });

  it.each([
    [
      'a channel Slack does not know',
      { chatops: { channel: '#nowhere', approvers: APPROVERS } },
      'slack-channel_not_found',
    ],
    ['parameters that are not a notification', { target: 'Pod/shop/x' }, 'bad-input'],
  ])('fails for good on %s', async (_case, effect, code) => {
    const error: unknown = await processors()
      .notify(approvalJob(unique('bad'), {}, effect), context(unique('job')))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalEffectError);
    expect((error as TerminalEffectError).code).toBe(code);
  });

  it('fails for good when nothing names a channel', async () => {
    const bare = await startHarness({ policyLookup: false });
    try {
      const error: unknown = await createSlackProcessors(bare.notifier)
        .notify(approvalJob(unique('nochannel')), context(unique('job')))
        .catch((e: unknown) => e);
      expect((error as TerminalEffectError).code).toBe('no-channel');
    } finally {
      await bare.close();
    }
  });
});

describe('through the effect workers', () => {
  it('posts the notification and sends EFFECT.DONE with the outcome to the owner', async () => {
    const connection = { url: h.db.url, maxRetriesPerRequest: null };
    const queues = new EffectQueues({
      connection,
      keyPrefix: h.prefix,
      attempts: 2,
      backoffMs: 10,
    });
    const workers = startEffectWorkers({
      connection,
      redis: h.redis,
      keyPrefix: h.prefix,
      integrations: ['slack'],
      owner: 'workers',
      processors: processors(),
      logger: h.logger,
    });
    try {
      const job = approvalJob(unique('queued'));
      const { jobId } = await queues.enqueue(job);
      const [done] = await eventually(async () => {
        const messages = await controlMessages(h.redis, h.prefix, job.owner);
        expect(messages).toHaveLength(1);
        return messages;
      });
      expect(done).toMatchObject({
        id: `${jobId}-done`,
        actorKey: job.actorKey,
        type: 'EFFECT.DONE',
        payload: {
          effectId: jobId,
          kind: 'notify',
          result: {
            outcome: expect.stringMatching(/^told Slack/) as string,
            channel: 'C0INCIDENTS',
          },
        },
      });
    } finally {
      await workers.close();
      await queues.close();
    }
  });
});
