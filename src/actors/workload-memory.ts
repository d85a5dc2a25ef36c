/**
 * The runtime side of workload memory (docs/adr/0014, part 4; the rules are src/workloads/rules.ts):
 * answers pod actors' claims, writes what each leading pod actor says after its transitions,
 * lets go of an incident whose pod is going away, hands a verification to the pod that replaces
 * it, and tells pods waiting on their workload when it is free. The agent runs it on Redis,
 * `simulate` on a map; what it decides is the rules'.
 */
import type { MachineEvent, RemediationContext, RuntimeFacts } from '../machines/index.ts';
import {
  workloadReport,
  type WorkloadClaimRequest,
  type WorkloadFact,
} from '../machines/workload.ts';
import type { DetectionType } from '../policy/vocabulary.ts';
import type { Logger } from '../telemetry/index.ts';
import {
  adopt,
  claim,
  EMPTY_MEMORY,
  release,
  report,
  type WorkloadMemory,
  type WorkloadReport,
} from '../workloads/rules.ts';
import type { MemoryChange, WorkloadStore } from '../workloads/store.ts';

export interface WorkloadKeeperOptions {
  store: WorkloadStore;
  /**
   * Whose control stream reaches the actors of this process (`agent-<node>`): kept with the
   * incident its pod holds, so a person's command for it finds the holder wherever it runs.
   */
  owner: string;
  /** Delivers an event to a live actor, in order with its other events (the registry's). */
  deliver: (key: string, event: MachineEvent) => Promise<void>;
  /** Sends facts to a live actor. */
  facts: (key: string, facts: Partial<RuntimeFacts>) => Promise<void>;
  now: () => number;
  logger: Logger;
  /**
   * The governing policy of an actor (`namespace/name`), kept with the incident it leads: the
   * controller tells that policy's people when the incident ends with no pod to hold it.
   */
  policyOf?: (key: string) => string | undefined;
}

type Snapshot = { value: unknown; context: RemediationContext };

/** A new pod that may replace the pod of a remediation still under way. */
interface Candidate {
  workload: string;
  createdAt: number;
  /** Tried until then; later it is just another pod. */
  until: number;
}

function isEmpty(update: WorkloadReport): boolean {
  return (
    update.incident === null &&
    update.remediations.length === 0 &&
    update.quietUntil === null &&
    update.quarantinedUntil === null &&
    update.ticket !== true
  );
}

/** What a waiting pod is told: the workload's incident, and a hold only while it lasts. */
export function factOf(type: DetectionType, memory: WorkloadMemory, now: number): WorkloadFact {
  const holds = [memory.quietUntil, memory.quarantinedUntil].filter(
    (t): t is number => t !== null && t > now,
  );
  const open = memory.incident;
  return {
    type,
    incidentId: open?.id ?? null,
    heldUntil: holds.length === 0 ? null : Math.max(...holds),
    // As `claim` judges it: only a verification under way can be contradicted.
    verifyingActedAt:
      open !== null &&
      open.holder !== null &&
      open.phase === 'verifying' &&
      (open.verifyUntil === null || now < open.verifyUntil)
        ? open.actedAt
        : null,
  };
}

interface Waiting {
  workload: string;
  type: DetectionType;
  /** The fact last told, as JSON. */
  told: string;
}

export class WorkloadKeeper {
  private readonly options: WorkloadKeeperOptions;
  /** Per actor: the workload, symptom and JSON of what it last reported. */
  private readonly reported = new Map<
    string,
    { workload: string; type: DetectionType; json: string }
  >();
  /** Actors in `joined`: their workload, symptom, and the fact they were last told. */
  private readonly waiting = new Map<string, Waiting>();
  /** The same, by workload. */
  private readonly waitingOn = new Map<string, Set<string>>();
  private readonly candidates = new Map<string, Candidate>();
  /** Pods already let go of, until they are forgotten. */
  private readonly released = new Set<string>();
  /** Writes per workload, in order. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /**
   * Actors of this process verifying their workload's incident: told when a pod elsewhere
   * shows the verification failed and takes the incident over.
   */
  private readonly verifying = new Map<
    string,
    { workload: string; type: DetectionType; incidentId: string }
  >();

  constructor(options: WorkloadKeeperOptions) {
    this.options = options;
  }

