import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signButtonToken } from '../../../src/chatops/tokens.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import type { WorkloadPhase } from '../../../src/workloads/rules.ts';
import { RedisWorkloadStore } from '../../../src/workloads/store.ts';
import { eventually } from '../../support/logger.ts';
import {
  actorHolds,
  approvalJob,
  blockActionsBody,
  buttonsOf,
  commandBody,
  controlMessages,
  nextActionTs,
  postSigned,
  shownText,
  startHarness,
  BUTTON_SECRET,
  PEOPLE,
  type SlackHarness,
} from './support.ts';

let h: SlackHarness;
let names = 0;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** Posts an approval request for a fresh pod and returns its job and the buttons Slack shows. */
async function incident(overrides: Parameters<typeof approvalJob>[2] = {}) {
  names += 1;
  const job = approvalJob(`web-${names}`, {}, overrides);
  const told = await h.notifier.notify(job, `job-${names}-${Date.now()}`);
  await actorHolds(h.redis, h.prefix, job);
  const parent = h.slack.messages().find((m) => m.ts === told.threadTs);
  return { job, told, buttons: buttonsOf(parent) };
}

/** Clicks and waits for the ephemeral answer (every click gets one). */
async function click(userId: string, actionId: string, value: string, actionTs?: string) {
  const responseName = `r-${Math.random().toString(36).slice(2)}`;
  const response = await postSigned(
    h.app,
    blockActionsBody(h.slack, {
      userId,
      actionId,
      value,
      responseName,
      ...(actionTs === undefined ? {} : { actionTs }),
    }),
  );
  expect(response.status).toBe(200);
  const [answer] = await eventually(() => {
    const found = h.slack.responses(responseName);
    expect(found).toHaveLength(1);
    return found;
  });
  return String(answer?.body.text);
}

describe('buttons in Slack', () => {
  it('an approval by an approver reaches the owning actor as APPROVE, saying who approved', async () => {
    const { job, told, buttons } = await incident();
    const actionTs = nextActionTs();

    const answer = await click(
      PEOPLE.alice.id,
      'kube-remedy-approve',
      buttons['kube-remedy-approve'] as string,
      actionTs,
    );

    expect(answer).toContain('APPROVE sent');
    const [message, ...more] = await controlMessages(h.redis, h.prefix, job.owner);
    expect(more).toEqual([]);
    expect(message).toMatchObject({
      actorKey: job.actorKey,
      type: 'APPROVE',
      payload: {
        by: 'Alice (Slack U0ALICE)',
        incidentId: job.incidentId,
        at: Math.round(Number(actionTs) * 1000),
        via: 'slack',
        slackUserId: 'U0ALICE',
      },
    });
    expect(message?.payload.id).toBe(message?.id);
    // The parent now says who approved and offers no more buttons; the thread tells the story.
    const parent = h.slack.messages().find((m) => m.ts === told.threadTs);
    expect(shownText(parent)).toContain('Approved by <@U0ALICE>');
    expect(buttonsOf(parent)).toEqual({});
    const replies = h.slack.messages().filter((m) => m.threadTs === told.threadTs);
    expect(replies.map((m) => m.text).join('\n')).toMatch(/Approved\* by <@U0ALICE>/);
  });

  it.each([
    ['a member of an approver group', PEOPLE.bob.id, 'Bob (Slack U0BOB)'],
    ['an approver named by e-mail', PEOPLE.carol.id, 'Carol (Slack U0CAROL)'],
  ])('%s may approve', async (_who, userId, by) => {
    const { job, buttons } = await incident();
    await click(userId, 'kube-remedy-approve', buttons['kube-remedy-approve'] as string);
    const messages = await controlMessages(h.redis, h.prefix, job.owner);
    expect(messages.map((m) => [m.type, m.payload.by])).toEqual([['APPROVE', by]]);
  });

  it('asks Slack for group membership at every click, so leaving the group removes the right', async () => {
    const { job, buttons } = await incident();
    h.slack.setGroupMembers('S0SRE', []);
    try {
      const answer = await click(
        PEOPLE.bob.id,
        'kube-remedy-approve',
        buttons['kube-remedy-approve'] as string,
      );
      expect(answer).toContain('You are not an approver under policy shop/web-policy');
      expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);
    } finally {
      h.slack.setGroupMembers('S0SRE', [PEOPLE.bob.id]);
    }
  });

  it.each([
    ['kube-remedy-reject', { type: 'REJECT', reason: 'rejected in Slack' }],
    ['kube-remedy-escalate', { type: 'ESCALATE', reason: 'escalated from Slack' }],
    ['kube-remedy-snooze-1h', { type: 'SNOOZE', durationMs: 3_600_000 }],
    ['kube-remedy-snooze-4h', { type: 'SNOOZE', durationMs: 14_400_000 }],
    ['kube-remedy-snooze-24h', { type: 'SNOOZE', durationMs: 86_400_000 }],
  ])('%s sends %o to the owner', async (actionId, expected) => {
    const { job, buttons } = await incident();
    await click(PEOPLE.alice.id, actionId, buttons[actionId] as string);
    const [message] = await controlMessages(h.redis, h.prefix, job.owner);
    const { type, ...payload } = expected;
    expect(message).toMatchObject({
      type,
      actorKey: job.actorKey,
      payload: { ...payload, by: 'Alice (Slack U0ALICE)' },
    });
  });

  it('an escalation notice offers acknowledge, which sends ACK', async () => {
    names += 1;
    const job = approvalJob(
      `web-${names}`,
      { step: 'escalate-1-level-1' },
      { purpose: 'escalated', level: 0, to: null, proposes: undefined, expiresAt: undefined },
    );
    const told = await h.notifier.notify(job, `escalation-${names}`);
    await actorHolds(h.redis, h.prefix, job, { escalated: { ladder: 'paging' } });
    const buttons = buttonsOf(h.slack.messages().find((m) => m.ts === told.threadTs));
    expect(Object.keys(buttons)).toEqual([
      'kube-remedy-ack',
      'kube-remedy-escalate',
      'kube-remedy-snooze-1h',
      'kube-remedy-snooze-4h',
      'kube-remedy-snooze-24h',
    ]);
    await click(PEOPLE.carol.id, 'kube-remedy-ack', buttons['kube-remedy-ack'] as string);
    const [message] = await controlMessages(h.redis, h.prefix, job.owner);
    expect(message).toMatchObject({
      type: 'ACK',
      payload: { by: 'Carol (Slack U0CAROL)', incidentId: job.incidentId },
    });
    // After the acknowledgement, acknowledging again is no longer offered.
    const parent = h.slack.messages().find((m) => m.ts === told.threadTs);
    expect(Object.keys(buttonsOf(parent))).not.toContain('kube-remedy-ack');
    expect(shownText(parent)).toContain('Acknowledged by <@U0CAROL>');
  });
});

