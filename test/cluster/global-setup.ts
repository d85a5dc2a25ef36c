/**
 * Vitest global setup: ONE real control plane per test run, shared by every project that lists
 * this file (test/support/shared-service.ts counts the users), stopped when the last one tears down.
 *
 * With KUBE_REMEDY_TEST_KUBECONFIG set to the admin kubeconfig of a control plane started by
 * `npm run cluster:up` (its state.json lies beside it), that one is reused and left running.
 * KUBE_REMEDY_TEST_NODES sets the number of kwok nodes of a started control plane (default 3).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { acquireShared } from '../support/shared-service.ts';
import {
  isServing,
  killControlPlaneSync,
  readState,
  reapOrphanedControlPlanes,
  startControlPlane,
  stateFileOf,
  stopControlPlane,
  type ControlPlane,
  type Role,
  type RoleCredentials,
} from './controlplane.ts';

/** What `inject('kube')` returns in tests. */
export interface KubeTestContext {
  /** https://127.0.0.1:<port> */
  server: string;
  /** The CA that signed the API server's serving certificate (path and PEM). */
  caFile: string;
  caPem: string;
  /** Admin kubeconfig (user kube-remedy-admin, group system:masters) and its bearer token. */
  kubeconfig: string;
  token: string;
  user: string;
  /** Per role: token, kubeconfig and the ServiceAccount user it authenticates as. */
  roles: Record<Role, RoleCredentials>;
  /** e.g. "v1.37.2" */
  kubernetesVersion: string;
  /** Directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, helm. */
  binDir: string;
  /** Names of the shared kwok nodes. */
  nodes: string[];
  /** The control plane's directory and state file (logs in <dir>/logs). */
  dir: string;
  stateFile: string;
  /** True when an already running control plane (KUBE_REMEDY_TEST_KUBECONFIG) is used. */
  reused: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The real Kubernetes control plane of this test run. */
    kube: KubeTestContext;
  }
}

export function toTestContext(cp: ControlPlane, reused: boolean): KubeTestContext {
  return {
    server: cp.server,
    caFile: cp.caFile,
    caPem: cp.caPem,
    kubeconfig: cp.adminKubeconfig,
    token: cp.adminToken,
    user: cp.adminUser,
    roles: cp.roles,
    kubernetesVersion: cp.kubernetesVersion,
    binDir: cp.binDir,
    nodes: cp.nodes,
    dir: cp.dir,
    stateFile: cp.stateFile,
    reused,
  };
}

async function reuse(kubeconfig: string): Promise<ControlPlane> {
  const stateFile = stateFileOf(path.dirname(path.resolve(kubeconfig)));
  if (!existsSync(stateFile)) {
    throw new Error(
      `KUBE_REMEDY_TEST_KUBECONFIG=${kubeconfig}: no ${stateFile} beside it; only a control plane started by ` +
        '`npm run cluster:up` can be reused (unset the variable to start one for this run)',
    );
  }
  const cp = readState(stateFile);
  if (!(await isServing(cp))) {
    throw new Error(
      `KUBE_REMEDY_TEST_KUBECONFIG=${kubeconfig}: the API server at ${cp.server} is not serving`,
    );
  }
  return cp;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['KUBE_REMEDY_TEST_KUBECONFIG'];
  const { value, release } = await acquireShared(
    'kube-control-plane',
    async () => {
      if (external) return { cp: await reuse(external), reused: true, lastResort: undefined };
      await reapOrphanedControlPlanes();
      const nodes = Number(process.env['KUBE_REMEDY_TEST_NODES'] ?? '3');
      const cp = await startControlPlane({ nodes, ownerPid: process.pid });
      // If the run ends without its teardown (process.exit after an error), kill what is left.
      const lastResort = () => killControlPlaneSync(cp);
      process.once('exit', lastResort);
      return { cp, reused: false, lastResort };
    },
    async ({ cp, reused, lastResort }) => {
      if (reused) return;
      if (lastResort) process.off('exit', lastResort);
      await stopControlPlane(cp);
    },
  );
  project.provide('kube', toTestContext(value.cp, value.reused));
  return release;
}
