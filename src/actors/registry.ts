/**
 * The actor registry: the pipeline from watch events to actors. For every object it keeps the
 * policy index informed, spawns an actor when a policy governs the object and stops it (and
 * forgets its snapshot) when the object is deleted or no policy governs it any more. Each
 * observation is normalised; an unchanged one is dropped; a changed one goes to the actor whole,
 * with what the analyzers found in it. When what the analyzers read beside an object changes (the
 * pods of a Deployment's newest ReplicaSet), `reanalyze` sends its last observation again with
 * what they find now.
 */
import { analyze, type AnalyzerFacts, type Detection } from '../analyzers/index.ts';
import type { MachineEvent, MachinePolicy, RuntimeFacts } from '../machines/index.ts';
import {
  observe,
  sameObservation,
  type Observation,
  type ObservableObject,
} from '../observe/index.ts';
import { objectKey, type Policy, type PolicyIndex, type PolicyRef } from '../policy/index.ts';
import type { DetectionType, ObjectKind } from '../policy/vocabulary.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import type { ActorHost } from './host.ts';
import { toMachinePolicy } from './machine-policy.ts';

export interface RegistryOptions {
  host: ActorHost;
  index: PolicyIndex;
  now: () => number;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** Facts sent with every observation of an object (inhibition, HPA…). */
  factsFor?: (key: string, observation: Observation) => Partial<RuntimeFacts> | undefined;
  /**
   * Called once an actor is created for an object, before its first observation: an event to send
   * it first (a replacement pod taking over its workload's verification), if any.
   */
  onSpawn?: (key: string, object: ObservableObject) => Promise<MachineEvent | undefined>;
  /** Extra input for the analyzers (a Deployment's newest ReplicaSet pods). */
  analyzerFactsFor?: (key: string, observation: Observation) => AnalyzerFacts | undefined;
  /** The symptoms this role's actors act on (symptom-owners.ts); every one when not given. */
  actsOn?: (type: DetectionType) => boolean;
  /**
   * What this role's actors see of what the analyzers found (symptom-owners.ts): the detections,
   * or null when the observation is not theirs to judge (it is not delivered; the actor keeps
   * what it saw before). All of it when not given.
   */
  sees?: (detections: Detection[]) => Detection[] | null;
}

const refString = (ref: PolicyRef): string => `${ref.namespace}/${ref.name}`;

function sameDetections(a: readonly Detection[], b: readonly Detection[]): boolean {
  return (
    a.length === b.length && a.every((d, i) => d.type === b[i]?.type && d.reason === b[i]?.reason)
  );
}