  /** The host's `claimWorkload`: answers with WORKLOAD; no answer lets the actor decide alone. */
  claim(request: WorkloadClaimRequest): void {
    const type = request.trigger.type;
    void this.serially(request.workload, async () => {
      const answer = await this.options.store.change(request.workload, type, (memory) => {
        const claimed = claim(memory, {
          actorKey: request.actorKey,
          owner: this.options.owner,
          incidentId: request.incidentId,
          trigger: request.trigger,
          verificationWindowMs: request.verificationWindowMs,
          now: this.options.now(),
          ...(request.createdAt === undefined ? {} : { createdAt: request.createdAt }),
        });
        return { memory: claimed.memory, result: claimed.answer };
      });
      this.options.logger.debug(
        { object: request.actorKey, workload: request.workload, role: answer.role },
        'workload claim answered',
      );
      void this.options.deliver(request.actorKey, {
        type: 'WORKLOAD',
        at: this.options.now(),
        incidentId: request.incidentId,
        answer,
      });
      if (answer.role === 'lead' && answer.displaced !== undefined) {
        this.options.logger.info(
          { object: request.actorKey, workload: request.workload, from: answer.displaced },
          'a pod created after the remediation shows the symptom: it did not hold, and this pod goes on with the incident',
        );
        // The holder may be an actor of this process: it lets go now, not at the next poll.
        await this.refresh(request.workload);
      }
    }).catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, object: request.actorKey, workload: request.workload },
        'could not claim the incident from the workload memory; the pod decides alone once its claim times out',
      ),
    );
  }

  /** After every transition of a pod actor: what it says to its workload, and whether it waits. */
  noteTransition(key: string, snapshot: Snapshot): void {
    const derived = workloadReport(snapshot);
    if (derived === null) return;
    const { workload } = derived;
    const state = typeof snapshot.value === 'string' ? snapshot.value : '';
    const incident = snapshot.context.incident;
    if (state === 'joined' && incident?.trigger.kind === 'detection') {
      if (!this.waiting.has(key))
        this.wait(key, { workload, type: incident.trigger.detection.type, told: '' });
    } else this.stopWaiting(key);
    if (state === 'verifying' && derived.type !== null && derived.report.incident !== null)
      this.verifying.set(key, {
        workload,
        type: derived.type,
        incidentId: derived.report.incident.id,
      });
    else this.verifying.delete(key);
    const before = this.reported.get(key);
    const type = derived.type ?? before?.type;
    if (type === undefined) return;
    // Whether the actor remembers a ticket of the symptom: the holder's word is the workload's.
    const policy = this.options.policyOf?.(key);
    const update: WorkloadReport = {
      ...derived.report,
      ...(derived.report.incident === null || policy === undefined
        ? {}
        : { incident: { ...derived.report.incident, policy } }),
      owner: this.options.owner,
      ticket: (snapshot.context.tickets ?? []).includes(type),
    };
    if (before === undefined && isEmpty(update)) return;
    const json = JSON.stringify(update);
    if (before?.json === json && before.workload === workload) return;
    this.reported.set(key, { workload, type, json });
    void this.write(workload, type, (memory) => ({
      memory: report(memory, update),
      result: null,
    })).catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, object: key, workload },
        'could not write the workload memory; the next transition writes it again',
      ),
    );
  }

  /**
   * The pod of `podKey` is going away (terminating or deleted): the incidents it holds wait for
   * another pod of the workload, and a restart's verification starts now.
   */
  async release(podKey: string, workload: string, at: number): Promise<void> {
    this.candidates.delete(podKey);
    // A terminating pod is seen several times (each status change, then its deletion): once is
    // enough. `forget` (its deletion) lets a pod made again under its name be released again.
    if (this.released.has(podKey)) return;
    this.released.add(podKey);
    const symptoms = await this.options.store.read(workload);
    for (const [type, memory] of Object.entries(symptoms) as [DetectionType, WorkloadMemory][]) {
      if (memory.incident?.holder !== podKey) continue;
      await this.write(workload, type, (m) => ({ memory: release(m, podKey, at), result: null }));
      this.options.logger.info(
        { object: podKey, workload, incident: memory.incident.id },
        'the pod holding the workload incident is going away; its replacement takes over',
      );
      // A replacement of this process may already be waiting to take it over.
      await this.refresh(workload);
    }
  }

  /**
   * A pod actor was just created: when its pod replaces the pod of a remediation of its
   * workload, the event that hands it the verification (sent before its first observation).
   */
  async adoptFor(
    podKey: string,
    workload: string,
    createdAt: number,
  ): Promise<MachineEvent | undefined> {
    const symptoms = await this.options.store.read(workload);
    for (const [type, memory] of Object.entries(symptoms) as [DetectionType, WorkloadMemory][]) {
      const open = memory.incident;
      if (open === null || open.actedAt === null) continue;
      if (open.holder !== null && (open.phase === 'remediating' || open.phase === 'verifying')) {
        // The pod it replaces is not gone yet (events from two watches race, a rollout makes the
        // new pod before it removes the old one): try again when it goes, or on the next poll.
        this.candidates.set(podKey, {
          workload,
          createdAt,
          until: this.options.now() + open.verificationWindowMs,
        });
        continue;
      }
      const event = await this.tryAdopt(podKey, workload, type, createdAt);
      if (event !== undefined) return event;
    }
    return undefined;
  }

  /** The actor is gone (its pod deleted, or no longer governed). */
  forget(key: string): void {
    this.reported.delete(key);
    this.stopWaiting(key);
    this.candidates.delete(key);
    this.released.delete(key);
    this.verifying.delete(key);
  }

  /**
   * Whether a poll could tell anyone anything: pods wait on their workloads, or to adopt. (A
   * verifying actor another pod takes over from learns it from the claim when both are actors of
   * this process, as in `simulate`; in another process, on its own poll.)
   */
  hasWaiting(): boolean {
    return this.waitingOn.size > 0 || this.candidates.size > 0;
  }

  /**
   * Tells waiting pods where their workload stands, and retries adoptions that were early.
   * Called on an interval by the agent (other agents write the same memory) and after every
   * step by `simulate`.
   */
  async poll(): Promise<void> {
    const now = this.options.now();
    const workloads = new Set<string>();
    for (const workload of this.waitingOn.keys()) workloads.add(workload);
    for (const { workload } of this.verifying.values()) workloads.add(workload);
    for (const [key, candidate] of this.candidates) {
      if (candidate.until < now) this.candidates.delete(key);
      else workloads.add(candidate.workload);
    }
    for (const workload of workloads) await this.refresh(workload);
  }

  private async refresh(workload: string): Promise<void> {
    const symptoms = await this.options.store.read(workload);
    const now = this.options.now();
    for (const [key, waiting] of this.waitersOf(workload)) {
      const fact = factOf(waiting.type, symptoms[waiting.type] ?? EMPTY_MEMORY, now);
      const told = JSON.stringify(fact);
      if (told === waiting.told) continue;
      waiting.told = told;
      await this.options.facts(key, { workload: fact });
    }
    for (const [key, held] of this.verifying) {
      const open = symptoms[held.type]?.incident;
      if (held.workload !== workload || open?.id !== held.incidentId) continue;
      if (open.holder === null || open.holder === key) continue;
      this.verifying.delete(key);
      await this.options.deliver(key, {
        type: 'TAKEN_OVER',
        at: now,
        incidentId: held.incidentId,
        by: open.holder,
      });
    }
    for (const [key, candidate] of this.candidates) {
      if (candidate.workload !== workload) continue;
      for (const [type, memory] of Object.entries(symptoms) as [DetectionType, WorkloadMemory][]) {
        if (memory.incident?.holder !== null || memory.incident.phase !== 'verifying') continue;
        const event = await this.tryAdopt(key, workload, type, candidate.createdAt);
        if (event === undefined) continue;
        this.candidates.delete(key);
        await this.options.deliver(key, event);
        break;
      }
    }
  }

  private async tryAdopt(
    podKey: string,
    workload: string,
    type: DetectionType,
    createdAt: number,
  ): Promise<MachineEvent | undefined> {
    const adopted = await this.write(workload, type, (memory) => {
      const result = adopt(memory, podKey, createdAt, this.options.owner);
      return { memory: result.memory, result };
    });
    if (adopted.adopted === null) return undefined;
    this.options.logger.info(
      { object: podKey, workload, incident: adopted.adopted.id },
      'a replacement pod takes over the verification of the workload incident',
    );
    return {
      type: 'ADOPT',
      at: this.options.now(),
      workload,
      incident: adopted.adopted,
      remediations: adopted.memory.remediations,
      ticket: adopted.memory.ticket,
    };
  }

  /** Changes one symptom's memory of a workload, in order with the workload's other writes. */
  private write<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T> {
    return this.serially(workload, async () => {
      let after: WorkloadMemory | undefined;
      const result = await this.options.store.change(workload, type, (memory) => {
        const changed = change(memory);
        after = changed.memory;
        return changed;
      });
      if (after !== undefined) this.tellWaiting(workload, type, after);
      return result;
    });
  }

  /** Pods of this process waiting on the workload hear at once what changed. */
  private tellWaiting(workload: string, type: DetectionType, memory: WorkloadMemory): void {
    const now = this.options.now();
    for (const [key, waiting] of this.waitersOf(workload)) {
      if (waiting.type !== type) continue;
      const fact = factOf(type, memory, now);
      const told = JSON.stringify(fact);
      if (told === waiting.told) continue;
      waiting.told = told;
      void this.options.facts(key, { workload: fact });
    }
  }

  private wait(key: string, waiting: Waiting): void {
    this.waiting.set(key, waiting);
    const keys = this.waitingOn.get(waiting.workload) ?? new Set<string>();
    keys.add(key);
    this.waitingOn.set(waiting.workload, keys);
  }

  private stopWaiting(key: string): void {
    const waiting = this.waiting.get(key);
    if (waiting === undefined) return;
    this.waiting.delete(key);
    const keys = this.waitingOn.get(waiting.workload);
    keys?.delete(key);
    if (keys?.size === 0) this.waitingOn.delete(waiting.workload);
  }

  /** The pods waiting on one workload (an index, so a poll costs what is waiting, no more). */
  private *waitersOf(workload: string): Generator<[string, Waiting]> {
    for (const key of this.waitingOn.get(workload) ?? []) {
      const waiting = this.waiting.get(key);
      if (waiting !== undefined) yield [key, waiting];
    }
  }

  private serially<T>(workload: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(workload) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.chains.set(workload, settled);
    void settled.then(() => {
      if (this.chains.get(workload) === settled) this.chains.delete(workload);
    });
    return next;
  }
}
