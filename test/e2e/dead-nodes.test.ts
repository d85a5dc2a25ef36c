/**
 * A node whose kubelet dies, on a live cluster: nothing renews its Lease, the node lifecycle
 * controller marks it Unknown, and no agent runs for it. The leader-elected controller judges
 * its readiness from outside: it cordons the node, escalates when it does not come back within
 * the verification window, and puts it back in service once it is Ready again. The healthy node
 * of the same pool is never touched.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
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
import { createPolicy, installCrd, policiesPath } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import {
  metricValue as metric,
  startKubeRemedy,
  waitReady,
  type RunningKubeRemedy,
} from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

interface KubeEvent {
  reason?: string;
  message?: string;
  reportingComponent?: string;
  involvedObject?: { kind?: string; name?: string };
}

/** The Events the controllers recorded on a node (a node's Events are in `default`). */
async function controllerEvents(node: string): Promise<KubeEvent[]> {
  return (
    await adminClient().get<List<KubeEvent>>(
      `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${node}`,
    )
  ).items.filter((e) => e.reportingComponent === 'kube-remedy.io/kube-remedy-controller');
}

interface JobData {
  actorKey: string;
  step: string;
  effect: { kind: string; node?: string; purpose?: string; reason?: string };
}

/** Every job a queue holds, whatever its state. */
async function jobsOf(s: RedisForTest, name: string): Promise<JobData[]> {
  const connection = new Redis(s.url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix: `${s.prefix}:bull` });
  try {
    const jobs = await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
    return jobs.map((j) => j.data as JobData);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The node actions the controllers enqueued, by kind, from their queue's job records. */
async function nodeJobs(s: RedisForTest, node: string): Promise<string[]> {
  return (await jobsOf(s, 'effects-kubernetes-controller'))
    .filter((d) => d.effect.node === node)
    .map((d) => d.effect.kind)
    .sort();
}

/**
 * The node policy of a test's pool: NotReady (a stopped kubelet) cordoned once seen for 5 s,
 * verified for 5 s, one node of the pool kept in service; `changes` adjust the rule and budget.
 */
function poolPolicy(
  client: ReturnType<typeof adminClient>,
  home: string,
  pool: string,
  changes: {
    rule?: Record<string, unknown>;
    verification?: string;
    budget?: Record<string, unknown>;
  } = {},
): Promise<unknown> {
  return createPolicy(client, home, 'dead-nodes', {
    selector: { kinds: ['Node'], matchLabels: { pool } },
    mode: 'auto',
    detections: [
      { type: 'NotReady', threshold: 5, window: '5s', action: 'cordon', ...changes.rule },
    ],
    verification: { window: changes.verification ?? '5s' },
    cooldown: '1m',
    budget: { minHealthyNodes: 1, maxActions: 5, window: '1h', ...changes.budget },
  });
}

describe('dead nodes, judged from outside the node', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  /** A test's own Redis, kube-remedy's namespace (node policies live there) and node pool. */
  async function poolScene(namespace: string, pool: string) {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const home = await freshNamespace(client, { prefix: namespace });
    return { s, client, home, pool: `${pool}-${s.prefix}` };
  }

  /** A controller of the test's installation, ready; the node counts refreshed every 2 s. */
  async function startController(
    s: RedisForTest,
    home: string,
    identity: string,
    env: Record<string, string> = {},
  ): Promise<RunningKubeRemedy> {
    const running = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', home],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: identity,
        KUBE_REMEDY_BUDGET_NODE_COUNT_INTERVAL: '2s',
        ...env,
      },
    );
    processes.push(running);
    await waitReady(running);
    return running;
  }

  it('the controller cordons a node whose kubelet stopped, escalates, and puts it back once it returns', async () => {
    const { s, client, home, pool } = await poolScene('dead-home', 'dead');
    // The dying node's kubelet is the test: it renews the node's Lease until it stops.
    const kubelet = await createTestKubeletNode(client, { labels: { pool } });
    const dying = kubelet.name;
    const healthy = (await createFakeNode(client, { labels: { pool } })).metadata.name;
    // The pool is two nodes: one must stay in service.
    await poolPolicy(client, home, pool);
    await startController(s, home, 'controller-dead-nodes');

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
    // The policy's status says what was done, and that the controller decided it.
    await eventually(async () => {
      const stored = await client.get<{
        status?: { actions24h?: number; recentActions?: Record<string, unknown>[] };
      }>(policiesPath(home, 'dead-nodes'));
      expect(stored.status?.actions24h).toBe(1);
      expect(stored.status?.recentActions).toEqual([
        expect.objectContaining({
          object: `Node/${dying}`,
          detection: 'NotReady',
          action: 'cordon',
          outcome: 'Succeeded',
          decidedBy: 'controller',
        }),
      ]);
    }, 30_000);

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

  it('a dead node confirmed fenced is tainted out of service, and the taint comes off before the cordon when it returns', async () => {
    const { s, client, home, pool } = await poolScene('dead-fenced', 'fenced');
    const kubelet = await createTestKubeletNode(client, { labels: { pool } });
    const dying = kubelet.name;
    await createFakeNode(client, { labels: { pool } });
    await poolPolicy(client, home, pool, { rule: { outOfServiceWhenFenced: true } });
    await startController(s, home, 'controller-dead-fenced');
    const outOfService = async (): Promise<boolean> =>
      ((await getNode(client, dying)).spec?.taints ?? []).some(
        (t) => t.key === 'node.kubernetes.io/out-of-service',
      );

    kubelet.stop();
    await eventually(
      async () => {
        expect((await getNode(client, dying)).spec?.unschedulable).toBe(true);
        expect((await controllerEvents(dying)).map((e) => e.reason)).toContain('Escalated');
      },
      150_000,
      500,
    );
    const escalated = (await controllerEvents(dying)).find((e) => e.reason === 'Escalated');
    expect(escalated?.message).toMatch(new RegExp(`${dying} has not been Ready since `));
    expect(escalated?.message).toContain('annotate it remedy.kube-remedy.io/fenced');
    // Not fenced yet: the node keeps its pods.
    expect(await outOfService()).toBe(false);

    // A person powers the machine off and says so.
    await client.patch(`/api/v1/nodes/${dying}`, {
      metadata: { annotations: { 'remedy.kube-remedy.io/fenced': 'powered off, alice' } },
    });
    await eventually(async () => expect(await outOfService()).toBe(true), 60_000, 500);
    await eventually(
      async () =>
        expect((await controllerEvents(dying)).map((e) => e.reason)).toContain('OutOfService'),
      30_000,
      500,
    );

    // It is repaired and comes back: the taint comes off, then the cordon, once each.
    await client.patch(`/api/v1/nodes/${dying}`, {
      metadata: { annotations: { 'remedy.kube-remedy.io/fenced': null } },
    });
    await kubelet.resume();
    await eventually(
      async () => {
        expect(await outOfService()).toBe(false);
        expect((await getNode(client, dying)).spec?.unschedulable).not.toBe(true);
      },
      90_000,
      500,
    );
    expect(await nodeJobs(s, dying)).toEqual(['cordon', 'taint', 'uncordon', 'untaint']);
  }, 400_000);

  it('two of three selected nodes gone at once is a storm: nothing is touched, people are told once', async () => {
    const { s, client, home, pool } = await poolScene('dead-storm', 'storm');
    const kubelets = [
      await createTestKubeletNode(client, { labels: { pool } }),
      await createTestKubeletNode(client, { labels: { pool } }),
    ];
    const healthy = (await createFakeNode(client, { labels: { pool } })).metadata.name;
    await poolPolicy(client, home, pool, {
      // Long enough for both nodes to be seen gone before either is confirmed.
      rule: { threshold: 20, window: '20s' },
      // One node may be down; two of three is more than half of the pool.
      budget: { maxUnhealthyPercent: 50 },
    });
    await startController(s, home, 'controller-dead-storm', {
      KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '2s',
      KUBE_REMEDY_SLACK_CHANNEL: '#ops',
    });

    for (const kubelet of kubelets) kubelet.stop();
    const names = kubelets.map((k) => k.name);
    // Both are confirmed gone, and each is handed to a person instead of being cordoned.
    await eventually(
      async () => {
        for (const name of names) {
          const events = await controllerEvents(name);
          expect(
            events.map((e) => e.reason),
            name,
          ).toContain('ApprovalRequested');
        }
      },
      150_000,
      500,
    );
    for (const name of names) {
      const asked = (await controllerEvents(name)).find((e) => e.reason === 'ApprovalRequested');
      expect(asked?.message).toMatch(
        new RegExp(`storm breaker holds ${home}/dead-nodes: 2 of its 3 nodes are unhealthy`),
      );
      expect((await getNode(client, name)).spec?.unschedulable).not.toBe(true);
      expect(await nodeJobs(s, name)).toEqual([]);
    }
    expect((await getNode(client, healthy)).spec?.unschedulable).not.toBe(true);
    // One group escalation for the storm, from the controller that decided.
    const slack = await jobsOf(s, 'effects-slack');
    const group = slack.filter((j) => j.step === 'storm-escalation');
    expect(group).toHaveLength(1);
    expect(group[0]?.effect.reason).toMatch(
      new RegExp(`^storm under policy ${home}/dead-nodes: 2 of its 3 nodes are unhealthy at once`),
    );
    const onPolicy = (
      await client.get<List<KubeEvent>>(
        `/api/v1/namespaces/${home}/events?fieldSelector=involvedObject.kind=AutoRemediationPolicy`,
      )
    ).items;
    expect(onPolicy.filter((e) => e.reason === 'StormDetected')).toHaveLength(1);
  }, 300_000);

  it('a policy paused by its annotation hands a dead node to a person, saying who paused it', async () => {
    const { s, client, home, pool } = await poolScene('dead-paused', 'paused');
    const kubelet = await createTestKubeletNode(client, { labels: { pool } });
    await createFakeNode(client, { labels: { pool } });
    await poolPolicy(client, home, pool);
    await startController(s, home, 'controller-dead-paused');
    // As `kubectl annotate autoremediationpolicy dead-nodes remedy.kube-remedy.io/paused=…`.
    const why = 'rack 12 maintenance, alice';
    await client.patch(policiesPath(home, 'dead-nodes'), {
      metadata: { annotations: { 'remedy.kube-remedy.io/paused': why } },
    });
    await eventually(async () => {
      const stored = await client.get<{
        status?: { conditions?: { type: string; reason: string; message: string }[] };
      }>(policiesPath(home, 'dead-nodes'));
      const ready = stored.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.reason).toBe('Paused');
      expect(ready?.message).toContain(`("${why}")`);
    }, 30_000);

    kubelet.stop();
    await eventually(
      async () =>
        expect((await controllerEvents(kubelet.name)).map((e) => e.reason)).toContain(
          'ApprovalRequested',
        ),
      150_000,
      500,
    );
    const asked = (await controllerEvents(kubelet.name)).find(
      (e) => e.reason === 'ApprovalRequested',
    );
    expect(asked?.message).toContain(
      `${home}/dead-nodes is paused (annotation remedy.kube-remedy.io/paused: "${why}"), so a person decides whether to cordon`,
    );
    expect((await getNode(client, kubelet.name)).spec?.unschedulable).not.toBe(true);
    expect(await nodeJobs(s, kubelet.name)).toEqual([]);
  }, 300_000);

  it('a new leader continues a dead node where the killed one left it: one cordon, one uncordon', async () => {
    const { s, client, home, pool } = await poolScene('dead-failover', 'failover');
    const kubelet = await createTestKubeletNode(client, { labels: { pool } });
    await createFakeNode(client, { labels: { pool } });
    // Verified long enough for the standby to take over while the cordon is being verified.
    await poolPolicy(client, home, pool, { verification: '40s' });
    const controller = (identity: string) => startController(s, home, identity);
    const first = await controller('controller-failover-a');
    await eventually(
      async () => expect(await metric(first, /^kube_remedy_leader\{/)).toBe(1),
      20_000,
    );
    const second = await controller('controller-failover-b');

    kubelet.stop();
    await eventually(
      async () => expect((await getNode(client, kubelet.name)).spec?.unschedulable).toBe(true),
      150_000,
      500,
    );
    // The leader dies in the middle of verifying its cordon.
    await first.kill();
    await eventually(
      async () => expect(await metric(second, /^kube_remedy_leader\{/)).toBe(1),
      30_000,
      250,
    );
    // The new leader restored the node's actor from its snapshot: it escalates when the
    // verification window ends, without cordoning again.
    await eventually(
      async () =>
        expect((await controllerEvents(kubelet.name)).map((e) => e.reason)).toContain('Escalated'),
      60_000,
      500,
    );
    expect(await nodeJobs(s, kubelet.name)).toEqual(['cordon']);

    await kubelet.resume();
    await eventually(
      async () => expect((await getNode(client, kubelet.name)).spec?.unschedulable).not.toBe(true),
      90_000,
      500,
    );
    expect(await nodeJobs(s, kubelet.name)).toEqual(['cordon', 'uncordon']);
  }, 400_000);
});
