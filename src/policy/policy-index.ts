/**
 * Which policy governs an object.
 *
 * Tenancy is structural here: a Pod or Deployment is only ever compared with the policies of its
 * own namespace, and a Node only with the node policies of kube-remedy's namespace
 * (`agentNamespace`). A policy elsewhere that selects Nodes is held but governs nothing
 * (`nodesNotAllowed`), and the controller says so in its Ready condition.
 *
 * Each namespace's policies are kept sorted from most to least specific (see selector.ts), so a lookup
 * scans at most the policies of one namespace and stops at the first less specific policy after a
 * match. Two or more matches at the same specificity are a tie: the object is in Conflict and no
 * policy governs it, because acting under an arbitrarily chosen policy (whose mode might be auto
 * where the other says dryRun) is worse than not acting and saying why.
 *
 * Objects the caller tracks (`setObject`) are re-evaluated whenever a policy of their scope or their
 * own labels change; each change of governing policy is reported once to `onChange`, after the index
 * is consistent again, so a listener may read the index.
 */
import { objectKey as kubernetesObjectKey } from '../adapters/kubernetes/resource.ts';
import { compileSelector, type CompiledSelector, type Labels } from './selector.ts';
import { policyKey, type Policy, type PolicyRef } from './policy.ts';
import type { ObjectKind } from './vocabulary.ts';

/** What the index needs to know about a Pod, Deployment or Node. */
export interface ObjectIdentity {
  kind: ObjectKind;
  /** Empty or absent for Nodes (cluster-scoped). */
  namespace?: string;
  name: string;
  labels?: Labels;
}

/** `Kind/namespace/name`, or `Node/name`: the actor key, as everywhere in kube-remedy. */
export function objectKey(object: Pick<ObjectIdentity, 'kind' | 'namespace' | 'name'>): string {
  return kubernetesObjectKey(object.kind, object.namespace, object.name);
}

export type Governance =
  | { state: 'governed'; policy: PolicyRef }
  | { state: 'conflict'; policies: PolicyRef[] }
  | { state: 'ungoverned' };

/** An object's governing policy changed (`undefined`: none, because unselected or tied). */
export interface GovernanceChange {
  key: string;
  from: PolicyRef | undefined;
  to: PolicyRef | undefined;
}

export interface PolicyIndexOptions {
  /** kube-remedy's namespace: only its policies may select Nodes. */
  agentNamespace: string;
  /** Told of every change of an object's governing policy (the actor registry spawns and stops). */
  onChange?: (change: GovernanceChange) => void;
}

/** Counts for a policy's status. */
export interface PolicyTally {
  matched: { pods: number; deployments: number; nodes: number; total: number };
  /** Tracked objects this policy selects but shares, at equal specificity, with another policy. */
  conflictedObjects: number;
  /** The policies it ties with, and on how many objects. */
  conflictsWith: { policy: PolicyRef; objects: number }[];
}

interface Entry {
  policy: Policy;
  key: string;
  selector: CompiledSelector;
}

interface Tracked {
  kind: ObjectKind;
  scope: string;
  labels: Labels;
  governance: Governance;
}

interface Tally {
  Pod: number;
  Deployment: number;
  Node: number;
  conflicted: number;
  conflictsWith: Map<string, number>;
}

/** Nodes have no namespace; their scope is this (not a valid namespace name). */
const CLUSTER_SCOPE = '';
const NONE: Governance = { state: 'ungoverned' };
const EMPTY_LABELS: Labels = Object.freeze({});

export class PolicyIndex {
  readonly agentNamespace: string;
  private readonly onChange: ((change: GovernanceChange) => void) | undefined;
  private readonly entries = new Map<string, Entry>();
  /** Scope (namespace, or CLUSTER_SCOPE for node policies) → entries, most specific first. */
  private readonly buckets = new Map<string, Entry[]>();
  /** Policies held but governing nothing: they select Nodes outside the agent's namespace. */
  private readonly nodesNotAllowedHere = new Set<string>();
  private readonly objects = new Map<string, Tracked>();
  private readonly objectsByScope = new Map<string, Set<string>>();
  private readonly tallies = new Map<string, Tally>();

  constructor(options: PolicyIndexOptions) {
    this.agentNamespace = options.agentNamespace;
    this.onChange = options.onChange;
  }

