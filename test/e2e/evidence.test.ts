import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('evidence on detection, end to end', () => {
  let scratch: RedisForTest | undefined;
  let root: string | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('keeps the crash-looping pod as it was, although the restart deletes it', async () => {
    scratch = await redisForTest();
    const evidenceRoot = mkdtempSync(join(tmpdir(), 'kube-remedy-evidence-'));
    root = evidenceRoot;
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'evidence' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'cart', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
      mode: 'auto',
      detections: [{ type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' }],
      evidence: { efs: { path: join(evidenceRoot, 'shop-team') } },
    });
    await createPod(client, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });

    const common = { REDIS_URL: scratch.url, KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix };
    const kubeconfig = inject('kube').kubeconfig;
    const workers = await startKubeRemedy(['--role', 'workers', '--kubeconfig', kubeconfig], {
      ...common,
      KUBE_REMEDY_EVIDENCE_EFS_ROOT: evidenceRoot,
    });
    processes.push(workers);
    await waitReady(workers);
    const agent = await startKubeRemedy(
      ['--role', 'agent', '--node-name', node, '--kubeconfig', kubeconfig],
      common,
    );
    processes.push(agent);
    await waitReady(agent);

    for (const restartCount of [1, 2, 3]) {
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Restarted: kwok deletes the pod.
    await eventually(
      async () =>
        expect((await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status).toBe(
          404,
        ),
      30_000,
    );

    const pod = join(evidenceRoot, 'shop-team', ns, 'Pod', 'cart-1');
    const [incident] = readdirSync(pod);
    expect(incident).toMatch(/^1-\d+$/);
    const detected = join(pod, incident!, 'detected');
    const manifests = readFileSync(join(detected, 'manifests.yaml'), 'utf8');
    // The object as it was at detection, which no later collection could read.
    expect(manifests).toContain('name: cart-1');
    expect(manifests).toMatch(/restartCount: 3/);
    const bundle = JSON.parse(readFileSync(join(detected, 'bundle.json'), 'utf8')) as {
      step: string;
      detection: string;
      evidence: { objectUnavailable?: string };
    };
    expect(bundle).toMatchObject({ step: 'detected-evidence', detection: 'CrashLoopBackOff' });
    expect(bundle.evidence.objectUnavailable).toBeUndefined();
  });
});
