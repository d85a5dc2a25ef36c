/**
 * The simulated cluster: the objects of a scenario as plain Kubernetes JSON, changed by the
 * scenario's steps and by the effects kube-remedy asks for. Every change makes a new version of
 * the object (a fresh copy with the next resourceVersion), as the API server would, and is handed
 * whole to the actor registry, as a watch event is.
 *
 * Deterministic: uids and resourceVersions come from counters, never from a clock or randomness.
 */
import type { AnalyzerFacts } from '../analyzers/index.ts';
import { observePod } from '../observe/observe.ts';
import type { PodObject } from '../observe/kube.ts';
import { podWorkloadKey } from '../observe/workload.ts';
import {
  countHealthyNodes,
  countSelectedNodes,
  healthyCount,
  nodeHealth,
  type NodeSelector,
} from '../budgets/healthy-nodes.ts';
import { createHash } from 'node:crypto';
import { drainSkipReason, type DrainablePod } from '../effects/kubernetes/drain-rules.ts';
import type { Effect, ProposedChange } from '../machines/index.ts';
import { objectKey } from '../policy/index.ts';
import type { Change, Condition, KubeManifest } from './model.ts';

type Json = Record<string, unknown>;

export interface WorldChange {
  /** Objects created or changed, in their new version. */
  upserts: KubeManifest[];
  deletes: KubeManifest[];
  /** What happened, in a few words, for the timeline. */
  note: string;
}

const NOTHING = (note: string): WorldChange => ({ upserts: [], deletes: [], note });

export function keyOf(object: KubeManifest): string {
  const namespace = object.kind === 'Node' ? undefined : (object.metadata.namespace ?? 'default');
  return objectKey({ kind: object.kind as 'Pod', namespace, name: object.metadata.name });
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: Json = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

interface ContainerSpec {
  name: string;
  image?: string;
}

interface ContainerStatus {
  name: string;
  image?: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: Json;
  lastState?: Json;
}

function containersOf(pod: KubeManifest): ContainerSpec[] {
  const list = pod.spec?.['containers'];
  return Array.isArray(list) ? (list as ContainerSpec[]) : [];
}

function runningStatus(container: ContainerSpec, restartCount: number): ContainerStatus {
  return {
    name: container.name,
    ...(container.image === undefined ? {} : { image: container.image }),
    ready: true,
    started: true,
    restartCount,
    state: { running: { startedAt: 'simulated' } },
  };
}

/**
 * The conditions with `condition` set. Its lastTransitionTime moves to `now` when its status
 * changes, as the kubelet and the node lifecycle controller write it (kept otherwise).
 */
function setCondition(conditions: unknown, condition: Condition, now?: number): Json[] {
  const list = Array.isArray(conditions) ? (conditions as Json[]) : [];
  const before = list.find((c) => c['type'] === condition.type);
  const since =
    before !== undefined && before['status'] === condition.status
      ? before['lastTransitionTime']
      : now === undefined
        ? undefined
        : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: Json = {
    type: condition.type,
    status: condition.status,
    ...(condition.reason === undefined ? {} : { reason: condition.reason }),
    ...(condition.message === undefined ? {} : { message: condition.message }),
    ...(since === undefined ? {} : { lastTransitionTime: since }),
  };
  const found = list.some((c) => c['type'] === condition.type);
  return found ? list.map((c) => (c['type'] === condition.type ? next : c)) : [...list, next];
}

const NODE_CONDITIONS: Record<string, Condition> = {
  Ready: {
    type: 'Ready',
    status: 'True',
    reason: 'KubeletReady',
    message: 'kubelet is posting ready status',
  },
  MemoryPressure: {
    type: 'MemoryPressure',
    status: 'False',
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
  },
  DiskPressure: {
    type: 'DiskPressure',
    status: 'False',
    reason: 'KubeletHasNoDiskPressure',
    message: 'kubelet has no disk pressure',
  },
  PIDPressure: {
    type: 'PIDPressure',
    status: 'False',
    reason: 'KubeletHasSufficientPID',
    message: 'kubelet has sufficient PID available',
  },
};

function healthyPodStatus(pod: KubeManifest, keepRestarts: boolean): Json {
  const previous = (pod.status?.['containerStatuses'] as ContainerStatus[] | undefined) ?? [];
  return {
    phase: 'Running',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Initialized', status: 'True' },
      { type: 'ContainersReady', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    containerStatuses: containersOf(pod).map((c) =>
      runningStatus(
        c,
        keepRestarts ? (previous.find((s) => s.name === c.name)?.restartCount ?? 0) : 0,
      ),
    ),
  };
}

function replicasOf(deployment: KubeManifest): number {
  const replicas = deployment.spec?.['replicas'];
  return typeof replicas === 'number' ? replicas : 1;
}

function healthyDeploymentStatus(deployment: KubeManifest): Json {
  const replicas = replicasOf(deployment);
  const generation = (deployment.metadata['generation'] as number | undefined) ?? 1;
  return {
    observedGeneration: generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'MinimumReplicasAvailable',
        message: 'Deployment has minimum availability.',
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${deployment.metadata.name}" has successfully progressed.`,
      },
    ],
  };
}

