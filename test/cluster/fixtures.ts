/**
 * Test helpers on the real control plane (see global-setup.ts): clients for the admin and each
 * role, a fresh namespace per test, pods and nodes put into the failure states the agent must
 * detect, with the status shapes a real kubelet writes.
 *
 * How a status sticks: kwok's status-writing Stages (kwok-stages.yaml) skip objects annotated
 * `kube-remedy.test/status-owner`. A helper sets that annotation first (a fixture pod created with
 * `statusOwned: true` has it from the start), then writes the status through `pods/status` or
 * `nodes/status`. kwok still completes deletions of such pods and still renews such nodes' leases.
 */
import { randomBytes } from 'node:crypto';
import { inject, onTestFinished } from 'vitest';
import { createNodes, KWOK_NODE_ANNOTATION, nodeManifest, type Role } from './controlplane.ts';
import type { KubeTestContext } from './global-setup.ts';
import { KubeApiError, KubeClient, waitFor } from './kube-client.ts';

export { KubeApiError, KubeClient, trustClusterCa, waitFor } from './kube-client.ts';

export const STATUS_OWNER_ANNOTATION = 'kube-remedy.test/status-owner';

// ---------------------------------------------------------------------------------------------
// Minimal shapes of the objects read back (only the fields the helpers and tests touch).

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid: string }[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}
export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}
export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: { startedAt?: string };
  terminated?: ContainerStateTerminated;
}
export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state?: ContainerState;
  lastState?: ContainerState;
}
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string | null;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}
export interface Pod {
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    restartPolicy?: string;
    containers: { name: string; image: string }[];
  };
  status?: {
    phase?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    hostIP?: string;
    podIP?: string;
    startTime?: string;
  };
}
export interface Node {
  metadata: ObjectMeta;
  spec: { taints?: { key: string; effect: string; value?: string }[]; unschedulable?: boolean };
  status: {
    conditions?: Condition[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    addresses?: { type: string; address: string }[];
  };
}
export interface List<T> {
  items: T[];
  metadata: { resourceVersion?: string };
}

// ---------------------------------------------------------------------------------------------
// Clients

export function kubeContext(): KubeTestContext {
  return inject('kube');
}

/** The cluster admin (`kube-remedy-admin`, group system:masters). */
export function adminClient(kube: KubeTestContext = kubeContext()): KubeClient {
  return new KubeClient({ server: kube.server, token: kube.token, caPem: kube.caPem });
}

/** A role's static token, authenticating as `system:serviceaccount:kube-remedy-system:kube-remedy-<role>`. */
export function roleClient(role: Role, kube: KubeTestContext = kubeContext()): KubeClient {
  return new KubeClient({ server: kube.server, token: kube.roles[role].token, caPem: kube.caPem });
}

/** Registers cleanup when called inside a running test; outside one, cleanup is the caller's. */
function cleanupAfterTest(fn: () => Promise<void>): void {
  try {
    onTestFinished(async () => {
      await fn();
    });
  } catch {
    // not inside a test (e.g. beforeAll): caller owns cleanup
  }
}

function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}

function dnsLabel(text: string, max = 40): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return label || 'test';
}

// ---------------------------------------------------------------------------------------------
// Namespaces

export interface NamespaceOptions {
  /** Name prefix (default "test"); a random suffix is added. */
  prefix?: string;
  labels?: Record<string, string>;
  /** Keep the namespace after the test (default: deleted when the test finishes). */
  keep?: boolean;
}

/**
 * Creates a namespace of its own for the calling test and waits for its `default`
 * ServiceAccount (pods are not admitted before it exists). Deleted when the test finishes.
 */
export async function freshNamespace(
  client: KubeClient,
  opts: NamespaceOptions = {},
): Promise<string> {
  const name = `${dnsLabel(opts.prefix ?? 'test', 50)}-${randomSuffix()}`;
  await client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kube-remedy.test/fixture': 'true', ...opts.labels } },
  });
  if (!opts.keep) cleanupAfterTest(() => deleteNamespace(client, name));
  await waitFor(`ServiceAccount ${name}/default`, async () => {
    const res = await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    return res.status === 200;
  });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  await client.delete(`/api/v1/namespaces/${name}`, { propagationPolicy: 'Background' });
}

