/** Where a kind of object lives in the API: enough to list and watch it. */
export interface ResourceType {
  /** `v1`, `apps/v1`, `remedy.kube-remedy.io/v1alpha1`. */
  apiVersion: string;
  kind: string;
  /** Lower-case plural used in URLs: `pods`, `deployments`. */
  plural: string;
}

export const PODS: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods' };
export const NODES: ResourceType = { apiVersion: 'v1', kind: 'Node', plural: 'nodes' };
export const EVENTS: ResourceType = { apiVersion: 'v1', kind: 'Event', plural: 'events' };
export const DEPLOYMENTS: ResourceType = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  plural: 'deployments',
};
export const REPLICASETS: ResourceType = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
};

/** The collection URL path, across all namespaces when `namespace` is undefined. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.apiVersion.includes('/')
    ? `/apis/${type.apiVersion}`
    : `/api/${type.apiVersion}`;
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${scope}/${type.plural}`;
}

/**
 * The key of an object everywhere in kube-remedy (actor ids, logs, Redis keys):
 * `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects such as nodes.
 */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}
