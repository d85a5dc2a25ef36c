/**
 * The actor host: one XState actor per watched object (`Kind/namespace/name` is its systemId),
 * fed one event at a time, every transition persisted before its effects leave.
 *
 * The machines only name their effects. The host provides `enqueueEffect` and `recordEvent`
 * once per kind; both just collect into the actor's entry. After any transition (an event sent
 * here or a timer firing inside the actor), the entry is flushed in order: persist the snapshot,
 * then hand the effects to the sink (which enqueues jobs with deterministic ids), then record
 * the Kubernetes Events. A flush that cannot persist keeps its effects and tries again, so Redis
 * going away delays effects but never loses or reorders them.
 *
 * Memory: a process may hold 100k idle actors, so what the host keeps per actor is kept small
 * (bench/host-memory.bench.ts measures it). The entry is its own observer (no closures per
 * actor), its queues exist only while it has something queued, an idle entry points at one shared
 * settled promise, equal policy refs and equal restored policies are one object each, and the
 * options an actor was created from (its input, the snapshot it was restored from) are let go
 * once it has started. All of a host's actors live in one actor system, under one root actor:
 * an actor system per actor (what a root actor gets) costs ~1.6 kB each, a third of an idle
 * actor. The root stops them (`stopChild`), since a child cannot be stopped directly.
 */
import { persistedSnapshot } from './persisted.ts';
import type {
  Actor,
  AnyActorRef,
  AnyStateMachine,
  InspectionEvent,
  Observer,
  Snapshot,
} from 'xstate';
import { createActor, setup, stopChild } from 'xstate';
import {
  MACHINE_VERSION,
  MACHINES,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
  type RecordedEvent,
  type RemediationContext,
  type RuntimeFacts,
  type TellingClock,
} from '../machines/index.ts';
import type { WorkloadClaimRequest } from '../machines/workload.ts';
import type { ObjectKind } from '../policy/vocabulary.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import type { ActorSnapshotStore } from './snapshot-store.ts';

/** Where the effects of one actor go: a BullMQ queue in production, memory in `simulate`. */
export interface EffectSink {
  /** `context` is the asking actor's context now (its incident, detections, history). */
  enqueue: (request: EffectRequest, actor: ActorInfo, context: RemediationContext) => Promise<void>;
}

/** Where decisions are recorded as Kubernetes Events (best effort). */
export interface EventSink {
  record: (actor: ActorInfo, event: RecordedEvent) => Promise<void>;
}

export interface ActorInfo {
  key: string;
  kind: ObjectKind;
  /** `namespace/name` of the governing policy. */
  policyRef: string;
}

export interface ActorHostOptions {
  clock: TellingClock;
  store: ActorSnapshotStore;
  effects: EffectSink;
  events?: EventSink;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** Sends every actor's inspection events (for `--inspect`); filtered by the caller. */
  inspect?: (key: string) => Observer<InspectionEvent> | undefined;
  /** Told after every transition of any actor (node inhibition of pods is derived from it). */
  onTransition?: (key: string, snapshot: { value: unknown; context: RemediationContext }) => void;
  /**
   * Answers pod actors' claims on their workload's incident (`claimWorkload`), after the
   * transition that asked is persisted; the answer comes back as a WORKLOAD event. Without it,
   * no actor may be given the `workloadMemory` fact.
   */
  workloads?: { claim: (request: WorkloadClaimRequest) => void };
  /** First retry delay of a flush that could not persist. Default: 200 ms. */
  retryMs?: number;
  /**
   * The current compiled policy of a ref (`namespace/name`). Given, snapshots are stored with
   * their policy by reference (`{ name }`: half the bytes of a healthy pod's snapshot, written on
   * every transition and kept once per actor in Redis) and restored with the policy as it is now.
   * Without it the whole policy is stored, and snapshots of either form are restored.
   */
  policyOf?: (policyRef: string) => MachinePolicy | undefined;
}

