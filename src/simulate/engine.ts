/**
 * The simulation: the real runtime of kube-remedy on a simulated clock, with the cluster, the
 * workers, Prometheus and people played by the scenario.
 *
 * Real: the machines, the `ActorHost` (one actor per object, every transition persisted before its
 * effects leave, here to a `MemorySnapshotStore`), the `ActorRegistry` (observe, drop unchanged,
 * analyze, spawn and stop actors) with the `PolicyIndex` deciding which policy governs what, the
 * node inhibition of pods, the `SafetyMonitor` (the budget fact and the storm breaker, on memory
 * stores, refreshed on the simulated clock), and the `Scaler` with its pure `decide()`. Played:
 * the objects and their changes (world.ts), the effect workers (an in-memory sink that takes
 * budget tokens as the workers do and reports back after a delay), Prometheus (the scenario's
 * series), and people (the approvers' check the Slack endpoint makes, then the command to the
 * owning actor).
 *
 * Time: xstate's SimulatedClock. The loop jumps to whichever comes first, the next actor timer or
 * the next scripted event; at equal times timers fire first. After each step everything it set
 * off (flushes, facts, results) is settled before the next, so the output is the same on every
 * run: no wall clock, no randomness, and work ordered only by the simulated time.
 */
import { DeadNodePods } from '../actors/dead-node-pods.ts';
import type { NodePodObject } from '../observe/node-pods.ts';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ActorHost, type ActorInfo } from '../actors/host.ts';
import { toEffectJob } from '../actors/effect-jobs.ts';
import { analyzeObject } from '../analyzers/index.ts';
import { evidenceParam } from '../effects/evidence/params.ts';
import { collectionLocation, evidenceLocation } from '../evidence/keys.ts';
import { ActorRegistry } from '../actors/registry.ts';
import { MemorySnapshotStore } from '../actors/snapshot-store.ts';
import {
  describeEffect,
  inhibitionFromNode,
  type Effect,
  type EffectRequest,
  type HistoryEntry,
  type Inhibition,
  type MachineEvent,
  type RecordedEvent,
  type RemediationContext,
  type RemediationEffect,
} from '../machines/index.ts';
import type { ObservableObject } from '../observe/index.ts';
import { PolicyIndex, type Policy } from '../policy/index.ts';
import {
  deploymentKey,
  type ScaledDeployment,
  type ScalingProposal,
} from '../scaling/proposals.ts';
import { Scaler } from '../scaling/scaler.ts';
import type { ScalingDecision } from '../scaling/types.ts';
import { renderQuery } from '../scaling/signals.ts';
import { formatDuration } from '../util/duration.ts';
import { budgetClaim, spendBudget } from '../budgets/claims.ts';
import { nodeSelectorOf } from '../budgets/scopes.ts';
import type { NodeSelector } from '../budgets/healthy-nodes.ts';
import { MemoryBudgets } from '../budgets/memory.ts';
import { WorkloadKeeper } from '../actors/workload-memory.ts';
import { podWorkloadKey } from '../observe/workload.ts';
import { MemoryWorkloadStore } from '../workloads/store.ts';
import { UnverifiedIncidents } from '../actors/unverified-incidents.ts';
import { NodeSlotKeeper } from '../actors/node-slots.ts';
import { governingPolicy, liveContexts, SafetyMonitor, safetySettings } from '../actors/safety.ts';
import { MemoryStorms } from '../budgets/storms.ts';
import { configSchema } from '../config/index.ts';
import { effectJobId } from '../effects/catalogue.ts';
import { Agenda } from './agenda.ts';
import { describeAnyEffect } from './describe.ts';
import { SafetyLines } from './safety.ts';
import { SimulationClock } from './clock.ts';
import type {
  Change,
  EffectRule,
  KubeManifest,
  MetricSeries,
  Person,
  Scenario,
  Step,
  ThenStep,
} from './model.ts';
import { ScenarioPrometheus } from './prometheus.ts';
import type {
  EffectRecord,
  EffectView,
  ObjectSummary,
  SimulationResult,
  Summary,
  TimelineEntry,
} from './result.ts';
import { keyOf, World, type WorldChange } from './world.ts';

const NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notify',
  'escalate',
  'openTicket',
  'updateTicket',
  'collectEvidence',
]);
/** What tells people: counted as notifications in the summary. */
const TELLS_PEOPLE: ReadonlySet<string> = new Set([
  'notify',
  'escalate',
  'openTicket',
  'updateTicket',
]);

/** A state value as people read it: `remediating`, `escalated (paging, holding)`. */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, inner]) => {
      if (typeof inner === 'string') return `${key}.${inner}`;
      const parts = Object.values(inner as Record<string, unknown>).map((v) =>
        typeof v === 'string' ? v : stateText(v),
      );
      return `${key} (${parts.join(', ')})`;
    })
    .join(', ');
}

interface Activity {
  from: string | null;
  effects: EffectView[];
  events: RecordedEvent[];
}

/**
 * Collects what the runtime logs at warn and above, without a clock in the records. With
 * `failuresOnly`, only records that carry an error: what a component logs as a warning by design
 * (the safety monitor's storms) shows on the timeline instead.
 */
function warningLogger(warnings: string[], failuresOnly = false) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const record = JSON.parse(line) as {
          msg?: string;
          object?: string;
          err?: { message?: string };
        };
        if (failuresOnly && record.err === undefined) continue;
        const about = record.object ? `${record.object}: ` : '';
        const why = record.err?.message ? ` (${record.err.message})` : '';
        warnings.push(`${about}${record.msg ?? ''}${why}`);
      }
      done();
    },
  });
  return pino({ level: 'warn', timestamp: false, base: null }, destination);
}

/**
 * The installation's safety settings a simulation runs with (namespace and cluster budgets, the
 * safety monitor's refresh interval, the storm breaker's minimum and quiet time): the
 * configuration's defaults, as a scenario describes no installation.
 */
