/**
 * kube-remedy running with each role's own ServiceAccount token, as installed by the chart:
 * it does its job with those rights and is refused anything beyond them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminClient,
  createDeployment,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
  makePodImagePullBackOff,
  KubeClient,
  STATUS_OWNER_ANNOTATION,
  waitFor,
  type List,
  type Pod,
} from '../cluster/fixtures.ts';
import { CHART_DIR, helmOk, valuesArgs } from '../integration/chart/helm.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

const suffix = randomBytes(3).toString('hex');
// Containing the chart's name, the release is the chart's fullname: ServiceAccounts are <release>-<role>.
const release = `kube-remedy-roles-${suffix}`;

describe('each role on its own ServiceAccount', () => {
  const kube = inject('kube');
  const admin = adminClient();
  let home = '';
  let scratch: RedisForTest;
  const processes: RunningKubeRemedy[] = [];

  /** A kubeconfig with a real token of the role's ServiceAccount (TokenRequest). */
  async function roleKubeconfig(role: string): Promise<{ file: string; client: KubeClient }> {
    const review = await admin.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${home}/serviceaccounts/${release}-${role}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 1200 },
      },
    );
    const token = review.status.token;
    const file = join(mkdtempSync(join(tmpdir(), `kr-${role}-`)), 'kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'test', cluster: { server: kube.server, 'certificate-authority': kube.caFile } },
        ],
        users: [{ name: role, user: { token } }],
        contexts: [{ name: role, context: { cluster: 'test', user: role, namespace: home } }],
        'current-context': role,
      }),
    );
    return { file, client: new KubeClient({ server: kube.server, token, caPem: kube.caPem }) };
  }

  beforeAll(async () => {
    scratch = await redisForTest();
    await installCrd(admin);
    home = await freshNamespace(admin, { prefix: 'kr-roles', keep: true });
    // The chart's RBAC and ServiceAccounts; the pods it creates stay unscheduled on purpose.
    const { args, cleanup } = valuesArgs({
      redis: { enabled: false, external: { url: 'redis://redis.invalid:6379' } },
      agent: { nodeSelector: { 'kube-remedy.test/nowhere': 'true' } },
      controller: { nodeSelector: { 'kube-remedy.test/nowhere': 'true' } },
      workers: { nodeSelector: { 'kube-remedy.test/nowhere': 'true' } },
      admissionPolicy: { enabled: false },
    });
    try {
      await helmOk([
        'install',
        release,
        CHART_DIR,
        '--namespace',
        home,
        '--kubeconfig',
        kube.kubeconfig,
        ...args,
      ]);
    } finally {
      cleanup();
    }
  }, 180_000);

  afterAll(async () => {
    await helmOk([
      'uninstall',
      release,
      '--namespace',
      home,
      '--kubeconfig',
      kube.kubeconfig,
    ]).catch(() => undefined);
    await admin.delete(`/api/v1/namespaces/${home}`).catch(() => undefined);
    await scratch.cleanup();
  });

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
  });

  async function run(
    role: string,
    kubeconfig: string,
    extra: readonly string[] = [],
  ): Promise<RunningKubeRemedy> {
    const running = await startKubeRemedy(
      ['--role', role, '--kubeconfig', kubeconfig, '--namespace', home, ...extra],
      {
        REDIS_URL: scratch.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: `${scratch.prefix}-${role}`,
        KUBE_REMEDY_IDENTITY: `${role}-${suffix}`,
      },
    );
    processes.push(running);
    await waitReady(running);
    return running;
  }

  it('the agent restarts a crash-looping pod with its own rights, and may not touch Deployments or Secrets', async () => {
    const { file, client } = await roleKubeconfig('agent');
    const ns = await freshNamespace(admin, { prefix: 'roles-agent' });
    const node = (await createFakeNode(admin, { dedicated: false })).metadata.name;
    await createPolicy(admin, ns, 'restart', {
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
    await createPod(admin, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });
    await run('agent', file, ['--node-name', node]);
    for (const restartCount of [1, 2, 3, 4, 5]) {
      if ((await admin.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status !== 200)
        break;
      await makePodCrashLoop(admin, ns, 'cart-1', { restartCount }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(async () => {
      expect((await admin.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status).toBe(404);
    }, 30_000);

    await createDeployment(admin, ns, { name: 'web', replicas: 1 });
    expect(
      (await client.request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).status,
    ).toBe(403);
    expect((await client.request('GET', `/api/v1/namespaces/${ns}/secrets`)).status).toBe(403);
  });

  it('the controller leads with a Lease in its namespace and writes policy status, and may not delete pods', async () => {
    const { file, client } = await roleKubeconfig('controller');
    const ns = await freshNamespace(admin, { prefix: 'roles-ctl' });
    await createPolicy(admin, ns, 'deployments', {
      selector: { kinds: ['Deployment'] },
      mode: 'dryRun',
      detections: [{ type: 'RolloutFailed', threshold: 1, window: '1m', action: 'rollback' }],
    });
    await run('controller', file);
    await eventually(async () => {
      const policy = await admin.get<{
        status?: { conditions?: { type: string; status: string }[] };
      }>(
        `/apis/remedy.kube-remedy.io/v1alpha1/namespaces/${ns}/autoremediationpolicies/deployments`,
      );
      expect(policy.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }, 30_000);
    const lease = await admin.get<{ spec?: { holderIdentity?: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${home}/leases/kube-remedy-controller`,
    );
    expect(lease.spec?.holderIdentity).toBe(`controller-${suffix}`);

    const pod = await createPod(admin, ns, { name: 'bystander' });
    expect(
      (await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`)).status,
    ).toBe(403);
    expect((await client.request('GET', `/api/v1/namespaces/${home}/secrets`)).status).toBe(403);
  });

  it("the controller sees a new rollout's pods fail to pull their image, with list and watch on pods only", async () => {
    const { file, client } = await roleKubeconfig('controller');
    const ns = await freshNamespace(admin, { prefix: 'roles-pull' });
    await createPolicy(admin, ns, 'rollouts', {
      selector: { kinds: ['Deployment'], matchLabels: { app: 'shop' } },
      mode: 'dryRun',
      detections: [{ type: 'ImagePullBackOff', threshold: 1, window: '1m', action: 'rollback' }],
    });
    await createDeployment(admin, ns, { name: 'shop', replicas: 1 });
    const pods = (): Promise<Pod[]> =>
      admin
        .get<List<Pod>>(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dshop`)
        .then((list) => list.items);
    await waitFor('the first rollout to run', async () =>
      (await pods()).some((p) => p.status?.phase === 'Running'),
    );
    await run('controller', file);

    // A new rollout with an image that does not exist. Its pods are left to the fixtures (kwok
    // would report them Running), which write what the kubelet writes when the pull fails.
    await admin.patch(`/apis/apps/v1/namespaces/${ns}/deployments/shop`, {
      spec: {
        template: {
          metadata: { annotations: { [STATUS_OWNER_ANNOTATION]: 'fixture' } },
          spec: {
            containers: [{ name: 'app', image: 'registry.example.com/shop/app:no-such-tag' }],
          },
        },
      },
    });
    const fresh = await waitFor('a pod of the new ReplicaSet', async () =>
      (await pods()).find((p) => p.metadata.annotations?.[STATUS_OWNER_ANNOTATION] !== undefined),
    );
    const replicaSet = fresh.metadata.ownerReferences?.[0]?.name ?? '';
    await makePodImagePullBackOff(admin, ns, fresh.metadata.name);

    // The Deployment's actor finds it on the pod of its newest ReplicaSet, long before the
    // rollout's progress deadline, and says so on the Deployment.
    const detected = await eventually(async () => {
      const events = await admin.get<List<{ reason?: string; message?: string }>>(
        `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.kind%3DDeployment,involvedObject.name%3Dshop`,
      );
      const found = events.items.find((e) => e.reason === 'Detected');
      expect(found).toBeDefined();
      return found?.message ?? '';
    }, 30_000);
    expect(detected).toBe(
      `ImagePullBackOff confirmed: new ReplicaSet "${replicaSet}": pod "${fresh.metadata.name}": container "app" is in ImagePullBackOff: Back-off pulling image "registry.example.com/shop/app:no-such-tag": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/app:no-such-tag": failed to resolve reference "registry.example.com/shop/app:no-such-tag": registry.example.com/shop/app:no-such-tag: not found`,
    );

    // Pods are listed and watched, never read one by one.
    expect((await client.request('GET', `/api/v1/namespaces/${ns}/pods`)).status).toBe(200);
    expect(
      (await client.request('GET', `/api/v1/namespaces/${ns}/pods/${fresh.metadata.name}`)).status,
    ).toBe(403);
  });

  it('the workers start with read-only rights and may change nothing in the cluster', async () => {
    const { file, client } = await roleKubeconfig('workers');
    await run('workers', file);
    const ns = await freshNamespace(admin, { prefix: 'roles-wk' });
    await createDeployment(admin, ns, { name: 'web', replicas: 1 });
    expect(
      (await client.request('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).status,
    ).toBe(200);
    expect(
      (
        await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, {
          spec: { replicas: 3 },
        })
      ).status,
    ).toBe(403);
    expect((await client.request('GET', `/api/v1/namespaces/${ns}/secrets`)).status).toBe(403);
  });
});
