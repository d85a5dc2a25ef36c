/**
 * The pieces every Slack test uses: a fake Slack, real Redis under a fresh prefix, the notifier and
 * the Bolt endpoint wired as the workers role wires them, and requests signed the way Slack signs
 * them (v0 HMAC-SHA256 over `v0:{timestamp}:{body}` with the signing secret).
 */
import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createSlackApi, type SlackApi } from '../../../src/adapters/slack/client.ts';
import { startChatOpsApp, type ChatOpsApp } from '../../../src/chatops/app.ts';
import type { ChatOpsPolicy } from '../../../src/chatops/model.ts';
import { createNotifier, type Notifier } from '../../../src/chatops/notifier.ts';
import { ChatOpsStore } from '../../../src/chatops/store.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { controlStreamKey, type ControlMessage } from '../../../src/effects/control-stream.ts';
import { createRedactor } from '../../../src/redaction/index.ts';
import type { Logger } from '../../../src/telemetry/index.ts';
import { startFakeSlack, type FakeSlack, type SlackMessage } from '../../support/fake-slack.ts';
import { captureLogger } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

export const BOT_TOKEN = 'xoxb-test-0000';
export const SIGNING_SECRET = 'signing-secret-for-tests-0123456789';
export const BUTTON_SECRET = 'button-secret-for-tests-0123456789abcdef';
export const CHANNELS = {
  '#incidents': 'C0INCIDENTS',
  '#oncall': 'C0ONCALL',
} as const;

export const PEOPLE = {
  alice: { id: 'U0ALICE', name: 'alice', displayName: 'Alice' },
  bob: { id: 'U0BOB', name: 'bob', displayName: 'Bob' },
  carol: { id: 'U0CAROL', name: 'carol', displayName: 'Carol', email: 'carol@example.com' },
  mallory: { id: 'U0MALLORY', name: 'mallory', displayName: 'Mallory' },
  ghost: { id: 'U0GHOST', name: 'ghost', displayName: 'Ghost', deleted: true },
  robot: { id: 'U0ROBOT', name: 'robot', displayName: 'Robot', isBot: true },
} as const;

/** Alice by ID, Carol by e-mail, Bob through the sre-oncall user group. */
export const APPROVERS: ChatOpsPolicy['approvers'] = {
  users: ['U0ALICE', 'carol@example.com'],
  groups: ['sre-oncall'],
};

export interface SlackHarness {
  slack: FakeSlack;
  api: SlackApi;
  redis: Redis;
  prefix: string;
  db: RedisForTest;
  notifier: Notifier;
  store: ChatOpsStore;
  logger: Logger;
  app: ChatOpsApp;
  close: () => Promise<void>;
}

export async function startHarness(
  options: { policyLookup?: boolean } = {},
): Promise<SlackHarness> {
  const db = await redisForTest();
  const slack = await startFakeSlack({
    token: BOT_TOKEN,
    channels: { ...CHANNELS },
    users: Object.values(PEOPLE),
    userGroups: [{ id: 'S0SRE', handle: 'sre-oncall', name: 'SRE on call', users: ['U0BOB'] }],
  });
  const { logger } = captureLogger('warn');
  const api = createSlackApi({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger });
  const store = new ChatOpsStore(db.redis, db.prefix);
  const policies = () => ({ channel: '#incidents', approvers: APPROVERS });
  const notifier = createNotifier({
    slack: api,
    store,
    buttonSecret: BUTTON_SECRET,
    buttonTtlMs: 24 * 3_600_000,
    redactor: createRedactor(),
    ...(options.policyLookup === false ? {} : { policies }),
  });
  const app = await startChatOpsApp({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    buttonSecret: BUTTON_SECRET,
    apiUrl: slack.apiUrl,
    host: '127.0.0.1',
    port: 0,
    redis: db.redis,
    keyPrefix: db.prefix,
    slack: api,
    store,
    notifier,
    logger,
    policies,
    policyNameFor: () => 'shop/web-policy',
  });
  return {
    slack,
    api,
    redis: db.redis,
    prefix: db.prefix,
    db,
    notifier,
    store,
    logger,
    app,
    close: async () => {
      await app.close();
      await slack.close();
      await db.cleanup();
    },
  };
}

let sequence = 0;

