/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver (RBAC, static tokens),
 * kube-controller-manager, kube-scheduler and kwok (fake nodes and pod lifecycles), all built
 * from Go modules by build.sh, all on free ports of 127.0.0.1, with their state, logs and
 * certificates in one temporary directory.
 *
 *   const cp = await startControlPlane({ nodes: 3 });
 *   ... cp.server, cp.adminKubeconfig, cp.roles.agent.token ...
 *   await stopControlPlane(cp);
 *
 * Flags follow envtest (controller-runtime pkg/internal/testing/controlplane), plus
 * --token-auth-file so tests act as the admin and as each kube-remedy role's ServiceAccount user.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeApiError, KubeClient, waitFor } from './kube-client.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { generatePki, newToken, writeTokenFile, type StaticTokenUser } from './pki.ts';
import {
  describeFailure,
  freePorts,
  processesInGroups,
  startProcess,
  stopProcessGroups,
  type ProcessRecord,
  type RunningProcess,
} from './processes.ts';
import { buildScript, clusterDir, readVersions } from './versions.ts';

export const ROLES = ['agent', 'controller', 'workers'] as const;
export type Role = (typeof ROLES)[number];

/** Namespace of kube-remedy's ServiceAccounts (the role tokens authenticate as these). */
export const SYSTEM_NAMESPACE = 'kube-remedy-system';
export const ADMIN_USER = 'kube-remedy-admin';
/** kwok manages the nodes carrying this annotation. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const NODE_CAPACITY = {
  cpu: '32',
  memory: '256Gi',
  pods: '110',
  'ephemeral-storage': '500Gi',
} as const;
export const NODE_ALLOCATABLE = {
  cpu: '31800m',
  memory: '260608Mi',
  pods: '110',
  'ephemeral-storage': '460Gi',
} as const;

export interface RoleCredentials {
  role: Role;
  /** `system:serviceaccount:kube-remedy-system:kube-remedy-<role>` */
  user: string;
  groups: string[];
  token: string;
  kubeconfig: string;
  namespace: string;
  serviceAccount: string;
}

/** Everything about a running control plane; plain JSON (it is also the state file). */
export interface ControlPlane {
  stateVersion: 1;
  dir: string;
  stateFile: string;
  binDir: string;
  kubernetesVersion: string;
  server: string;
  caFile: string;
  caPem: string;
  adminUser: string;
  adminToken: string;
  adminKubeconfig: string;
  roles: Record<Role, RoleCredentials>;
  ports: {
    etcd: number;
    etcdPeer: number;
    apiserver: number;
    controllerManager: number;
    scheduler: number;
    kwok: number;
  };
  processes: ProcessRecord[];
  nodes: string[];
  logDir: string;
  startedAt: string;
  /** Pid of the process whose life bounds this control plane (a test run); none for `cluster:up`. */
  ownerPid?: number;
}

export interface StartOptions {
  /** Fake kwok nodes to create (default 3). */
  nodes?: number;
  /** Directory for state, certs, data and logs (default: a new one under os.tmpdir()). */
  dir?: string;
  /** Where the binaries are (default: build them with build.sh, or $KUBE_REMEDY_CLUSTER_BIN_DIR). */
  binDir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Node name prefix (default "kwok-node-"). */
  nodeNamePrefix?: string;
  /**
   * The process whose life bounds this control plane: should it die without stopping it,
   * `reapOrphanedControlPlanes()` stops it later.
   */
  ownerPid?: number;
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

/** Runs build.sh (builds only missing binaries) and returns the bin directory. */
export async function ensureBinaries(log: (line: string) => void = defaultLog): Promise<string> {
  const fromEnv = process.env['KUBE_REMEDY_CLUSTER_BIN_DIR'];
  if (fromEnv) return fromEnv;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: clusterDir,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        log(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (err) log(err);
      const binDir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && binDir) resolve(binDir);
      else reject(new Error(`${buildScript} failed with exit code ${code}`));
    });
  });
}

function roleCredentials(role: Role, dir: string): RoleCredentials {
  const serviceAccount = `kube-remedy-${role}`;
  return {
    role,
    user: `system:serviceaccount:${SYSTEM_NAMESPACE}:${serviceAccount}`,
    groups: [
      'system:serviceaccounts',
      `system:serviceaccounts:${SYSTEM_NAMESPACE}`,
      'system:authenticated',
    ],
    token: newToken(),
    kubeconfig: path.join(dir, `${role}.kubeconfig`),
    namespace: SYSTEM_NAMESPACE,
    serviceAccount,
  };
}

