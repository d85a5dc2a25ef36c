/**
 * A bad rollout on a live cluster: a 3-replica Deployment's new pods crash-loop. The three pods
 * are one workload, so they are one incident: one pod leads it, the others join; the restarted
 * pod's replacement (made by the real ReplicaSet controller under a new name) takes the
 * verification over and, crashing too, moves the ladder on: a second restart, then a rollback
 * (by the controller, which alone acts on Deployments) to the ReplicaSet before, whose pods stay
 * healthy, and the incident resolves on them.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  adminClient,
  createDeployment,
  createFakeNode,
  freshNamespace,
  makePodCrashLoop,
  type List,
  type Pod,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { namespaceAgentEvents, startLiveAgent } from '../support/live-agent.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

const GOOD = 'registry.k8s.io/pause:3.10';
const BAD = 'registry.k8s.io/pause:3.9';

interface Deployment {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status?: { updatedReplicas?: number; availableReplicas?: number; replicas?: number };
}

describe('a bad rollout, on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  let crashing = false;
  afterEach(async () => {
    crashing = false;
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  const webPods = async (ns: string): Promise<Pod[]> =>
    (
      await adminClient().get<List<Pod>>(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)
    ).items.filter((p) => p.metadata.deletionTimestamp === undefined);

  const hashOf = (pod: Pod): string => pod.metadata.labels?.['pod-template-hash'] ?? '';

  /**
   * The kubelet, for every pod of the bad release: its container restarts again and again. Each
   * pod on its own, so that one going away (its status write waits for it) holds up no other.
   */
  async function crashBadRelease(ns: string, badHash: string): Promise<void> {
    const restarts = new Map<string, number>();
    const writing = new Map<string, Promise<void>>();
    while (crashing) {
      for (const pod of await webPods(ns).catch(() => [])) {
        const name = pod.metadata.name;
        if (hashOf(pod) !== badHash || writing.has(name)) continue;
        const restartCount = (restarts.get(name) ?? 0) + 1;
        restarts.set(name, restartCount);
        writing.set(
          name,
          makePodCrashLoop(adminClient(), ns, name, { restartCount })
            .then(
              () => undefined,
              () => undefined,
            )
            .finally(() => writing.delete(name)),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    await Promise.all(writing.values());
  }

  it('restarts twice on the replacements, rolls back once, and resolves on the restored pods: one incident', async () => {
    scratch = await redisForTest();
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'bad-rollout' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'restart-then-rollback', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
      mode: 'auto',
      detections: [
        {
          type: 'CrashLoopBackOff',
          threshold: 3,
          window: '10m',
          action: 'restartPod',
          attempts: 2,
          then: 'rollback',
        },
      ],
      cooldown: '1m',
      verification: { window: '15s' },
      quarantine: { maxRemediations: 5, window: '1h' },
      // Every pod of a one-Deployment policy crash-loops: that is the storm breaker's business
      // (tested elsewhere); here automation goes ahead.
      budget: { maxUnhealthyPercent: 100 },
    });
    await createDeployment(client, ns, { name: 'web', replicas: 3, nodeName: node, image: GOOD });
    const goodHash = await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods).toHaveLength(3);
      return hashOf(pods[0] as Pod);
    }, 60_000);

    // The release: a new image, rolled out by the real Deployment controller.
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    await client.patch(
      path,
      { spec: { template: { spec: { containers: [{ name: 'app', image: BAD }] } } } },
      'strategic',
    );
    const badHash = await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods).toHaveLength(3);
      const hashes = new Set(pods.map(hashOf));
      expect(hashes.size).toBe(1);
      expect(hashes.has(goodHash)).toBe(false);
      return hashOf(pods[0] as Pod);
    }, 90_000);

    await startLiveAgent(node, scratch, processes, { KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s' });
    // Actions on Deployments run in the controller (agents hold no rights on them); a home
    // namespace of its own for its Lease, so parallel runs do not elect each other.
    const home = await freshNamespace(client, { prefix: 'bad-rollout-home' });
    const controller = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', home],
      {
        REDIS_URL: scratch.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix,
        KUBE_REMEDY_IDENTITY: 'controller-bad-rollout',
      },
    );
    processes.push(controller);
    await waitReady(controller);
    crashing = true;
    const kubelet = crashBadRelease(ns, badHash);

    // The rollback puts the good image back, and the good release's pods replace the bad ones.
    await eventually(async () => {
      const deployment = await client.get<Deployment>(path);
      expect(deployment.spec.template.spec.containers[0]?.image).toBe(GOOD);
    }, 150_000);
    await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods).toHaveLength(3);
      expect(pods.map(hashOf)).toEqual([goodHash, goodHash, goodHash]);
    }, 90_000);
    const resolved = await eventually(async () => {
      const events = await namespaceAgentEvents(ns);
      const found = events.filter((e) => e.reason === 'Resolved');
      expect(found).toHaveLength(1);
      return found[0];
    }, 60_000);
    crashing = false;
    await kubelet;

    const events = await namespaceAgentEvents(ns);
    const remediating = events.filter((e) => e.reason === 'Remediating').map((e) => e.message);
    // One incident: two restarts (the second of the first one's replacement) and one rollback,
    // not three pods each restarting on their own.
    expect(remediating.filter((m) => m?.startsWith('restart Pod '))).toHaveLength(2);
    expect(remediating.filter((m) => m?.startsWith(`roll back Deployment ${ns}/web`))).toHaveLength(
      1,
    );
    expect(remediating).toHaveLength(3);
    // The other pods of the bad release waited on the incident.
    expect(events.filter((e) => e.reason === 'Joined').length).toBeGreaterThanOrEqual(1);
    // The restarted pods' replacements took the verification over.
    expect(
      events.filter(
        (e) => e.reason === 'Verifying' && /replaces the pod of incident/.test(e.message ?? ''),
      ).length,
    ).toBeGreaterThanOrEqual(2);
    expect(resolved?.message).toMatch(/^resolved: /);
  }, 300_000);
});
