/**
 * What a proposal needs to know from the cluster when the job does not say: which workload
 * declares a Pod, which containers were OOM-killed and with what limit, and which images the
 * previous revision of a Deployment ran (an image rollback proposes exactly those).
 */
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { workloadOfPod, type KubeReaders } from '../evidence/owners.ts';
import { ManifestNotFoundError } from './locate.ts';
import type { WorkloadRef } from './manifests.ts';
import { NothingToChangeError } from './propose.ts';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export interface TargetRef {
  kind: string;
  namespace: string | null;
  name: string;
}

/** The workload whose manifest declares the target (a Pod's top controller; else the target). */
export async function resolveWorkload(
  api: KubeReaders | undefined,
  target: TargetRef,
): Promise<WorkloadRef> {
  if (target.kind !== 'Pod')
    return { kind: target.kind, name: target.name, namespace: target.namespace };
  if (api === undefined || target.namespace === null) {
    throw new ManifestNotFoundError(
      `the proposal is about Pod ${target.name}; without cluster access (or a workload in the job) its workload is unknown`,
    );
  }
  const workload = await workloadOfPod(api, target.namespace, target.name);
  if (workload === undefined) {
    throw new ManifestNotFoundError(
      `Pod ${target.namespace}/${target.name} has no workload: a bare pod has no manifest to change`,
    );
  }
  return { ...workload, namespace: target.namespace };
}

export interface PodMemory {
  /** Containers whose last run ended OOMKilled. */
  oomKilled: string[];
  /** Memory limits by container, where set. */
  limits: Record<string, string>;
}

export async function podMemory(
  api: KubeReaders,
  namespace: string,
  name: string,
): Promise<PodMemory> {
  const pod = await api.core.readNamespacedPod({ namespace, name });
  const oomKilled = (pod.status?.containerStatuses ?? [])
    .filter(
      (s) =>
        s.lastState?.terminated?.reason === 'OOMKilled' ||
        s.state?.terminated?.reason === 'OOMKilled',
    )
    .map((s) => s.name);
  const limits: Record<string, string> = {};
  for (const c of pod.spec?.containers ?? []) {
    const memory = c.resources?.limits?.['memory'];
    if (memory !== undefined) limits[c.name] = String(memory);
  }
  return { oomKilled, limits };
}

function revisionOf(rs: V1ReplicaSet): number {
  return Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);
}

/**
 * The images to go back to: the previous revision's (the one before `fromRevision`, default the
 * current), for each container whose image differs from the current template's.
 */
export async function previousImages(
  api: KubeReaders,
  namespace: string,
  name: string,
  fromRevision: string | null,
): Promise<{ container: string; image: string }[]> {
  const deployment = await api.apps.readNamespacedDeployment({ namespace, name });
  const current = Number(
    fromRevision ?? deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0,
  );
  const selector = Object.entries(deployment.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const owned = (
    await api.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector })
  ).items.filter((rs) =>
    rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
  );
  const previous = owned
    .filter((rs) => revisionOf(rs) < current)
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  if (previous === undefined) {
    throw new NothingToChangeError(
      `Deployment ${namespace}/${name} has no revision before ${current} to roll back to`,
    );
  }
  const now = new Map(
    (deployment.spec?.template.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']),
  );
  const images = (previous.spec?.template?.spec?.containers ?? [])
    .filter((c) => c.image !== undefined && now.has(c.name) && now.get(c.name) !== c.image)
    .map((c) => ({ container: c.name, image: c.image as string }));
  if (images.length === 0) {
    throw new NothingToChangeError(
      `revision ${revisionOf(previous)} of ${namespace}/${name} runs the same images; rolling back would change more than an image, which kube-remedy does not propose`,
    );
  }
  return images;
}