const SIMULATED_SAFETY = safetySettings(configSchema.parse({}).budget);
const SIMULATED_LIMITS = SIMULATED_SAFETY.limits;
/** The controller's sweep for verifications nobody holds runs on the budget refresh interval. */
const SIMULATED_REFRESH_MS = configSchema.parse({}).budget.refreshInterval;

export class Simulation {
  private readonly scenario: Scenario;
  private readonly clock: SimulationClock;
  private readonly agenda = new Agenda();
  private readonly world: World;
  private readonly host: ActorHost;
  private readonly index: PolicyIndex;
  private readonly registry: ActorRegistry;
  private readonly scaler: Scaler;
  private readonly budgets = new MemoryBudgets();
  /** As the agent: the budget fact and the storm breaker of every policy, on memory stores. */
  private readonly safety: SafetyMonitor;
  /** What the safety monitor did, for the timeline. */
  private readonly safetyLines = new SafetyLines();
  /** As the agent: pods of a workload share one incident per symptom, kept in memory here. */
  private readonly workloads: WorkloadKeeper;
  private readonly workloadStore = new MemoryWorkloadStore();
  /** As the controller: a restart nobody is left to verify ends unverified. */
  private readonly unverified: UnverifiedIncidents;
  private sweeping: Promise<unknown> = Promise.resolve();
  /** As the agent: a node's slot is let go once its incident no longer holds it. */
  private readonly nodeSlots = new NodeSlotKeeper((node, incidentId) =>
    this.budgets.releaseNodeSlot(node, incidentId),
  );
  /** As the controller: what a node gone NotReady holds, for its escalation. */
  private readonly deadNodePods: DeadNodePods;
  private readonly warnings: string[] = [];
  /** Every incident that was opened, by id. */
  private readonly incidentIds = new Set<string>();
  /** The incidents each object took part in (led, or took over), by id. */
  private readonly incidentsOf = new Map<string, Set<string>>();
  /** Incidents of pods that only waited on their workload's incident. */
  private readonly memberIncidents = new Set<string>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly effects: EffectRecord[] = [];
  /** Every object seen → the workload a person names for it (ObjectSummary.workload). */
  private readonly workloadOfObject = new Map<string, string>();
  /** How many effects matched each rule so far (for `nth`). */
  private readonly ruleMatches = new Map<EffectRule, number>();
  private readonly activity = new Map<string, Activity>();
  private readonly lastState = new Map<string, string>();
  private readonly lastHistory = new Map<string, HistoryEntry | undefined>();
  private readonly finalStates = new Map<string, { state: string; context: RemediationContext }>();
  private readonly inhibitions = new Map<string, Inhibition | null>();
  /** The signals' verdicts at the last scaling decision, per Deployment. */
  private readonly verdicts = new Map<string, string>();
  private readonly people = { accepted: 0, refused: 0 };
  /** Per node actor: the healthy nodes its policy selects, as last told. */
  private readonly healthyNodes = new Map<string, number>();
  /** Bumped by anything the runtime does, so settling knows when all is quiet. */
  private stir = 0;
  /** `stir` when the safety monitor last refreshed on its schedule. */
  private stirAtRefresh = -1;
  private pullRequests = 0;
  private commandIds = 0;

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.clock = new SimulationClock(scenario.start);
    this.world = new World(scenario.objects, () => this.clock.now());
    const logger = warningLogger(this.warnings);
    this.deadNodePods = new DeadNodePods({
      list: (node) =>
        Promise.resolve(
          this.world
            .all()
            .filter((o) => o.kind === 'Pod' && o.spec?.['nodeName'] === node) as NodePodObject[],
        ),
      facts: (key, facts) => {
        this.stir += 1;
        return this.registry.facts(key, facts);
      },
      logger,
    });
    this.host = new ActorHost({
      clock: this.clock,
      store: new MemorySnapshotStore(),
      logger,
      effects: { enqueue: (request, actor, context) => this.enqueue(request, actor, context) },
      events: {
        record: (actor, event) => {
          this.touch(actor.key).events.push(event);
          return Promise.resolve();
        },
      },
      onTransition: (key, snapshot) => this.onTransition(key, snapshot),
      workloads: { claim: (request) => this.workloads.claim(request) },
    });
    this.workloads = new WorkloadKeeper({
      store: this.workloadStore,
      owner: 'simulation',
      deliver: (key, event) => this.registry.deliver(key, event),
      facts: (key, facts) => this.registry.facts(key, facts),
      now: () => this.clock.now(),
      logger,
      policyOf: (key) => governingPolicy(this.index, key),
    });
    this.unverified = new UnverifiedIncidents({
      store: this.workloadStore,
      floorMs: 2 * SIMULATED_REFRESH_MS,
      now: () => this.clock.now(),
      logger,
      enqueue: (request, policyRef) =>
        this.enqueue(request, { key: request.actorKey, kind: 'Pod', policyRef: policyRef ?? '' }),
      record: (target, event) => {
        this.touch(`${target.kind}/${target.namespace}/${target.name}`).events.push(event);
        return Promise.resolve();
      },
    });
    this.index = new PolicyIndex({
      agentNamespace: scenario.namespace,
      onChange: (change) => this.registry.governanceChanged(change),
    });
    this.registry = new ActorRegistry({
      host: this.host,
      index: this.index,
      now: () => this.clock.now(),
      logger,
      // As the agent: pods learn whether their node's machine owns the problem, the others
      // how many healthy nodes there are.
      factsFor: (key) => {
        const ref = governingPolicy(this.index, key);
        return {
          ...(key.startsWith('Pod/')
            ? { inhibited: this.inhibitionOf(key), workloadMemory: true }
            : {
                healthyNodes: this.healthyNodesFor(key),
                selectedNodes: this.selectedNodesFor(key),
              }),
          ...(ref === undefined ? {} : this.safety.factsFor(ref)),
        };
      },
      // As the controller: a Deployment is analyzed with the pods of its newest ReplicaSet.
      analyzerFactsFor: (_key, observation) =>
        observation.kind === 'Deployment' ? this.world.rolloutFacts(observation) : undefined,
      // As the agent: a pod that replaces the pod of a remediation takes over its verification.
      onSpawn: (key, object) => {
        const workload = key.startsWith('Pod/') ? podWorkloadKey(object) : null;
        const created = Date.parse(String(object.metadata?.creationTimestamp ?? ''));
        if (workload === null || Number.isNaN(created)) return Promise.resolve(undefined);
        return this.workloads.adoptFor(key, workload, created);
      },
    });
    this.safety = new SafetyMonitor({
      owner: 'simulation',
      settings: SIMULATED_SAFETY,
      budgets: {
        usage: (scopes) => Promise.resolve(this.budgets.usage(scopes, this.clock.now())),
      },
      storms: new MemoryStorms(() => this.clock.now()),
      policies: () => this.index.policies(),
      actors: () => liveContexts(this.host),
      sendFacts: (key, facts) => {
        this.stir += 1;
        return this.registry.facts(key, facts);
      },
      enqueue: (job) => {
        this.stir += 1;
        const [namespace = '', name = ''] = (job.policy ?? '').split('/');
        const policy = this.index.policy({ namespace, name });
        this.effects.push(this.safetyLines.escalation(job, policy, this.clock.now()));
        return Promise.resolve();
      },
      recordStorm: (policy, message) => {
        this.stir += 1;
        this.safetyLines.stormDetected(policy, message);
      },
      onFlip: (flip) => {
        if (this.safetyLines.flip(flip)) this.stir += 1;
      },
      every: (intervalMs, refresh) =>
        this.agenda.every(
          this.clock.now(),
          intervalMs,
          () => {
            this.stirAtRefresh = this.stir;
            refresh();
          },
          () => this.refreshIdle(),
        ),
      now: () => this.clock.now(),
      // The storms it logs as warnings are on the timeline; only its failures are warnings here.
      logger: warningLogger(this.warnings, true),
    });
    this.scaler = new Scaler({
      prometheus: new ScenarioPrometheus(
        (query) => this.seriesFor(query),
        () => this.clock.now(),
      ),
      deployments: () => this.scaledDeployments(),
      hpas: (namespace, name) => this.world.hpaFor(namespace, name),
      logger,
      intervalMs: scenario.scalerIntervalMs,
      now: () => this.clock.now(),
      sink: (proposal) => this.scalingProposal(proposal),
      onDecision: (deployment, decision) => this.scalingDecision(deployment, decision),
    });
  }

  async run(): Promise<SimulationResult> {
    const { scenario } = this;
    // As the agent starts: policies first, then the safety facts, then the objects.
    for (const policy of scenario.policies) this.applyPolicy(policy);
    await this.safety.start();
    this.agenda.every(
      this.clock.now(),
      SIMULATED_REFRESH_MS,
      () => {
        this.sweeping = this.sweeping.then(() => this.unverified.sweep());
      },
      () => !this.workloadStore.hasUnheld(),
    );
    for (const object of this.world.all()) this.observe(object);
    await this.settle();
    this.materialize();
    for (const step of scenario.steps) this.agenda.add(step.at, () => this.runStep(step));
    if (this.scales()) {
      for (
        let at = scenario.start + scenario.scalerIntervalMs;
        at <= scenario.end;
        at += scenario.scalerIntervalMs
      ) {
        this.agenda.add(at, async () => {
          await this.scaler.tick();
        });
      }
    }
    for (;;) {
      const timer = this.clock.nextDue();
      const scripted = this.agenda.nextAt();
      const next = Math.min(timer ?? Infinity, scripted ?? Infinity);
      if (!Number.isFinite(next) || next > scenario.end) break;
      this.clock.advanceTo(next);
      if (next !== timer && this.agenda.onlyIdleAt(next)) {
        // Periodic work with nothing to do: no timer fired, nothing to settle.
        for (let item = this.agenda.takeAt(next); item; item = this.agenda.takeAt(next)) {
          await item.run();
        }
        continue;
      }
      await this.settle();
      this.materialize();
      for (let item = this.agenda.takeAt(next); item; item = this.agenda.takeAt(next)) {
        await item.run();
        await this.settle();
        this.materialize();
      }
    }
    this.clock.advanceTo(scenario.end);
    await this.settle();
    this.materialize();
    for (const key of [...this.host.keys()]) {
      const snapshot = this.host.snapshot(key);
      if (snapshot)
        this.finalStates.set(key, { state: stateText(snapshot.value), context: snapshot.context });
    }
    await this.safety.stop();
    await this.host.stopAll();
    return this.result();
  }

  // -------------------------------------------------------------------------------------------
  // The world

  private observe(object: KubeManifest): void {
    this.stir += 1;
    this.workloadOfObject.set(keyOf(object), workloadName(object));
    void this.registry.upsert(object as unknown as ObservableObject, this.clock.now());
  }

  private applyWorld(change: WorldChange): void {
    const now = this.clock.now();
    // As the agent: a pod going away first lets go of its workload's incident, so that its
    // replacement (in the same change) can take the verification over.
    const released = Promise.all(
      change.deletes.map((object) => {
        const workload = object.kind === 'Pod' ? podWorkloadKey(object) : null;
        return workload === null
          ? Promise.resolve()
          : this.workloads.release(keyOf(object), workload, now);
      }),
    );
    this.stir += 1;
    void released.then(() => {
      for (const object of change.deletes) {
        this.stir += 1;
        this.workloads.forget(keyOf(object));
        void this.registry.delete(object as unknown as ObservableObject);
      }
      for (const object of change.upserts) this.observe(object);
      // As the controller: a change to a Deployment's pods is a change to what its analysis sees.
      for (const key of deploymentsOf([...change.deletes, ...change.upserts])) {
        this.stir += 1;
        void this.registry.reanalyze(key, this.clock.now());
      }
    });
    for (const key of this.host.keys()) {
      if (!key.startsWith('Node/')) continue;
      const healthy = this.healthyNodesFor(key);
      if (healthy !== this.healthyNodes.get(key)) {
        this.healthyNodes.set(key, healthy);
        void this.registry.facts(key, {
          healthyNodes: healthy,
          selectedNodes: this.selectedNodesFor(key),
        });
      }
    }
  }

  /** As the agent counts: the healthy nodes the node's policy selects (every node without one). */
  private healthyNodesFor(key: string): number {
    return this.world.healthyNodes(this.nodeSelectorFor(key));
  }

  /** The nodes the node's policy selects in all, healthy or not. */
  private selectedNodesFor(key: string): number {
    return this.world.selectedNodes(this.nodeSelectorFor(key));
  }

  private nodeSelectorFor(key: string): NodeSelector | undefined {
    const governance = this.index.governanceOf(key);
    const policy =
      governance.state === 'governed' ? this.index.policy(governance.policy) : undefined;
    return policy === undefined ? undefined : nodeSelectorOf(policy.selector);
  }

  private applyPolicy(policy: Policy): void {
    this.stir += 1;
    this.index.setPolicy(policy);
    this.registry.policyChanged(policy);
  }

  private shows(key: string): boolean {
    // A replay holds every change of every object; only those of governed objects are worth a line.
    return !this.scenario.replay || this.index.governanceOf(key).state === 'governed';
  }

  private runStep(step: Step | (ThenStep & { at: number })): void {
    const { change } = step;
    const at = this.clock.now();
    if (isPerson(change)) {
      this.person(step.object ?? '', change);
      return;
    }
    if (change.type === 'policy') {
      const { policy } = change;
      const name = `${policy.ref.namespace}/${policy.ref.name}`;
      this.timeline.push({
        type: 'world',
        at,
        object: `AutoRemediationPolicy/${name}`,
        text: `applied (mode ${policy.mode})`,
        source: step.source,
      });
      this.applyPolicy(policy);
      return;
    }
    if (change.type === 'removePolicy') {
      const name = `${change.namespace}/${change.name}`;
      this.timeline.push({
        type: 'world',
        at,
        object: `AutoRemediationPolicy/${name}`,
        text: 'deleted',
        source: step.source,
      });
      this.stir += 1;
      this.index.removePolicy({ namespace: change.namespace, name: change.name });
      return;
    }
    // A pod its controller replaced is named by the pod it started as; the line names the pod.
    const key =
      change.type === 'create' ? keyOf(change.object) : this.world.current(step.object ?? '');
    const entry: TimelineEntry = { type: 'world', at, object: key, text: '', source: step.source };
    const shown = this.shows(key);
    if (shown) this.timeline.push(entry);
    const result = this.world.apply(change.type === 'create' ? null : key, change);
    entry.text = change.type === 'create' ? `${result.note}${problemsOf(result)}` : result.note;
    if (!shown && this.shows(key)) this.timeline.push(entry);
    this.applyWorld(result);
  }

  // -------------------------------------------------------------------------------------------
  // The effect workers

  private rule(request: EffectRequest): EffectRule | undefined {
    for (const rule of this.scenario.effects) {
      if (rule.object !== undefined && rule.object !== request.actorKey) continue;
      if (rule.kind !== undefined && rule.kind !== request.effect.kind) continue;
      const count = (this.ruleMatches.get(rule) ?? 0) + 1;
      this.ruleMatches.set(rule, count);
      if (rule.nth !== undefined && rule.nth !== count) continue;
      return rule;
    }
    return undefined;
  }

  private async enqueue(
    request: EffectRequest,
    actor: ActorInfo,
    context?: RemediationContext,
  ): Promise<void> {
    const { effect } = request;
    // As in a cluster: what the policy configures no integration for (evidence, tickets, pull
    // requests) is never asked for.
    const policy = this.policyOf(actor);
    const job = toEffectJob(request, {
      owner: 'simulation',
      policyRef: actor.policyRef,
      policy,
      actor: context,
      limits: SIMULATED_LIMITS,
    });
    if (job === undefined) return;
    const now = this.clock.now();
    const keptIn = evidenceParam.safeParse(policy?.evidence);
    const description =
      effect.kind === 'collectEvidence' && keptIn.success
        ? `${describeAnyEffect(effect, undefined)} into ${
            collectionLocation(
              evidenceLocation(keptIn.data, effect.target, request.incidentId),
              request.step,
            ).folder
          }`
        : describeAnyEffect(effect, policy?.slack?.channel);
    this.touch(request.actorKey).effects.push({
      step: request.step,
      kind: effect.kind,
      description,
    });
    const record: EffectRecord = {
      at: now,
      object: request.actorKey,
      policy: actor.policyRef,
      incidentId: request.incidentId,
      step: request.step,
      kind: effect.kind,
      description,
      reason: effect.reason,
      outcome: NOTIFICATIONS.has(effect.kind) ? 'sent' : 'pending',
      resultAt: null,
      result: null,
    };
    this.effects.push(record);
    if (NOTIFICATIONS.has(effect.kind)) return;

    const rule = this.rule(request);
    const delay = rule?.afterMs ?? this.scenario.effectDelayMs;
    const at = now + delay;
    if (rule?.result === 'none') {
      record.outcome = 'none';
      return;
    }
    // The worker takes a budget token (and a node slot) before a disruptive action, and refuses
    // when none is left: the same claim, taken by the same procedure, from memory.
    const claim = budgetClaim(job, effectJobId(job));
    const spent =
      claim === null
        ? ({ spent: true } as const)
        : await spendBudget(this.budgets, claim, {
            now,
            healthyNodes: (selector, node) => this.world.healthyCount(selector, node),
          });
    if (!spent.spent) {
      const { why, reason } = spent;
      this.agenda.add(at, () => this.report(request, record, 'refused', reason, rule, why));
    } else if (rule?.result === 'failed') {
      const error = rule.error ?? `${effect.kind} failed`;
      this.agenda.add(at, () => this.report(request, record, 'failed', error, rule));
    } else {
      const outcome = rule?.outcome ?? this.outcomeOf(effect as RemediationEffect, actor);
      this.agenda.add(at, () => this.report(request, record, 'done', outcome, rule));
    }
    return;
  }

  private policyOf(actor: ActorInfo): Policy | undefined {
    const [namespace = '', name = ''] = actor.policyRef.split('/');
    return this.index.policy({ namespace, name });
  }

  private outcomeOf(effect: RemediationEffect, actor: ActorInfo): string {
    if (effect.kind === 'openPullRequest') {
      const repository = this.policyOf(actor)?.gitops?.repository ?? 'example/deploy';
      this.pullRequests += 1;
      return `https://github.com/${repository}/pull/${this.pullRequests}`;
    }
    return `${describeEffect(effect)}: done`;
  }

  private report(
    request: EffectRequest,
    record: EffectRecord,
    outcome: 'done' | 'failed' | 'refused',
    text: string,
    rule: EffectRule | undefined,
    /** The worker's error code of a refusal: `budget-exhausted`, a node slot's. */
    code?: string,
  ): void {
    const at = this.clock.now();
    record.outcome = outcome;
    record.resultAt = at;
    record.result = text;
    const failed = outcome !== 'done';
    this.timeline.push({
      type: 'result',
      at,
      object: request.actorKey,
      kind: request.effect.kind,
      step: request.step,
      outcome: failed ? 'failed' : 'done',
      text:
        outcome === 'refused'
          ? `${request.effect.kind} refused by the worker: ${text}`
          : failed
            ? `${request.effect.kind} failed: ${text}`
            : request.effect.kind === 'openPullRequest'
              ? `pull request opened: ${text}`
              : text,
    });
    const event: MachineEvent = failed
      ? { type: 'EFFECT.FAILED', at, effectId: request.effectId, error: text }
      : { type: 'EFFECT.DONE', at, effectId: request.effectId, outcome: text };
    this.stir += 1;
    // As the agent: a disruptive action done, or refused for want of a token, re-reads budgets.
    void this.safety.effectResult({
      id: `${request.effectId} result`,
      actorKey: request.actorKey,
      type: event.type,
      payload: {
        kind: request.effect.kind,
        ...(code === undefined ? {} : { error: { code, message: text } }),
      },
    });
    void this.registry.deliver(request.actorKey, event);
    if (failed) return;
    const target = targetKey(request.effect);
    if ((rule?.applies ?? true) && !this.scenario.replay) {
      // What the action did shows in the next watch event, after the worker's report.
      this.agenda.add(at, () => {
        const change = this.world.effectDone(request.effect);
        if (change.note !== '') {
          this.timeline.push({
            type: 'world',
            at,
            object: target,
            text: change.note,
            source: null,
          });
        }
        this.applyWorld(change);
      });
    }
    for (const step of rule?.then ?? []) {
      const object = step.object ?? target;
      this.agenda.add(at + step.afterMs, () =>
        this.runStep({ ...step, object, at: at + step.afterMs }),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // People

  /** A person's accepted action: on the timeline, then to the owning actor. */
  private deliverPerson(key: string, at: number, text: string, event: MachineEvent): void {
    this.people.accepted += 1;
    this.timeline.push({ type: 'person', at, object: key, text, accepted: true });
    this.stir += 1;
    void this.registry.deliver(key, event);
  }

  private person(key: string, change: Extract<Change, { by: string }>): void {
    const at = this.clock.now();
    const snapshot = this.host.snapshot(key);
    const incident = snapshot?.context.incident ?? null;
    const who = this.scenario.people.get(change.by);
    const verb = PERSON_VERBS[change.type];
    const said =
      'reason' in change && change.reason
        ? `: ${change.reason}`
        : change.type === 'snooze'
          ? ` for ${formatDuration(change.durationMs)}`
          : '';
    const text = `${change.by} ${verb}${change.type === 'merge' || change.type === 'close' ? '' : ' in Slack'}${said}`;
    const refuse = (why: string): void => {
      this.people.refused += 1;
      this.timeline.push({
        type: 'person',
        at,
        object: key,
        text: `${text}: refused, ${why}`,
        accepted: false,
      });
    };
    const governance = this.index.governanceOf(key);
    const policy =
      governance.state === 'governed' ? this.index.policy(governance.policy) : undefined;
    const policyName = policy ? `${policy.ref.namespace}/${policy.ref.name}` : '(none)';
    /** The Slack endpoint's check; refuses (and says why) when the person may not act. */
    const authorised = (): boolean => {
      const check = approverCheck(policy?.approvers ?? { users: [], groups: [] }, change.by, who);
      if (check === null) return true;
      refuse(
        check === 'no-approvers'
          ? `policy ${policyName} names no approvers, so nobody may act on it from Slack`
          : `${change.by} is not an approver under policy ${policyName}`,
      );
      return false;
    };
    const by = `${change.by} (Slack ${who?.slackId ?? slackIdOf(change.by)})`;
    if (change.type === 'trigger') {
      // About the object, not an incident: a trigger is how a person asks for one.
      if (!authorised()) return;
      this.deliverPerson(key, at, text, {
        type: 'TRIGGER',
        at,
        by,
        ...(change.reason ? { reason: change.reason } : {}),
      });
      return;
    }
    if (incident === null) {
      refuse(`there is no open incident on ${key}`);
      return;
    }
    const id = `simulated-${(this.commandIds += 1)}`;
    let event: MachineEvent;
    if (change.type === 'merge' || change.type === 'close') {
      // Pull requests are merged on the code host: no Slack approver check.
      const awaiting = incident.awaiting;
      if (awaiting?.kind !== 'openPullRequest') {
        refuse(`incident ${incident.id} has no open pull request`);
        return;
      }
      event = {
        type: change.type === 'merge' ? 'PROPOSAL.MERGED' : 'PROPOSAL.CLOSED',
        at,
        effectId: awaiting.effectId,
        by: change.by,
      };
    } else {
      if (!authorised()) return;
      const base = { at, by, incidentId: incident.id, id };
      event =
        change.type === 'snooze'
          ? { type: 'SNOOZE', ...base, durationMs: change.durationMs }
          : change.type === 'reject' || change.type === 'escalate'
            ? {
                type: change.type === 'reject' ? 'REJECT' : 'ESCALATE',
                ...base,
                ...(change.reason ? { reason: change.reason } : {}),
              }
            : { type: change.type === 'approve' ? 'APPROVE' : 'ACK', ...base };
    }
    this.deliverPerson(key, at, text, event);
    const proposal = incident.plan.find((e) => e.kind === 'openPullRequest');
    if (
      event.type === 'PROPOSAL.MERGED' &&
      proposal?.kind === 'openPullRequest' &&
      !this.scenario.replay
    ) {
      // The merged change rolls out (a GitOps controller applies it) after the merge is seen.
      this.agenda.add(at, () => {
        const result = this.world.proposalMerged(key, proposal.proposes);
        if (result.note !== '')
          this.timeline.push({ type: 'world', at, object: key, text: result.note, source: null });
        this.applyWorld(result);
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scaling

  private scales(): boolean {
    // A recording holds no Prometheus history: a replay does not scale.
    if (this.scenario.replay) return false;
    const policies = [
      ...this.scenario.policies,
      ...this.scenario.steps.flatMap((s) => (s.change.type === 'policy' ? [s.change.policy] : [])),
    ];
    return policies.some((p) => p.scaling !== undefined);
  }

  /** The Deployments whose governing policy scales them, as the controller lists them. */
  private scaledDeployments(): ScaledDeployment[] {
    const out: ScaledDeployment[] = [];
    for (const key of this.host.keys()) {
      if (!key.startsWith('Deployment/')) continue;
      const governance = this.index.governanceOf(key);
      if (governance.state !== 'governed') continue;
      const policy = this.index.policy(governance.policy);
      const observation = this.host.snapshot(key)?.context.observation;
      if (policy?.scaling === undefined || observation?.kind !== 'Deployment') continue;
      out.push({
        namespace: observation.namespace,
        name: observation.name,
        uid: observation.uid,
        replicas: observation.replicas,
        policy: {
          ref: policy.ref,
          mode: policy.mode,
          scaling: policy.scaling,
          ...(policy.gitops === undefined ? {} : { gitops: policy.gitops }),
        },
      });
    }
    return out;
  }

  /** The series a query stands for: the signal of that name of the Deployment's policy. */
  private seriesFor(query: string): MetricSeries | undefined {
    for (const series of this.scenario.metrics) {
      const governance = this.index.governanceOf(series.object);
      if (governance.state !== 'governed') continue;
      const spec = this.index
        .policy(governance.policy)
        ?.scaling?.signals.find((s) => s.name === series.signal);
      const [, namespace = '', name = ''] = series.object.split('/');
      if (spec !== undefined && renderQuery(spec.query, { namespace, name }) === query)
        return series;
    }
    return undefined;
  }

  /**
   * A hold is worth a line when the signals' verdicts change (a signal goes high, one recovers):
   * it says why nothing is scaled, e.g. only one of three signals is high. Proposals have their own.
   */
  private scalingDecision(deployment: ScaledDeployment, decision: ScalingDecision): void {
    const key = deploymentKey(deployment);
    const verdicts = `${decision.decision} ${decision.signals.map((s) => `${s.name}=${s.verdict}`).join(' ')}`;
    if (this.verdicts.get(key) === verdicts) return;
    const first = !this.verdicts.has(key);
    this.verdicts.set(key, verdicts);
    const quiet = decision.signals.every((s) => s.verdict === 'normal');
    if (decision.decision === 'hold' && !(first && quiet)) {
      this.timeline.push({
        type: 'scaler',
        at: this.clock.now(),
        object: key,
        text: decision.reason,
      });
    }
  }

  private async scalingProposal(proposal: ScalingProposal): Promise<void> {
    const at = this.clock.now();
    const key = deploymentKey(proposal.deployment);
    if (proposal.kind !== 'scale') {
      this.timeline.push({
        type: 'scaler',
        at,
        object: key,
        text: `the signals need a person: ${proposal.decision.reason}`,
      });
      return;
    }
    this.timeline.push({ type: 'scaler', at, object: key, text: proposal.decision.reason });
    this.stir += 1;
    const { namespace, name } = proposal.deployment;
    await this.registry.facts(key, { hpa: this.world.hpaFor(namespace, name) });
    await this.registry.deliver(key, proposal.event);
  }

  // -------------------------------------------------------------------------------------------
  // The safety monitor

  /**
   * Whether the agent's periodic refresh would tell nobody anything now: nothing happened since
   * the last one, no policy is held (a spent budget's tokens age out, a storm's quiet time is
   * extended on each refresh), and no pod waits on its workload (the agent polls those on the
   * same interval; here every settling does). Such a refresh still passes over every actor: over
   * a long replay, leaving them out, and the settling after them, is most of the time saved.
   */
  private refreshIdle(): boolean {
    if (this.stir !== this.stirAtRefresh || this.workloads.hasWaiting()) return false;
    return !this.index.policies().some((policy) => {
      const facts = this.safety.factsFor(`${policy.ref.namespace}/${policy.ref.name}`);
      return facts.budgetAvailable === false || (facts.storm ?? null) !== null;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Watching the actors

  private inhibitionOf(podKey: string): Inhibition | null {
    const node = this.world.get(podKey)?.spec?.['nodeName'];
    return typeof node === 'string' ? (this.inhibitions.get(node) ?? null) : null;
  }

  private onTransition(
    key: string,
    snapshot: { value: unknown; context: RemediationContext },
  ): void {
    this.stir += 1;
    this.touch(key);
    this.safety.noteTransition(key, snapshot.context);
    if (key.startsWith('Pod/')) this.workloads.noteTransition(key, snapshot);
    // One incident, however many pods of its workload took part: a pod that only waited on
    // another's incident adds none. (History has every incident, even one a dry run opened and
    // closed in one step.)
    for (const entry of snapshot.context.history) {
      if (entry.incidentId === null) continue;
      // A pod that continued the workload's incident opened none of its own either.
      if (entry.decision === 'join' || entry.decision === 'continue')
        this.memberIncidents.add(entry.incidentId);
      else {
        this.incidentIds.add(entry.incidentId);
        const mine = this.incidentsOf.get(key) ?? new Set<string>();
        mine.add(entry.incidentId);
        this.incidentsOf.set(key, mine);
      }
    }
    if (!key.startsWith('Node/')) return;
    this.nodeSlots.noteTransition(key, snapshot);
    this.deadNodePods.noteTransition(key, snapshot);
    // As the agent: what the node's machine says about its pods reaches them as a fact.
    const node = key.slice('Node/'.length);
    const next = inhibitionFromNode(snapshot);
    if (JSON.stringify(next) === JSON.stringify(this.inhibitions.get(node) ?? null)) return;
    this.inhibitions.set(node, next);
    for (const object of this.world.all()) {
      const podKey = keyOf(object);
      if (object.kind === 'Pod' && object.spec?.['nodeName'] === node && this.host.has(podKey)) {
        void this.registry.facts(podKey, { inhibited: next });
      }
    }
  }

  private touch(key: string): Activity {
    this.stir += 1;
    let activity = this.activity.get(key);
    if (activity === undefined) {
      activity = { from: this.lastState.get(key) ?? null, effects: [], events: [] };
      this.activity.set(key, activity);
    }
    return activity;
  }

  /** Waits until everything the last step set off has run: deliveries, flushes, facts, timers due now. */
  private async settle(): Promise<void> {
    for (let round = 0; round < 1000; round += 1) {
      const before = this.stir;
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.registry.settled();
      await this.host.flushAll();
      await this.workloads.poll();
      await this.sweeping;
      await this.safety.idle();
      await new Promise<void>((resolve) => setImmediate(resolve));
      // A timer armed for now (a deadline already reached) fires before time moves on.
      const due = this.clock.nextDue();
      if (due !== undefined && due <= this.clock.now()) {
        this.clock.advanceTo(this.clock.now());
        continue;
      }
      if (this.stir === before) return;
    }
    throw new Error('the simulation does not settle: actors keep changing at one instant');
  }

  /** Turns what the actors did since the last call into timeline entries, in the order they did it. */
  private materialize(): void {
    const at = this.clock.now();
    const keys = new Set([
      ...this.activity.keys(),
      ...[...this.lastState.keys()].filter((k) => !this.host.has(k)),
    ]);
    for (const key of keys) {
      const activity = this.activity.get(key) ?? {
        from: this.lastState.get(key) ?? null,
        effects: [],
        events: [],
      };
      const snapshot = this.host.snapshot(key);
      if (snapshot === undefined) {
        if (activity.from !== null && this.lastState.has(key)) {
          this.timeline.push({
            type: 'machine',
            at,
            object: key,
            from: activity.from,
            to: 'stopped',
            reason: !this.world.exists(key)
              ? 'the object is gone'
              : 'no policy governs the object any more',
            effects: activity.effects,
            events: activity.events,
          });
        }
        this.lastState.delete(key);
        this.lastHistory.delete(key);
        continue;
      }
      const to = stateText(snapshot.value);
      const history = snapshot.context.history;
      const fresh = newEntries(history, this.lastHistory.get(key));
      this.lastState.set(key, to);
      this.lastHistory.set(key, history[history.length - 1]);
      if (
        activity.from === to &&
        activity.effects.length === 0 &&
        activity.events.length === 0 &&
        fresh.length === 0
      ) {
        continue;
      }
      this.timeline.push({
        type: 'machine',
        at,
        object: key,
        from: activity.from,
        to,
        reason: reasonOf(activity, to, fresh, snapshot.context, this.index),
        effects: activity.effects,
        events: activity.events.map((e) => ({
          type: e.type,
          reason: e.reason,
          message: e.message,
        })),
      });
    }
    this.activity.clear();
    // What the safety monitor made of it comes after what the actors did.
    this.timeline.push(...this.safetyLines.take(at));
  }

  // -------------------------------------------------------------------------------------------
  // The result

  private result(): SimulationResult {
    const { scenario } = this;
    const objects: ObjectSummary[] = [];
    const keys = new Set<string>();
    for (const entry of this.timeline) if (entry.type === 'machine') keys.add(entry.object);
    for (const key of keys) {
      const final = this.finalStates.get(key);
      const mine = this.effects.filter((e) => e.object === key);
      objects.push({
        object: key,
        workload: this.workloadOfObject.get(key) ?? key,
        policy: mine[0]?.policy ?? (final ? final.context.policy.name : null),
        state: final?.state ?? 'stopped',
        incidents: [...(this.incidentsOf.get(key) ?? [])].filter(
          (id) => !this.memberIncidents.has(id),
        ).length,
        actions: mine
          .filter((e) => !NOTIFICATIONS.has(e.kind))
          .map((e) => ({ kind: e.kind, outcome: e.outcome })),
        escalations: this.timeline.filter(
          (e) =>
            e.type === 'machine' &&
            e.object === key &&
            e.events.some((ev) => ev.reason === 'Escalated'),
        ).length,
        notifications: mine.filter((e) => TELLS_PEOPLE.has(e.kind)).length,
      });
    }
    const actions = this.effects.filter((e) => !NOTIFICATIONS.has(e.kind));
    const summary: Summary = {
      objects,
      incidents: [...this.incidentIds].filter((id) => !this.memberIncidents.has(id)).length,
      actions: {
        requested: actions.length,
        done: actions.filter((e) => e.outcome === 'done').length,
        failed: actions.filter((e) => e.outcome === 'failed').length,
        refusedByBudget: actions.filter((e) => e.outcome === 'refused').length,
        unanswered: actions.filter((e) => e.outcome === 'none' || e.outcome === 'pending').length,
      },
      notifications: this.effects.filter((e) => TELLS_PEOPLE.has(e.kind)).length,
      // Every incident escalated, and every storm's group escalation.
      escalations:
        objects.reduce((n, o) => n + o.escalations, 0) +
        this.effects.filter((e) => e.kind === 'escalate').length,
      people: { ...this.people },
    };
    return {
      scenario: {
        name: scenario.name,
        description: scenario.description,
        source: scenario.source,
        start: scenario.start,
        end: scenario.end,
        replay: scenario.replay,
        policies: policiesSeen(scenario),
      },
      timeline: this.timeline,
      effects: this.effects,
      summary,
      warnings: this.warnings,
    };
  }
}

/** The Deployments whose pods are among `objects`, by actor key. */
function deploymentsOf(objects: readonly KubeManifest[]): Set<string> {
  const keys = new Set<string>();
  for (const object of objects) {
    const workload = object.kind === 'Pod' ? podWorkloadKey(object) : null;
    const [namespace, kind, name] = workload?.split('/') ?? [];
    if (kind === 'Deployment') keys.add(`Deployment/${namespace}/${name}`);
  }
  return keys;
}

/**
 * The workload of an object as `Kind/namespace/name`: a pod's Deployment, StatefulSet… (the pod
 * itself when nothing replaces it); any other object is its own.
 */
function workloadName(object: KubeManifest): string {
  const workload = object.kind === 'Pod' ? podWorkloadKey(object) : null;
  if (workload === null) return keyOf(object);
  const [namespace, kind, ...name] = workload.split('/');
  return `${kind}/${namespace}/${name.join('/')}`;
}

/** The policies a run saw, at the start or applied by a step (a recording applies them all). */
function policiesSeen(scenario: Scenario): { name: string; mode: string }[] {
  const seen = new Map<string, string>();
  const policies = [
    ...scenario.policies,
    ...scenario.steps.flatMap((s) => (s.change.type === 'policy' ? [s.change.policy] : [])),
  ];
  for (const p of policies) seen.set(`${p.ref.namespace}/${p.ref.name}`, p.mode);
  return [...seen].map(([name, mode]) => ({ name, mode }));
}

const PERSON_VERBS = {
  approve: 'approves',
  reject: 'rejects',
  snooze: 'snoozes',
  ack: 'acknowledges',
  escalate: 'escalates',
  trigger: 'triggers the policy',
  merge: 'merges the pull request',
  close: 'closes the pull request',
} as const;

/** What the analyzers see in a whole new version of an object: `: CrashLoopBackOff` or nothing. */
function problemsOf(change: WorldChange): string {
  const object = change.upserts[0];
  if (object === undefined || !['Pod', 'Node', 'Deployment'].includes(object.kind)) return '';
  const { detections } = analyzeObject(object as unknown as ObservableObject);
  return detections.length === 0
    ? ''
    : ` (${[...new Set(detections.map((d) => d.type))].join(', ')})`;
}

/** The key of the object an effect acts on. */
function targetKey(effect: Effect): string {
  const { target } = effect;
  return keyOf({
    kind: target.kind,
    metadata: {
      name: target.name,
      ...(target.namespace === null ? {} : { namespace: target.namespace }),
    },
  });
}

function isPerson(change: Change): change is Extract<Change, { by: string }> {
  return change.type in PERSON_VERBS;
}

function slackIdOf(handle: string): string {
  return `U${handle.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}

/**
 * The Slack endpoint's check of a person against the policy's approvers (src/chatops/approvers.ts):
 * named by ID, handle or e-mail, or a member of a named group. Null when allowed.
 */
function approverCheck(
  approvers: { users: readonly string[]; groups: readonly string[] },
  handle: string,
  person: Person | undefined,
): 'no-approvers' | 'not-approver' | null {
  if (approvers.users.length === 0 && approvers.groups.length === 0) return 'no-approvers';
  const normal = (text: string) => text.trim().replace(/^@/, '').toLowerCase();
  const id = person?.slackId ?? slackIdOf(handle);
  const named = approvers.users.some((entry) => {
    if (entry.trim() === id) return true;
    const wanted = normal(entry);
    if (wanted.includes('@')) return person?.email?.toLowerCase() === wanted;
    return wanted === handle.toLowerCase();
  });
  if (named) return null;
  const groups = new Set((person?.groups ?? []).map(normal));
  return approvers.groups.some((g) => groups.has(normal(g))) ? null : 'not-approver';
}

/** History entries after `last` (history keeps only the newest few). */
function newEntries(
  history: readonly HistoryEntry[],
  last: HistoryEntry | undefined,
): HistoryEntry[] {
  if (last === undefined) return [...history];
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i] as HistoryEntry;
    if (entry.at === last.at && entry.decision === last.decision && entry.reason === last.reason) {
      return history.slice(i + 1);
    }
  }
  return [...history];
}

const PREFERENCE = ['close', 'skip', 'ignore'];

/** Why an actor moved, in the words of its decision, its Kubernetes Event, or its state. */
function reasonOf(
  activity: Activity,
  to: string,
  fresh: readonly HistoryEntry[],
  context: RemediationContext,
  index: PolicyIndex,
): string {
  const decided = [...fresh].reverse().find((e) => !PREFERENCE.includes(e.decision));
  if (decided) return decided.reason;
  // Then the Kubernetes Events it recorded: what `kubectl describe` shows.
  if (activity.events.length > 0) return activity.events.map((e) => e.message).join('; ');
  for (const kind of PREFERENCE) {
    const entry = [...fresh].reverse().find((e) => e.decision === kind);
    if (entry) return entry.reason;
  }
  if (to === 'suspect' && context.window) {
    const seen = context.detections.find((d) => d.type === context.window?.type);
    const until = context.deadlines.windowEnds;
    const left =
      until === undefined
        ? ''
        : `; confirmed unless it clears within ${formatDuration(until - context.now)}`;
    return `${context.window.type} seen: ${seen?.reason ?? ''}${left}`;
  }
  if (activity.from === null) {
    const governance = index.governanceOf(context.actorKey);
    const policy =
      governance.state === 'governed'
        ? `${governance.policy.namespace}/${governance.policy.name}`
        : context.policy.name;
    return `watched under policy ${policy}`;
  }
  if (activity.from === 'suspect' && to === 'healthy')
    return 'the symptom cleared within its window';
  if (activity.from === 'coolingDown' && to === 'healthy') return 'the cooldown is over';
  if (activity.from === 'quarantined' && to === 'healthy') return 'the quarantine is lifted';
  return '';
}
