/**
 * A node whose kubelet dies, on a live cluster: nothing renews its Lease, the node lifecycle
 * controller marks it Unknown, and no agent runs for it. The leader-elected controller judges
 * its readiness from outside: it cordons the node, escalates when it does not come back within
 * the verification window, and puts it back in service once it is Ready again. The healthy node
 * of the same pool is never touched.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  adminClient,
  createFakeNode,
  createTestKubeletNode,
  freshNamespace,
  getNode,
  nodeCondition,
  type List,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

interface KubeEvent {
  reason?: string;
  message?: string;
  reportingComponent?: string;
  involvedObject?: { kind?: string; name?: string };
}

describe('dead nodes, judged from outside the node', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('the controller cordons a node whose kubelet stopped, escalates, and puts it back once it returns', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    // Node policies live in kube-remedy's namespace: the controller's own.
    const home = await freshNamespace(client, { prefix: 'dead-home' });
    const pool = `dead-${s.prefix}`;
    // The dying node's kubelet is the test: it renews the node's Lease until it stops.
    const kubelet = await createTestKubeletNode(client, { labels: { pool } });
    const dying = kubelet.name;
    const healthy = (await createFakeNode(client, { labels: { pool } })).metadata.name;
    await createPolicy(client, home, 'dead-nodes', {
      selector: { kinds: ['Node'], matchLabels: { pool } },
      mode: 'auto',
      detections: [{ type: 'NotReady', threshold: 5, window: '5s', action: 'cordon' }],
      verification: { window: '5s' },
      cooldown: '1m',
      // The pool is two nodes: one must stay in service.
      budget: { minHealthyNodes: 1, maxActions: 5, window: '1h' },
    });
    const controller: RunningKubeRemedy = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', home],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: 'controller-dead-nodes',
        KUBE_REMEDY_BUDGET_NODE_COUNT_INTERVAL: '2s',
      },
    );
    processes.push(controller);
    await waitReady(controller);
    const controllerEvents = async (node: string): Promise<KubeEvent[]> =>
      (
        await client.get<List<KubeEvent>>(
          `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${node}`,
        )
      ).items.filter((e) => e.reportingComponent === 'kube-remedy.io/kube-remedy-controller');

    const started = Date.now();
    const mark = (what: string): void => {
      process.stdout.write(
        `dead node: ${what} after ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    };
    kubelet.stop();
    // The node lifecycle controller, not the test, says the node is gone.
    await eventually(
      async () =>
        expect(nodeCondition(await getNode(client, dying), 'Ready')?.status).toBe('Unknown'),
      120_000,
      500,
    );
    mark('Unknown');
    await eventually(
      async () => {
        expect((await getNode(client, dying)).spec?.unschedulable).toBe(true);
        const reasons = (await controllerEvents(dying)).map((e) => e.reason);
        expect(reasons).toContain('Escalated');
      },
      60_000,
      500,
    );
    mark('cordoned and escalated');
    const story = await controllerEvents(dying);
    expect(story.every((e) => e.involvedObject?.kind === 'Node')).toBe(true);
    expect(story.find((e) => e.reason === 'Escalated')?.message).toMatch(/NotReady|not Ready/);
    // The other node of the pool is left alone.
    expect((await getNode(client, healthy)).spec?.unschedulable).not.toBe(true);
    expect(await controllerEvents(healthy)).toEqual([]);

    // The kubelet is back: the node is Ready, and what the controller did is undone.
    await kubelet.resume();
    await eventually(
      async () => {
        const node = await getNode(client, dying);
        expect(nodeCondition(node, 'Ready')?.status).toBe('True');
        expect(node.spec?.unschedulable).not.toBe(true);
      },
      60_000,
      500,
    );
    mark('back in service');
  }, 300_000);
});
