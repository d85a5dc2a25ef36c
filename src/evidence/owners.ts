/**
 * Walking controller owner references upwards (Pod → ReplicaSet → Deployment, Pod → Job →
 * CronJob, Pod → StatefulSet…) with the Kubernetes API. Evidence bundles include the owners;
 * GitOps needs the top one, since a Pod's desired state lives in its workload's manifest.
 */
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1OwnerReference,
} from '@kubernetes/client-node';

export interface KubeReaders {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function kubeReaders(kc: KubeConfig): KubeReaders {
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
  };
}

/** Any Kubernetes object, as far as these helpers look into it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    ownerReferences?: V1OwnerReference[];
    managedFields?: unknown;
  };
  [field: string]: unknown;
}

export interface Owner {
  kind: string;
  name: string;
  /** The object, or why it could not be read. */
  object: KubeObject | null;
  unavailable?: string;
}

/** Why a Kubernetes call failed, in the API server's words when it gave some. */
export function kubeReason(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        message = body;
      }
    } else if (typeof body === 'object' && body !== null) {
      message = (body as { message?: string }).message;
    }
    return `${message ?? error.message} (HTTP ${error.code})`.replace(/\s+/g, ' ').trim();
  }
  return error instanceof Error ? error.message : String(error);
}

const READERS: Readonly<
  Record<string, (api: KubeReaders, namespace: string, name: string) => Promise<unknown>>
> = {
  ReplicaSet: (api, namespace, name) => api.apps.readNamespacedReplicaSet({ namespace, name }),
  Deployment: (api, namespace, name) => api.apps.readNamespacedDeployment({ namespace, name }),
  StatefulSet: (api, namespace, name) => api.apps.readNamespacedStatefulSet({ namespace, name }),
  DaemonSet: (api, namespace, name) => api.apps.readNamespacedDaemonSet({ namespace, name }),
  Job: (api, namespace, name) => api.batch.readNamespacedJob({ namespace, name }),
  CronJob: (api, namespace, name) => api.batch.readNamespacedCronJob({ namespace, name }),
};

const API_VERSIONS: Readonly<Record<string, string>> = {
  ReplicaSet: 'apps/v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

/** A plain JSON copy (dates as strings), with kind and apiVersion filled in. */
export function plainObject(object: unknown, kind?: string): KubeObject {
  const plain = JSON.parse(JSON.stringify(object)) as KubeObject;
  if (kind !== undefined) {
    plain.kind ??= kind;
    const apiVersion = API_VERSIONS[kind] ?? (kind === 'Pod' || kind === 'Node' ? 'v1' : undefined);
    if (apiVersion !== undefined) plain.apiVersion ??= apiVersion;
  }
  return plain;
}

function controllerOf(object: KubeObject): V1OwnerReference | undefined {
  const refs = object.metadata?.ownerReferences ?? [];
  return refs.find((r) => r.controller === true) ?? refs[0];
}

/**
 * The chain of controllers above `object` (nearest first), at most `maxDepth` long. An owner that
 * cannot be read ends the chain with the reason.
 */
export async function ownerChain(
  api: KubeReaders,
  namespace: string,
  object: KubeObject,
  maxDepth = 4,
): Promise<Owner[]> {
  const chain: Owner[] = [];
  let current: KubeObject = object;
  for (let depth = 0; depth < maxDepth; depth += 1) {
    const ref = controllerOf(current);
    if (ref === undefined) break;
    const read = READERS[ref.kind];
    if (read === undefined) {
      chain.push({
        kind: ref.kind,
        name: ref.name,
        object: null,
        unavailable: `kind ${ref.kind} is not collected`,
      });
      break;
    }
    try {
      const owner = plainObject(await read(api, namespace, ref.name), ref.kind);
      if (ref.uid !== undefined && owner.metadata?.uid !== ref.uid) {
        chain.push({
          kind: ref.kind,
          name: ref.name,
          object: null,
          unavailable: 'replaced by another object of that name',
        });
        break;
      }
      chain.push({ kind: ref.kind, name: ref.name, object: owner });
      current = owner;
    } catch (error) {
      chain.push({ kind: ref.kind, name: ref.name, object: null, unavailable: kubeReason(error) });
      break;
    }
  }
  return chain;
}

/** Kinds whose manifests declare a pod template (the ones GitOps can change). */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job']);

/**
 * The workload that declares a Pod: the highest readable owner that is a workload kind
 * (Deployment over its ReplicaSet, CronJob over its Job), or undefined for a bare Pod.
 */
export async function workloadOfPod(
  api: KubeReaders,
  namespace: string,
  name: string,
): Promise<{ kind: string; name: string } | undefined> {
  const pod = plainObject(await api.core.readNamespacedPod({ namespace, name }), 'Pod');
  const chain = await ownerChain(api, namespace, pod);
  const workload = [...chain]
    .reverse()
    .find((o) => WORKLOAD_KINDS.has(o.kind) && o.object !== null);
  return workload === undefined ? undefined : { kind: workload.kind, name: workload.name };
}
