import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MACHINE_TAGS } from '../../src/actors/host.ts';
import { SnapshotStore } from '../../src/actors/snapshot-store.ts';
import { bullPrefix } from '../../src/effects/queues.ts';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  makeNodeMemoryPressure,
  makePodCrashLoop,
  setNodeConditions,
  KUBELET_NODE_CONDITIONS,
  type List,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { agentEvents, startLiveAgent } from '../support/live-agent.ts';
import type { RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('the agent on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  const agent = (node: string, s: RedisForTest) => startLiveAgent(node, s, processes);

  it('drives a crash-looping pod to detection, records it on the pod and enqueues the restart', async () => {
    scratch = await redisForTest();
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'agent' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'restart-cart', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
      mode: 'auto',
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
    await createPod(client, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });
    const running = await agent(node, scratch);

    // The kubelet restarts it again and again: restarts rise past the policy's threshold of 3,
    // until kube-remedy restarts the pod (deletes it, for its controller to replace).
    for (const restartCount of [1, 2, 3, 4, 5, 6]) {
      const exists =
        (await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status === 200;
      if (!exists) break;
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(async () => {
      const reasons = (await agentEvents(ns, 'cart-1')).map((e) => e.reason);
      expect(reasons).toContain('Detected');
    }, 30_000);
    // /metrics tells how fast the pod's actor decided, and how fast that was persisted.
    const metrics = await (await fetch(`${running.base}/metrics`)).text();
    for (const histogram of ['event_to_decision', 'event_to_persisted']) {
      const count = new RegExp(
        `^kube_remedy_${histogram}_seconds_count\\{[^}]*machine="Pod"[^}]*\\} (\\d+)$`,
        'm',
      ).exec(metrics);
      expect(Number(count?.[1]), histogram).toBeGreaterThanOrEqual(3);
    }
    const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
    const queue = new Queue(`effects-kubernetes-agent-${node}`, {
      connection,
      prefix: bullPrefix(scratch.prefix),
    });
    try {
      const jobs = await eventually(async () => {
        const found = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
        expect(found).toHaveLength(1);
        return found;
      }, 30_000);
      expect(jobs[0]?.data).toMatchObject({
        actorKey: `Pod/${ns}/cart-1`,
        effect: { kind: 'restartPod', namespace: ns, name: 'cart-1' },
        policy: `${ns}/restart-cart`,
      });
    } finally {
      await queue.close();
      await connection.quit();
    }
    // The agent carried the restart out itself: the pod is gone.
    await eventually(async () => {
      const pods = await client.get<List<unknown>>(
        `/api/v1/namespaces/${ns}/pods?fieldSelector=metadata.name=cart-1`,
      );
      expect(pods.items).toHaveLength(0);
    }, 30_000);
  });

  it('stops the actor of a deleted pod and forgets its snapshot', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'agent' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'watch-web', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
      mode: 'dryRun',
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
    await createPod(client, ns, { name: 'web-1', nodeName: node, labels: { app: 'web' } });
    await agent(node, s);
    const store = new SnapshotStore({
      redis: s.redis,
      keyPrefix: s.prefix,
      owner: `agent-${node}`,
    });
    await eventually(
      async () =>
        expect((await store.load(MACHINE_TAGS)).snapshots.has(`Pod/${ns}/web-1`)).toBe(true),
      30_000,
    );
    await client.delete(`/api/v1/namespaces/${ns}/pods/web-1`, { gracePeriodSeconds: 0 });
    await eventually(
      async () =>
        expect((await store.load(MACHINE_TAGS)).snapshots.has(`Pod/${ns}/web-1`)).toBe(false),
      30_000,
    );
  });

  it('keeps a node cooldown across an agent restart and does not act again within it', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const node = (
      await createFakeNode(client, { dedicated: false, labels: { pool: `cooldown-${s.prefix}` } })
    ).metadata.name;
    await createPolicy(client, 'kube-remedy-system', `cordon-${s.prefix}`, {
      selector: { kinds: ['Node'], matchLabels: { pool: `cooldown-${s.prefix}` } },
      mode: 'auto',
      detections: [{ type: 'MemoryPressure', threshold: 1, window: '2s', action: 'cordon' }],
      verification: { window: '2s' },
      cooldown: '1h',
      // The pool is this one node: the policy may take all of it out of service.
      budget: { minHealthyNodes: 0 },
    });
    const first = await agent(node, s);
    const store = new SnapshotStore({
      redis: s.redis,
      keyPrefix: s.prefix,
      owner: `agent-${node}`,
    });
    const key = `Node/${node}`;
    const stateOf = async (): Promise<
      { value: unknown; deadlines: Record<string, number>; history?: unknown } | undefined
    > => {
      const record = (await store.load(MACHINE_TAGS)).snapshots.get(key)?.snapshot as
        { value: unknown; context: { deadlines: Record<string, number> } } | undefined;
      return (
        record && {
          value: record.value,
          deadlines: record.context.deadlines,
          history: (record.context as { history?: unknown }).history,
        }
      );
    };

    await makeNodeMemoryPressure(client, node);
    await eventually(async () => {
      const current = await client.get<{ spec?: { unschedulable?: boolean } }>(
        `/api/v1/nodes/${node}`,
      );
      expect(current.spec?.unschedulable, `node actor: ${JSON.stringify(await stateOf())}`).toBe(
        true,
      );
    }, 30_000);
    await setNodeConditions(client, node, [
      { type: 'MemoryPressure', status: 'False', ...KUBELET_NODE_CONDITIONS.MemoryPressure.False },
    ]);
    const cooling = await eventually(async () => {
      const state = await stateOf();
      expect(state?.value).toBe('coolingDown');
      return state;
    }, 30_000);

    expect(await first.stop()).toBe(0);
    await agent(node, s);
    await makeNodeMemoryPressure(client, node);
    // Give the new agent time to see the pressure; within the cooldown it must not cordon again.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const after = await stateOf();
    expect(after?.deadlines['cooldownEnds']).toBe(cooling?.deadlines['cooldownEnds']);
    expect(after?.value).toBe('coolingDown');
    expect(
      (await client.get<{ spec?: { unschedulable?: boolean } }>(`/api/v1/nodes/${node}`)).spec
        ?.unschedulable,
    ).toBeFalsy();
  });
});