/** A policy ref from its `namespace/name` string (the form actors and jobs carry). */
export function parsePolicyRef(ref: string): PolicyRef | undefined {
  const slash = ref.indexOf('/');
  return slash < 0 ? undefined : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

/**
 * What a compiled policy depends on: its spec (the generation) and its pause annotation, which
 * changes no generation.
 */
function versionOf(policy: Policy): string {
  return `${policy.generation}/${policy.paused ?? '-'}`;
}

export class ActorRegistry {
  private readonly options: RegistryOptions;
  private readonly last = new Map<string, Observation>();
  /** Compiled policies by ref, with the version they were compiled from (`versionOf`). */
  private readonly compiled = new Map<string, { version: string; policy: MachinePolicy }>();
  /** Work queued per key, so one object's events reach its actor one at a time and in order. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(options: RegistryOptions) {
    this.options = options;
  }

  /** The index's change listener: call from `new PolicyIndex({ onChange })`. */
  governanceChanged = (change: {
    key: string;
    from: PolicyRef | undefined;
    to: PolicyRef | undefined;
  }): void => {
    void this.enqueue(change.key, async () => {
      if (change.to === undefined) {
        // A pod deleted and made again under its name (a StatefulSet's) is governed again by
        // the time this runs: its new actor stays.
        if (this.options.index.governanceOf(change.key).state === 'governed') return;
        this.last.delete(change.key);
        if (this.options.host.has(change.key)) {
          this.options.logger.info(
            { object: change.key, from: change.from && refString(change.from) },
            'no policy governs the object any more; actor stopped',
          );
          await this.options.host.stop(change.key, { forget: true });
        }
        return;
      }
      const compiled = this.machinePolicy(change.to);
      if (compiled === undefined) return;
      if (this.options.host.has(change.key)) {
        await this.options.host.setPolicy(change.key, compiled, refString(change.to));
      }
      // Spawning waits for the first observation: an actor without one has nothing to decide.
    });
  };

  /** A policy was added or changed: live actors under it get the new version. */
  policyChanged(policy: Policy): void {
    const ref = refString(policy.ref);
    const before = this.compiled.get(ref);
    if (before !== undefined && before.version === versionOf(policy)) return;
    this.compiled.delete(ref);
    const compiled = this.machinePolicy(policy.ref);
    if (compiled === undefined) return;
    for (const key of this.options.host.keys()) {
      const governance = this.options.index.governanceOf(key);
      if (governance.state === 'governed' && refString(governance.policy) === ref) {
        void this.enqueue(key, () => this.options.host.setPolicy(key, compiled, ref));
      }
    }
  }

  upsert(object: ObservableObject, receivedAt: number = this.options.now()): Promise<void> {
    const kind = object.kind;
    const namespace = object.metadata?.namespace ?? undefined;
    const name = object.metadata?.name ?? '';
    const key = objectKey({ kind, namespace, name });
    const identity = {
      kind,
      name,
      labels: object.metadata?.labels ?? {},
      ...(namespace ? { namespace } : {}),
    };
    return this.enqueue(key, async () => {
      this.options.index.setObject(identity);
      const governance = this.options.index.governanceOf(key);
      if (governance.state !== 'governed') {
        this.options.logger.debug(
          { object: key, governance: governance.state },
          'not governed by any policy; ignored',
        );
        return;
      }
      const observation = observe(object);
      if (sameObservation(this.last.get(key) ?? null, observation) && this.options.host.has(key))
        return;
      this.last.set(key, observation);
      const ref = refString(governance.policy);
      const facts = this.options.factsFor?.(key, observation);
      if (!this.options.host.has(key)) {
        const compiled = this.machinePolicy(governance.policy);
        if (compiled === undefined) return;
        // Nothing of the policy is this role's to act on (a node's readiness in the agent, its
        // pressure in the controller): no actor here.
        if (Object.keys(compiled.detections).length === 0) {
          this.last.delete(key);
          return;
        }
        this.options.host.spawn(key, compiled, ref, facts);
        const first = await this.options.onSpawn?.(key, object).catch((error: unknown) => {
          this.options.logger.warn({ err: error, object: key }, 'could not prepare the new actor');
          return undefined;
        });
        if (first !== undefined) await this.options.host.send(key, first);
      }
      const detections = this.analysis(key, observation);
      if (detections === null) return;
      await this.observed(key, observation, detections, facts, receivedAt);
    });
  }

  /**
   * Analyzes an object's last observation again, because what the analyzers read beside it
   * changed (the pods of a Deployment's newest ReplicaSet). The actor gets the whole observation
   * with what is found now, as from a watch event; nothing when it already has those detections.
   */
  reanalyze(key: string, receivedAt: number = this.options.now()): Promise<void> {
    return this.enqueue(key, async () => {
      const observation = this.last.get(key);
      const current = this.options.host.snapshot(key);
      if (observation === undefined || current === undefined) return;
      const detections = this.analysis(key, observation);
      if (detections === null || sameDetections(current.context.detections, detections)) return;
      const facts = this.options.factsFor?.(key, observation);
      await this.observed(key, observation, detections, facts, receivedAt);
    });
  }

  private analysis(key: string, observation: Observation): Detection[] | null {
    const found = analyze(observation, this.options.analyzerFactsFor?.(key, observation) ?? {});
    return this.options.sees?.(found) ?? found;
  }

  private async observed(
    key: string,
    observation: Observation,
    detections: Detection[],
    facts: Partial<RuntimeFacts> | undefined,
    receivedAt: number,
  ): Promise<void> {
    const machine = observation.kind;
    const metrics = this.options.metrics;
    await this.options.host.send(
      key,
      {
        type: 'OBSERVED',
        at: this.options.now(),
        observation,
        detections,
        ...(facts ? { facts } : {}),
      },
      metrics &&
        (() =>
          metrics.eventToDecision.observe({ machine }, (this.options.now() - receivedAt) / 1000)),
    );
    metrics?.eventToPersisted.observe({ machine }, (this.options.now() - receivedAt) / 1000);
  }

  delete(object: ObservableObject): Promise<void> {
    const kind = object.kind;
    const namespace = object.metadata?.namespace ?? undefined;
    const name = object.metadata?.name ?? '';
    const key = objectKey({ kind, namespace, name });
    return this.enqueue(key, async () => {
      this.options.index.removeObject({ kind, name, ...(namespace ? { namespace } : {}) });
      this.last.delete(key);
      await this.options.host.stop(key, { forget: true });
    });
  }

  /** Delivers an event from a control stream (effect result, a person's command) in order. */
  deliver(key: string, event: MachineEvent): Promise<void> {
    return this.enqueue(key, () => this.options.host.send(key, event));
  }

  /** Sends facts to a live actor (inhibition from its node, an HPA appearing). */
  facts(key: string, facts: Partial<RuntimeFacts>): Promise<void> {
    return this.enqueue(key, () =>
      this.options.host.send(key, { type: 'FACTS', at: this.options.now(), facts }),
    );
  }

  /** Stops actors restored from snapshots whose objects are gone (deleted while we were down). */
  async forgetMissing(
    present: ReadonlySet<string>,
    kinds: ReadonlySet<ObjectKind>,
  ): Promise<string[]> {
    const gone = [...this.options.host.keys()].filter(
      (key) => kinds.has(key.split('/')[0] as ObjectKind) && !present.has(key),
    );
    for (const key of gone)
      await this.enqueue(key, () => this.options.host.stop(key, { forget: true }));
    return gone;
  }

  /** Waits for everything queued so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /** The compiled policy of a ref (`namespace/name`) as it is now, for restoring actors. */
  machinePolicyOf(ref: string): MachinePolicy | undefined {
    const parsed = parsePolicyRef(ref);
    return parsed === undefined ? undefined : this.machinePolicy(parsed);
  }

  private machinePolicy(ref: PolicyRef): MachinePolicy | undefined {
    const policy = this.options.index.policy(ref);
    if (policy === undefined) return undefined;
    const key = refString(ref);
    const cached = this.compiled.get(key);
    if (cached !== undefined && cached.version === versionOf(policy)) return cached.policy;
    try {
      const compiled = toMachinePolicy(policy, this.options.actsOn);
      this.compiled.set(key, { version: versionOf(policy), policy: compiled });
      return compiled;
    } catch (error) {
      this.options.logger.error(
        { err: error, policy: key },
        'policy cannot drive the machines; its objects are left alone',
      );
      return undefined;
    }
  }

  private enqueue(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      this.options.logger.error({ err: error, object: key }, 'handling an event failed');
    });
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }
}
