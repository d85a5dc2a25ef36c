import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatOps, type ChatOps } from '../../../src/chatops/index.ts';
import type { ChatOpsApp } from '../../../src/chatops/app.ts';
import { loadConfig } from '../../../src/config/index.ts';
import type { ProcessorContext } from '../../../src/effects/workers.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';
import {
  actorHolds,
  approvalJob,
  blockActionsBody,
  buttonsOf,
  controlMessages,
  sign,
  APPROVERS,
  BOT_TOKEN,
  BUTTON_SECRET,
  CHANNELS,
  PEOPLE,
  SIGNING_SECRET,
} from './support.ts';

let db: RedisForTest;
let slack: FakeSlack;
let chatops: ChatOps;
let endpoint: ChatOpsApp | null;

beforeAll(async () => {
  db = await redisForTest();
  slack = await startFakeSlack({
    token: BOT_TOKEN,
    channels: { ...CHANNELS },
    users: Object.values(PEOPLE),
  });
  const config = loadConfig({
    env: {
      KUBE_REMEDY_REDIS_URL: db.url,
      KUBE_REMEDY_REDIS_KEY_PREFIX: db.prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      KUBE_REMEDY_SLACK_BUTTON_SECRET: BUTTON_SECRET,
      KUBE_REMEDY_SLACK_API_URL: slack.apiUrl,
      KUBE_REMEDY_SLACK_CHANNEL: '#incidents',
      KUBE_REMEDY_SLACK_PORT: '0',
    },
  });
  chatops = createChatOps(config, { redis: db.redis, logger: captureLogger('warn').logger });
  endpoint = await chatops.startEndpoint();
});
afterAll(async () => {
  await endpoint?.close();
  await slack.close();
  await db.cleanup();
});

describe('ChatOps built from the configuration, as the workers role builds it', () => {
  it('posts to the configured channel and takes an approval on its own endpoint', async () => {
    const job = approvalJob('wired', {}, { chatops: { approvers: APPROVERS } });
    const context: ProcessorContext = {
      jobId: 'wired-1',
      signal: new AbortController().signal,
      logger: captureLogger().logger,
      attempt: 1,
    };
    const result = await chatops.processors.notify?.(job, context);
    const parent = slack.messages().find((m) => m.ts === result?.threadTs);
    expect(parent?.channel).toBe('C0INCIDENTS');
    await actorHolds(db.redis, db.prefix, job);

    expect(endpoint?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/slack\/events$/);
    const body = blockActionsBody(slack, {
      userId: PEOPLE.alice.id,
      actionId: 'kube-remedy-approve',
      value: buttonsOf(parent)['kube-remedy-approve'] as string,
      responseName: 'wired',
    });
    const ts = Math.floor(Date.now() / 1000);
    const response = await fetch(endpoint?.url ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': sign(body, ts),
      },
      body,
    });
    expect(response.status).toBe(200);
    await eventually(() => expect(slack.responses('wired')).toHaveLength(1));
    const messages = await controlMessages(db.redis, db.prefix, job.owner);
    expect(messages.map((m) => [m.type, m.payload.by])).toEqual([
      ['APPROVE', 'Alice (Slack U0ALICE)'],
    ]);
  });
});