  /** Adds a policy or replaces the one with the same namespace and name. */
  setPolicy(policy: Policy): void {
    const key = policyKey(policy.ref);
    const previous = this.entries.get(key);
    const entry: Entry = { policy, key, selector: compileSelector(policy.selector) };
    if (previous) this.unlink(previous);
    this.entries.set(key, entry);
    if (!this.tallies.has(key)) this.tallies.set(key, newTally());
    const scope = this.scopeOf(entry);
    if (scope === undefined) {
      this.nodesNotAllowedHere.add(key);
    } else {
      this.nodesNotAllowedHere.delete(key);
      insertByRank(this.bucket(scope), entry);
    }
    this.reevaluate([previous, entry]);
  }

  removePolicy(ref: PolicyRef): void {
    const key = policyKey(ref);
    const previous = this.entries.get(key);
    if (!previous) return;
    this.unlink(previous);
    this.entries.delete(key);
    this.nodesNotAllowedHere.delete(key);
    this.reevaluate([previous]);
    this.tallies.delete(key);
  }

  /** Starts tracking an object, or updates its labels. */
  setObject(object: ObjectIdentity): void {
    const key = objectKey(object);
    const labels = object.labels ?? EMPTY_LABELS;
    const tracked = this.objects.get(key);
    if (tracked && sameLabels(tracked.labels, labels)) return;
    const scope = object.kind === 'Node' ? CLUSTER_SCOPE : (object.namespace ?? '');
    const next: Tracked = tracked ?? { kind: object.kind, scope, labels, governance: NONE };
    next.labels = labels;
    if (!tracked) {
      this.objects.set(key, next);
      let keys = this.objectsByScope.get(scope);
      if (!keys) this.objectsByScope.set(scope, (keys = new Set()));
      keys.add(key);
    }
    const changes: GovernanceChange[] = [];
    this.assign(key, next, this.resolve(next.kind, scope, labels), changes);
    this.emit(changes);
  }

  /** Stops tracking an object (it was deleted). */
  removeObject(object: Pick<ObjectIdentity, 'kind' | 'namespace' | 'name'>): void {
    const key = objectKey(object);
    const tracked = this.objects.get(key);
    if (!tracked) return;
    const changes: GovernanceChange[] = [];
    this.assign(key, tracked, NONE, changes);
    this.objects.delete(key);
    const keys = this.objectsByScope.get(tracked.scope);
    keys?.delete(key);
    if (keys?.size === 0) this.objectsByScope.delete(tracked.scope);
    this.emit(changes);
  }

  /** Which policy governs this object, tracked or not (does not track it). */
  lookup(object: ObjectIdentity): Governance {
    const scope = object.kind === 'Node' ? CLUSTER_SCOPE : (object.namespace ?? '');
    return this.resolve(object.kind, scope, object.labels ?? EMPTY_LABELS);
  }

  /** The governance of a tracked object (ungoverned when not tracked). */
  governanceOf(key: string): Governance {
    return this.objects.get(key)?.governance ?? NONE;
  }

  policy(ref: PolicyRef): Policy | undefined {
    return this.entries.get(policyKey(ref))?.policy;
  }

  policies(): Policy[] {
    return [...this.entries.values()].map((entry) => entry.policy);
  }

  /** True when the policy selects Nodes but lives outside the agent's namespace, so it is ignored. */
  nodesNotAllowed(ref: PolicyRef): boolean {
    return this.nodesNotAllowedHere.has(policyKey(ref));
  }

  tally(ref: PolicyRef): PolicyTally {
    const tally = this.tallies.get(policyKey(ref)) ?? newTally();
    return {
      matched: {
        pods: tally.Pod,
        deployments: tally.Deployment,
        nodes: tally.Node,
        total: tally.Pod + tally.Deployment + tally.Node,
      },
      conflictedObjects: tally.conflicted,
      conflictsWith: [...tally.conflictsWith]
        .map(([key, objects]) => ({ policy: refOf(key), objects }))
        .sort((a, b) => policyKey(a.policy).localeCompare(policyKey(b.policy))),
    };
  }

  get objectCount(): number {
    return this.objects.size;
  }

  /** Scope whose objects a policy may govern, or undefined when it may govern none. */
  private scopeOf(entry: Entry): string | undefined {
    if (!entry.selector.kinds.has('Node')) return entry.policy.ref.namespace;
    // The schema keeps Node alone in kinds, so a node policy has no workload scope to fall back on.
    return entry.policy.ref.namespace === this.agentNamespace ? CLUSTER_SCOPE : undefined;
  }

  private bucket(scope: string): Entry[] {
    let bucket = this.buckets.get(scope);
    if (!bucket) this.buckets.set(scope, (bucket = []));
    return bucket;
  }

  private unlink(entry: Entry): void {
    for (const [scope, bucket] of this.buckets) {
      const at = bucket.indexOf(entry);
      if (at < 0) continue;
      bucket.splice(at, 1);
      if (bucket.length === 0) this.buckets.delete(scope);
    }
  }