async function waitHealthy(
  proc: RunningProcess,
  url: string,
  opts: { timeoutMs: number; headers?: Record<string, string> },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: string;
  for (;;) {
    if (proc.spawnError) throw describeFailure(proc, `could not start: ${proc.spawnError.message}`);
    if (proc.exit) {
      throw describeFailure(
        proc,
        `exited (code ${proc.exit.code}, signal ${proc.exit.signal}) before ${url} was healthy`,
      );
    }
    try {
      const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(3000) });
      const body = await res.text();
      if (res.ok) return;
      last = `${res.status} ${body.slice(0, 500)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw describeFailure(
        proc,
        `was not healthy at ${url} within ${opts.timeoutMs / 1000}s (last answer: ${last})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function nodeManifest(name: string, kubernetesVersion: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok-32x256',
        'topology.kubernetes.io/zone': 'kwok-zone-a',
        type: 'kwok',
      },
      annotations: {
        [KWOK_NODE_ANNOTATION]: 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
      },
    },
    spec: {},
    status: {
      capacity: NODE_CAPACITY,
      allocatable: NODE_ALLOCATABLE,
      // Loopback: anything that dials a node (apiserver logs/exec) stays on this machine.
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-kwok',
        containerRuntimeVersion: 'containerd://2.1.4',
        kubeletVersion: kubernetesVersion,
        kubeProxyVersion: '',
        machineID: randomUUID().replaceAll('-', ''),
        systemUUID: randomUUID(),
        bootID: randomUUID(),
      },
    },
  };
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

