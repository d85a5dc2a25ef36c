/**
 * The pods of every Deployment's newest ReplicaSet, which the Deployment analyzer reads beside
 * the Deployment (`AnalyzerFacts.newReplicaSet`): a new rollout whose pods cannot pull their
 * images shows it on the pods, not on the Deployment, until the progress deadline passes.
 *
 * The controller feeds it from two cluster-wide watches limited to what the Deployment controller
 * made (label `pod-template-hash`), each object reduced as it arrives: a ReplicaSet to its
 * controlling Deployment and revision, a pod to its observation. So memory grows with the pods of
 * Deployments, one observation each, and never holds a whole object
 * (docs/adr/0015-deployment-rollout-pods.md).
 *
 * The newest ReplicaSet is the one with the highest `deployment.kubernetes.io/revision` among
 * those the Deployment controls: the Deployment controller gives a new ReplicaSet, and one a
 * rollback brings back, the next revision. Every change answers which Deployments see different
 * facts now, so they can be analyzed again; the analysis gets all the pods, never a difference.
 */
import type { AnalyzerFacts } from '../analyzers/index.ts';
import {
  observePod,
  sameObservation,
  type DeploymentObservation,
  type KubeObject,
  type PodObservation,
} from '../observe/index.ts';
import { objectKey } from '../policy/index.ts';

/** Label selector of the objects a Deployment's ReplicaSets make: only they carry the hash. */
export const DEPLOYMENT_MADE_SELECTOR = 'pod-template-hash';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** A ReplicaSet as kept: whose it is and which revision. */
export interface ReplicaSetSummary {
  metadata: { namespace: string; name: string };
  /** The controlling Deployment; its uid tells it from a Deployment re-created under the name. */
  deployment: { name: string; uid: string } | null;
  revision: number | null;
}

/** A pod as kept: its observation, the analyzer's input. */
export interface PodSummary {
  metadata: { namespace: string; name: string };
  observation: PodObservation;
}

/** The fields of a ReplicaSet read here, as the API server sends them. */
export interface ReplicaSetObject {
  metadata?: {
    namespace?: string;
    name?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
  };
}

export function summariseReplicaSet(object: ReplicaSetObject): ReplicaSetSummary {
  const metadata = object.metadata ?? {};
  const owner = metadata.ownerReferences?.find((o) => o.controller === true);
  const revision = Number.parseInt(metadata.annotations?.[REVISION_ANNOTATION] ?? '', 10);
  return {
    metadata: { namespace: metadata.namespace ?? '', name: metadata.name ?? '' },
    deployment:
      owner?.kind === 'Deployment' ? { name: owner.name ?? '', uid: owner.uid ?? '' } : null,
    revision: Number.isFinite(revision) ? revision : null,
  };
}

export function summarisePod(object: KubeObject): PodSummary {
  const observation = observePod({ ...object, kind: 'Pod' });
  return {
    metadata: { namespace: observation.namespace, name: observation.name },
    observation,
  };
}

/** A Deployment as the index tells them apart: by namespace, name and uid. */
interface DeploymentRef {
  namespace: string;
  name: string;
  uid: string;
}

const id = (namespace: string, name: string): string => `${namespace}/${name}`;

export class RolloutPods {
  /** `namespace/name` of a ReplicaSet → what is kept of it. */
  private readonly replicaSets = new Map<string, ReplicaSetSummary>();
  /** `namespace/name` of a Deployment → the names of the ReplicaSets it controls. */
  private readonly byDeployment = new Map<string, Set<string>>();
  /** `namespace/name` of a ReplicaSet → its pods by name (also before the ReplicaSet is seen). */
  private readonly pods = new Map<string, Map<string, PodObservation>>();
  /** `namespace/name` of a pod → the ReplicaSet it is filed under. */
  private readonly podReplicaSet = new Map<string, string>();

  /** A ReplicaSet appeared or changed; returns the actor keys of Deployments whose facts changed. */
  setReplicaSet(summary: ReplicaSetSummary): string[] {
    const { namespace, name } = summary.metadata;
    return this.changing(this.deploymentsOf(namespace, [name], summary), () => {
      this.forgetReplicaSet(namespace, name);
      this.replicaSets.set(id(namespace, name), summary);
      if (summary.deployment === null) return;
      const key = id(namespace, summary.deployment.name);
      const names = this.byDeployment.get(key) ?? new Set<string>();
      names.add(name);
      this.byDeployment.set(key, names);
    });
  }

  /** A ReplicaSet is gone; returns the actor keys of Deployments whose facts changed. */
  deleteReplicaSet(summary: Pick<ReplicaSetSummary, 'metadata'>): string[] {
    const { namespace, name } = summary.metadata;
    const changed = this.changing(this.deploymentsOf(namespace, [name]), () =>
      this.forgetReplicaSet(namespace, name),
    );
    // Its pods are deleted by the garbage collector, each with its own event.
    return changed;
  }