/** A stored snapshot names a policy it does not hold, and none by that name is known now. */
export class UnknownPolicyError extends Error {
  constructor(key: string, policyRef: string) {
    super(
      `the snapshot of ${key} is governed by policy ${policyRef || '(none)'}, which is not known now`,
    );
    this.name = 'UnknownPolicyError';
  }
}

/** A stored policy by reference: only its name, nothing a machine could run with. */
function isPolicyReference(policy: unknown): boolean {
  return typeof policy === 'object' && policy !== null && !('detections' in policy);
}

type MachineActor = Actor<AnyStateMachine>;
type MachineSnapshot = { value: unknown; context: RemediationContext };

/** What an entry tells its host; one object per host, shared by every entry. */
interface EntryHooks {
  transitioned: (entry: Entry, snapshot: MachineSnapshot) => void;
  failed: (entry: Entry, error: unknown) => void;
}

/**
 * The parent of every actor of a host. Its only job is to stop them. A failing actor reports its
 * error to its parent, and a machine that does not handle an actor's error fails with it: the
 * root takes those errors (each entry observes and logs its own actor's), so one failing actor
 * never stops the host from stopping or replacing the others.
 */
const hostRoot = setup({
  types: {
    events: {} as
      | { type: 'host.stop'; actor: AnyActorRef }
      | { type: `xstate.error.actor.${string}`; error: unknown },
  },
}).createMachine({
  id: 'kube-remedy.host',
  on: {
    'host.stop': { actions: stopChild(({ event }) => event.actor) },
    'xstate.error.actor.*': {},
  },
});

/** A settled promise every idle entry points at, instead of one promise each. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * One actor and what waits to leave it. The entry is the observer the actor is subscribed with,
 * so it needs no closures of its own.
 */
class Entry implements ActorInfo {
  readonly key: string;
  readonly kind: ObjectKind;
  policyRef: string;
  readonly actor: MachineActor;
  /** Effects and records waiting for the next flush; undefined while there are none. */
  effects: EffectRequest[] | undefined = undefined;
  records: RecordedEvent[] | undefined = undefined;
  claims: WorkloadClaimRequest[] | undefined = undefined;
  dirty = false;
  flushing: Promise<void> = SETTLED;
  scheduled = false;
  state: string;
  stopped = false;
  private readonly hooks: EntryHooks;

  constructor(
    key: string,
    kind: ObjectKind,
    policyRef: string,
    actor: MachineActor,
    hooks: EntryHooks,
  ) {
    this.key = key;
    this.kind = kind;
    this.policyRef = policyRef;
    this.actor = actor;
    this.hooks = hooks;
    this.state = stateName(actor.getSnapshot() as MachineSnapshot);
  }

  /** The actor's observer: a new snapshot. */
  next(snapshot: MachineSnapshot): void {
    this.hooks.transitioned(this, snapshot);
  }

  /** The actor's observer: the actor failed. */
  error(error: unknown): void {
    this.hooks.failed(this, error);
  }
}

/**
 * xstate keeps the options an actor was created with for the actor's whole life, though it reads
 * `input` and `snapshot` only while creating and starting it. For a restored actor that is the
 * whole parsed snapshot (context, observation, policy copy) beside the live one, so both are let
 * go once the actor has started.
 */
function releaseCreationOptions(actor: MachineActor): void {
  const options = actor.options as { input?: unknown; snapshot?: unknown };
  if (options.input !== undefined) options.input = undefined;
  if (options.snapshot !== undefined) options.snapshot = undefined;
}

export function machineTag(kind: ObjectKind): string {
  return `${MACHINES[kind].id}@${MACHINE_VERSION}`;
}

export const MACHINE_TAGS: ReadonlySet<string> = new Set(
  (Object.keys(MACHINES) as ObjectKind[]).map((kind) => machineTag(kind)),
);

function kindOf(key: string): ObjectKind {
  const kind = key.split('/')[0];
  if (kind === 'Pod' || kind === 'Node' || kind === 'Deployment') return kind;
  throw new Error(`actor key "${key}" names no machine`);
}

