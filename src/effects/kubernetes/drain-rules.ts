/**
 * Which pods a drain leaves on the node, as kubectl drain does without --force: a pure rule of the
 * pod object, so `simulate` drains exactly what the workers would (src/simulate/world.ts).
 */

const MIRROR = 'kubernetes.io/config.mirror';

/** The parts of a pod the rule reads (a V1Pod, or a scenario's manifest). */
export interface DrainablePod {
  metadata?: {
    annotations?: Record<string, string> | undefined;
    ownerReferences?: { kind?: string; controller?: boolean | undefined }[] | undefined;
    deletionTimestamp?: unknown;
  };
  status?: { phase?: string | undefined } | undefined;
}

/** Why a pod is left on a draining node, or undefined when it should be evicted. */
export function drainSkipReason(pod: DrainablePod): string | undefined {
  if (pod.metadata?.annotations?.[MIRROR] !== undefined)
    return 'mirror pod (managed by the kubelet)';
  if (pod.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')) return 'DaemonSet pod';
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
    return 'already finished';
  if (pod.metadata?.deletionTimestamp !== undefined) return 'already terminating';
  if (!pod.metadata?.ownerReferences?.some((o) => o.controller === true))
    return 'no controller would recreate it (never forced)';
  return undefined;
}