describe('requests that must change nothing', () => {
  type Case = {
    name: string;
    /** Sends the request; returns the HTTP response and the ephemeral answer, if any. */
    send: (
      setup: Awaited<ReturnType<typeof incident>>,
    ) => Promise<{ status: number; answer?: string }>;
    status: number;
    answer?: RegExp;
  };

  async function clickRaw(
    userId: string,
    actionId: string,
    value: string,
    options: Parameters<typeof postSigned>[2] = {},
    actionTs?: string,
  ) {
    const responseName = `bad-${Math.random().toString(36).slice(2)}`;
    const response = await postSigned(
      h.app,
      blockActionsBody(h.slack, {
        userId,
        actionId,
        value,
        responseName,
        ...(actionTs === undefined ? {} : { actionTs }),
      }),
      options,
    );
    if (response.status !== 200) return { status: response.status };
    const [answer] = await eventually(() => {
      const found = h.slack.responses(responseName);
      expect(found).toHaveLength(1);
      return found;
    });
    return { status: response.status, answer: String(answer?.body.text) };
  }

  const now = () => Math.floor(Date.now() / 1000);
  const cases: Case[] = [
    {
      name: 'a forged signature',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
          { secret: 'not-the-signing-secret-at-all' },
        ),
      status: 401,
    },
    {
      name: 'no signature at all',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
          { signature: '' },
        ),
      status: 401,
    },
    {
      name: 'a stale timestamp (10 minutes old, correctly signed)',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
          { timestampSeconds: now() - 600 },
        ),
      status: 401,
    },
    {
      name: 'a future-dated timestamp (10 minutes ahead, correctly signed)',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
          { timestampSeconds: now() + 600 },
        ),
      status: 401,
    },
    {
      name: 'an unknown Slack user',
      send: (s) =>
        clickRaw('U0NOBODY', 'kube-remedy-approve', s.buttons['kube-remedy-approve'] as string),
      status: 200,
      answer: /Slack does not know your user\. Nothing was done\./,
    },
    {
      name: 'a deactivated user',
      send: (s) =>
        clickRaw(
          PEOPLE.ghost.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
        ),
      status: 200,
      answer: /Only active people may act/,
    },
    {
      name: 'a bot user',
      send: (s) =>
        clickRaw(
          PEOPLE.robot.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
        ),
      status: 200,
      answer: /Only active people may act/,
    },
    {
      name: 'a person who is not an approver',
      send: (s) =>
        clickRaw(
          PEOPLE.mallory.id,
          'kube-remedy-approve',
          s.buttons['kube-remedy-approve'] as string,
        ),
      status: 200,
      answer: /You are not an approver under policy shop\/web-policy\. Nothing was done\./,
    },
    {
      name: 'a token whose action was changed (reject turned into approve)',
      send: (s) => {
        const value = (s.buttons['kube-remedy-reject'] as string).replace('.reject.', '.approve.');
        return clickRaw(PEOPLE.alice.id, 'kube-remedy-approve', value);
      },
      status: 200,
      answer: /signature does not match/,
    },
    {
      name: 'a token whose expiry was pushed back',
      send: (s) => {
        const parts = (s.buttons['kube-remedy-approve'] as string).split('.');
        parts[3] = String(Number(parts[3]) + 86_400);
        return clickRaw(PEOPLE.alice.id, 'kube-remedy-approve', parts.join('.'));
      },
      status: 200,
      answer: /signature does not match/,
    },
    {
      name: 'a token signed with another key',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          signButtonToken(
            {
              actorKey: s.job.actorKey,
              incidentId: s.job.incidentId,
              action: 'approve',
              expiresAt: Date.now() + 60_000,
            },
            'some-other-button-secret-0123456789abcdef',
          ),
        ),
      status: 200,
      answer: /signature does not match/,
    },
    {
      name: 'an approve token sent as another button',
      send: (s) =>
        clickRaw(PEOPLE.alice.id, 'kube-remedy-ack', s.buttons['kube-remedy-approve'] as string),
      status: 200,
      answer: /signature does not match/,
    },
    {
      name: 'an expired token',
      send: (s) =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          signButtonToken(
            {
              actorKey: s.job.actorKey,
              incidentId: s.job.incidentId,
              action: 'approve',
              expiresAt: Date.now() - 60_000,
            },
            BUTTON_SECRET,
          ),
        ),
      status: 200,
      answer: /This button expired at .*Nothing was done\./,
    },
    {
      name: 'a token for an incident kube-remedy never posted',
      send: () =>
        clickRaw(
          PEOPLE.alice.id,
          'kube-remedy-approve',
          signButtonToken(
            {
              actorKey: 'Pod/shop/elsewhere',
              incidentId: 'Pod/shop/elsewhere#1@1',
              action: 'approve',
              expiresAt: Date.now() + 60_000,
            },
            BUTTON_SECRET,
          ),
        ),
      status: 200,
      answer: /no longer knows the incident/,
    },
    {
      name: 'a button value that is not a token',
      send: () => clickRaw(PEOPLE.alice.id, 'kube-remedy-approve', 'approve please'),
      status: 200,
      answer: /could not read this request\. Nothing was done\./,
    },
    {
      name: 'a payload that is not JSON',
      send: async () => {
        const response = await postSigned(h.app, 'payload=%7Bnot-json');
        return { status: response.status };
      },
      status: 400,
    },
  ];

  it.each(cases)('refuses $name', async ({ send, status, answer }) => {
    const setup = await incident();
    const result = await send(setup);
    expect(result.status).toBe(status);
    if (answer === undefined) expect(result.answer).toBeUndefined();
    else expect(result.answer).toMatch(answer);
    expect(await controlMessages(h.redis, h.prefix, setup.job.owner)).toEqual([]);
    // Nothing else changed either: the parent still offers the approval.
    const parent = h.slack.messages().find((m) => m.ts === setup.told.threadTs);
    expect(shownText(parent)).toContain('Awaiting approval');
  });

  it('refuses a replayed interaction: the same click delivered twice is applied once', async () => {
    const setup = await incident();
    const actionTs = nextActionTs();
    // Snoozing leaves the incident waiting for approval, so only the replay check can stop it.
    const value = setup.buttons['kube-remedy-snooze-1h'] as string;
    const first = await clickRaw(PEOPLE.alice.id, 'kube-remedy-snooze-1h', value, {}, actionTs);
    const second = await clickRaw(PEOPLE.alice.id, 'kube-remedy-snooze-1h', value, {}, actionTs);
    expect(first.answer).toContain('SNOOZE (1h) sent');
    expect(second.answer).toMatch(/already received; it is not applied twice\. Nothing was done\./);
    const messages = await controlMessages(h.redis, h.prefix, setup.job.owner);
    expect(messages.map((m) => m.type)).toEqual(['SNOOZE']);
  });
});

