/**
 * Gathering what people need to understand an incident from the Kubernetes API: the object and
 * its owners, the Events about them, and bounded current and previous logs of each container.
 * Nothing here fails the bundle: a read that fails becomes a line saying what is unavailable and
 * why (on clusters where the kubelet cannot serve logs, `pods/log` fails, and that is evidence too).
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { boundLog, type BoundedLog, type LogBounds } from './logs.ts';
import {
  kubeReason,
  ownerChain,
  plainObject,
  type KubeObject,
  type KubeReaders,
  type Owner,
} from './owners.ts';

export interface EvidenceObjectRef {
  kind: string;
  namespace: string | null;
  name: string;
  uid?: string | undefined;
}

export interface EventRecord {
  type: string;
  reason: string;
  message: string;
  count: number;
  firstSeen: string | null;
  lastSeen: string | null;
  source: string;
  object: string;
}

export type LogCapture = (BoundedLog & { unavailable?: undefined }) | { unavailable: string };

export interface ContainerLogs {
  pod: string;
  container: string;
  restarts: number;
  current: LogCapture;
  previous: LogCapture;
}

export interface PodSummary {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  reasons: string[];
  node: string | null;
}

export interface Collected {
  object: KubeObject | null;
  objectUnavailable?: string;
  owners: Owner[];
  events: EventRecord[];
  eventsUnavailable?: string;
  logs: ContainerLogs[];
  pods: PodSummary[];
}

export interface CollectOptions {
  api: KubeReaders;
  target: EvidenceObjectRef;
  bounds: LogBounds;
  /** Most Events kept (newest). Default: 200. */
  maxEvents?: number;
  /** For Deployments: logs of at most this many unready pods. Default: 2. */
  maxPodsWithLogs?: number;
}

function strip(object: KubeObject): KubeObject {
  if (object.metadata !== undefined) delete object.metadata.managedFields;
  return object;
}

function time(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : null;
}

function eventRecord(event: CoreV1Event): EventRecord {
  const involved = event.involvedObject;
  return {
    type: event.type ?? 'Normal',
    reason: event.reason ?? '',
    message: event.message ?? '',
    count: event.count ?? event.series?.count ?? 1,
    firstSeen: time(event.firstTimestamp ?? event.eventTime),
    lastSeen: time(
      event.lastTimestamp ??
        event.series?.lastObservedTime ??
        event.eventTime ??
        event.firstTimestamp,
    ),
    source: event.source?.component ?? event.reportingComponent ?? '',
    object: `${involved.kind ?? ''}/${involved.name ?? ''}`,
  };
}

async function eventsAbout(
  api: KubeReaders,
  namespace: string | null,
  objects: { kind: string; name: string; uid?: string | undefined }[],
  max: number,
): Promise<EventRecord[]> {
  const all: CoreV1Event[] = [];
  for (const o of objects) {
    const selector =
      o.uid !== undefined
        ? `involvedObject.uid=${o.uid}`
        : `involvedObject.kind=${o.kind},involvedObject.name=${o.name}`;
    const list =
      namespace === null
        ? await api.core.listEventForAllNamespaces({ fieldSelector: selector })
        : await api.core.listNamespacedEvent({ namespace, fieldSelector: selector });
    all.push(...list.items);
  }
  return all
    .map(eventRecord)
    .sort((a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? ''))
    .slice(-max);
}

async function readLog(
  api: KubeReaders,
  pod: V1Pod,
  container: string,
  previous: boolean,
  bounds: LogBounds,
): Promise<LogCapture> {
  try {
    const text = await api.core.readNamespacedPodLog({
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      container,
      previous,
      tailLines: Math.max(bounds.maxLines, 1),
      // A safety cap on what the API server sends; the bounding below keeps the newest part.
      limitBytes: Math.max(bounds.maxBytes * 4, 64 * 1024),
    });
    return boundLog(typeof text === 'string' ? text : String(text), bounds);
  } catch (error) {
    return { unavailable: `logs unavailable: ${kubeReason(error)}` };
  }
}

async function podLogs(api: KubeReaders, pod: V1Pod, bounds: LogBounds): Promise<ContainerLogs[]> {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const names = [
    ...(pod.spec?.initContainers ?? []).map((c) => c.name),
    ...(pod.spec?.containers ?? []).map((c) => c.name),
  ];
  const out: ContainerLogs[] = [];
  for (const container of names) {
    const status = statuses.find((s) => s.name === container);
    const restarts = status?.restartCount ?? 0;
    const current = await readLog(api, pod, container, false, bounds);
    const previous =
      restarts > 0 || status?.lastState?.terminated !== undefined
        ? await readLog(api, pod, container, true, bounds)
        : {
            unavailable:
              'logs unavailable: the container has not restarted, so there is no previous run',
          };
    out.push({ pod: pod.metadata?.name ?? '', container, restarts, current, previous });
  }
  return out;
}

