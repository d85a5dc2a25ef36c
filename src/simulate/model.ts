/**
 * A scenario as the simulation runs it: times in ms since the epoch, policies parsed, every step
 * one typed change, each remembering where in which file it was written. load.ts builds it from a
 * scenario file, replay.ts from a recording.
 */
import type { Policy } from '../policy/index.ts';

/** A Kubernetes object as plain JSON. */
export interface KubeManifest {
  apiVersion?: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string | undefined;
  message?: string | undefined;
}

/** What one step changes, or which person acts. */
export type Change =
  | {
      type: 'crashLoop';
      container?: string | undefined;
      restarts: number;
      message?: string | undefined;
    }
  | { type: 'oomKilled'; container?: string | undefined; restarts: number }
  | {
      type: 'imagePullBackOff';
      container?: string | undefined;
      image?: string | undefined;
      message?: string | undefined;
    }
  | { type: 'healthy' }
  | { type: 'condition'; condition: Condition }
  | { type: 'rolloutFailed'; message?: string | undefined }
  | { type: 'status'; status: Record<string, unknown> }
  | { type: 'patch'; patch: Record<string, unknown> }
  /** A new object, or (in a replay) a whole new version of one. */
  | { type: 'create'; object: KubeManifest }
  | { type: 'delete' }
  | { type: 'policy'; policy: Policy }
  | { type: 'removePolicy'; namespace: string; name: string }
  | { type: 'approve' | 'ack' | 'merge' | 'close'; by: string }
  | { type: 'reject' | 'escalate' | 'trigger'; by: string; reason?: string | undefined }
  | { type: 'snooze'; by: string; durationMs: number };

export interface Step {
  /** ms since the epoch. */
  at: number;
  /** The object's key; null for steps that name their object themselves (create, policy). */
  object: string | null;
  change: Change;
  /** `file:line`, for messages about the step. */
  source: string;
}

export interface ThenStep {
  afterMs: number;
  /** null: the effect's target. */
  object: string | null;
  change: Change;
  source: string;
}

export interface EffectRule {
  object?: string | undefined;
  kind?: string | undefined;
  nth?: number | undefined;
  result: 'done' | 'failed' | 'none';
  error?: string | undefined;
  outcome?: string | undefined;
  afterMs?: number | undefined;
  applies: boolean;
  then: ThenStep[];
  source: string;
}

export interface MetricSeries {
  object: string;
  signal: string;
  /** ms since the epoch, ascending; each value holds until the next (null: no data). */
  values: { at: number; value: number | null }[];
}

export interface Person {
  handle: string;
  slackId: string;
  email?: string | undefined;
  groups: string[];
}

export interface Scenario {
  name: string;
  description: string;
  /** The file it came from. */
  source: string;
  /** Why it cannot be played on a real cluster; null when it can. */
  offCluster: string | null;
  /** ms since the epoch. */
  start: number;
  end: number;
  /** kube-remedy's namespace: only its policies may govern Nodes. */
  namespace: string;
  effectDelayMs: number;
  scalerIntervalMs: number;
  policies: Policy[];
  objects: KubeManifest[];
  people: Map<string, Person>;
  /** In order of time (stable for equal times). */
  steps: Step[];
  metrics: MetricSeries[];
  effects: EffectRule[];
  /**
   * A replay of recorded history: the recording already holds what the actions did to the
   * objects, so effects report back but change nothing.
   */
  replay: boolean;
}

/** The policies of a scenario with others replacing those of the same name and added after. */
export function withPolicies(scenario: Scenario, extra: readonly Policy[]): Scenario {
  if (extra.length === 0) return scenario;
  const key = (p: { ref: { namespace: string; name: string } }) =>
    `${p.ref.namespace}/${p.ref.name}`;
  const replacing = new Map(extra.map((p) => [key(p), p]));
  const kept = scenario.policies.map((p) => replacing.get(key(p)) ?? p);
  const keptKeys = new Set(kept.map(key));
  const added = extra.filter((p) => !keptKeys.has(key(p)));
  // A policy given on the command line also replaces the versions a recording applies later.
  const steps = scenario.steps.filter(
    (step) =>
      !(
        (step.change.type === 'policy' && replacing.has(key(step.change.policy))) ||
        (step.change.type === 'removePolicy' &&
          replacing.has(`${step.change.namespace}/${step.change.name}`))
      ),
  );
  return { ...scenario, policies: [...kept, ...added], steps };
}