describe('buttons of a settled incident', () => {
  it('a second approval from an older notice is refused and reaches nobody', async () => {
    const setup = await incident();
    const replies = h.slack.messages().filter((m) => m.threadTs === setup.told.threadTs);
    const fromReply = buttonsOf(replies[0]);
    await click(
      PEOPLE.alice.id,
      'kube-remedy-approve',
      setup.buttons['kube-remedy-approve'] as string,
    );
    const answer = await click(
      PEOPLE.carol.id,
      'kube-remedy-approve',
      fromReply['kube-remedy-approve'] as string,
    );
    expect(answer).toBe(
      ':no_entry: This incident is already approved by <@U0ALICE>. Nothing was done.',
    );
    const messages = await controlMessages(h.redis, h.prefix, setup.job.owner);
    expect(messages.map((m) => m.payload.by)).toEqual(['Alice (Slack U0ALICE)']);
  });
});

describe('the /kube-remedy command', () => {
  async function command(userId: string, text: string) {
    const responseName = `cmd-${Math.random().toString(36).slice(2)}`;
    const response = await postSigned(h.app, commandBody(h.slack, userId, text, responseName));
    expect(response.status).toBe(200);
    const [answer] = await eventually(() => {
      const found = h.slack.responses(responseName);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(answer?.body.response_type).toBe('ephemeral');
    return String(answer?.body.text);
  }

  it('answers status from the actor snapshot in Redis and the incident thread', async () => {
    const { job } = await incident();
    const snapshot = {
      machine: 'pod@1',
      savedAt: Date.now(),
      snapshot: {
        status: 'active',
        value: 'awaitingApproval',
        context: {
          incident: {
            id: job.incidentId,
            decision: {
              decision: 'askApproval',
              reason: 'policy shop/web-policy asks for approval',
            },
          },
          history: [
            {
              at: Date.now() - 1000,
              decision: 'detected',
              reason: 'CrashLoopBackOff seen 3 times',
            },
          ],
        },
      },
    };
    await h.redis.hset(
      `${h.prefix}:snapshots:${job.owner}`,
      job.actorKey,
      JSON.stringify(snapshot),
    );
    const answer = await command(PEOPLE.mallory.id, `status ${job.actorKey}`);
    expect(answer).toContain('State: `awaitingApproval`');
    expect(answer).toContain(`by \`${job.owner}\``);
    expect(answer).toContain('policy shop/web-policy asks for approval');
    expect(answer).toContain('CrashLoopBackOff seen 3 times');
    expect(answer).toMatch(
      /Slack: <https:\/\/kube-remedy-test\.slack\.com\/archives\/C0INCIDENTS\/p\d+\|Awaiting approval>/,
    );
  });

  it('says plainly when it knows nothing about an object', async () => {
    const answer = await command(PEOPLE.mallory.id, 'status Deployment/shop/unknown');
    expect(answer).toContain('kube-remedy knows nothing about it');
  });

  it('approves by command, with the same approver checks as buttons', async () => {
    const { job } = await incident();
    const refused = await command(PEOPLE.mallory.id, `approve ${job.incidentId}`);
    expect(refused).toContain('You are not an approver');
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);

    const answer = await command(PEOPLE.alice.id, `approve ${job.actorKey}`);
    expect(answer).toContain('APPROVE sent');
    const messages = await controlMessages(h.redis, h.prefix, job.owner);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'APPROVE',
      actorKey: job.actorKey,
      payload: { by: 'Alice (Slack U0ALICE)', incidentId: job.incidentId },
    });
    // Approved now, so a second approval is refused before it reaches the actor.
    expect(await command(PEOPLE.alice.id, `approve ${job.actorKey}`)).toContain(
      'cannot be approved now (its incident is approved)',
    );
  });

  it('snoozes by command for the duration asked', async () => {
    const { job } = await incident();
    expect(await command(PEOPLE.carol.id, `snooze ${job.actorKey} 90m`)).toContain(
      'snoozed for 1h30m',
    );
    const [message] = await controlMessages(h.redis, h.prefix, job.owner);
    expect(message).toMatchObject({
      type: 'SNOOZE',
      payload: { durationMs: 5_400_000, by: 'Carol (Slack U0CAROL)' },
    });
  });

  it('triggers the policy action of an object through its owning actor', async () => {
    const { job } = await incident();
    expect(await command(PEOPLE.bob.id, `trigger ${job.actorKey} disk almost full`)).toContain(
      'TRIGGER sent',
    );
    const [message] = await controlMessages(h.redis, h.prefix, job.owner);
    expect(message).toMatchObject({
      type: 'TRIGGER',
      actorKey: job.actorKey,
      payload: { by: 'Bob (Slack U0BOB)', reason: 'disk almost full' },
    });
  });

  it.each([
    ['', /\*Usage:\*/],
    ['help', /\*Usage:\*/],
    ['reboot everything', /unknown command "reboot"/],
    ['status shop/web', /"shop\/web" is not an object or incident/],
    ['snooze Pod/shop/web-1 forever', /"forever" is not a duration/],
  ])('answers %j with usage', async (text, expected) => {
    expect(await command(PEOPLE.mallory.id, text)).toMatch(expected);
  });
});