  private resolve(kind: ObjectKind, scope: string, labels: Labels): Governance {
    const bucket = this.buckets.get(scope);
    if (!bucket) return NONE;
    let found: Entry | undefined;
    let tied: Entry[] | undefined;
    for (const entry of bucket) {
      // Sorted by rank: once something matched, a lower rank can neither win nor tie.
      if (found && entry.selector.rank < found.selector.rank) break;
      if (!entry.selector.kinds.has(kind) || !entry.selector.matches(labels)) continue;
      if (!found) found = entry;
      else (tied ??= [found]).push(entry);
    }
    if (tied) return { state: 'conflict', policies: tied.map((entry) => entry.policy.ref) };
    return found ? { state: 'governed', policy: found.policy.ref } : NONE;
  }

  /**
   * Re-resolves the tracked objects one of these versions of a policy could select: any other
   * object's candidates did not change, so neither did its governance.
   */
  private reevaluate(versions: (Entry | undefined)[]): void {
    const relevant = versions.filter((entry): entry is Entry => entry !== undefined);
    const changes: GovernanceChange[] = [];
    const scopes = new Set<string>();
    for (const entry of relevant) {
      // A policy that was refused (nodes outside the agent namespace) governed nothing and
      // will govern nothing; the objects of its namespace are unaffected.
      const scope = this.scopeOf(entry);
      if (scope !== undefined) scopes.add(scope);
    }
    for (const scope of scopes) {
      for (const key of this.objectsByScope.get(scope) ?? []) {
        const tracked = this.objects.get(key) as Tracked;
        const candidate = relevant.some(
          (entry) =>
            entry.selector.kinds.has(tracked.kind) && entry.selector.matches(tracked.labels),
        );
        if (!candidate) continue;
        this.assign(key, tracked, this.resolve(tracked.kind, scope, tracked.labels), changes);
      }
    }
    this.emit(changes);
  }

  private assign(
    key: string,
    tracked: Tracked,
    next: Governance,
    changes: GovernanceChange[],
  ): void {
    const previous = tracked.governance;
    if (sameGovernance(previous, next)) return;
    this.count(tracked.kind, previous, -1);
    this.count(tracked.kind, next, +1);
    tracked.governance = next;
    const from = governing(previous);
    const to = governing(next);
    if (
      from !== to &&
      (from === undefined || to === undefined || policyKey(from) !== policyKey(to))
    ) {
      changes.push({ key, from, to });
    }
  }

  private count(kind: ObjectKind, governance: Governance, delta: 1 | -1): void {
    if (governance.state === 'governed') {
      const tally = this.tallies.get(policyKey(governance.policy));
      if (tally) tally[kind] += delta;
      return;
    }
    if (governance.state !== 'conflict') return;
    const keys = governance.policies.map(policyKey);
    for (const key of keys) {
      const tally = this.tallies.get(key);
      if (!tally) continue;
      tally.conflicted += delta;
      for (const other of keys) {
        if (other === key) continue;
        const objects = (tally.conflictsWith.get(other) ?? 0) + delta;
        if (objects > 0) tally.conflictsWith.set(other, objects);
        else tally.conflictsWith.delete(other);
      }
    }
  }

  private emit(changes: GovernanceChange[]): void {
    if (!this.onChange) return;
    for (const change of changes) this.onChange(change);
  }
}

function newTally(): Tally {
  return { Pod: 0, Deployment: 0, Node: 0, conflicted: 0, conflictsWith: new Map() };
}

function refOf(key: string): PolicyRef {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function insertByRank(bucket: Entry[], entry: Entry): void {
  // Stable within a rank (by key), so lookups and conflict lists are deterministic.
  let at = bucket.findIndex(
    (other) =>
      other.selector.rank < entry.selector.rank ||
      (other.selector.rank === entry.selector.rank && other.key > entry.key),
  );
  if (at < 0) at = bucket.length;
  bucket.splice(at, 0, entry);
}

function governing(governance: Governance): PolicyRef | undefined {
  return governance.state === 'governed' ? governance.policy : undefined;
}

function sameGovernance(a: Governance, b: Governance): boolean {
  if (a.state !== b.state) return false;
  if (a.state === 'governed' && b.state === 'governed') {
    return policyKey(a.policy) === policyKey(b.policy);
  }
  if (a.state === 'conflict' && b.state === 'conflict') {
    return (
      a.policies.length === b.policies.length &&
      a.policies.every((ref, i) => policyKey(ref) === policyKey(b.policies[i] as PolicyRef))
    );
  }
  return true;
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