function stateName(snapshot: { value: unknown }): string {
  const value = snapshot.value;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export class ActorHost {
  private readonly entries = new Map<string, Entry>();
  private readonly provided: Record<ObjectKind, AnyStateMachine>;
  private readonly options: ActorHostOptions;
  private readonly log: Logger;
  private readonly hooks: EntryHooks;
  /** One string per policy ref, however many actors it governs. */
  private readonly refs = new Map<string, string>();
  /** One object per distinct policy found in restored snapshots, keyed by its JSON. */
  private readonly restoredPolicies = new Map<string, MachinePolicy>();
  /** The parent of every actor here: one actor system (scheduler, systemId registry) for all. */
  private readonly root: Actor<typeof hostRoot>;

  constructor(options: ActorHostOptions) {
    this.options = options;
    this.log = options.logger;
    this.root = createActor(hostRoot, { clock: options.clock });
    const { inspect } = options;
    if (inspect) {
      // The system's inspection events, handed to the observer the caller chose for the actor's
      // key (none for the root, none for keys the caller's filter leaves out).
      this.root.system.inspect((event) => {
        const key = (event.actorRef as { systemId?: string }).systemId;
        if (key !== undefined) inspect(key)?.next?.(event);
      });
    }
    this.root.start();
    this.hooks = {
      transitioned: (entry, snapshot) => this.transitioned(entry, snapshot),
      failed: (entry, error) => this.log.error({ err: error, object: entry.key }, 'actor failed'),
    };
    const implementations = {
      actions: {
        enqueueEffect: (_: unknown, params: EffectRequest) => this.collectEffect(params),
        recordEvent: ({ context }: { context: RemediationContext }, params: RecordedEvent) =>
          this.collectRecord(context.actorKey, params),
        claimWorkload: (_: unknown, params: WorkloadClaimRequest) => this.collectClaim(params),
      },
    };
    this.provided = {
      Pod: MACHINES.Pod.provide(implementations),
      Node: MACHINES.Node.provide(implementations),
      Deployment: MACHINES.Deployment.provide(implementations),
    };
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** The actor's current snapshot, for status answers and tests. */
  snapshot(key: string): { value: unknown; context: RemediationContext } | undefined {
    return this.entries.get(key)?.actor.getSnapshot() as MachineSnapshot | undefined;
  }

  /** Creates the actor for `key` unless it exists; returns whether it was created. */
  spawn(
    key: string,
    policy: MachinePolicy,
    policyRef: string,
    facts?: Partial<RuntimeFacts>,
  ): boolean {
    if (this.entries.has(key)) return false;
    const kind = kindOf(key);
    const actor = createActor(this.provided[kind], {
      parent: this.root,
      systemId: key,
      clock: this.options.clock,
      input: { actorKey: key, policy, at: this.options.clock.now(), ...(facts ? { facts } : {}) },
    });
    this.attach(key, kind, policyRef, actor);
    actor.start();
    releaseCreationOptions(actor);
    return true;
  }

  /**
   * Restores an actor from its stored snapshot and re-arms its deadlines (the machines' RESUME,
   * see restoreActor in src/machines); a deadline that passed while the process was down fires
   * now. The entry is attached before the actor starts, so effects of that firing are kept.
   */
  restore(
    key: string,
    snapshot: unknown,
    policy: MachinePolicy | undefined,
    policyRef: string,
  ): void {
    if (this.entries.has(key)) return;
    const kind = kindOf(key);
    const stored = snapshot as { context?: { policy?: unknown } } | null | undefined;
    let source = snapshot;
    if (isPolicyReference(stored?.context?.policy)) {
      const current = policy ?? this.options.policyOf?.(policyRef);
      if (current === undefined) throw new UnknownPolicyError(key, policyRef);
      source = { ...stored, context: { ...stored?.context, policy: current } };
    } else if (policy === undefined) {
      source = this.withSharedPolicy(snapshot);
    }
    const actor = createActor(this.provided[kind], {
      parent: this.root,
      snapshot: source as Snapshot<unknown>,
      clock: this.options.clock,
      systemId: key,
    });
    const entry = this.attach(key, kind, policyRef, actor);
    actor.start();
    releaseCreationOptions(actor);
    const at = this.options.clock.now();
    if (policy) actor.send({ type: 'POLICY', at, policy });
    actor.send({ type: 'RESUME', at });
    entry.dirty = true;
    this.schedule(entry);
  }

  /**
   * Sends one event; resolves once its transition is persisted and its effects handed on.
   * `onDecided` is called as soon as the actor has taken the transition (the machine decided),
   * before anything is persisted: the two latencies are measured apart.
   */
  async send(key: string, event: MachineEvent, onDecided?: () => void): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.stopped) return;
    entry.actor.send(event);
    onDecided?.();
    await this.flushSoon(entry);
  }

  /** Changes the governing policy of a live actor. */
  async setPolicy(key: string, policy: MachinePolicy, policyRef: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.policyRef = this.ref(policyRef);
    await this.send(key, { type: 'POLICY', at: this.options.clock.now(), policy });
  }

  /**
   * Stops an actor. `forget` (the object was deleted, or no policy selects it) also removes its
   * snapshot; otherwise the snapshot stays for the next start (shutdown).
   */
  async stop(key: string, options: { forget: boolean }): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.stopped = true;
    this.entries.delete(key);
    await entry.flushing.catch(() => undefined);
    this.root.send({ type: 'host.stop', actor: entry.actor });
    this.options.metrics?.actors.dec({ machine: entry.kind, state: entry.state });
    if (options.forget) await this.options.store.remove(key);
  }

  /** Waits until these actors' transitions so far are persisted and their effects handed on. */
  async settled(keys: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined) waits.push(this.flushSoon(entry));
    }
    await Promise.all(waits);
  }

  /** Waits for every pending flush (shutdown, tests). */
  async flushAll(): Promise<void> {
    await this.settled([...this.entries.keys()]);
    await this.options.store.flush();
  }

  async stopAll(): Promise<void> {
    await this.flushAll();
    // Stopping an actor scans the timers of the whole actor system (xstate's cancelAll), so the
    // actors that may hold timers (not healthy) stop first: then each scan is over what is left
    // of them, and the healthy majority scans an empty list. The root stays running (it holds
    // nothing), so the host can take actors again.
    const entries = [...this.entries.values()];
    const ordered = [
      ...entries.filter((entry) => entry.state !== 'healthy'),
      ...entries.filter((entry) => entry.state === 'healthy'),
    ];
    for (const entry of ordered) await this.stop(entry.key, { forget: false });
  }

  private attach(key: string, kind: ObjectKind, policyRef: string, actor: MachineActor): Entry {
    const entry = new Entry(key, kind, this.ref(policyRef), actor, this.hooks);
    this.entries.set(key, entry);
    this.options.metrics?.actors.inc({ machine: kind, state: entry.state });
    actor.subscribe(entry);
    return entry;
  }

  /** After every transition of an entry's actor (an event sent here or a timer firing). */
  private transitioned(entry: Entry, snapshot: MachineSnapshot): void {
    const state = stateName(snapshot);
    if (state !== entry.state) {
      const machine = entry.kind;
      this.options.metrics?.transitions.inc({ machine, from: entry.state, to: state });
      this.options.metrics?.actors.dec({ machine, state: entry.state });
      this.options.metrics?.actors.inc({ machine, state });
      entry.state = state;
    }
    entry.dirty = true;
    this.schedule(entry);
    this.options.onTransition?.(entry.key, snapshot);
  }

  private ref(policyRef: string): string {
    const known = this.refs.get(policyRef);
    if (known !== undefined) return known;
    this.refs.set(policyRef, policyRef);
    return policyRef;
  }

  /** What is stored of a persisted snapshot: with its policy by reference when it can be. */
  private storable(persisted: unknown): unknown {
    if (this.options.policyOf === undefined) return persisted;
    const snapshot = persisted as { context: { policy: { name: string } } };
    return {
      ...snapshot,
      context: { ...snapshot.context, policy: { name: snapshot.context.policy.name } },
    };
  }

  /**
   * The snapshot with its policy replaced by an equal one already held, so actors restored under
   * the same policy share one object instead of a parsed copy each. Equal means the same JSON:
   * the machines only read the policy, so an equal object behaves the same.
   */
  private withSharedPolicy(snapshot: unknown): unknown {
    const stored = snapshot as { context?: { policy?: unknown } } | null | undefined;
    const policy = stored?.context?.policy;
    if (policy === null || typeof policy !== 'object') return snapshot;
    const json = JSON.stringify(policy);
    const shared = this.restoredPolicies.get(json);
    if (shared === undefined) {
      this.restoredPolicies.set(json, policy as MachinePolicy);
      return snapshot;
    }
    return { ...stored, context: { ...stored?.context, policy: shared } };
  }

  private collectEffect(request: EffectRequest): void {
    const entry = this.entries.get(request.actorKey);
    if (entry === undefined) {
      this.log.error(
        { object: request.actorKey, step: request.step },
        'effect from an unknown actor dropped',
      );
      return;
    }
    (entry.effects ??= []).push(request);
    this.schedule(entry);
  }

  private collectRecord(key: string, record: RecordedEvent): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    (entry.records ??= []).push(record);
    this.schedule(entry);
  }

  private collectClaim(request: WorkloadClaimRequest): void {
    const entry = this.entries.get(request.actorKey);
    if (entry === undefined) return;
    (entry.claims ??= []).push(request);
    this.schedule(entry);
  }

  private schedule(entry: Entry): void {
    if (entry.scheduled) return;
    entry.scheduled = true;
    // A microtask: everything one transition asked for is collected before the flush starts.
    queueMicrotask(() => {
      entry.scheduled = false;
      const flushing = entry.flushing.then(() => this.flush(entry));
      entry.flushing = flushing;
      // Once done, and nothing else was chained, the entry holds the shared settled promise again.
      // (A rejected flush is kept as it is, for whoever awaits it.)
      flushing.then(
        () => {
          if (entry.flushing === flushing) entry.flushing = SETTLED;
        },
        () => undefined,
      );
    });
  }

  private flushSoon(entry: Entry): Promise<void> {
    return new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => entry.flushing);
  }

  private async flush(entry: Entry): Promise<void> {
    let delay = this.options.retryMs ?? 200;
    while (
      entry.dirty ||
      (entry.effects?.length ?? 0) > 0 ||
      (entry.records?.length ?? 0) > 0 ||
      (entry.claims?.length ?? 0) > 0
    ) {
      try {
        // Effects collected so far belong to transitions this save covers; later ones wait for
        // the next save, so no effect ever leaves before the state that asked for it is stored.
        let covered = entry.effects?.length ?? 0;
        if (entry.dirty) {
          entry.dirty = false;
          covered = entry.effects?.length ?? 0;
          try {
            await this.options.store.save(
              entry.key,
              machineTag(entry.kind),
              this.storable(persistedSnapshot(entry.actor)),
              this.options.clock.now(),
            );
          } catch (error) {
            entry.dirty = true;
            throw error;
          }
          this.options.metrics?.snapshotWrites.inc();
        }
        for (; covered > 0; covered -= 1) {
          const effects = entry.effects as EffectRequest[];
          await this.options.effects.enqueue(
            effects[0] as EffectRequest,
            entry,
            (entry.actor.getSnapshot() as MachineSnapshot).context,
          );
          effects.shift();
          if (effects.length === 0 && entry.effects === effects) entry.effects = undefined;
        }
        // Claims leave once the state that asked is stored; the answer is an event of its own.
        const claims = entry.claims ?? [];
        entry.claims = undefined;
        for (const claim of claims) {
          if (this.options.workloads === undefined) {
            this.log.error({ object: entry.key }, 'claim on a workload with no workload memory');
          } else this.options.workloads.claim(claim);
        }
        const records = entry.records ?? [];
        entry.records = undefined;
        for (const record of records) {
          void this.options.events?.record(entry, record).catch(() => undefined);
        }
        delay = this.options.retryMs ?? 200;
      } catch (error) {
        if (entry.stopped) return;
        this.log.warn(
          { err: error, object: entry.key, retryInMs: delay },
          'could not persist or enqueue; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}