  /** A pod appeared or changed; returns the actor keys of Deployments whose facts changed. */
  setPod(summary: PodSummary): string[] {
    const { namespace, name } = summary.metadata;
    const observation = summary.observation;
    const owner = observation.owner?.kind === 'ReplicaSet' ? observation.owner.name : null;
    const before = this.podReplicaSet.get(id(namespace, name));
    const after = owner === null ? undefined : id(namespace, owner);
    if (before !== undefined && before === after) {
      const previous = this.pods.get(before)?.get(name);
      if (previous !== undefined && sameObservation(previous, observation)) return [];
    }
    const replicaSets = [before, after].filter((r): r is string => r !== undefined);
    const names = replicaSets.map((r) => r.slice(namespace.length + 1));
    return this.newestChanging(this.deploymentsOf(namespace, names), replicaSets, () => {
      this.forgetPod(namespace, name);
      if (after === undefined || owner === null) return;
      const pods = this.pods.get(after) ?? new Map<string, PodObservation>();
      pods.set(name, observation);
      this.pods.set(after, pods);
      this.podReplicaSet.set(id(namespace, name), after);
    });
  }

  /** A pod is gone; returns the actor keys of Deployments whose facts changed. */
  deletePod(summary: Pick<PodSummary, 'metadata'>): string[] {
    const { namespace, name } = summary.metadata;
    const before = this.podReplicaSet.get(id(namespace, name));
    if (before === undefined) return [];
    const names = [before.slice(namespace.length + 1)];
    return this.newestChanging(this.deploymentsOf(namespace, names), [before], () =>
      this.forgetPod(namespace, name),
    );
  }

  /** The analyzer's facts for a Deployment: its newest ReplicaSet and that one's pods by name. */
  factsFor(deployment: Pick<DeploymentObservation, 'namespace' | 'name' | 'uid'>): AnalyzerFacts {
    const newest = this.newest(deployment);
    if (newest === undefined) return {};
    const pods = [...(this.pods.get(id(deployment.namespace, newest))?.values() ?? [])].sort(
      (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    const revision = this.replicaSets.get(id(deployment.namespace, newest))?.revision ?? null;
    return {
      newReplicaSet: { name: newest, revision: revision === null ? null : String(revision), pods },
    };
  }

  /** What is kept, for metrics and tests. */
  size(): { replicaSets: number; pods: number } {
    return { replicaSets: this.replicaSets.size, pods: this.podReplicaSet.size };
  }

  private newest(deployment: DeploymentRef): string | undefined {
    const names = this.byDeployment.get(id(deployment.namespace, deployment.name));
    let best: ReplicaSetSummary | undefined;
    for (const name of names ?? []) {
      const summary = this.replicaSets.get(id(deployment.namespace, name));
      if (summary?.deployment?.uid !== deployment.uid) continue;
      const [revision, bestRevision] = [summary.revision ?? -1, best?.revision ?? -1];
      // Revisions are unique among a Deployment's ReplicaSets; the name only keeps a tie stable.
      if (
        best === undefined ||
        revision > bestRevision ||
        (revision === bestRevision && name > best.metadata.name)
      )
        best = summary;
    }
    return best?.metadata.name;
  }

  /** The Deployments these ReplicaSets belong to, as kept and (for an update) as they will be. */
  private deploymentsOf(
    namespace: string,
    names: readonly string[],
    incoming?: ReplicaSetSummary,
  ): DeploymentRef[] {
    const refs = new Map<string, DeploymentRef>();
    const add = (owner: ReplicaSetSummary['deployment'] | undefined): void => {
      if (owner == null) return;
      refs.set(`${owner.name}/${owner.uid}`, { namespace, ...owner });
    };
    for (const name of names) add(this.replicaSets.get(id(namespace, name))?.deployment);
    add(incoming?.deployment);
    return [...refs.values()];
  }

  /** Applies a change to ReplicaSets; the Deployments whose newest ReplicaSet is another now. */
  private changing(deployments: readonly DeploymentRef[], change: () => void): string[] {
    const before = deployments.map((d) => this.newest(d));
    change();
    return keysOf(deployments.filter((d, i) => this.newest(d) !== before[i]));
  }

  /**
   * Applies a change to pods; the Deployments whose newest ReplicaSet is one of these ReplicaSets
   * (their pods changed).
   */
  private newestChanging(
    deployments: readonly DeploymentRef[],
    replicaSets: readonly string[],
    change: () => void,
  ): string[] {
    change();
    return keysOf(
      deployments.filter((d) => {
        const newest = this.newest(d);
        return newest !== undefined && replicaSets.includes(id(d.namespace, newest));
      }),
    );
  }

  private forgetReplicaSet(namespace: string, name: string): void {
    const kept = this.replicaSets.get(id(namespace, name));
    if (kept === undefined) return;
    this.replicaSets.delete(id(namespace, name));
    if (kept.deployment === null) return;
    const key = id(namespace, kept.deployment.name);
    const names = this.byDeployment.get(key);
    names?.delete(name);
    if (names?.size === 0) this.byDeployment.delete(key);
  }

  private forgetPod(namespace: string, name: string): void {
    const replicaSet = this.podReplicaSet.get(id(namespace, name));
    if (replicaSet === undefined) return;
    this.podReplicaSet.delete(id(namespace, name));
    const pods = this.pods.get(replicaSet);
    pods?.delete(name);
    if (pods?.size === 0) this.pods.delete(replicaSet);
  }
}

function keysOf(deployments: readonly DeploymentRef[]): string[] {
  return [
    ...new Set(
      deployments.map((d) =>
        objectKey({ kind: 'Deployment', namespace: d.namespace, name: d.name }),
      ),
    ),
  ];
}