function healthyNodeStatus(node: KubeManifest): Json {
  const others = ((node.status?.['conditions'] as Json[] | undefined) ?? []).filter(
    (c) => !(String(c['type']) in NODE_CONDITIONS),
  );
  return {
    ...(node.status ?? {}),
    conditions: [...Object.values(NODE_CONDITIONS).map((c) => ({ ...c })), ...others],
  };
}

export class World {
  private readonly objects = new Map<string, KubeManifest>();
  /** A pod replaced by its controller → the pod that replaced it. */
  private readonly replacements = new Map<string, string>();
  private readonly now: () => number;
  private version = 0;
  private uids = 0;
  private pods = 0;

  constructor(objects: readonly KubeManifest[] = [], now: () => number = () => 0) {
    this.now = now;
    for (const object of objects) this.put(this.completed(clone(object)));
  }

  get(key: string): KubeManifest | undefined {
    return this.objects.get(this.current(key));
  }

  /** Whether an object of exactly this key exists (not a replacement under another name). */
  exists(key: string): boolean {
    return this.objects.has(key);
  }

  /**
   * The object a key names now: a pod that its controller replaced under another name is found
   * under its replacement's, so that a scenario can go on naming the pod it started with.
   */
  current(key: string): string {
    let at = key;
    for (let hops = 0; hops < 1000 && !this.objects.has(at); hops += 1) {
      const next = this.replacements.get(at);
      if (next === undefined) break;
      at = next;
    }
    return at;
  }

  all(): KubeManifest[] {
    return [...this.objects.values()];
  }

  /**
   * Ready, schedulable nodes that `selector` (a policy's) selects: what the agent reports to
   * node machines as `healthyNodes`, and what the workers count before a node disruption.
   */
  /** The same, and whether `node` is one of them (the workers' count before a node action). */
  healthyCount(
    selector: NodeSelector | undefined,
    node: string,
  ): { count: number; includesNode: boolean; selected: number } {
    return healthyCount(
      this.all()
        .filter((o) => o.kind === 'Node')
        .map((o) => nodeHealth(o as Parameters<typeof nodeHealth>[0])),
      selector,
      node,
    );
  }

  selectedNodes(selector: NodeSelector | undefined): number {
    return countSelectedNodes(
      this.all()
        .filter((o) => o.kind === 'Node')
        .map((o) => nodeHealth(o as Parameters<typeof nodeHealth>[0])),
      selector,
    );
  }

  healthyNodes(selector: NodeSelector | undefined): number {
    return countHealthyNodes(
      this.all()
        .filter((o) => o.kind === 'Node')
        .map((o) => nodeHealth(o as Parameters<typeof nodeHealth>[0])),
      selector,
    );
  }

  /**
   * What the controller tells a Deployment's analysis: the pods of its newest ReplicaSet. The
   * world keeps no ReplicaSets, so the newest is the one whose pods run the Deployment's
   * template (its containers' images): what the Deployment controller calls the new one.
   */
  rolloutFacts(deployment: { namespace: string; name: string }): AnalyzerFacts {
    const object = this.objects.get(`Deployment/${deployment.namespace}/${deployment.name}`);
    const template = object?.spec?.['template'] as
      { spec?: { containers?: { name?: string; image?: string }[] } } | undefined;
    const images = imagesOf(template?.spec?.containers);
    if (images === '') return {};
    const workload = `${deployment.namespace}/Deployment/${deployment.name}`;
    const byReplicaSet = new Map<string, KubeManifest[]>();
    for (const pod of this.all()) {
      if (pod.kind !== 'Pod' || podWorkloadKey(pod) !== workload) continue;
      const spec = pod.spec as { containers?: { name?: string; image?: string }[] } | undefined;
      if (imagesOf(spec?.containers) !== images) continue;
      const owner = (
        pod.metadata['ownerReferences'] as { kind?: string; name?: string }[] | undefined
      )?.find((o) => o.kind === 'ReplicaSet')?.name;
      if (owner !== undefined) byReplicaSet.set(owner, [...(byReplicaSet.get(owner) ?? []), pod]);
    }
    const [newest] = [...byReplicaSet.entries()].sort(([a], [b]) => a.localeCompare(b));
    if (newest === undefined) return {};
    const [name, pods] = newest;
    return {
      newReplicaSet: {
        name,
        pods: pods
          .map((p) => observePod(p as unknown as PodObject))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      },
    };
  }

