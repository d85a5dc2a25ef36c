/**
 * What a restart means depends on the pod's workload, on a live cluster: a ReplicaSet's pod is
 * replaced by the ReplicaSet controller under a new name; a pod that no controller owns would be
 * gone for good, so kube-remedy leaves it alone and tells people.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  adminClient,
  createDeployment,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
  type List,
  type Pod,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { agentEvents, startLiveAgent, type KubeEvent } from '../support/live-agent.ts';
import type { RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('restarts by workload, on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function scene(prefix: string) {
    scratch = await redisForTest();
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'restart-web', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
      mode: 'auto',
      detections: [{ type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' }],
    });
    await startLiveAgent(node, scratch, processes);
    return { client, ns, node };
  }

  const webPods = async (ns: string): Promise<Pod[]> =>
    (
      await adminClient().get<List<Pod>>(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)
    ).items.filter((p) => p.metadata.deletionTimestamp === undefined);

  /** The kubelet restarts the container again and again, until the pod is gone. */
  async function crashLoop(ns: string, name: string): Promise<void> {
    for (const restartCount of [1, 2, 3, 4, 5, 6]) {
      const status = (await adminClient().request('GET', `/api/v1/namespaces/${ns}/pods/${name}`))
        .status;
      if (status !== 200) return;
      await makePodCrashLoop(adminClient(), ns, name, { restartCount }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  it("restarts a Deployment's crash-looping pod, which its ReplicaSet replaces under a new name", async () => {
    const { client, ns, node } = await scene('workload-rs');
    await createDeployment(client, ns, { name: 'web', replicas: 1, nodeName: node });
    const first = await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods).toHaveLength(1);
      return pods[0] as Pod;
    }, 30_000);
    const name = first.metadata.name;
    expect(name).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}$/);
    await crashLoop(ns, name);
    await eventually(async () => {
      const reasons = (await agentEvents(ns, name)).map((e) => e.reason);
      expect(reasons).toContain('Remediating');
    }, 30_000);
    // The pod is deleted, and the ReplicaSet controller makes a new one under another name.
    const replacement = await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods.map((p) => p.metadata.name)).not.toContain(name);
      expect(pods).toHaveLength(1);
      return pods[0] as Pod;
    }, 60_000);
    expect(replacement.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet' });
  });

  it('leaves a crash-looping pod that no controller owns in place, and says why', async () => {
    const { client, ns, node } = await scene('workload-bare');
    await createPod(client, ns, { name: 'web-debug', nodeName: node, labels: { app: 'web' } });
    await crashLoop(ns, 'web-debug');
    const escalated = await eventually(async () => {
      const event = (await agentEvents(ns, 'web-debug')).find((e) => e.reason === 'Escalated');
      expect(event).toBeDefined();
      return event as KubeEvent;
    }, 30_000);
    expect(escalated.message).toMatch(
      /^Pod \S+\/web-debug has no controller that would recreate it, so restartPod would delete it for good; people decide/,
    );
    // Nothing deleted it: a few seconds later it is still there, never asked to be removed.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await client.request('GET', `/api/v1/namespaces/${ns}/pods/web-debug`)).status).toBe(
      200,
    );
    expect((await agentEvents(ns, 'web-debug')).map((e) => e.reason)).not.toContain('Remediating');
  });
});
