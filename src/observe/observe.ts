/** Pure functions from Kubernetes objects to observations, and the equality that drops repeats. */
import type {
  ConditionObject,
  ContainerSpecObject,
  ContainerStateObject,
  ContainerStatusObject,
  DeploymentObject,
  KubeObject,
  NodeObject,
  ObservableObject,
  PodObject,
} from './kube.ts';
import type {
  ConditionObservation,
  ContainerObservation,
  ContainerRole,
  DeploymentObservation,
  NodeObservation,
  Observation,
  PodObservation,
  TerminationObservation,
} from './observation.ts';
import { workloadOf } from './workload.ts';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * Set on a Node by a fencing system or a person once the node is powered off or cut off from
 * its storage and network, so its pods can safely run elsewhere (docs/adr/0017-dead-nodes.md).
 */
export const FENCED_ANNOTATION = 'remedy.kube-remedy.io/fenced';

function meta(object: KubeObject) {
  const m = object.metadata ?? {};
  return {
    name: m.name ?? '',
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion ?? '',
    generation: m.generation ?? null,
  };
}

function termination(state: ContainerStateObject | undefined): TerminationObservation | null {
  const terminated = state?.terminated;
  if (!terminated) return null;
  return {
    reason: terminated.reason ?? null,
    exitCode: terminated.exitCode ?? null,
    message: terminated.message ?? null,
  };
}

function observeContainer(
  name: string,
  role: ContainerRole,
  spec: ContainerSpecObject | undefined,
  status: ContainerStatusObject | undefined,
): ContainerObservation {
  const state = status?.state;
  const current = state?.waiting
    ? ({ state: 'waiting', ...state.waiting } as const)
    : state?.terminated
      ? ({ state: 'terminated', ...state.terminated } as const)
      : state?.running
        ? ({ state: 'running' } as const)
        : null;
  return {
    name,
    role,
    image: spec?.image ?? status?.image ?? null,
    ready: status?.ready ?? false,
    restartCount: status?.restartCount ?? 0,
    state: current?.state ?? null,
    reason: current && 'reason' in current ? (current.reason ?? null) : null,
    message: current && 'message' in current ? (current.message ?? null) : null,
    exitCode: current && 'exitCode' in current ? (current.exitCode ?? null) : null,
    lastTermination: termination(status?.lastState),
  };
}

/**
 * Containers in spec order, each with its status; a status whose container is missing from the
 * spec (a partial object) is kept too, so nothing the kubelet reported is lost.
 */
function observeContainers(
  specs: ContainerSpecObject[] | undefined,
  statuses: ContainerStatusObject[] | undefined,
  roleOf: (spec: ContainerSpecObject | undefined) => ContainerRole,
): ContainerObservation[] {
  const byName = new Map((statuses ?? []).map((s) => [s.name, s]));
  const out = (specs ?? []).map((spec) =>
    observeContainer(spec.name, roleOf(spec), spec, byName.get(spec.name)),
  );
  const known = new Set(out.map((c) => c.name));
  for (const status of statuses ?? []) {
    if (!known.has(status.name))
      out.push(observeContainer(status.name, roleOf(undefined), undefined, status));
  }
  return out;
}

export function observePod(pod: PodObject): PodObservation {
  const m = meta(pod);
  const controller = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  const owner = controller ? { kind: controller.kind ?? '', name: controller.name ?? '' } : null;
  const containers = [
    // A restartable init container (restartPolicy Always) is a sidecar: it keeps running.
    ...observeContainers(pod.spec?.initContainers, pod.status?.initContainerStatuses, (spec) =>
      spec?.restartPolicy === 'Always' ? 'sidecar' : 'init',
    ),
    ...observeContainers(pod.spec?.containers, pod.status?.containerStatuses, () => 'app'),
  ];
  const createdAt = Date.parse(pod.metadata?.creationTimestamp ?? '');
  return {
    kind: 'Pod',
    namespace: pod.metadata?.namespace ?? 'default',
    ...m,
    ...(Number.isNaN(createdAt) ? {} : { createdAt }),
    phase: pod.status?.phase ?? null,
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    nodeName: pod.spec?.nodeName ?? null,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    owner,
    workload: workloadOf({ name: m.name, owner, labels: pod.metadata?.labels ?? undefined }),
    reason: pod.status?.reason ?? null,
    restartCount: containers.reduce((max, c) => Math.max(max, c.restartCount), 0),
    containers,
  };
}

function observeConditions(conditions: ConditionObject[] | undefined): ConditionObservation[] {
  return (conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
  }));
}

export function observeNode(node: NodeObject): NodeObservation {
  const conditions = observeConditions(node.status?.conditions);
  const ready = conditions.find((c) => c.type === 'Ready')?.status;
  const since = Date.parse(
    node.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '',
  );
  const fenced = node.metadata?.annotations?.[FENCED_ANNOTATION]?.trim();
  return {
    kind: 'Node',
    namespace: null,
    ...meta(node),
    ready: ready === 'True' || ready === 'False' || ready === 'Unknown' ? ready : null,
    ...(Number.isNaN(since) ? {} : { readySince: since }),
    ...(fenced === undefined || fenced.toLowerCase() === 'false' ? {} : { fenced }),
    unschedulable: node.spec?.unschedulable ?? false,
    conditions,
  };
}

export function observeDeployment(deployment: DeploymentObject): DeploymentObservation {
  const status = deployment.status ?? {};
  return {
    kind: 'Deployment',
    namespace: deployment.metadata?.namespace ?? 'default',
    ...meta(deployment),
    observedGeneration: status.observedGeneration ?? null,
    desiredReplicas: deployment.spec?.replicas ?? 1,
    replicas: status.replicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    unavailableReplicas: status.unavailableReplicas ?? 0,
    paused: deployment.spec?.paused ?? false,
    revision: deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? null,
    conditions: observeConditions(status.conditions),
  };
}

/** The observation of a Pod, Node or Deployment. */
export function observe(object: PodObject): PodObservation;
export function observe(object: NodeObject): NodeObservation;
export function observe(object: DeploymentObject): DeploymentObservation;
export function observe(object: ObservableObject): Observation;
export function observe(object: ObservableObject): Observation {
  switch (object.kind) {
    case 'Pod':
      return observePod(object);
    case 'Node':
      return observeNode(object);
    case 'Deployment':
      return observeDeployment(object);
  }
}

function equalValues(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return (
      Array.isArray(b) && a.length === b.length && a.every((item, i) => equalValues(item, b[i]))
    );
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => key in right && equalValues(left[key], right[key]))
  );
}

/**
 * Whether two observations say the same thing, so the second can be dropped. resourceVersion is
 * ignored: it changes on every write (node heartbeats included) without changing what we see.
 */
export function sameObservation(a: Observation | null, b: Observation | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind) return false;
  const { resourceVersion: _a, ...left } = a;
  const { resourceVersion: _b, ...right } = b;
  return equalValues(left, right);
}
