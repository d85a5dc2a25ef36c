/**
 * The workload a pod belongs to: the object a person would name when it misbehaves, and what an
 * incident of the pod belongs to (docs/adr/0014-incidents-belong-to-workloads.md). Kubernetes
 * replaces a ReplicaSet's pod under a new name and a StatefulSet's under the same name, and never
 * replaces a pod without a controller; the workload outlives them all.
 *
 * - ReplicaSet made by a Deployment (named `<deployment>-<pod-template-hash>`) → the Deployment;
 * - Job made by a CronJob (named `<cronjob>-<scheduled minute since the epoch>`: 8 digits, from
 *   26,000,000, i.e. 2019, so a date stamp such as `backup-20241207` is no CronJob's) → the CronJob;
 * - a mirror pod (its owner is the Node: the kubelet runs it from a file) → the pod itself, since
 *   deleting the mirror restarts nothing;
 * - any other controller (StatefulSet, DaemonSet, a bare ReplicaSet or Job, a custom one) → it;
 * - no controller → the pod itself, which nothing will recreate.
 */

export interface WorkloadRef {
  kind: string;
  name: string;
}

/** Label the Deployment controller puts on its ReplicaSets' pods. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';

const CRONJOB_SUFFIX = /^(.+)-(\d{8})$/;
/** 2019-06-09 in minutes since the epoch: CronJobs named before it are long gone. */
const EARLIEST_SCHEDULED_MINUTE = 26_000_000;

export function workloadOf(pod: {
  name: string;
  owner: { kind: string; name: string } | null;
  labels?: Readonly<Record<string, string>> | undefined;
}): WorkloadRef {
  const owner = pod.owner;
  if (owner === null || owner.kind === 'Node') return { kind: 'Pod', name: pod.name };
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.labels?.[POD_TEMPLATE_HASH];
    if (hash !== undefined && hash !== '' && owner.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
    }
  }
  if (owner.kind === 'Job') {
    const cron = CRONJOB_SUFFIX.exec(owner.name);
    if (cron?.[1] !== undefined && Number(cron[2]) >= EARLIEST_SCHEDULED_MINUTE) {
      return { kind: 'CronJob', name: cron[1] };
    }
  }
  return { kind: owner.kind, name: owner.name };
}

/** Whether a controller will make a new pod when this one is deleted. */
export function isReplaced(workload: WorkloadRef): boolean {
  return workload.kind !== 'Pod';
}

/**
 * `namespace/Kind/name` of the workload of a pod as the API returns it, the key of its memory;
 * null for a pod nothing replaces (its incidents are its own).
 */
export function podWorkloadKey(pod: {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string> | null;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean | null }[] | null;
  } | null;
}): string | null {
  const m = pod.metadata;
  const controller = m?.ownerReferences?.find((o) => o.controller === true);
  const workload = workloadOf({
    name: m?.name ?? '',
    owner: controller ? { kind: controller.kind ?? '', name: controller.name ?? '' } : null,
    labels: m?.labels ?? undefined,
  });
  return isReplaced(workload) ? `${m?.namespace ?? ''}/${workload.kind}/${workload.name}` : null;
}

/** `shop/Deployment/web` → `Deployment shop/web`: a workload key as people read it. */
export function workloadKeyName(key: string): string {
  const [namespace, kind, name, ...rest] = key.split('/');
  if (namespace === undefined || kind === undefined || name === undefined || rest.length > 0)
    return key;
  return `${kind} ${namespace}/${name}`;
}
