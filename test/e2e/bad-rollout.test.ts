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
import {
  BOT_TOKEN,
  BUTTON_SECRET,
  CHANNELS,
  PEOPLE,
  SIGNING_SECRET,
} from '../integration/slack/support.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { FakeGitHub } from '../support/fake-github.ts';
import { RedisWorkloadStore } from '../../src/workloads/store.ts';
import { eventually } from '../support/logger.ts';
import { namespaceAgentEvents, startLiveAgent } from '../support/live-agent.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

const GOOD = 'registry.k8s.io/pause:3.10';
const TICKET_REPO = 'acme/web';
const BAD = 'registry.k8s.io/pause:3.9';

interface Deployment {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status?: { updatedReplicas?: number; availableReplicas?: number; replicas?: number };
}

describe('a bad rollout, on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  let crashing = false;
  let slack: FakeSlack | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    crashing = false;
    for (const p of processes.splice(0)) await p.kill();
    await slack?.close();
    slack = undefined;
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

  /**
   * The controller as a process, sharing the test's Redis; a home namespace of its own for its
   * Lease, so parallel runs do not elect each other.
   */
  async function startController(s: RedisForTest, name: string): Promise<RunningKubeRemedy> {
    const home = await freshNamespace(adminClient(), { prefix: `${name}-home` });
    const controller = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', home],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: `controller-${name}`,
      },
    );
    processes.push(controller);
    await waitReady(controller);
    return controller;
  }

  /**
   * A namespace with a 3-replica Deployment `web` on a kwok node, its pods healthy, governed by a
   * crash-loop policy (`detection` and `spec` on top of what both tests share).
   */
  async function webScene(
    prefix: string,
    detection: Record<string, unknown>,
    spec: Record<string, unknown>,
  ) {
    const s = await redisForTest();
    scratch = s;
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'web-crashloop', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'web' } },
      mode: 'auto',
      detections: [
        {
          type: 'CrashLoopBackOff',
          threshold: 3,
          window: '10m',
          action: 'restartPod',
          ...detection,
        },
      ],
      cooldown: '1m',
      // No budget setting: the storm breaker counts workloads, and this policy's pods are all
      // Deployment web's, 1 of 1 at most, never a storm, however many of them crash.
      ...spec,
    });
    await createDeployment(client, ns, { name: 'web', replicas: 3, nodeName: node, image: GOOD });
    const hash = await eventually(async () => {
      const pods = await webPods(ns);
      expect(pods).toHaveLength(3);
      return hashOf(pods[0] as Pod);
    }, 60_000);
    return { scratch: s, client, ns, node, hash };
  }

  it('restarts twice on the replacements, rolls back once, and resolves on the restored pods: one incident', async () => {
    const {
      client,
      ns,
      node,
      hash: goodHash,
      scratch: s,
    } = await webScene(
      'bad-rollout',
      { attempts: 2, then: 'rollback' },
      { verification: { window: '15s' }, quarantine: { maxRemediations: 5, window: '1h' } },
    );

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

    await startLiveAgent(node, s, processes, { KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s' });
    // Actions on Deployments run in the controller (agents hold no rights on them).
    await startController(s, 'bad-rollout');
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

  it('quarantines a Deployment whose pods keep crashing after N remediations, telling Slack once in one thread', async () => {
    const fake = await startFakeSlack({
      token: BOT_TOKEN,
      channels: { ...CHANNELS },
      users: Object.values(PEOPLE),
    });
    slack = fake;
    const {
      ns,
      node,
      hash,
      scratch: s,
    } = await webScene(
      'keeps-crashing',
      { attempts: 5 },
      {
        verification: { window: '1m' },
        quarantine: { maxRemediations: 2, window: '1h' },
        slack: { channel: '#incidents' },
        // People are told on the first level: Slack, and a GitHub issue.
        escalation: {
          levels: [
            {
              after: '0s',
              targets: [{ type: 'slack', channel: '#incidents' }, { type: 'ticket' }],
            },
          ],
        },
        ticket: { provider: 'github', project: TICKET_REPO },
      },
    );
    const github = new FakeGitHub();
    await github.start();
    github.createRepo(TICKET_REPO, { 'README.md': '# web\n' });
    closers.push(() => github.stop());
    const common = { REDIS_URL: s.url, KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix };
    const workers = await startKubeRemedy(
      ['--role', 'workers', '--kubeconfig', inject('kube').kubeconfig],
      {
        ...common,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        KUBE_REMEDY_SLACK_BUTTON_SECRET: BUTTON_SECRET,
        KUBE_REMEDY_SLACK_API_URL: fake.apiUrl,
        KUBE_REMEDY_SLACK_PORT: '0',
        KUBE_REMEDY_GITHUB_TOKEN: github.token,
        KUBE_REMEDY_GITHUB_BASE_URL: github.url,
      },
    );
    processes.push(workers);
    await waitReady(workers);
    await startLiveAgent(node, s, processes, { KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s' });
    crashing = true;
    const kubelet = crashBadRelease(ns, hash);

    const quarantined = await eventually(async () => {
      const events = await namespaceAgentEvents(ns);
      const found = events.filter((e) => e.reason === 'Quarantined');
      expect(found).toHaveLength(1);
      return found[0];
    }, 150_000);
    expect(quarantined?.message).toMatch(/^2 remediations within 1h did not hold/);
    // Told once: one message in #incidents, none of the other replicas' own.
    const told = await eventually(() => {
      const messages = fake.messages().filter((m) => m.channel === CHANNELS['#incidents']);
      expect(messages).toHaveLength(1);
      return messages;
    }, 30_000);
    // A few seconds later, with the pods still crash-looping, still one message, one thread.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    crashing = false;
    await kubelet;
    const after = fake.messages().filter((m) => m.channel === CHANNELS['#incidents']);
    expect(after.filter((m) => m.threadTs === undefined)).toHaveLength(1);
    expect(after.every((m) => m.threadTs === undefined || m.threadTs === told[0]?.ts)).toBe(true);
    // One ticket for the workload, not one per pod that crashed.
    const issues = github.issues(TICKET_REPO);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.title).toContain(`Deployment ${ns}/web`);
    const events = await namespaceAgentEvents(ns);
    // Two restarts, of the first pod and of its replacement; the others waited.
    expect(events.filter((e) => e.reason === 'Remediating')).toHaveLength(2);
    expect(events.filter((e) => e.reason === 'Joined').length).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('lets go of the incident a pod held when the pod goes where no agent sees it (the controller does)', async () => {
    const { client, ns, scratch: s } = await webScene('agentless', {}, {});
    const pod = (await webPods(ns))[0] as Pod;
    const holder = `Pod/${ns}/${pod.metadata.name}`;
    const workload = `${ns}/Deployment/web`;
    // What an agent that then went away left: the pod holds the workload's incident, its restart
    // asked for.
    const store = new RedisWorkloadStore(s.redis, s.prefix);
    const at = Date.now();
    await store.change(workload, 'CrashLoopBackOff', (memory) => ({
      memory: {
        ...memory,
        incident: {
          id: `${holder}#1@${at}`,
          openedAt: at,
          holder,
          holderOwner: null,
          phase: 'remediating',
          attempts: 1,
          actedAt: at,
          replacesPod: true,
          verifyUntil: null,
          verificationWindowMs: 60_000,
          announced: false,
          trigger: { type: 'CrashLoopBackOff', reason: 'crash-looping' },
        },
      },
      result: null,
    }));
    const controller = await startController(s, 'agentless');
    // Leading, with its watch of Deployments' pods synced (no agent runs on the pod's node).
    await eventually(async () => {
      const metrics = await (await fetch(`${controller.base}/metrics`)).text();
      expect(metrics).toMatch(/watch_synced\{resource="rollout-pods"\} 1/);
    }, 60_000);
    await client.delete(`/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`);
    const memory = await eventually(async () => {
      const stored = (await store.read(workload)).CrashLoopBackOff;
      expect(stored?.incident?.holder).toBeNull();
      return stored;
    }, 30_000);
    // The restart's deletion is its result: the verification starts, for a replacement to take.
    expect(memory?.incident).toMatchObject({ id: `${holder}#1@${at}`, phase: 'verifying' });
    await store.close();
  }, 120_000);
});
