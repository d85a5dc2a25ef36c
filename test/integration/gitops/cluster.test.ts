/**
 * Proposals that need the cluster: a Pod's workload, its OOM-killed containers and their live
 * limit; the images of a Deployment's previous revision. Real control plane, Kustomize repos on
 * the GitHub fake.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubCodeHost } from '../../../src/adapters/github/code-host.ts';
import { createGitHubClient } from '../../../src/adapters/github/client.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { gitopsProcessors } from '../../../src/effects/gitops/index.ts';
import type { ProcessorContext } from '../../../src/effects/workers.ts';
import {
  adminClient,
  createDeployment,
  freshNamespace,
  makePodOOMKilled,
  waitFor,
  type List,
  type Pod,
} from '../../cluster/fixtures.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const REPO = 'platform/gitops';

function context(jobId: string): ProcessorContext {
  return {
    jobId,
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  };
}

function job(actorKey: string, effect: Record<string, unknown>): EffectJob {
  return {
    owner: 'controller',
    actorKey,
    incidentId: `${actorKey}#1@1732000000000`,
    step: 'propose-1',
    requestedAt: 1_732_000_000_000,
    effect: { kind: 'openPullRequest', ...effect },
  };
}

function insertedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const out: string[] = [];
  let i = 0;
  for (const line of after.split('\n')) {
    if (line === a[i]) i += 1;
    else out.push(line);
  }
  expect(i).toBe(a.length);
  return out;
}

describe('GitOps proposals that read the cluster', () => {
  let github: FakeGitHub;
  let scratch: RedisForTest;

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    scratch = await redisForTest();
  });

  afterEach(async () => {
    await github.stop();
    await scratch.cleanup();
    expect(github.violations).toEqual([]);
  });

  function processor() {
    const host = new GitHubCodeHost(
      createGitHubClient({ token: github.token, baseUrl: github.url }),
    );
    return gitopsProcessors({
      hosts: { github: host },
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      kc: adminKubeConfig(),
    }).openPullRequest;
  }

  it("raises the OOM-killed container's limit of a Pod's Deployment in the overlay patch", async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'gitops-oom' });
    await createDeployment(client, ns, { name: 'web', replicas: 1 });
    const pod = await waitFor('a pod of web', async () => {
      const pods = await client.get<List<Pod>>(
        `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`,
      );
      return pods.items.find((p) => p.spec.nodeName !== undefined);
    });
    await makePodOOMKilled(client, ns, pod.metadata.name);

    // The base declares no limit; the overlay's patch sets only the replicas.
    const base = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.k8s.io/pause:3.10
`;
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1 # prod runs one
`;
    github.createRepo(REPO, {
      'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
      'base/deployment.yaml': base,
      'overlays/prod/kustomization.yaml': `namespace: ${ns}\nresources:\n  - ../../base\npatches:\n  - path: web.yaml\n`,
      'overlays/prod/web.yaml': patch,
    });

    const result = await processor()(
      job(`Pod/${ns}/${pod.metadata.name}`, {
        target: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
        reason: 'container app was OOMKilled',
        proposes: { kind: 'increaseMemory', containers: [], increasePercent: 50, max: null },
        gitops: { provider: 'github', repository: REPO, path: 'overlays/prod' },
      }),
      context('job-oom'),
    );

    expect(result).toMatchObject({ created: true, number: 1 });
    const branch = String(result['branch']);
    expect(branch).toMatch(new RegExp(`^kube-remedy/deployment/${ns}/web-[0-9a-f]{8}$`));
    // The fixture's limit is 128Mi; the field is added to the overlay's patch, base untouched.
    expect(insertedLines(patch, github.file(REPO, branch, 'overlays/prod/web.yaml')!)).toEqual([
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          resources:',
      '            limits:',
      '              memory: 192Mi',
    ]);
    expect(github.file(REPO, branch, 'base/deployment.yaml')).toBe(base);
    expect(github.pulls(REPO)[0]!.body).toContain(
      '| memory limit of container app | `overlays/prod/web.yaml`',
    );
  });

  it("proposes going back to the previous revision's image through the kustomization's images", async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'gitops-rollback' });
    await createDeployment(client, ns, {
      name: 'api',
      replicas: 1,
      image: 'registry.example.com/shop/api:1.0.0',
    });
    await waitFor('revision 1', async () => {
      const d = await client.get<{ metadata: { annotations?: Record<string, string> } }>(
        `/apis/apps/v1/namespaces/${ns}/deployments/api`,
      );
      return d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1';
    });
    await client.patch(
      `/apis/apps/v1/namespaces/${ns}/deployments/api`,
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', image: 'registry.example.com/shop/api:1.1.0' }] },
          },
        },
      },
      'strategic',
    );
    await waitFor('two revisions', async () => {
      const sets = await client.get<List<{ metadata: { annotations?: Record<string, string> } }>>(
        `/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dapi`,
      );
      const revisions = sets.items.map(
        (rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
      );
      return revisions.includes('1') && revisions.includes('2');
    });

    const kustomization = `namespace: ${ns}
resources:
  - deployment.yaml
images:
  - name: registry.example.com/shop/api
    newTag: 1.1.0 # bumped by CI
`;
    github.createRepo(REPO, {
      'apps/api/kustomization.yaml': kustomization,
      'apps/api/deployment.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/shop/api:1.0.0\n',
    });

    const result = await processor()(
      job(`Deployment/${ns}/api`, {
        target: { kind: 'Deployment', namespace: ns, name: 'api' },
        reason: 'rollout of revision 2 failed: progress deadline exceeded',
        proposes: { kind: 'rollback', fromRevision: '2' },
        gitops: { provider: 'github', repository: REPO, path: 'apps/api/kustomization.yaml' },
      }),
      context('job-rollback'),
    );
    const after = github.file(REPO, String(result['branch']), 'apps/api/kustomization.yaml')!;
    expect(after).toBe(
      kustomization.replace('newTag: 1.1.0 # bumped by CI', 'newTag: 1.0.0 # bumped by CI'),
    );
    expect(github.pulls(REPO)[0]!.title).toBe(
      `kube-remedy: roll back the image from revision 2 of Deployment ${ns}/api`,
    );
  });
});