  /** The HorizontalPodAutoscaler that targets a Deployment, if the scenario has one. */
  hpaFor(namespace: string, name: string): { name: string } | null {
    for (const o of this.objects.values()) {
      if (o.kind !== 'HorizontalPodAutoscaler' || (o.metadata.namespace ?? 'default') !== namespace)
        continue;
      const ref = o.spec?.['scaleTargetRef'] as { kind?: string; name?: string } | undefined;
      if (ref?.kind === 'Deployment' && ref.name === name) return { name: o.metadata.name };
    }
    return null;
  }

  /** Applies a step's change to the object `key` (null for create). */
  apply(key: string | null, change: Change): WorldChange {
    if (change.type === 'create') {
      const object = this.completed(clone(change.object));
      const existed = this.objects.has(keyOf(object));
      return this.upsert(object, existed ? 'updated' : 'created');
    }
    if (key === null) return NOTHING('nothing to change');
    const named = key;
    key = this.current(named);
    const current = this.objects.get(key);
    if (current === undefined)
      return NOTHING(`${named} does not exist (any more): nothing changed`);
    if (change.type === 'delete') return this.remove(key, 'deleted');
    const next = clone(current);
    const note = this.change(next, change);
    return this.upsert(next, note);
  }

  /**
   * What a successful effect does to the objects, as the real action would: a restarted pod is a
   * fresh pod, a cordoned node is unschedulable, a drained node's pods are evicted, a rollback
   * completes the rollout, a scale changes the replicas.
   */
  effectDone(effect: Effect): WorldChange {
    const key = objectKey({
      kind: effect.target.kind,
      namespace: effect.target.namespace ?? undefined,
      name: effect.target.name,
    });
    // A pod that went away meanwhile (replaced, evicted) is not acted on again.
    const current = this.objects.get(key);
    if (current === undefined) return NOTHING('');
    const next = clone(current);
    switch (effect.kind) {
      case 'restartPod':
      case 'deletePod':
      case 'evictPod':
        return this.freshPod(next, 'replaced by a fresh pod');
      case 'rolloutRestart':
      case 'rollback':
        return next.kind === 'Pod'
          ? this.freshPod(next, 'replaced by a pod of the restored rollout')
          : this.withPodsReplaced(
              this.rolledOut(next, effect.kind === 'rollback'),
              next,
              effect.kind === 'rollback',
            );
      case 'scale':
        return this.scaled(next, effect.to);
      case 'cordon':
      case 'uncordon':
        next.spec = { ...(next.spec ?? {}), unschedulable: effect.kind === 'cordon' };
        return this.upsert(next, effect.kind === 'cordon' ? 'cordoned' : 'uncordoned');
      case 'taint':
      case 'untaint': {
        const taints = ((next.spec?.['taints'] as Json[] | undefined) ?? []).filter(
          (t) => t['key'] !== effect.taint.key,
        );
        const taint = { key: effect.taint.key, effect: effect.taint.effect };
        next.spec = {
          ...(next.spec ?? {}),
          taints: effect.kind === 'taint' ? [...taints, taint] : taints,
        };
        return this.upsert(next, effect.kind === 'taint' ? 'tainted' : 'untainted');
      }
      case 'drain':
        return this.drained(next);
      default:
        return NOTHING('');
    }
  }

  /** What a merged pull request does once its change rolls out. */
  proposalMerged(key: string, change: ProposedChange): WorldChange {
    const current = this.objects.get(key);
    if (current === undefined) return NOTHING('');
    const next = clone(current);
    switch (change.kind) {
      case 'increaseMemory':
        return next.kind === 'Pod'
          ? this.freshPod(next, `replaced by a pod with ${change.increasePercent}% more memory`)
          : this.rolledOut(next, false);
      case 'rollback':
        return next.kind === 'Pod' ? this.freshPod(next, 'replaced') : this.rolledOut(next, true);
      case 'scale':
        return this.scaled(next, change.to);
    }
  }

