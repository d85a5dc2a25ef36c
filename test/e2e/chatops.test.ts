import { afterEach, describe, expect, it } from 'vitest';
import type { ChatOpsApp } from '../../src/chatops/app.ts';
import { makePodCrashLoop } from '../cluster/fixtures.ts';
import {
  blockActionsBody,
  buttonsOf,
  commandBody,
  postSigned,
  shownText,
  BOT_TOKEN,
  BUTTON_SECRET,
  CHANNELS,
  PEOPLE,
  SIGNING_SECRET,
} from '../integration/slack/support.ts';
import { startCartScene, type CartScene } from '../support/cart-scene.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually } from '../support/logger.ts';

describe('people in Slack, end to end', () => {
  let scene: CartScene | undefined;
  let slack: FakeSlack | undefined;
  afterEach(async () => {
    await scene?.close();
    scene = undefined;
    await slack?.close();
  });

  /** Fake Slack, a policy governing pod cart-1 on a node of its own, workers and that node's agent. */
  async function start(policy: Record<string, unknown>) {
    const fake = await startFakeSlack({
      token: BOT_TOKEN,
      channels: { ...CHANNELS },
      users: Object.values(PEOPLE),
    });
    slack = fake;
    scene = await startCartScene({
      prefix: 'chatops',
      policy: {
        approvers: { users: [PEOPLE.alice.id] },
        slack: { channel: '#incidents' },
        ...policy,
      },
      workersEnv: {
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        KUBE_REMEDY_SLACK_BUTTON_SECRET: BUTTON_SECRET,
        KUBE_REMEDY_SLACK_API_URL: fake.apiUrl,
        KUBE_REMEDY_SLACK_PORT: '0',
      },
    });
    const { client, ns, podStatus } = scene;
    const app = { url: await scene.slackEndpoint() } as ChatOpsApp;
    return { client, ns, slack: fake, app, podStatus };
  }

  it('asks in Slack, and restarts the pod once an approver clicks Approve', async () => {
    const { client, ns, slack, app, podStatus } = await start({
      mode: 'approval',
      detections: [
        {
          type: 'CrashLoopBackOff',
          threshold: 3,
          window: '10m',
          action: 'restartPod',
          deleteBarePods: true,
        },
      ],
    });

    for (const restartCount of [1, 2, 3, 4]) {
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const asked = await eventually(() => {
      const message = slack
        .messages()
        .find((m) => buttonsOf(m)['kube-remedy-approve'] !== undefined);
      expect(message, 'a Slack message with an Approve button').toBeDefined();
      return message;
    }, 30_000);
    expect(shownText(asked)).toContain('cart-1');
    // Nothing happens before someone approves.
    expect(await podStatus()).toBe(200);

    const response = await postSigned(
      app,
      blockActionsBody(slack, {
        userId: PEOPLE.alice.id,
        actionId: 'kube-remedy-approve',
        value: buttonsOf(asked)['kube-remedy-approve'] ?? '',
        responseName: 'alice-approves',
      }),
    );
    expect(response.status).toBe(200);
    await eventually(async () => expect(await podStatus()).toBe(404), 30_000);
    // The thread says who approved.
    await eventually(() => {
      const shown = JSON.stringify(slack.messages());
      expect(shown).toMatch(/Approved/);
      expect(shown).toMatch(/Alice|U0ALICE/);
    }, 15_000);
  });

  it('acts at once when an approver asks with /kube-remedy trigger', async () => {
    // Auto mode, but five restarts to confirm: one restart alone leaves the pod suspected.
    const { client, ns, slack, app, podStatus } = await start({
      mode: 'auto',
      detections: [
        {
          type: 'CrashLoopBackOff',
          threshold: 5,
          window: '30m',
          action: 'restartPod',
          deleteBarePods: true,
        },
      ],
    });
    await makePodCrashLoop(client, ns, 'cart-1', { restartCount: 1 });

    // Until the agent has stored the actor, the workers cannot tell whose it is; ask until then.
    const reply = await eventually(async () => {
      const responseName = `trigger-${Math.random().toString(36).slice(2)}`;
      const text = `trigger Pod/${ns}/cart-1 customers see 502s`;
      expect(
        (await postSigned(app, commandBody(slack, PEOPLE.alice.id, text, responseName))).status,
      ).toBe(200);
      const [answer] = await eventually(() => {
        const found = slack.responses(responseName);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(String(answer?.body.text)).toContain('TRIGGER sent');
      return String(answer?.body.text);
    }, 30_000);
    expect(reply).toContain(`Pod/${ns}/cart-1`);

    // Restarted (kwok deletes the pod) although the threshold was never reached.
    await eventually(async () => expect(await podStatus()).toBe(404), 30_000);
  });
});
