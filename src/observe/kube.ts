/**
 * The few fields of Pods, Nodes and Deployments that kube-remedy reads, typed as the plain JSON the
 * API server sends (timestamps are strings). Every field is optional: a watch event may carry an
 * object whose status the kubelet or a controller has not written yet.
 */

export interface OwnerReference {
  kind?: string;
  name?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string | null;
  ownerReferences?: OwnerReference[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ContainerStateObject {
  waiting?: { reason?: string; message?: string } | null;
  running?: { startedAt?: string } | null;
  terminated?: { reason?: string; message?: string; exitCode?: number } | null;
}

export interface ContainerStatusObject {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  image?: string;
  state?: ContainerStateObject;
  lastState?: ContainerStateObject;
}

export interface ContainerSpecObject {
  name: string;
  image?: string;
  /** `Always` on an init container makes it a sidecar (restartable init container). */
  restartPolicy?: string;
}

export interface ConditionObject {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface PodObject extends KubeObject {
  kind: 'Pod';
  spec?: {
    nodeName?: string;
    containers?: ContainerSpecObject[];
    initContainers?: ContainerSpecObject[];
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: ConditionObject[];
    containerStatuses?: ContainerStatusObject[];
    initContainerStatuses?: ContainerStatusObject[];
  };
}

export interface NodeObject extends KubeObject {
  kind: 'Node';
  spec?: { unschedulable?: boolean };
  status?: { conditions?: ConditionObject[] };
}

export interface DeploymentObject extends KubeObject {
  kind: 'Deployment';
  spec?: { replicas?: number; paused?: boolean };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: ConditionObject[];
  };
}

export type ObservableObject = PodObject | NodeObject | DeploymentObject;

export const OBSERVABLE_KINDS = ['Pod', 'Node', 'Deployment'] as const;
export type ObservableKind = (typeof OBSERVABLE_KINDS)[number];

export function isObservableKind(kind: unknown): kind is ObservableKind {
  return typeof kind === 'string' && (OBSERVABLE_KINDS as readonly string[]).includes(kind);
}