  private change(object: KubeManifest, change: Change): string {
    switch (change.type) {
      case 'crashLoop':
      case 'oomKilled':
      case 'imagePullBackOff':
        return this.containerChange(object, change);
      case 'healthy':
        if (object.kind === 'Pod') object.status = healthyPodStatus(object, true);
        else if (object.kind === 'Node') object.status = healthyNodeStatus(object);
        else if (object.kind === 'Deployment') object.status = healthyDeploymentStatus(object);
        return 'healthy';
      case 'condition':
        object.status = {
          ...(object.status ?? {}),
          conditions: setCondition(object.status?.['conditions'], change.condition, this.now()),
        };
        return `condition ${change.condition.type}=${change.condition.status}${change.condition.reason ? ` (${change.condition.reason})` : ''}`;
      case 'rolloutFailed': {
        const message =
          change.message ??
          `ReplicaSet "${object.metadata.name}-${this.version.toString(16)}" has timed out progressing.`;
        object.status = {
          ...(object.status ?? {}),
          conditions: setCondition(object.status?.['conditions'], {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message,
          }),
        };
        return 'rollout failed: Progressing=False (ProgressDeadlineExceeded)';
      }
      case 'status':
        object.status = clone(change.status);
        return 'status replaced';
      case 'patch': {
        const patched = mergePatch(object, change.patch) as KubeManifest;
        for (const key of Object.keys(object)) delete object[key];
        Object.assign(object, patched);
        return `patched ${Object.keys(change.patch).join(', ')}`;
      }
      default:
        return '';
    }
  }