interface NodeLike {
  spec?: { taints?: Taint[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * A node is usable when kwok reports it Ready and the node lifecycle controller removed the
 * `node.kubernetes.io/*` taints a new node starts with (taints of our own are left alone).
 */
export function nodeIsReady(node: NodeLike): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const systemTaints = (node.spec?.taints ?? []).filter((t) =>
    t.key.startsWith('node.kubernetes.io/'),
  );
  return ready?.status === 'True' && systemTaints.length === 0;
}

/** Creates fake kwok nodes and waits until they are Ready and schedulable. */
export async function createNodes(
  client: KubeClient,
  names: string[],
  kubernetesVersion: string,
  opts: { taints?: Taint[]; labels?: Record<string, string> } = {},
): Promise<void> {
  for (const name of names) {
    const manifest = nodeManifest(name, kubernetesVersion) as {
      metadata: { labels: Record<string, string> };
      spec: { taints?: Taint[] };
    };
    if (opts.taints) manifest.spec.taints = opts.taints;
    Object.assign(manifest.metadata.labels, opts.labels);
    try {
      await client.create('/api/v1/nodes', manifest);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
  }
  for (const name of names) {
    await waitFor(
      `node ${name} to be Ready and untainted`,
      async () => nodeIsReady(await client.get<NodeLike>(`/api/v1/nodes/${name}`)),
      { timeoutMs: 120_000 },
    );
  }
}

async function ensureObject(client: KubeClient, collection: string, body: unknown): Promise<void> {
  try {
    await client.create(collection, body);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
  }
}

export function stateFileOf(dir: string): string {
  return path.join(dir, 'state.json');
}

export function writeState(cp: ControlPlane): void {
  const tmp = `${cp.stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(cp, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, cp.stateFile); // atomic: a reader never sees half a state file
}

export function readState(dirOrStateFile: string): ControlPlane {
  const file = dirOrStateFile.endsWith('.json') ? dirOrStateFile : stateFileOf(dirOrStateFile);
  const cp = JSON.parse(readFileSync(file, 'utf8')) as ControlPlane;
  if (cp.stateVersion !== 1)
    throw new Error(`${file}: unknown state version ${String(cp.stateVersion)}`);
  return cp;
}

/** True when the control plane's API server answers /readyz. */
export async function isServing(cp: ControlPlane): Promise<boolean> {
  try {
    const client = new KubeClient({ server: cp.server, token: cp.adminToken, caPem: cp.caPem });
    const res = await client.request('GET', '/readyz');
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? defaultLog;
  const t0 = Date.now();
  const step = (msg: string) => log(`cluster: ${msg} (+${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  const versions = readVersions();
  const binDir = opts.binDir ?? (await ensureBinaries(log));
  const bin = (name: string) => path.join(binDir, name);
  for (const name of [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kwok',
  ]) {
    if (!existsSync(bin(name))) throw new Error(`missing binary ${bin(name)} (run ${buildScript})`);
  }

  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kube-remedy-cluster-'));
  mkdirSync(dir, { recursive: true });
  const logDir = path.join(dir, 'logs');
  for (const d of [
    logDir,
    path.join(dir, 'pki'),
    path.join(dir, 'etcd'),
    path.join(dir, 'kwok-home'),
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  step(`directory ${dir}`);

  const pki = generatePki(path.join(dir, 'pki'));
  const caPem = readFileSync(pki.caCert, 'utf8');
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = await freePorts(6);
  const ports = {
    etcd: etcdPort!,
    etcdPeer: etcdPeerPort!,
    apiserver: apiPort!,
    controllerManager: kcmPort!,
    scheduler: schedPort!,
    kwok: kwokPort!,
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;

  const adminToken = newToken();
  const roles = {} as Record<Role, RoleCredentials>;
  for (const role of ROLES) roles[role] = roleCredentials(role, dir);
  const component = (user: string, groups: string[] = []): StaticTokenUser => ({
    token: newToken(),
    user,
    uid: randomUUID(),
    groups,
  });
  const kcmUser = component('system:kube-controller-manager');
  const schedulerUser = component('system:kube-scheduler');
  const kwokUser = component('kwok-controller', ['system:masters']);
  const tokenFile = path.join(dir, 'pki', 'tokens.csv');
  writeTokenFile(tokenFile, [
    { token: adminToken, user: ADMIN_USER, uid: randomUUID(), groups: ['system:masters'] },
    kcmUser,
    schedulerUser,
    kwokUser,
    ...ROLES.map((r) => ({
      token: roles[r].token,
      user: roles[r].user,
      uid: randomUUID(),
      groups: roles[r].groups,
    })),
  ]);

  const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
  writeKubeconfig(adminKubeconfig, { server, caPem, user: ADMIN_USER, token: adminToken });
  for (const role of ROLES) {
    const r = roles[role];
    writeKubeconfig(r.kubeconfig, {
      server,
      caPem,
      user: r.user,
      token: r.token,
      namespace: r.namespace,
    });
  }
  const componentKubeconfig = (name: string, u: StaticTokenUser) => {
    const file = path.join(dir, 'pki', `${name}.kubeconfig`);
    writeKubeconfig(file, {
      server,
      caPem,
      user: u.user,
      token: u.token,
      namespace: 'kube-system',
    });
    return file;
  };

  const cp: ControlPlane = {
    stateVersion: 1,
    dir,
    stateFile: stateFileOf(dir),
    binDir,
    kubernetesVersion: versions.KUBERNETES_VERSION,
    server,
    caFile: pki.caCert,
    caPem,
    adminUser: ADMIN_USER,
    adminToken,
    adminKubeconfig,
    roles,
    ports,
    processes: [],
    nodes: [],
    logDir,
    startedAt: new Date().toISOString(),
    ...(opts.ownerPid ? { ownerPid: opts.ownerPid } : {}),
  };

  const running: RunningProcess[] = [];
  const launch = (name: string, args: string[], env?: NodeJS.ProcessEnv): RunningProcess => {
    const proc = startProcess(name, bin(name), args, {
      logFile: path.join(logDir, `${name}.log`),
      cwd: dir,
      env,
    });
    running.push(proc);
    cp.processes.push({
      name: proc.name,
      pid: proc.pid,
      pgid: proc.pgid,
      logFile: proc.logFile,
      command: proc.command,
    });
    writeState(cp); // so `down` can clean up even if start fails half-way
    return proc;
  };

  try {
    writeState(cp);
    const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const etcd = launch('etcd', [
      '--name=kube-remedy-test',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=kube-remedy-test=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitHealthy(etcd, `${etcdUrl}/health`, { timeoutMs: 60_000 });
    step(`etcd serving on ${etcdUrl}`);

    const apiserver = launch('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${path.join(dir, 'pki')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // The endpoint reconciler refuses a loopback advertise address; nothing in tests dials the
      // in-cluster `kubernetes` Service (no kube-proxy), so it gets no endpoints.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
    ]);
    const client = new KubeClient({ server, token: adminToken, caPem });
    await waitHealthy(apiserver, `${server}/readyz`, {
      timeoutMs: 180_000,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    step(`kube-apiserver ready on ${server}`);

    const controllerManager = launch('kube-controller-manager', [
      `--kubeconfig=${componentKubeconfig('kube-controller-manager', kcmUser)}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--service-account-private-key-file=${pki.saPrivateKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--use-service-account-credentials=true',
      '--controllers=*',
      '--cluster-name=kube-remedy-test',
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const scheduler = launch('kube-scheduler', [
      `--kubeconfig=${componentKubeconfig('kube-scheduler', schedulerUser)}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const kwok = launch(
      'kwok',
      [
        `--kubeconfig=${componentKubeconfig('kwok', kwokUser)}`,
        `--config=${path.join(clusterDir, 'kwok-stages.yaml')}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--node-ip=127.0.0.1',
        '--cidr=10.244.0.0/17',
        '--node-lease-duration-seconds=40',
        `--server-address=127.0.0.1:${ports.kwok}`,
      ],
      // kwok also reads ~/.kwok/kwok.yaml: give it a home of its own
      { ...process.env, HOME: path.join(dir, 'kwok-home') },
    );
    await waitHealthy(controllerManager, `https://127.0.0.1:${ports.controllerManager}/healthz`, {
      timeoutMs: 120_000,
    });
    step('kube-controller-manager healthy');
    await waitHealthy(scheduler, `https://127.0.0.1:${ports.scheduler}/healthz`, {
      timeoutMs: 120_000,
    });
    step('kube-scheduler healthy');
    await waitHealthy(kwok, `http://127.0.0.1:${ports.kwok}/healthz`, { timeoutMs: 120_000 });
    step('kwok healthy');

    await ensureObject(client, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: SYSTEM_NAMESPACE },
    });
    for (const role of ROLES) {
      await ensureObject(client, `/api/v1/namespaces/${SYSTEM_NAMESPACE}/serviceaccounts`, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: roles[role].serviceAccount, namespace: SYSTEM_NAMESPACE },
      });
    }

    const prefix = opts.nodeNamePrefix ?? 'kwok-node-';
    const nodes = Array.from({ length: opts.nodes ?? 3 }, (_, i) => `${prefix}${i}`);
    await createNodes(client, nodes, versions.KUBERNETES_VERSION);
    cp.nodes = nodes;
    step(`${nodes.length} kwok nodes Ready`);

    // The controller manager's serviceaccount controller makes `default` in every namespace;
    // pods cannot be admitted before it exists.
    await waitFor(
      'ServiceAccount default/default',
      async () => {
        const res = await client.request(
          'GET',
          '/api/v1/namespaces/default/serviceaccounts/default',
        );
        return res.status === 200;
      },
      { timeoutMs: 120_000 },
    );
    writeState(cp);
    step('control plane ready');
    return cp;
  } catch (err) {
    log(`cluster: start failed; stopping what was started. Logs kept in ${logDir}`);
    await stopProcessGroups(
      running.map((p) => p.pgid),
      5_000,
    ).catch(() => undefined);
    throw err;
  }
}

export interface StopOptions {
  /** Keep the directory (logs, state) instead of removing it. */
  keepDir?: boolean;
  graceMs?: number;
}

/** Stops every process of the control plane (whole process groups) and removes its directory. */
export async function stopControlPlane(
  cpOrDir: ControlPlane | string,
  opts: StopOptions = {},
): Promise<void> {
  const cp = typeof cpOrDir === 'string' ? readState(cpOrDir) : cpOrDir;
  await stopProcessGroups(
    cp.processes.map((p) => p.pgid),
    opts.graceMs ?? 10_000,
  );
  const left = processesInGroups(cp.processes.map((p) => p.pgid));
  if (left.length > 0) throw new Error(`control plane processes still running: ${left.join(', ')}`);
  if (!opts.keepDir) rmSync(cp.dir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops control planes under os.tmpdir() whose owner process died without stopping them (a test
 * run killed hard). Control planes from `cluster:up` have no owner and are left alone.
 */
export async function reapOrphanedControlPlanes(
  log: (line: string) => void = defaultLog,
): Promise<void> {
  const tmp = os.tmpdir();
  for (const entry of readdirSync(tmp)) {
    if (!entry.startsWith('kube-remedy-cluster-')) continue;
    const stateFile = stateFileOf(path.join(tmp, entry));
    if (!existsSync(stateFile)) continue;
    let cp: ControlPlane;
    try {
      cp = readState(stateFile);
    } catch {
      continue;
    }
    if (cp.ownerPid === undefined || isAlive(cp.ownerPid)) continue;
    log(
      `cluster: stopping an orphaned control plane in ${cp.dir} (its test run, pid ${cp.ownerPid}, is gone)`,
    );
    await stopControlPlane(cp);
  }
}

/** Last-resort synchronous kill of every process group (for process 'exit' handlers). */
export function killControlPlaneSync(cp: ControlPlane): void {
  for (const p of cp.processes) {
    try {
      process.kill(-p.pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