/** A notify job as the runtime enqueues it for an approval request of a pod's actor. */
export function approvalJob(
  name: string,
  overrides: Partial<EffectJob> = {},
  effect: Record<string, unknown> = {},
): EffectJob {
  sequence += 1;
  const actorKey = `Pod/shop/${name}`;
  const target = { kind: 'Pod', namespace: 'shop', name, uid: `uid-${name}`, resourceVersion: '1' };
  const requestedAt = Date.now();
  return {
    owner: `agent-${name}`,
    actorKey,
    incidentId: `${actorKey}#1@${requestedAt - 60_000}`,
    step: 'approval',
    policy: 'shop/web-policy',
    requestedAt,
    effect: {
      kind: 'notify',
      purpose: 'approvalRequested',
      to: null,
      level: null,
      target,
      reason: `CrashLoopBackOff: container app restarted 5 times in 10m (${sequence})`,
      proposes: { kind: 'restartPod', target, reason: 'crash loop' },
      expiresAt: requestedAt + 30 * 60_000,
      ...effect,
    },
    ...overrides,
  };
}

/** States of an actor with no incident open. */
const CLOSED: ReadonlySet<unknown> = new Set(['healthy', 'coolingDown']);

/**
 * The snapshot the actor of a job's incident saved in Redis, as the agent's snapshot store keeps
 * it (`<prefix>:snapshots:<owner>`): in a state with an incident, its incident is open, so a
 * command for it is sent; in `healthy` or `coolingDown` it has none.
 */
export async function actorHolds(
  redis: Redis,
  prefix: string,
  job: Pick<EffectJob, 'owner' | 'actorKey' | 'incidentId'>,
  state: unknown = 'awaitingApproval',
  history: { at: number; incidentId: string | null; decision: string; reason: string }[] = [],
): Promise<void> {
  const record = {
    machine: 'pod@1',
    savedAt: Date.now(),
    snapshot: {
      status: 'active',
      value: state,
      context: { incident: CLOSED.has(state) ? null : { id: job.incidentId }, history },
    },
  };
  await redis.hset(`${prefix}:snapshots:${job.owner}`, job.actorKey, JSON.stringify(record));
}

export function sign(body: string, timestampSeconds: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex')}`;
}

export interface SendOptions {
  /** Default: now. */
  timestampSeconds?: number;
  secret?: string;
  /** Replace the signature header entirely. */
  signature?: string;
}

/** POSTs a form body to the endpoint, signed as Slack signs it. */
export async function postSigned(
  app: ChatOpsApp,
  body: string,
  options: SendOptions = {},
): Promise<Response> {
  const ts = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  return fetch(app.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': options.signature ?? sign(body, ts, options.secret),
    },
    body,
  });
}

let clicks = 0;

/** A unique action_ts, as Slack stamps each click. */
export function nextActionTs(): string {
  clicks += 1;
  return `${Math.floor(Date.now() / 1000)}.${String(clicks).padStart(6, '0')}`;
}

export interface Click {
  userId: string;
  actionId: string;
  value: string;
  responseName: string;
  actionTs?: string;
}

export function blockActionsBody(slack: FakeSlack, click: Click): string {
  const payload = {
    type: 'block_actions',
    team: { id: 'T0TEST', domain: 'test' },
    user: {
      id: click.userId,
      username: click.userId.toLowerCase(),
      name: click.userId.toLowerCase(),
      team_id: 'T0TEST',
    },
    api_app_id: 'A0APP',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: '1700000001.000001',
      channel_id: 'C0INCIDENTS',
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.trigger.${click.responseName}`,
    channel: { id: 'C0INCIDENTS', name: 'incidents' },
    message: { type: 'message', ts: '1700000001.000001', text: 'incident' },
    response_url: slack.responseUrl(click.responseName),
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: 'kube-remedy-actions',
        text: { type: 'plain_text', text: 'button' },
        value: click.value,
        action_ts: click.actionTs ?? nextActionTs(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function commandBody(
  slack: FakeSlack,
  userId: string,
  text: string,
  responseName: string,
): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0TEST',
    team_domain: 'test',
    channel_id: 'C0INCIDENTS',
    channel_name: 'incidents',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/kube-remedy',
    text,
    api_app_id: 'A0APP',
    response_url: slack.responseUrl(responseName),
    trigger_id: `${Date.now()}.${responseName}.trigger`,
  }).toString();
}

/** The buttons of a message: action_id → value. */
export function buttonsOf(message: SlackMessage | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of message?.blocks ?? []) {
    if (block.type !== 'actions') continue;
    for (const element of block.elements as { action_id: string; value: string }[]) {
      out[element.action_id] = element.value;
    }
  }
  return out;
}

/** Every control message published for an owner, oldest first. */
export async function controlMessages(
  redis: Redis,
  prefix: string,
  owner: string,
): Promise<ControlMessage[]> {
  const entries = await redis.xrange(controlStreamKey(prefix, owner), '-', '+');
  return entries.map(
    ([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1] as string) as ControlMessage,
  );
}

/** All the text a message shows, blocks included. */
export function shownText(message: SlackMessage | undefined): string {
  return message === undefined ? '' : `${message.text}\n${JSON.stringify(message.blocks)}`;
}