// ---------------------------------------------------------------------------------------------
// Pods

export interface PodOptions {
  name?: string;
  image?: string;
  containers?: { name: string; image: string }[];
  labels?: Record<string, string>;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  nodeName?: string;
  /**
   * Create the pod already owned by the fixtures (kwok never writes its status). Use it for pods
   * that should fail from the start (ImagePullBackOff, ErrImagePull) and never look Running.
   */
  statusOwned?: boolean;
}

export async function createPod(
  client: KubeClient,
  namespace: string,
  opts: PodOptions = {},
): Promise<Pod> {
  const name = opts.name ?? `pod-${randomSuffix()}`;
  const containers = opts.containers ?? [
    { name: 'app', image: opts.image ?? 'registry.k8s.io/pause:3.10' },
  ];
  return client.create<Pod>(`/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: name, ...opts.labels },
      annotations: opts.statusOwned ? { [STATUS_OWNER_ANNOTATION]: 'fixture' } : {},
    },
    spec: {
      containers: containers.map((c) => ({
        ...c,
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      })),
      restartPolicy: opts.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: 1,
      ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
    },
  });
}

export function getPod(client: KubeClient, namespace: string, name: string): Promise<Pod> {
  return client.get<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
}

export function podCondition(pod: Pod, type: string): Condition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function nodeCondition(node: Node, type: string): Condition | undefined {
  return node.status.conditions?.find((c) => c.type === type);
}

/** The pod waited for was deleted: no waiting will bring it back. */
const podGone = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;

/** Waits until the scheduler bound the pod (which exists) to a node; a pod deleted meanwhile fails at once. */
export function waitForPodScheduled(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Pod> {
  return waitFor(
    `pod ${namespace}/${name} to be scheduled`,
    async () => {
      const pod = await getPod(client, namespace, name);
      return pod.spec.nodeName ? pod : undefined;
    },
    { fatal: podGone },
  );
}

/** Waits until kwok reports the pod (which exists) Running and Ready; a pod deleted meanwhile fails at once. */
export function waitForPodRunning(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Pod> {
  return waitFor(
    `pod ${namespace}/${name} to be Running and Ready`,
    async () => {
      const pod = await getPod(client, namespace, name);
      return pod.status?.phase === 'Running' && podCondition(pod, 'Ready')?.status === 'True'
        ? pod
        : undefined;
    },
    { fatal: podGone },
  );
}

/** A Kubernetes timestamp (RFC 3339, whole seconds). */
export function kubeTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function containerId(): string {
  return `containerd://${randomBytes(32).toString('hex')}`;
}

/** The fully qualified reference containerd reports for an image (`busybox` -> `docker.io/library/busybox:latest`). */
export function qualifiedImage(image: string): string {
  let ref = image;
  const firstSlash = ref.indexOf('/');
  const first = firstSlash < 0 ? '' : ref.slice(0, firstSlash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasRegistry) ref = `docker.io/${firstSlash < 0 ? `library/${ref}` : ref}`;
  const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !lastPart.includes('@')) ref += ':latest';
  return ref;
}

