import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { NODE_ALLOCATABLE, NODE_CAPACITY } from '../../cluster/controlplane.ts';
import {
  adminClient,
  freshNamespace,
  getNode,
  type List,
  type Node,
} from '../../cluster/fixtures.ts';
import { readVersions } from '../../cluster/versions.ts';

const run = promisify(execFile);
const versions = readVersions();

describe('the test control plane', () => {
  const kube = inject('kube');

  it('serves the Kubernetes version pinned in versions.env', async () => {
    const version = await adminClient().get<{ gitVersion: string; major: string; minor: string }>(
      '/version',
    );
    expect(version.gitVersion).toBe(versions.KUBERNETES_VERSION);
    expect(`v${version.major}.${version.minor}`).toBe(
      versions.KUBERNETES_VERSION.split('.').slice(0, 2).join('.'),
    );
    expect(kube.kubernetesVersion).toBe(versions.KUBERNETES_VERSION);
  });

  it('lets kubectl list the kwok nodes through the admin kubeconfig', async () => {
    const { stdout } = await run(
      path.join(kube.binDir, 'kubectl'),
      ['get', 'nodes', '-o', 'json'],
      {
        env: { ...process.env, KUBECONFIG: kube.kubeconfig },
      },
    );
    const names = (JSON.parse(stdout) as List<Node>).items.map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(kube.nodes));
  });

  it('reports the same version from kubectl client and server', async () => {
    const { stdout } = await run(path.join(kube.binDir, 'kubectl'), ['version', '-o', 'json'], {
      env: { ...process.env, KUBECONFIG: kube.kubeconfig },
    });
    const v = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(v.clientVersion.gitVersion).toBe(versions.KUBERNETES_VERSION);
    expect(v.serverVersion.gitVersion).toBe(versions.KUBERNETES_VERSION);
  });

  it('gives every shared node realistic capacity and a Ready condition', async () => {
    for (const name of kube.nodes) {
      const node = await getNode(adminClient(), name);
      expect(node.status.capacity).toMatchObject(NODE_CAPACITY);
      expect(node.status.allocatable).toMatchObject(NODE_ALLOCATABLE);
      expect(node.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'True',
        reason: 'KubeletReady',
      });
      expect(node.metadata.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
    }
  });

  it('lets helm install a chart whose kubeVersion requires the pinned minor', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'helm' });
    const chart = mkdtempSync(path.join(os.tmpdir(), 'kube-remedy-chart-'));
    try {
      const minor = versions.KUBERNETES_VERSION.replace(/^v/, '').split('.').slice(0, 2).join('.');
      writeFileSync(
        path.join(chart, 'Chart.yaml'),
        `apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: ">=${minor}.0-0"\n`,
      );
      mkdirSync(path.join(chart, 'templates'));
      writeFileSync(
        path.join(chart, 'templates', 'configmap.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n',
      );
      const helm = path.join(kube.binDir, 'helm');
      const env = {
        ...process.env,
        KUBECONFIG: kube.kubeconfig,
        HELM_CACHE_HOME: path.join(chart, '.cache'),
        HELM_CONFIG_HOME: path.join(chart, '.config'),
        HELM_DATA_HOME: path.join(chart, '.data'),
      };
      const { stdout: helmVersion } = await run(helm, ['version', '--template', '{{ .Version }}'], {
        env,
      });
      expect(helmVersion.trim()).toBe(versions.HELM_VERSION);
      await run(helm, ['install', 'probe', chart, '--namespace', ns], { env });
      const cm = await client.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${ns}/configmaps/probe`,
      );
      expect(cm.data['kubeVersion']).toBe(versions.KUBERNETES_VERSION);
    } finally {
      rmSync(chart, { recursive: true, force: true });
    }
  });
});