function summary(pod: V1Pod): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const reasons = statuses.flatMap((s) =>
    [s.state?.waiting?.reason, s.state?.terminated?.reason, s.lastState?.terminated?.reason].filter(
      (r): r is string => typeof r === 'string',
    ),
  );
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    restarts: statuses.reduce((n, s) => n + s.restartCount, 0),
    reasons: [...new Set(reasons)],
    node: pod.spec?.nodeName ?? null,
  };
}

function matchLabels(object: KubeObject): string | undefined {
  const spec = object['spec'] as
    { selector?: { matchLabels?: Record<string, string> } } | undefined;
  const labels = spec?.selector?.matchLabels;
  if (labels === undefined) return undefined;
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

async function readTarget(
  api: KubeReaders,
  target: EvidenceObjectRef,
): Promise<{ object: unknown; pod?: V1Pod }> {
  const namespace = target.namespace ?? '';
  switch (target.kind) {
    case 'Pod': {
      const pod = await api.core.readNamespacedPod({ namespace, name: target.name });
      return { object: pod, pod };
    }
    case 'Node':
      return { object: await api.core.readNode({ name: target.name }) };
    case 'Deployment':
      return { object: await api.apps.readNamespacedDeployment({ namespace, name: target.name }) };
    case 'StatefulSet':
      return { object: await api.apps.readNamespacedStatefulSet({ namespace, name: target.name }) };
    case 'DaemonSet':
      return { object: await api.apps.readNamespacedDaemonSet({ namespace, name: target.name }) };
    default:
      throw new Error(`kind ${target.kind} is not collected`);
  }
}

export async function collect(options: CollectOptions): Promise<Collected> {
  const { api, target, bounds } = options;
  const collected: Collected = { object: null, owners: [], events: [], logs: [], pods: [] };
  let pod: V1Pod | undefined;
  try {
    const read = await readTarget(api, target);
    collected.object = strip(plainObject(read.object, target.kind));
    pod = read.pod;
  } catch (error) {
    collected.objectUnavailable = `${target.kind} ${target.name} unavailable: ${kubeReason(error)}`;
  }

  if (collected.object !== null && target.namespace !== null) {
    collected.owners = (await ownerChain(api, target.namespace, collected.object)).map((o) => ({
      ...o,
      object: o.object === null ? null : strip(o.object),
    }));
  }

  const about = [
    { kind: target.kind, name: target.name, uid: collected.object?.metadata?.uid ?? target.uid },
    ...collected.owners.map((o) => ({ kind: o.kind, name: o.name, uid: o.object?.metadata?.uid })),
  ];
  try {
    collected.events = await eventsAbout(api, target.namespace, about, options.maxEvents ?? 200);
  } catch (error) {
    collected.eventsUnavailable = `events unavailable: ${kubeReason(error)}`;
  }

  if (pod !== undefined) {
    collected.logs = await podLogs(api, pod, bounds);
  } else if (collected.object !== null && target.namespace !== null && target.kind !== 'Pod') {
    // A workload: which of its pods are unwell, with logs of the first few.
    const selector = matchLabels(collected.object);
    if (selector !== undefined) {
      try {
        const pods = (
          await api.core.listNamespacedPod({ namespace: target.namespace, labelSelector: selector })
        ).items;
        collected.pods = pods.map(summary);
        const unready = pods
          .filter((p) => !summary(p).ready)
          .slice(0, options.maxPodsWithLogs ?? 2);
        for (const p of unready) collected.logs.push(...(await podLogs(api, p, bounds)));
      } catch (error) {
        collected.pods = [];
        collected.logs.push({
          pod: '*',
          container: '*',
          restarts: 0,
          current: { unavailable: `pods unavailable: ${kubeReason(error)}` },
          previous: { unavailable: `pods unavailable: ${kubeReason(error)}` },
        });
      }
    }
  } else if (target.kind === 'Node') {
    try {
      const pods = (
        await api.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${target.name}` })
      ).items;
      collected.pods = pods.map((p) => ({
        ...summary(p),
        name: `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`,
      }));
    } catch {
      collected.pods = [];
    }
  }
  return collected;
}