  private containerChange(
    pod: KubeManifest,
    change: Extract<Change, { type: 'crashLoop' | 'oomKilled' | 'imagePullBackOff' }>,
  ): string {
    const specs = containersOf(pod);
    const name = change.container ?? specs[0]?.name ?? 'app';
    const statuses = (
      (pod.status?.['containerStatuses'] as ContainerStatus[] | undefined) ??
      specs.map((c) => runningStatus(c, 0))
    ).map((s) => ({ ...s }));
    let status = statuses.find((s) => s.name === name);
    if (status === undefined) {
      status = runningStatus({ name }, 0);
      statuses.push(status);
    }
    let note: string;
    if (change.type === 'crashLoop') {
      status.restartCount = change.restarts;
      status.ready = false;
      status.started = false;
      status.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message:
            change.message ??
            `back-off ${Math.min(300, 10 * 2 ** Math.max(0, change.restarts - 1))}s restarting failed container=${name} pod=${pod.metadata.name}`,
        },
      };
      status.lastState = { terminated: { reason: 'Error', exitCode: 1 } };
      note = `container "${name}" in CrashLoopBackOff (restarts ${change.restarts})`;
    } else if (change.type === 'oomKilled') {
      status.restartCount = change.restarts;
      status.ready = true;
      status.started = true;
      status.state = { running: { startedAt: 'simulated' } };
      status.lastState = { terminated: { reason: 'OOMKilled', exitCode: 137 } };
      note = `container "${name}" OOMKilled (restarts ${change.restarts})`;
    } else {
      const image = change.image ?? status.image ?? specs.find((c) => c.name === name)?.image;
      if (image !== undefined) status.image = image;
      status.ready = false;
      status.started = false;
      status.state = {
        waiting: {
          reason: 'ImagePullBackOff',
          message: change.message ?? `Back-off pulling image "${image ?? 'unknown'}"`,
        },
      };
      note =
        `container "${name}" cannot pull image ${image === undefined ? '' : `"${image}"`}`.trim();
    }
    const ready = statuses.every((s) => s.ready);
    pod.status = {
      ...(pod.status ?? {}),
      phase: 'Running',
      conditions: setCondition(pod.status?.['conditions'], {
        type: 'Ready',
        status: ready ? 'True' : 'False',
      }),
      containerStatuses: statuses,
    };
    return note;
  }

  /**
   * As the pod's controller would: the pod is deleted and a new one made, by a ReplicaSet under a
   * new name (`<replicaset>-<suffix>`), by any other controller under the same name (a StatefulSet
   * does). A pod no controller owns is never restarted (the workers refuse).
   */
  private freshPod(pod: KubeManifest, note: string, replicaSet?: string): WorldChange {
    const oldKey = keyOf(pod);
    const gone = this.remove(oldKey, '');
    const owner = controllerOf(pod);
    const rs = replicaSet ?? (owner?.kind === 'ReplicaSet' ? owner.name : undefined);
    const fresh = clone(pod);
    if (rs !== undefined) {
      this.pods += 1;
      const suffix = podSuffix(`${rs}/${this.pods}`);
      const hash = rs.slice(rs.lastIndexOf('-') + 1);
      fresh.metadata = {
        ...fresh.metadata,
        name: `${rs}-${suffix}`,
        labels: { ...labelsOf(fresh), 'pod-template-hash': hash },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs,
            uid: `rs-${rs}`,
            controller: true,
          },
        ],
      };
    }
    fresh.metadata = {
      ...fresh.metadata,
      uid: this.nextUid(fresh),
      creationTimestamp: new Date(this.now()).toISOString(),
    };
    fresh.status = healthyPodStatus(fresh, false);
    const newKey = keyOf(fresh);
    if (newKey !== oldKey) this.replacements.set(oldKey, newKey);
    const made = this.upsert(fresh, '');
    return {
      deletes: gone.deletes,
      upserts: made.upserts,
      note: newKey === oldKey ? note : `${note}: ${fresh.metadata.name}`,
    };
  }

  /**
   * A Deployment rolled out again: its ReplicaSets' pods are replaced by pods of the ReplicaSet it
   * now runs (for a rollback, the one before).
   */
  private withPodsReplaced(
    rolled: WorldChange,
    deployment: KubeManifest,
    rollback: boolean,
  ): WorldChange {
    const name = deployment.metadata.name;
    const namespace = deployment.metadata.namespace ?? 'default';
    const annotations =
      (deployment.metadata['annotations'] as Record<string, string> | undefined) ?? {};
    const revision = annotations['deployment.kubernetes.io/revision'] ?? '1';
    // The ReplicaSet it runs now: for a rollback the one before, for a restart a new one; a
    // stable name that looks like a pod-template-hash.
    const rs = `${name}-${podSuffix(`${name}/${revision}/${rollback ? 'back' : 'restart'}`, 9)}`;
    const out: WorldChange = {
      ...rolled,
      deletes: [...rolled.deletes],
      upserts: [...rolled.upserts],
    };
    for (const pod of this.all()) {
      const owner = controllerOf(pod);
      if (pod.kind !== 'Pod' || (pod.metadata.namespace ?? 'default') !== namespace) continue;
      if (owner?.kind !== 'ReplicaSet' || !owner.name.startsWith(`${name}-`)) continue;
      const replaced = this.freshPod(clone(pod), '', rs);
      out.deletes.push(...replaced.deletes);
      out.upserts.push(...replaced.upserts);
    }
    return out;
  }

  private rolledOut(deployment: KubeManifest, rollback: boolean): WorldChange {
    const annotations =
      (deployment.metadata['annotations'] as Record<string, string> | undefined) ?? {};
    const revision = Number(annotations['deployment.kubernetes.io/revision'] ?? '1');
    const generation = ((deployment.metadata['generation'] as number | undefined) ?? 1) + 1;
    deployment.metadata = {
      ...deployment.metadata,
      generation,
      annotations: {
        ...annotations,
        'deployment.kubernetes.io/revision': String((Number.isFinite(revision) ? revision : 1) + 1),
      },
    };
    deployment.status = healthyDeploymentStatus(deployment);
    return this.upsert(
      deployment,
      rollback
        ? 'rolled back: the previous ReplicaSet is available'
        : 'rollout restarted and complete',
    );
  }

  private scaled(deployment: KubeManifest, replicas: number): WorldChange {
    const generation = ((deployment.metadata['generation'] as number | undefined) ?? 1) + 1;
    deployment.metadata = { ...deployment.metadata, generation };
    deployment.spec = { ...(deployment.spec ?? {}), replicas };
    deployment.status = healthyDeploymentStatus(deployment);
    return this.upsert(deployment, `scaled to ${replicas} replicas, all available`);
  }

  private drained(node: KubeManifest): WorldChange {
    node.spec = { ...(node.spec ?? {}), unschedulable: true };
    const cordoned = this.upsert(node, '');
    const evicted: KubeManifest[] = [];
    const made: KubeManifest[] = [];
    // Their controllers make them again where the scheduler puts them: a Ready, schedulable
    // node (the first by name here), or none yet (Pending).
    const elsewhere = this.all()
      .filter((o) => o.kind === 'Node' && o.metadata.name !== node.metadata.name)
      .filter((o) => {
        const health = nodeHealth(o);
        return health.ready && !health.unschedulable;
      })
      .map((o) => o.metadata.name)
      .sort()[0];
    for (const object of [...this.objects.values()]) {
      if (object.kind !== 'Pod' || object.spec?.['nodeName'] !== node.metadata.name) continue;
      // The workers' rule: DaemonSet, mirror and finished pods stay, and so does a pod no
      // controller would recreate.
      if (drainSkipReason(object as DrainablePod) !== undefined) continue;
      const moved = clone(object);
      const spec = { ...(moved.spec ?? {}) };
      if (elsewhere === undefined) delete spec['nodeName'];
      else spec['nodeName'] = elsewhere;
      moved.spec = spec;
      const replaced = this.freshPod(moved, '');
      evicted.push(...replaced.deletes);
      made.push(...replaced.upserts);
    }
    return {
      upserts: [...cordoned.upserts, ...made],
      deletes: evicted,
      note: `drained: ${evicted.length} pod${evicted.length === 1 ? '' : 's'} evicted${
        made.length === 0 ? '' : `, made again on ${elsewhere ?? 'no node yet'}`
      }`,
    };
  }

  private upsert(object: KubeManifest, note: string): WorldChange {
    this.version += 1;
    object.metadata = { ...object.metadata, resourceVersion: String(this.version) };
    this.put(object);
    return { upserts: [clone(object)], deletes: [], note };
  }

  private remove(key: string, note: string): WorldChange {
    const object = this.objects.get(key);
    if (object === undefined) return NOTHING(note);
    this.objects.delete(key);
    return { upserts: [], deletes: [clone(object)], note };
  }

  private put(object: KubeManifest): void {
    this.objects.set(keyOf(object), object);
  }

  private nextUid(object: KubeManifest): string {
    this.uids += 1;
    const hex = this.uids.toString(16).padStart(12, '0');
    const kind = object.kind
      .toLowerCase()
      .slice(0, 8)
      .padEnd(8, '0')
      .replace(/[^0-9a-z]/g, '0');
    return `${kind}-0000-4000-8000-${hex}`;
  }

  /** Fills in what a new object lacks: uid, resourceVersion, and a healthy status. */
  private completed(object: KubeManifest): KubeManifest {
    if (object.kind !== 'Node') object.metadata.namespace ??= 'default';
    object.metadata.uid ??= this.nextUid(object);
    object.metadata['creationTimestamp'] ??= new Date(this.now()).toISOString();
    this.version += 1;
    object.metadata.resourceVersion = String(this.version);
    if (object.kind === 'Pod') {
      if (containersOf(object).length === 0) {
        object.spec = { ...(object.spec ?? {}), containers: [{ name: 'app' }] };
      }
      object.status ??= healthyPodStatus(object, false);
    } else if (object.kind === 'Node') {
      object.status ??= healthyNodeStatus(object);
    } else if (object.kind === 'Deployment') {
      object.metadata['generation'] ??= 1;
      object.spec = { replicas: replicasOf(object), ...(object.spec ?? {}) };
      object.status ??= healthyDeploymentStatus(object);
    }
    return object;
  }
}

function controllerOf(object: KubeManifest): { kind: string; name: string } | undefined {
  const refs = (object.metadata['ownerReferences'] as Json[] | undefined) ?? [];
  const ref = refs.find((r) => r['controller'] === true);
  return ref === undefined ? undefined : { kind: String(ref['kind']), name: String(ref['name']) };
}

function labelsOf(object: KubeManifest): Record<string, string> {
  return object.metadata['labels'] ?? {};
}

/** The letters Kubernetes draws generated name suffixes from (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A five-letter suffix like a ReplicaSet's, the same on every run of a scenario. */
function podSuffix(seed: string, length = 5): string {
  const digest = createHash('sha256').update(seed).digest();
  return [...digest.subarray(0, length)]
    .map((byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length])
    .join('');
}

/** A pod template's containers as one comparable string: `name=image,…`. */
function imagesOf(containers: readonly { name?: string; image?: string }[] | undefined): string {
  return (containers ?? []).map((c) => `${c.name ?? ''}=${c.image ?? ''}`).join(',');
}