describe("commands for a pod's incident that belongs to its workload", () => {
  const WORKLOAD = 'shop/Deployment/web';

  /** The approval request of a pod of the Deployment web, and the buttons it shows. */
  async function workloadIncident() {
    names += 1;
    const job = approvalJob(`web-7d9f8-${names}`, { workload: WORKLOAD });
    const told = await h.notifier.notify(job, `workload-job-${names}`);
    const parent = h.slack.messages().find((m) => m.ts === told.threadTs);
    return { job, buttons: buttonsOf(parent) };
  }

  /** What the workload's memory says of the incident: who holds it, on which agent. */
  async function workloadHolds(
    job: EffectJob,
    holder: string | null,
    holderOwner: string | null,
    phase: WorkloadPhase = 'remediating',
  ): Promise<void> {
    const store = new RedisWorkloadStore(h.redis, h.prefix);
    await store.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: {
        ...memory,
        incident: {
          id: job.incidentId,
          openedAt: job.requestedAt - 60_000,
          holder,
          holderOwner,
          phase,
          attempts: 1,
          actedAt: job.requestedAt - 30_000,
          replacesPod: true,
          verifyUntil: null,
          verificationWindowMs: 300_000,
          announced: true,
          trigger: { type: 'CrashLoopBackOff', reason: 'container app crash-loops' },
        },
      },
      result: null,
    }));
    await store.close();
  }

  async function command(userId: string, text: string) {
    const responseName = `wl-${Math.random().toString(36).slice(2)}`;
    await postSigned(h.app, commandBody(h.slack, userId, text, responseName));
    const [answer] = await eventually(() => {
      const found = h.slack.responses(responseName);
      expect(found).toHaveLength(1);
      return found;
    });
    return String(answer?.body.text);
  }

  it('reaches the pod that took the incident over, on the agent that runs it', async () => {
    const { job, buttons } = await workloadIncident();
    // The pod was restarted; its replacement, on another node, holds the incident now.
    await actorHolds(h.redis, h.prefix, job, 'healthy');
    const replacement = 'Pod/shop/web-7d9f8-zzzzz';
    await workloadHolds(job, replacement, 'agent-node-2');

    const answer = await click(
      PEOPLE.alice.id,
      'kube-remedy-approve',
      buttons['kube-remedy-approve'] as string,
    );

    expect(answer).toBe(
      `:white_check_mark: APPROVE sent for ${replacement}, which took the incident over from ${job.actorKey}.`,
    );
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);
    const [message, ...more] = await controlMessages(h.redis, h.prefix, 'agent-node-2');
    expect(more).toEqual([]);
    expect(message).toMatchObject({
      actorKey: replacement,
      type: 'APPROVE',
      payload: { incidentId: job.incidentId, workload: WORKLOAD, by: 'Alice (Slack U0ALICE)' },
    });
  });

  it('finds the holder from a slash command naming the pod the message was for', async () => {
    const { job } = await workloadIncident();
    await workloadHolds(job, 'Pod/shop/web-7d9f8-yyyyy', 'agent-node-3');
    expect(await command(PEOPLE.carol.id, `snooze ${job.actorKey} 2h`)).toBe(
      `:zzz: Pod/shop/web-7d9f8-yyyyy (which took the incident over from ${job.actorKey}) snoozed for 2h.`,
    );
    const [message] = await controlMessages(h.redis, h.prefix, 'agent-node-3');
    expect(message).toMatchObject({
      actorKey: 'Pod/shop/web-7d9f8-yyyyy',
      type: 'SNOOZE',
      payload: { durationMs: 7_200_000, incidentId: job.incidentId },
    });
  });

  it('says to try again while no pod holds the incident, and sends it once one does', async () => {
    const { job, buttons } = await workloadIncident();
    // The pod was restarted; its replacement has not taken the verification over yet.
    await workloadHolds(job, null, null, 'verifying');
    const first = await click(
      PEOPLE.alice.id,
      'kube-remedy-escalate',
      buttons['kube-remedy-escalate'] as string,
    );
    expect(first).toBe(
      `:no_entry: The pod that held incident \`${job.incidentId}\` went away, and no pod of Deployment shop/web has taken it over yet; try again in a minute. Nothing was done.`,
    );
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);

    await workloadHolds(job, 'Pod/shop/web-7d9f8-xxxxx', 'agent-node-4');
    const again = await click(
      PEOPLE.alice.id,
      'kube-remedy-escalate',
      buttons['kube-remedy-escalate'] as string,
    );
    expect(again).toContain('ESCALATE sent for Pod/shop/web-7d9f8-xxxxx');
    expect((await controlMessages(h.redis, h.prefix, 'agent-node-4')).map((m) => m.type)).toEqual([
      'ESCALATE',
    ]);
  });

  it('says an incident in people’s hands whose pod went away waits for the next pod', async () => {
    const { job, buttons } = await workloadIncident();
    await workloadHolds(job, null, null, 'escalated');
    const answer = await click(
      PEOPLE.alice.id,
      'kube-remedy-escalate',
      buttons['kube-remedy-escalate'] as string,
    );
    expect(answer).toBe(
      `:no_entry: The pod that held incident \`${job.incidentId}\` went away; the incident waits for the next pod of Deployment shop/web that shows the symptom, and nothing can act on it until then. Nothing was done.`,
    );
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);
  });

  it('says the incident ended, and why, when no pod holds it any more', async () => {
    const { job, buttons } = await workloadIncident();
    // The workload remembers no open incident; the pod's actor resolved it and cools down.
    await actorHolds(h.redis, h.prefix, job, 'coolingDown', [
      {
        at: Date.now() - 1_000,
        incidentId: job.incidentId,
        decision: 'close',
        reason: 'resolved: container app crash-loops is gone',
      },
    ]);
    const answer = await click(
      PEOPLE.alice.id,
      'kube-remedy-snooze-1h',
      buttons['kube-remedy-snooze-1h'] as string,
    );
    expect(answer).toBe(
      `:no_entry: Incident \`${job.incidentId}\` has ended (resolved: container app crash-loops is gone); ${job.actorKey} is \`coolingDown\` now. Nothing was done.`,
    );
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);
  });

  it('still reaches a pod that decided its incident alone, when its workload did not answer', async () => {
    const { job, buttons } = await workloadIncident();
    await actorHolds(h.redis, h.prefix, job);
    await click(PEOPLE.alice.id, 'kube-remedy-approve', buttons['kube-remedy-approve'] as string);
    const [message] = await controlMessages(h.redis, h.prefix, job.owner);
    expect(message).toMatchObject({ actorKey: job.actorKey, type: 'APPROVE' });
  });
});

describe('commands for an incident whose actor is gone', () => {
  it('say that kube-remedy no longer watches the object, and send nothing', async () => {
    names += 1;
    const job = approvalJob(`gone-${names}`);
    const told = await h.notifier.notify(job, `gone-${names}`);
    const buttons = buttonsOf(h.slack.messages().find((m) => m.ts === told.threadTs));
    // No snapshot: the pod was deleted and its actor stopped for good.
    const answer = await click(
      PEOPLE.alice.id,
      'kube-remedy-approve',
      buttons['kube-remedy-approve'] as string,
    );
    expect(answer).toBe(
      `:no_entry: Incident \`${job.incidentId}\` has ended; kube-remedy no longer watches ${job.actorKey}. Nothing was done.`,
    );
    expect(await controlMessages(h.redis, h.prefix, job.owner)).toEqual([]);
  });
});
