import { afterEach, describe, expect, inject, it } from 'vitest';
import type { ChatOpsApp } from '../../src/chatops/app.ts';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import {
  blockActionsBody,
  buttonsOf,
  postSigned,
  shownText,
  BOT_TOKEN,
  BUTTON_SECRET,
  CHANNELS,
  PEOPLE,
  SIGNING_SECRET,
} from '../integration/slack/support.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually } from '../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('an approval given in Slack, end to end', () => {
  let scratch: RedisForTest | undefined;
  let slack: FakeSlack | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await slack?.close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('asks in Slack, and restarts the pod once an approver clicks Approve', async () => {
    scratch = await redisForTest();
    slack = await startFakeSlack({
      token: BOT_TOKEN,
      channels: { ...CHANNELS },
      users: Object.values(PEOPLE),
    });
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'chatops' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'restart-with-approval', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
      mode: 'approval',
      approvers: { users: [PEOPLE.alice.id] },
      slack: { channel: '#incidents' },
      detections: [{ type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' }],
    });
    await createPod(client, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });

    const common = { REDIS_URL: scratch.url, KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix };
    const workers = await startKubeRemedy(
      ['--role', 'workers', '--kubeconfig', inject('kube').kubeconfig],
      {
        ...common,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        KUBE_REMEDY_SLACK_BUTTON_SECRET: BUTTON_SECRET,
        KUBE_REMEDY_SLACK_API_URL: slack.apiUrl,
        KUBE_REMEDY_SLACK_PORT: '0',
      },
    );
    processes.push(workers);
    await waitReady(workers);
    const endpointUrl = await eventually(() => {
      const started = workers.logs.find((l) => l['msg'] === 'workers started');
      expect(started?.['slackEndpoint']).toEqual(expect.stringMatching(/^http:\/\//));
      return started?.['slackEndpoint'] as string;
    });
    const agent = await startKubeRemedy(
      ['--role', 'agent', '--node-name', node, '--kubeconfig', inject('kube').kubeconfig],
      common,
    );
    processes.push(agent);
    await waitReady(agent);

    for (const restartCount of [1, 2, 3, 4]) {
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const asked = await eventually(() => {
      const message = slack
        ?.messages()
        .find((m) => buttonsOf(m)['kube-remedy-approve'] !== undefined);
      expect(message, 'a Slack message with an Approve button').toBeDefined();
      return message;
    }, 30_000);
    expect(shownText(asked)).toContain('cart-1');
    // Nothing happens before someone approves.
    expect((await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status).toBe(200);

    const response = await postSigned(
      { url: endpointUrl } as ChatOpsApp,
      blockActionsBody(slack, {
        userId: PEOPLE.alice.id,
        actionId: 'kube-remedy-approve',
        value: buttonsOf(asked)['kube-remedy-approve'] ?? '',
        responseName: 'alice-approves',
      }),
    );
    expect(response.status).toBe(200);
    await eventually(async () => {
      expect((await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status).toBe(
        404,
      );
    }, 30_000);
    // The thread says who approved.
    await eventually(() => {
      const shown = JSON.stringify(slack?.messages());
      expect(shown).toMatch(/Approved/);
      expect(shown).toMatch(/Alice|U0ALICE/);
    }, 15_000);
  });
});
