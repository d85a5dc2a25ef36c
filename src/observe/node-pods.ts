/**
 * What a dead node holds, in the words its escalation needs: how many pods, which of them are a
 * StatefulSet's (they do not start elsewhere until the node is fenced and tainted out of
 * service, or a person deletes them) and which keep data on the node itself (hostPath, a disk
 * emptyDir: it is gone with the node). Pure; the controller lists the pods.
 */

/** The parts of a pod the summary reads. */
export interface NodePodObject {
  metadata?: {
    namespace?: string | null;
    name?: string | null;
    ownerReferences?: readonly { kind?: string | null; controller?: boolean | null }[] | null;
  } | null;
  spec?: {
    volumes?:
      | readonly {
          hostPath?: unknown;
          emptyDir?: { medium?: string | null } | null;
        }[]
      | null;
  } | null;
  status?: { phase?: string | null } | null;
}

export interface NodePods {
  /** Pods still bound to the node (finished ones left out). */
  total: number;
  /** `namespace/name` of StatefulSet pods, at most SHOWN. */
  statefulSet: string[];
  /** `namespace/name` of pods with data on the node's own disk, at most SHOWN. */
  localData: string[];
}

/** How many names of each kind are shown; the count says how many there are in all. */
export const SHOWN = 10;

export function summarizeNodePods(pods: Iterable<NodePodObject>): NodePods {
  const summary: NodePods = { total: 0, statefulSet: [], localData: [] };
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    summary.total += 1;
    const name = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (owner?.kind === 'StatefulSet' && summary.statefulSet.length < SHOWN)
      summary.statefulSet.push(name);
    const local = (pod.spec?.volumes ?? []).some(
      (v) =>
        v.hostPath !== undefined ||
        (v.emptyDir !== undefined && v.emptyDir !== null && v.emptyDir.medium !== 'Memory'),
    );
    if (local && summary.localData.length < SHOWN) summary.localData.push(name);
  }
  summary.statefulSet.sort();
  summary.localData.sort();
  return summary;
}

/** `it holds 7 pods: StatefulSet pods shop/db-0, shop/db-1; with data on the node: ops/cache-x`. */
export function describeNodePods(pods: NodePods): string {
  if (pods.total === 0) return 'it holds no pods';
  const parts = [
    pods.statefulSet.length === 0 ? null : `StatefulSet pods ${pods.statefulSet.join(', ')}`,
    pods.localData.length === 0 ? null : `with data on the node ${pods.localData.join(', ')}`,
  ].filter((p): p is string => p !== null);
  const held = `it holds ${pods.total} pod${pods.total === 1 ? '' : 's'}`;
  return parts.length === 0 ? held : `${held}: ${parts.join('; ')}`;
}
