/**
 * The real control plane for benchmarks: the one `npm run cluster:up` left running (reused and
 * left running), or one started here for the run (stopped at the end). Benchmarks create their
 * own kwok nodes (tainted, so nobody else's pods land there) and namespaces, and delete both.
 *
 * Only test/cluster modules that do not need vitest are imported: the benchmarks are plain
 * scripts.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  createNodes,
  isServing,
  readState,
  stateFileOf,
  type ControlPlane,
} from '../../test/cluster/controlplane.ts';
import { KubeApiError, KubeClient, waitFor } from '../../test/cluster/kube-client.ts';
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../../src/policy/vocabulary.ts';
import { progress } from './report.ts';

export { KubeClient, waitFor };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'test/cluster/cli.ts');
const POINTER = path.join(os.tmpdir(), 'kube-remedy-cluster.current');

/** Keeps other tests' pods off benchmark nodes. */
export const BENCH_TAINT = {
  key: 'kube-remedy.bench/node',
  value: 'true',
  effect: 'NoSchedule',
} as const;
/** kwok's Stages leave the status of objects with this annotation alone (test/cluster README). */
export const STATUS_OWNER_ANNOTATION = 'kube-remedy.test/status-owner';

export interface BenchCluster {
  cp: ControlPlane;
  admin: KubeClient;
  /** Whether this run started the control plane (and so stops it). */
  started: boolean;
  release: () => void;
}

async function running(): Promise<ControlPlane | undefined> {
  if (!existsSync(POINTER)) return undefined;
  const dir = readFileSync(POINTER, 'utf8').trim();
  if (!dir || !existsSync(stateFileOf(dir))) return undefined;
  try {
    const cp = readState(dir);
    return (await isServing(cp)) ? cp : undefined;
  } catch {
    return undefined;
  }
}

export async function useCluster(): Promise<BenchCluster> {
  let cp = await running();
  let started = false;
  if (cp === undefined) {
    progress('no control plane running: starting one (node test/cluster/cli.ts up --nodes 1)');
    const up = spawnSync(process.execPath, [CLI, 'up', '--nodes', '1'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (up.status !== 0) throw new Error('could not start the test control plane');
    cp = await running();
    if (cp === undefined) throw new Error('the control plane started but does not answer');
    started = true;
  } else {
    progress(`reusing the control plane at ${cp.server}`);
  }
  const admin = new KubeClient({ server: cp.server, token: cp.adminToken, caPem: cp.caPem });
  return {
    cp,
    admin,
    started,
    release: () => {
      if (!started) return;
      progress('stopping the control plane this run started');
      spawnSync(process.execPath, [CLI, 'down'], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  };
}

export const suffix = (): string => randomBytes(3).toString('hex');

/** Creates tainted kwok nodes and waits until they are Ready. */
export async function createBenchNodes(cluster: BenchCluster, names: string[]): Promise<void> {
  await createNodes(cluster.admin, names, cluster.cp.kubernetesVersion, {
    taints: [{ ...BENCH_TAINT }],
    labels: { 'kube-remedy.bench/node': 'true' },
  });
}

export async function deleteNodes(client: KubeClient, names: string[]): Promise<void> {
  await Promise.all(names.map((name) => client.delete(`/api/v1/nodes/${name}`)));
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kube-remedy.bench/namespace': 'true' } },
  });
  await waitFor(`ServiceAccount ${name}/default`, async () => {
    const res = await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    return res.status === 200;
  });
}

/** Deletes the namespace and, with `wait`, waits until it is gone (its pods with it). */
export async function deleteNamespace(
  client: KubeClient,
  name: string,
  wait = false,
): Promise<void> {
  await client.delete(`/api/v1/namespaces/${name}`, { propagationPolicy: 'Background' });
  if (wait) {
    await waitFor(
      `namespace ${name} to be deleted`,
      async () => (await client.request('GET', `/api/v1/namespaces/${name}`)).status === 404,
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  });
  await Promise.all(workers);
}

export interface BenchPodOptions {
  labels?: Record<string, string>;
  /** kwok leaves the status alone; the benchmark writes it. */
  statusOwned?: boolean;
}

export function podManifest(
  name: string,
  nodeName: string,
  opts: BenchPodOptions = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: 'bench', ...opts.labels },
      annotations: opts.statusOwned ? { [STATUS_OWNER_ANNOTATION]: 'bench' } : {},
    },
    spec: {
      nodeName,
      tolerations: [{ ...BENCH_TAINT, operator: 'Equal' }],
      containers: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  };
}

export async function createPods(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
  nodeOf: (index: number) => string,
  opts: BenchPodOptions = {},
  concurrency = 16,
): Promise<void> {
  await inParallel(names, concurrency, async (name, i) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.create(
          `/api/v1/namespaces/${namespace}/pods`,
          podManifest(name, nodeOf(i), opts),
        );
        return;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409) return;
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  });
}

/** Installs the AutoRemediationPolicy CRD (server-side apply, idempotent) and waits until served. */
export async function installCrd(client: KubeClient): Promise<void> {
  const crd: unknown = parse(
    readFileSync(path.join(ROOT, 'crds/autoremediationpolicies.yaml'), 'utf8'),
  );
  const name = `${PLURAL}.${API_GROUP}`;
  await client.patch(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=kube-remedy-bench&force=true`,
    crd,
    'apply',
  );
  await waitFor(`${PLURAL} to be served`, async () => {
    const res = await client.request('GET', `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}?limit=1`);
    return res.status === 200;
  });
}

export async function createPolicy(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await client.create(
    `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${PLURAL}?fieldValidation=Strict`,
    { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name, namespace }, spec },
  );
}

/** Cleanup steps run once, in reverse order, on exit, error or Ctrl-C. */
export class Cleanup {
  private readonly steps: { what: string; run: () => unknown }[] = [];
  private done = false;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  add(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  async run(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (error) {
        progress(`cleanup: ${step.what} failed: ${String(error)}`);
      }
    }
  }
}
