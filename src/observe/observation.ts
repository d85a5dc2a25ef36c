/**
 * Observations: the small, normalized view of an object that machines decide on. They keep what a
 * decision needs (phase, readiness, restart counts, the kubelet's reasons, conditions, replica
 * counts) and drop what changes without meaning anything (heartbeat and transition times, managed
 * fields), so that two observations of an unchanged object compare equal and can be dropped.
 *
 * Events carry the whole observation, never a difference: a machine that missed an event, or was
 * restored from a snapshot, converges on the next one (level-triggered, as controllers are).
 */

/** Where a container runs in the pod's life: before the app (init), beside it (sidecar), or the app. */
export type ContainerRole = 'init' | 'sidecar' | 'app';

export interface TerminationObservation {
  reason: string | null;
  exitCode: number | null;
  message: string | null;
}

export interface ContainerObservation {
  name: string;
  role: ContainerRole;
  image: string | null;
  ready: boolean;
  restartCount: number;
  /** The current state; null when the kubelet has not reported the container yet. */
  state: 'waiting' | 'running' | 'terminated' | null;
  /** The waiting or terminated reason of the current state, as the kubelet wrote it. */
  reason: string | null;
  message: string | null;
  /** Exit code when the current state is terminated. */
  exitCode: number | null;
  /** How the previous run ended (`lastState.terminated`), if it did. */
  lastTermination: TerminationObservation | null;
}

interface ObservationBase {
  namespace: string | null;
  name: string;
  uid: string;
  /** Kept for preconditions; ignored by `sameObservation`, since every write changes it. */
  resourceVersion: string;
  generation: number | null;
}

export interface PodObservation extends ObservationBase {
  kind: 'Pod';
  namespace: string;
  /** status.phase; null when the pod has no status yet. */
  phase: string | null;
  /** The pod's Ready condition is True. */
  ready: boolean;
  nodeName: string | null;
  /** deletionTimestamp is set: the pod is going away and is nobody's failure. */
  terminating: boolean;
  /** The controlling owner (ReplicaSet, Job, StatefulSet…), if any. */
  owner: { kind: string; name: string } | null;
  /**
   * What a person would name (workload.ts): the Deployment of its ReplicaSet, the CronJob of its
   * Job, its StatefulSet or DaemonSet, or the pod itself when no controller would replace it.
   * Absent from observations stored before it existed: read `workloadOf(owner)` then.
   */
  workload?: { kind: string; name: string };
  /**
   * metadata.creationTimestamp (ms): whether the pod came after a remediation of its workload,
   * and so is one of its results. Absent when unknown, and in observations stored before it.
   */
  createdAt?: number;
  /** status.reason, e.g. `Evicted`. */
  reason: string | null;
  /** The highest restart count among the pod's containers. */
  restartCount: number;
  /** Init and sidecar containers first, in spec order, then the app containers. */
  containers: ContainerObservation[];
}

export interface ConditionObservation {
  type: string;
  status: string;
  reason: string | null;
  message: string | null;
}

export interface NodeObservation extends ObservationBase {
  kind: 'Node';
  namespace: null;
  /** Status of the Ready condition; null when the kubelet has not reported it yet. */
  ready: 'True' | 'False' | 'Unknown' | null;
  /** Since when the Ready condition has had its status (ms), when the node says. */
  readySince?: number;
  /**
   * The node is confirmed fenced (powered off or cut off): the value of its annotation
   * `remedy.kube-remedy.io/fenced`, set by a fencing system or a person. Absent otherwise (and
   * when the annotation says `false`).
   */
  fenced?: string;
  unschedulable: boolean;
  conditions: ConditionObservation[];
}

export interface DeploymentObservation extends ObservationBase {
  kind: 'Deployment';
  namespace: string;
  observedGeneration: number | null;
  /** spec.replicas (1 when unset, as the API server defaults it). */
  desiredReplicas: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
  paused: boolean;
  /** The `deployment.kubernetes.io/revision` annotation: what a rollback leaves. */
  revision: string | null;
  conditions: ConditionObservation[];
}

export type Observation = PodObservation | NodeObservation | DeploymentObservation;