function imageId(image: string): string {
  const repo = qualifiedImage(image).replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${randomBytes(32).toString('hex')}`;
}

/** The kubelet's crash-loop back-off after `restarts` restarts: 10s doubling, capped at 5m0s. */
export function crashLoopBackOff(restarts: number): string {
  const seconds = Math.min(10 * 2 ** Math.max(restarts - 1, 0), 300);
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

let fixturePodIp = 0;
/** Pod IPs for fixture-owned pods kwok never gave one (kwok allocates from 10.244.0.0/17). */
function nextFixturePodIp(): string {
  fixturePodIp = (fixturePodIp + 1 + (process.pid % 7)) % 32_000;
  const n = 128 * 256 + 1 + fixturePodIp;
  return `10.244.${Math.floor(n / 256)}.${n % 256}`;
}

/** Puts the annotation that keeps kwok from rewriting the pod's status, after kwok is done with it. */
async function ownPodStatus(client: KubeClient, namespace: string, name: string): Promise<Pod> {
  const pod = await waitForPodScheduled(client, namespace, name);
  if (pod.metadata.annotations?.[STATUS_OWNER_ANNOTATION] !== undefined) return pod;
  // kwok may be about to write "Running" for a pending pod: let it finish first, so it cannot
  // overwrite the status written below.
  await waitForPodRunning(client, namespace, name);
  return client.patch<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`, {
    metadata: { annotations: { [STATUS_OWNER_ANNOTATION]: 'fixture' } },
  });
}

async function nodeInternalIp(client: KubeClient, nodeName: string): Promise<string> {
  const node = await client.get<Node>(`/api/v1/nodes/${nodeName}`);
  return node.status.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
}

interface ContainerFailure {
  /** The failing container (default: the pod's first). */
  container?: string;
}

/** Builds and writes a full kubelet-shaped status; `failing` gives the failing container's status. */
async function writePodStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: ContainerFailure,
  failing: (
    spec: { name: string; image: string },
    pod: Pod,
    now: Date,
  ) => Omit<ContainerStatus, 'name' | 'image'>,
  phaseFor: (failingStatus: Omit<ContainerStatus, 'name' | 'image'>, pod: Pod) => string,
): Promise<Pod> {
  const pod = await ownPodStatus(client, namespace, name);
  const now = new Date();
  const target = opts.container ?? pod.spec.containers[0]?.name;
  if (!pod.spec.containers.some((c) => c.name === target)) {
    throw new Error(`pod ${namespace}/${name} has no container ${String(target)}`);
  }
  const previous = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const startedAt = pod.status?.startTime ?? kubeTime(now);
  let failingStatus: Omit<ContainerStatus, 'name' | 'image'> | undefined;
  const containerStatuses: ContainerStatus[] = pod.spec.containers.map((c) => {
    if (c.name === target) {
      failingStatus = failing(c, pod, now);
      return { name: c.name, image: qualifiedImage(c.image), ...failingStatus };
    }
    const prev = previous.get(c.name);
    return {
      name: c.name,
      image: qualifiedImage(c.image),
      imageID: prev?.imageID || imageId(c.image),
      containerID: prev?.containerID ?? containerId(),
      ready: true,
      started: true,
      restartCount: prev?.restartCount ?? 0,
      state: { running: { startedAt } },
      lastState: {},
    };
  });
  const phase = phaseFor(failingStatus!, pod);
  const terminal = phase === 'Failed' || phase === 'Succeeded';
  const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
  const transition = kubeTime(now);
  const scheduled = podCondition(pod, 'PodScheduled');
  const notReady = terminal
    ? { status: 'False' as const, reason: 'PodCompleted' }
    : {
        status: 'False' as const,
        reason: 'ContainersNotReady',
        message: `containers with unready status: [${unready.join(' ')}]`,
      };
  const conditions: Condition[] = [
    {
      type: 'PodReadyToStartContainers',
      status: terminal ? 'False' : 'True',
      lastProbeTime: null,
      lastTransitionTime: startedAt,
    },
    { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: startedAt },
    { type: 'Ready', ...notReady, lastProbeTime: null, lastTransitionTime: transition },
    { type: 'ContainersReady', ...notReady, lastProbeTime: null, lastTransitionTime: transition },
    scheduled ?? {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: startedAt,
    },
  ];
  const status: Record<string, unknown> = { phase, conditions, containerStatuses };
  if (!pod.status?.podIP) {
    const hostIP = await nodeInternalIp(client, pod.spec.nodeName!);
    const podIP = nextFixturePodIp();
    Object.assign(status, {
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: startedAt,
    });
  }
  return client.patch<Pod>(
    `/api/v1/namespaces/${namespace}/pods/${name}/status`,
    { status },
    'merge',
  );
}

