/**
 * Budgets and the storm breaker as a user meets them: `kube-remedy run --role agent` processes on
 * the real control plane with real Redis. A spent budget hands the next incident to a person; a
 * storm across two agents holds every target of the policy and escalates once.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { MACHINE_TAGS } from '../../src/actors/host.ts';
import { SnapshotStore } from '../../src/actors/snapshot-store.ts';
import type { EffectJob } from '../../src/effects/catalogue.ts';
import { bullPrefix } from '../../src/effects/queues.ts';
import type { RemediationContext } from '../../src/machines/index.ts';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
  type KubeClient,
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
}

interface Stored {
  value: unknown;
  context: RemediationContext;
}

describe('budgets and the storm breaker on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function agent(
    node: string,
    s: RedisForTest,
    env: Record<string, string> = {},
  ): Promise<RunningKubeRemedy> {
    const running = await startKubeRemedy(
      ['--role', 'agent', '--node-name', node, '--kubeconfig', inject('kube').kubeconfig],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: `agent-${node}`,
        KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s',
        ...env,
      },
    );
    processes.push(running);
    await waitReady(running);
    return running;
  }

  /** The jobs of a queue, whatever their state. */
  async function jobs(s: RedisForTest, name: string): Promise<EffectJob[]> {
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection, prefix: bullPrefix(s.prefix) });
    try {
      const found = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
      return found.map((j) => j.data as EffectJob);
    } finally {
      await queue.close();
      await connection.quit();
    }
  }

  /** What an agent stored for one actor. */
  async function stored(s: RedisForTest, node: string, key: string): Promise<Stored | undefined> {
    const store = new SnapshotStore({
      redis: s.redis,
      keyPrefix: s.prefix,
      owner: `agent-${node}`,
    });
    return (await store.load(MACHINE_TAGS)).snapshots.get(key)?.snapshot as Stored | undefined;
  }

  async function events(
    client: KubeClient,
    namespace: string,
    selector: string,
  ): Promise<KubeEvent[]> {
    const list = await client.get<List<KubeEvent>>(
      `/api/v1/namespaces/${namespace}/events?fieldSelector=${selector}`,
    );
    return list.items.filter((e) => e.reportingComponent === 'kube-remedy.io/kube-remedy-agent');
  }

  async function exists(client: KubeClient, ns: string, pod: string): Promise<boolean> {
    return (await client.request('GET', `/api/v1/namespaces/${ns}/pods/${pod}`)).status === 200;
  }

  it('restarts the first crash-looping pod, then hands the second to a person once the budget is spent', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'budget' });
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
      // One action per hour; the storm breaker is out of the way (more than 100% never happens).
      budget: { maxActions: 1, window: '1h', maxUnhealthyPercent: 100 },
      // Where the person is asked.
      slack: { channel: '#shop' },
    });
    for (const name of ['cart-1', 'cart-2'])
      await createPod(client, ns, { name, nodeName: node, labels: { app: 'cart' } });
    await agent(node, s);

    // cart-1 crash-loops past the threshold: kube-remedy restarts it (deletes it).
    for (const restartCount of [1, 2, 3, 4, 5, 6]) {
      if (!(await exists(client, ns, 'cart-1'))) break;
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(async () => expect(await exists(client, ns, 'cart-1')).toBe(false), 30_000);

    // That restart spent the policy's budget, and cart-2's actor has been told.
    await eventually(async () => {
      const cart2 = await stored(s, node, `Pod/${ns}/cart-2`);
      expect(cart2?.context.facts.budgetAvailable).toBe(false);
    }, 30_000);

    // cart-2 crash-loops too: nothing is done to it; a person is asked.
    for (const restartCount of [1, 2, 3, 4]) {
      await makePodCrashLoop(client, ns, 'cart-2', { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const budgetSpent = new RegExp(
      `^the disruption budget for ${ns}/restart-cart is spent, so a person decides whether to restart Pod ${ns}/cart-2`,
    );
    const asked = await eventually(async () => {
      const found = (await jobs(s, 'effects-slack')).filter(
        (j) => j.actorKey === `Pod/${ns}/cart-2` && j.effect['purpose'] === 'approvalRequested',
      );
      expect(found).toHaveLength(1);
      return found[0];
    }, 30_000);
    expect(asked?.effect.kind).toBe('notify');
    expect(asked?.effect['reason']).toMatch(budgetSpent);
    await eventually(async () => {
      const recorded = await events(client, ns, 'involvedObject.name=cart-2');
      expect(recorded.find((e) => e.reason === 'ApprovalRequested')?.message).toMatch(budgetSpent);
    }, 30_000);
    expect((await stored(s, node, `Pod/${ns}/cart-2`))?.value).toBe('awaitingApproval');

    // The only Kubernetes action is cart-1's restart, and cart-2 is still there.
    const actions = await jobs(s, `effects-kubernetes-agent-${node}`);
    expect(actions.map((j) => [j.actorKey, j.effect.kind])).toEqual([
      [`Pod/${ns}/cart-1`, 'restartPod'],
    ]);
    expect(actions[0]?.budget?.scopes.map((scope) => scope.scope)).toEqual([
      `policy/${ns}/restart-cart`,
      `namespace/${ns}`,
      'cluster',
    ]);
    expect(await exists(client, ns, 'cart-2')).toBe(true);
  });

  it('holds every pod of a policy failing on two nodes at once and escalates once', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'storm' });
    const nodes = [
      (await createFakeNode(client, { dedicated: false })).metadata.name,
      (await createFakeNode(client, { dedicated: false })).metadata.name,
    ] as const;
    await createPolicy(client, ns, 'restart-web', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
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
      budget: { maxUnhealthyPercent: 50 },
    });
    // Two pods on each node; three of the four fail: two on the first node, one on the second.
    const pods = [
      { name: 'web-a1', node: nodes[0] },
      { name: 'web-a2', node: nodes[0] },
      { name: 'web-b1', node: nodes[1] },
      { name: 'web-b2', node: nodes[1] },
    ];
    for (const pod of pods)
      await createPod(client, ns, { name: pod.name, nodeName: pod.node, labels: { app: 'web' } });
    // The policy names no channel: people are told in the installation's.
    await agent(nodes[0], s, { KUBE_REMEDY_SLACK_CHANNEL: '#ops' });
    await agent(nodes[1], s, { KUBE_REMEDY_SLACK_CHANNEL: '#ops' });
    const failing = pods.slice(0, 3);
    const storedOf = (pod: (typeof pods)[number]) => stored(s, pod.node, `Pod/${ns}/${pod.name}`);
    // Both agents run an actor for each of their pods before anything fails.
    await eventually(async () => {
      for (const pod of pods) expect(await storedOf(pod)).toBeDefined();
    }, 30_000);

    // The first restart of each: all three suspect at once, 3 of the policy's 4 targets.
    for (const pod of failing) await makePodCrashLoop(client, ns, pod.name, { restartCount: 1 });
    await eventually(async () => {
      for (const pod of pods) {
        expect((await storedOf(pod))?.context.facts.storm, pod.name).toEqual({
          unhealthy: 3,
          targets: 4,
          maxUnhealthyPercent: 50,
        });
      }
    }, 30_000);

    // They keep crashing past the threshold: each is confirmed, and handed to a person.
    for (const restartCount of [2, 3, 4]) {
      for (const pod of failing) await makePodCrashLoop(client, ns, pod.name, { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(async () => {
      for (const pod of failing) {
        const actor = await storedOf(pod);
        expect(actor?.value, pod.name).toBe('awaitingApproval');
        expect(actor?.context.incident?.decision?.reason).toMatch(
          new RegExp(
            `^the storm breaker holds ${ns}/restart-web: 3 of its 4 workloads are unhealthy at once \\(more than 50%\\), so a person decides whether to restart Pod ${ns}/${pod.name}`,
          ),
        );
      }
    }, 30_000);

    // Nothing was acted on, and people were told once, as a group.
    for (const node of nodes) expect(await jobs(s, `effects-kubernetes-agent-${node}`)).toEqual([]);
    for (const pod of pods) expect(await exists(client, ns, pod.name)).toBe(true);
    const slack = await jobs(s, 'effects-slack');
    const group = slack.filter((j) => j.effect.kind === 'escalate');
    expect(group).toHaveLength(1);
    expect(group[0]).toMatchObject({
      actorKey: `AutoRemediationPolicy/${ns}/restart-web`,
      step: 'storm-escalation',
      policy: `${ns}/restart-web`,
    });
    expect(group[0]?.effect['reason']).toMatch(
      new RegExp(
        `^storm under policy ${ns}/restart-web: 3 of its 4 workloads are unhealthy at once`,
      ),
    );
    expect(
      slack
        .filter((j) => j.effect['purpose'] === 'approvalRequested')
        .map((j) => j.actorKey)
        .sort(),
    ).toEqual(failing.map((pod) => `Pod/${ns}/${pod.name}`).sort());
    const onPolicy = await events(
      client,
      ns,
      'involvedObject.kind=AutoRemediationPolicy,involvedObject.name=restart-web',
    );
    expect(onPolicy.filter((e) => e.reason === 'StormDetected')).toHaveLength(1);
  });
});