export interface CrashLoopOptions extends ContainerFailure {
  /** Restarts so far (default 5). */
  restartCount?: number;
  /** Exit code of the last run (default 1). */
  exitCode?: number;
  /** Reason of the last termination (default "Error"; the kubelet writes "OOMKilled" for OOM kills). */
  reason?: string;
  /** How long the last run lasted, in seconds (default 10). */
  ranForSeconds?: number;
}

function terminatedRun(now: Date, opts: CrashLoopOptions, id: string): ContainerStateTerminated {
  const finishedAt = new Date(now.getTime() - 2_000);
  const startedAt = new Date(finishedAt.getTime() - (opts.ranForSeconds ?? 10) * 1_000);
  return {
    exitCode: opts.exitCode ?? 1,
    reason: opts.reason ?? 'Error',
    startedAt: kubeTime(startedAt),
    finishedAt: kubeTime(finishedAt),
    containerID: id,
  };
}

/**
 * Makes a container crash-loop as the kubelet reports it: waiting `CrashLoopBackOff` with the
 * back-off message, the last run in `lastState.terminated`, `restartCount`, not ready; pod phase
 * Running with Ready/ContainersReady False. With restartPolicy Never the pod fails instead
 * (container terminated, phase Failed).
 */
export function makePodCrashLoop(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: CrashLoopOptions = {},
): Promise<Pod> {
  const never = (pod: Pod) => pod.spec.restartPolicy === 'Never';
  return writePodStatus(
    client,
    namespace,
    name,
    opts,
    (c, pod, now) => {
      const id = containerId();
      const previous = pod.status?.containerStatuses?.find((s) => s.name === c.name);
      const run = terminatedRun(now, opts, id);
      if (never(pod)) {
        return {
          imageID: previous?.imageID || imageId(c.image),
          containerID: id,
          ready: false,
          started: false,
          restartCount: 0,
          state: { terminated: run },
          lastState: {},
        };
      }
      const restarts = opts.restartCount ?? 5;
      return {
        imageID: previous?.imageID || imageId(c.image),
        containerID: id,
        ready: false,
        started: false,
        restartCount: restarts,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${crashLoopBackOff(restarts)} restarting failed container=${c.name} pod=${name}_${namespace}(${pod.metadata.uid})`,
          },
        },
        lastState: { terminated: run },
      };
    },
    (_s, pod) => (never(pod) ? 'Failed' : 'Running'),
  );
}

/**
 * The container runs again and is ready (after a crash loop: its restarts kept, its last run
 * in `lastState`), the pod Running and Ready, as the kubelet reports a container that recovered.
 */
export async function makePodHealthy(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: ContainerFailure = {},
): Promise<Pod> {
  const written = await writePodStatus(
    client,
    namespace,
    name,
    opts,
    (c, pod, now) => {
      const previous = pod.status?.containerStatuses?.find((s) => s.name === c.name);
      return {
        imageID: previous?.imageID || imageId(c.image),
        containerID: containerId(),
        ready: true,
        started: true,
        restartCount: previous?.restartCount ?? 0,
        state: { running: { startedAt: kubeTime(now) } },
        lastState: previous?.lastState ?? {},
      };
    },
    () => 'Running',
  );
  // writePodStatus writes the failing shape of the Ready conditions; this pod is ready.
  const ready = (written.status?.conditions ?? []).map((c) =>
    c.type === 'Ready' || c.type === 'ContainersReady'
      ? {
          type: c.type,
          status: 'True' as const,
          lastProbeTime: null,
          lastTransitionTime: kubeTime(),
        }
      : c,
  );
  return client.patch<Pod>(
    `/api/v1/namespaces/${namespace}/pods/${name}/status`,
    { status: { conditions: ready } },
    'merge',
  );
}

/** The container was OOM-killed (exit 137, reason OOMKilled) and is crash-looping. */
export function makePodOOMKilled(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: Omit<CrashLoopOptions, 'exitCode' | 'reason'> = {},
): Promise<Pod> {
  return makePodCrashLoop(client, namespace, name, {
    restartCount: 3,
    ...opts,
    exitCode: 137,
    reason: 'OOMKilled',
  });
}

function pullError(image: string): string {
  const ref = qualifiedImage(image);
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
}

function imagePullFailure(
  client: KubeClient,
  namespace: string,
  name: string,
  reason: 'ErrImagePull' | 'ImagePullBackOff',
  opts: ContainerFailure,
): Promise<Pod> {
  return writePodStatus(
    client,
    namespace,
    name,
    opts,
    (c) => ({
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        waiting: {
          reason,
          message:
            reason === 'ErrImagePull'
              ? pullError(c.image)
              : `Back-off pulling image "${c.image}": ErrImagePull: ${pullError(c.image)}`,
        },
      },
      lastState: {},
    }),
    () => 'Pending',
  );
}

/** The image pull failed just now: waiting `ErrImagePull`, pod Pending. */
export function makePodErrImagePull(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: ContainerFailure = {},
): Promise<Pod> {
  return imagePullFailure(client, namespace, name, 'ErrImagePull', opts);
}

/** The kubelet is backing off pulling the image: waiting `ImagePullBackOff`, pod Pending. */
export function makePodImagePullBackOff(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: ContainerFailure = {},
): Promise<Pod> {
  return imagePullFailure(client, namespace, name, 'ImagePullBackOff', opts);
}

// ---------------------------------------------------------------------------------------------
// Deployments

export interface DeploymentOptions {
  name?: string;
  replicas?: number;
  image?: string;
  labels?: Record<string, string>;
  /** Pin the pods to one node (the scheduler is bypassed), e.g. the node a test's agent watches. */
  nodeName?: string;
  /** Schedule the pods only onto nodes with these labels (replacements too). */
  nodeSelector?: Record<string, string>;
}

export async function createDeployment(
  client: KubeClient,
  namespace: string,
  opts: DeploymentOptions = {},
): Promise<{ metadata: ObjectMeta }> {
  const name = opts.name ?? `deploy-${randomSuffix()}`;
  const labels = { app: name, ...opts.labels };
  return client.create(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
          ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}),
          containers: [
            {
              name: 'app',
              image: opts.image ?? 'registry.k8s.io/pause:3.10',
              resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            },
          ],
        },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Nodes

export type PressureCondition = 'MemoryPressure' | 'DiskPressure' | 'PIDPressure';

/** The kubelet's wording for each node condition (pkg/kubelet/nodestatus). */
export const KUBELET_NODE_CONDITIONS = {
  Ready: {
    True: { reason: 'KubeletReady', message: 'kubelet is posting ready status' },
    False: {
      reason: 'KubeletNotReady',
      message:
        'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    },
  },
  MemoryPressure: {
    True: {
      reason: 'KubeletHasInsufficientMemory',
      message: 'kubelet has insufficient memory available',
    },
    False: {
      reason: 'KubeletHasSufficientMemory',
      message: 'kubelet has sufficient memory available',
    },
  },
  DiskPressure: {
    True: { reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' },
    False: { reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  },
  PIDPressure: {
    True: {
      reason: 'KubeletHasInsufficientPID',
      message: 'kubelet has insufficient PID available',
    },
    False: { reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  },
} as const;

export function getNode(client: KubeClient, name: string): Promise<Node> {
  return client.get<Node>(`/api/v1/nodes/${name}`);
}

/** Taint on nodes made by createFakeNode, so other tests' pods never land on them. */
export const FIXTURE_NODE_TAINT = {
  key: 'kube-remedy.test/fixture-node',
  value: 'true',
  effect: 'NoSchedule',
} as const;

/**
 * Creates a kwok node of the calling test's own (deleted when the test finishes), Ready, and
 * tainted with FIXTURE_NODE_TAINT (unless `dedicated: false`) so node failures made on it never
 * disturb other tests' pods. A pod that should run there tolerates the taint or sets `nodeName`.
 */
export async function createFakeNode(
  client: KubeClient,
  opts: {
    name?: string;
    keep?: boolean;
    dedicated?: boolean;
    labels?: Record<string, string>;
  } = {},
): Promise<Node> {
  const kube = kubeContext();
  const name = opts.name ?? `kwok-test-${randomSuffix()}`;
  if (!opts.keep) cleanupAfterTest(() => client.delete(`/api/v1/nodes/${name}`));
  await createNodes(client, [name], kube.kubernetesVersion, {
    taints: opts.dedicated === false ? [] : [{ ...FIXTURE_NODE_TAINT }],
    labels: opts.labels,
  });
  return getNode(client, name);
}

async function ownNodeStatus(client: KubeClient, name: string): Promise<Node> {
  return client.patch<Node>(`/api/v1/nodes/${name}`, {
    metadata: { annotations: { [STATUS_OWNER_ANNOTATION]: 'fixture' } },
  });
}

/** Writes node conditions (merged by type, as the kubelet does) after taking the node's status from kwok. */
export async function setNodeConditions(
  client: KubeClient,
  name: string,
  conditions: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason: string;
    message: string;
  }[],
  opts: { heartbeat?: boolean } = {},
): Promise<Node> {
  const node = await ownNodeStatus(client, name);
  const now = kubeTime();
  const patched = conditions.map((c) => {
    const current = nodeCondition(node, c.type);
    const transitioned = current?.status !== c.status;
    return {
      ...c,
      lastHeartbeatTime: opts.heartbeat === false ? (current?.lastHeartbeatTime ?? now) : now,
      lastTransitionTime: transitioned ? now : (current?.lastTransitionTime ?? now),
    };
  });
  const write = (): Promise<Node> =>
    client.patch<Node>(
      `/api/v1/nodes/${name}/status`,
      { status: { conditions: patched } },
      'strategic',
    );
  const holds = (n: Node): boolean =>
    conditions.every((c) => nodeCondition(n, c.type)?.status === c.status);
  // kwok may still have a status write queued from before it saw the annotation (its informer
  // lags under load); that write would put the old conditions back. Write again until ours hold
  // for two reads in a row, so a test never waits on a condition that silently went away.
  let written = await write();
  let stableReads = 0;
  for (let attempt = 0; stableReads < 2; attempt++) {
    if (attempt === 20) throw new Error(`node ${name}: the conditions written keep being replaced`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const current = await getNode(client, name);
    if (holds(current)) {
      stableReads++;
      written = current;
    } else {
      stableReads = 0;
      written = await write();
    }
  }
  return written;
}

function pressure(type: PressureCondition): (client: KubeClient, name: string) => Promise<Node> {
  return (client, name) =>
    setNodeConditions(client, name, [
      { type, status: 'True', ...KUBELET_NODE_CONDITIONS[type].True },
    ]);
}

/** The kubelet reports MemoryPressure=True (KubeletHasInsufficientMemory). */
export const makeNodeMemoryPressure = pressure('MemoryPressure');
/** The kubelet reports DiskPressure=True (KubeletHasDiskPressure). */
export const makeNodeDiskPressure = pressure('DiskPressure');
/** The kubelet reports PIDPressure=True (KubeletHasInsufficientPID). */
export const makeNodePIDPressure = pressure('PIDPressure');

export interface NotReadyOptions {
  /**
   * "KubeletNotReady" (default): the kubelet posts Ready=False (runtime network not ready).
   * "NodeStatusUnknown": the kubelet stopped posting; every condition Unknown, written as the
   * node lifecycle controller does (heartbeats left as they were).
   */
  reason?: 'KubeletNotReady' | 'NodeStatusUnknown';
  message?: string;
}

export function makeNodeNotReady(
  client: KubeClient,
  name: string,
  opts: NotReadyOptions = {},
): Promise<Node> {
  if (opts.reason === 'NodeStatusUnknown') {
    const message = opts.message ?? 'Kubelet stopped posting node status.';
    return setNodeConditions(
      client,
      name,
      (['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const).map((type) => ({
        type,
        status: 'Unknown' as const,
        reason: 'NodeStatusUnknown',
        message,
      })),
      { heartbeat: false },
    );
  }
  const notReady = KUBELET_NODE_CONDITIONS.Ready.False;
  return setNodeConditions(client, name, [
    {
      type: 'Ready',
      status: 'False',
      reason: notReady.reason,
      message: opts.message ?? notReady.message,
    },
  ]);
}

/** Healthy kubelet conditions again, and the node handed back to kwok's heartbeats. */
export async function restoreNode(client: KubeClient, name: string): Promise<Node> {
  await setNodeConditions(
    client,
    name,
    (['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const).map((type) => ({
      type,
      status: type === 'Ready' ? ('True' as const) : ('False' as const),
      ...(type === 'Ready'
        ? KUBELET_NODE_CONDITIONS.Ready.True
        : KUBELET_NODE_CONDITIONS[type].False),
    })),
  );
  return client.patch<Node>(`/api/v1/nodes/${name}`, {
    metadata: { annotations: { [STATUS_OWNER_ANNOTATION]: null } },
  });
}

/** A node whose kubelet the test plays: it renews the node's Lease until told to stop. */
export interface TestKubelet {
  name: string;
  /** The kubelet dies: nothing renews the Lease any more. */
  stop: () => void;
  /** The kubelet is back: it posts a Ready status and renews the Lease again. */
  resume: () => Promise<void>;
}

const LEASE_SECONDS = 40;
const RENEW_EVERY_MS = 5_000;

/**
 * A node kwok does not manage (no kwok annotation), whose kubelet is the test: it posts a Ready
 * status and renews the node's Lease every few seconds, as a kubelet does. Once stopped, the
 * node lifecycle controller marks the node Unknown when its grace period passes, as for a
 * powered-off machine.
 */
export async function createTestKubeletNode(
  client: KubeClient,
  opts: { labels?: Record<string, string> } = {},
): Promise<TestKubelet> {
  const kube = kubeContext();
  const name = `kubelet-test-${randomSuffix()}`;
  const manifest = nodeManifest(name, kube.kubernetesVersion) as {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    spec: { taints?: unknown[] };
  };
  delete manifest.metadata.annotations[KWOK_NODE_ANNOTATION];
  Object.assign(manifest.metadata.labels, opts.labels);
  manifest.spec.taints = [{ ...FIXTURE_NODE_TAINT }];
  const node = await client.create<Node>('/api/v1/nodes', manifest);
  let timer: NodeJS.Timeout | undefined;
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
  const renew = async (): Promise<void> => {
    const renewTime = new Date().toISOString().replace('Z', '000Z');
    try {
      await client.patch(leasePath, { spec: { renewTime } });
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
      await client.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name,
          namespace: 'kube-node-lease',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }],
        },
        spec: { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime },
      });
    }
  };
  const start = async (): Promise<void> => {
    await renew();
    await restoreNode(client, name);
    timer = setInterval(() => void renew().catch(() => undefined), RENEW_EVERY_MS);
  };
  const stop = (): void => clearInterval(timer);
  cleanupAfterTest(async () => {
    stop();
    await client.delete(`/api/v1/nodes/${name}`);
  });
  await start();
  await waitFor(
    `node ${name} to be Ready`,
    async () => nodeCondition(await getNode(client, name), 'Ready')?.status === 'True',
    { timeoutMs: 60_000 },
  );
  return {
    name,
    stop,
    resume: async () => {
      stop();
      await start();
    },
  };
}
