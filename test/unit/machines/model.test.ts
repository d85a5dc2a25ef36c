/**
 * Model-based tests: @xstate/graph generates a shortest path to every reachable state of each
 * machine, in each mode, from the events that can happen in each state. Every edge of those
 * paths is checked against the safety invariants, every state reached against the state
 * invariants, and together they must cover every state and every transition of the definition.
 *
 * The same paths then drive persistence: every reachable state is replayed on a real actor,
 * persisted as JSON (what Redis keeps), restored with `restoreActor` after some downtime, and
 * both it and an actor that never stopped are driven through every pending deadline: they must
 * end in the same state with the same context, having asked for the same effects.
 *
 * One file, because exploring the graphs is the slow part and both halves share it.
 */
import { getShortestPaths, type StatePath } from '@xstate/graph';
import {
  getNextTransitions,
  SimulatedClock,
  type Actor,
  type AnyStateMachine,
  type AnyStateNode,
  type Snapshot,
  type SnapshotFrom,
} from 'xstate';
import { describe, expect, it } from 'vitest';
import { persistedSnapshot } from '../../../src/actors/persisted.ts';
import {
  CLUSTER_CHANGING,
  DELAY_DEADLINES,
  HISTORY_LIMIT,
  OUT_OF_SERVICE_TAINT,
  TAKES_NODE_OUT,
  defaultMachinePolicy,
  pendingDeadlines,
  restoreActor,
  type DelayName,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
  type Mode,
  type RemediationContext,
} from '../../../src/machines/index.ts';
import {
  eventsFor,
  instrumented,
  MODELS,
  modelPolicy,
  serializeState,
  type EdgeRecord,
  type Model,
} from './model.ts';
import { MINUTE, T0 } from './fixtures.ts';
import { contextOf, recorded, replay, runOut, type Recording } from './replay.ts';

/** States that hold an open incident, and those that wait on an effect. */
const WITHOUT_INCIDENT = new Set(['healthy', 'suspect', 'coolingDown']);
const AWAITING_EFFECT = new Set(['remediating', 'rollingBack', 'uncordoning', 'awaitingMerge']);

function topState(value: unknown): string {
  return typeof value === 'string' ? value : (Object.keys(value as object)[0] ?? '');
}

function effectsOf(edge: EdgeRecord): EffectRequest[] {
  return edge.actions
    .filter((a) => a.type === 'enqueueEffect')
    .map((a) => a.params as EffectRequest);
}

/** The safety rules no sequence of events may break, checked on one edge. */
function edgeViolations(edge: EdgeRecord, policy: MachinePolicy): string[] {
  const problems: string[] = [];
  const after = edge.after.context as RemediationContext;
  const where = `${JSON.stringify(edge.before.value)} --${edge.event.type}--> ${JSON.stringify(edge.after.value)}`;
  for (const request of effectsOf(edge)) {
    const { effect } = request;
    // Stronger than "nothing disruptive": a dry run asks for no effect at all.
    if (policy.mode === 'dryRun') {
      problems.push(`${where}: asked for ${effect.kind} in dryRun mode`);
    }
    if (
      request.effectId !== `${request.incidentId}/${request.step}` ||
      request.step.includes(':')
    ) {
      problems.push(`${where}: effect id ${request.effectId} is not incident/step`);
    }
    // A ticket is updated only for a problem the ladder asked a ticket for, and not yet resolved.
    if (
      effect.kind === 'updateTicket' &&
      !((edge.before.context as RemediationContext).tickets ?? []).includes(effect.detection)
    ) {
      problems.push(`${where}: updateTicket for ${effect.detection}, which has no open ticket`);
    }
    const failsOver = effect.kind === 'taint' && effect.taint.key === OUT_OF_SERVICE_TAINT.key;
    if (failsOver) {
      // Kubernetes deletes the pods of a node with this taint: only ever on one that is gone
      // and confirmed fenced.
      const o = after.observation;
      if (o?.kind !== 'Node' || o.ready === 'True' || o.fenced === undefined) {
        problems.push(`${where}: out-of-service taint on a node not gone and fenced`);
      }
    } else if (TAKES_NODE_OUT.has(effect.kind)) {
      const o = after.observation;
      const counts = o?.kind === 'Node' && o.ready === 'True' && !o.unschedulable ? 1 : 0;
      const healthy = after.facts.healthyNodes;
      if (healthy === null || healthy - counts < policy.node.minHealthyNodes) {
        problems.push(
          `${where}: ${effect.kind} with ${String(healthy)} healthy nodes (minimum ${policy.node.minHealthyNodes})`,
        );
      }
    }
    // A spent budget or a storm limits automation: only a person's approval lets an action out.
    const held = !after.facts.budgetAvailable || (after.facts.storm ?? null) !== null;
    if (
      request.step === 'remediate-1' &&
      CLUSTER_CHANGING.has(effect.kind) &&
      held &&
      !after.incident?.approvedBy
    ) {
      problems.push(`${where}: ${effect.kind} while automation is held, approved by nobody`);
    }
    // A pod of a workload also counts the remediations of the workload's other pods; its
    // cooldown is the workload's (src/workloads/rules.ts holds a claim off while it lasts).
    if (
      request.step === 'remediate-1' &&
      CLUSTER_CHANGING.has(effect.kind) &&
      after.incident?.claim === undefined
    ) {
      const [previous, latest] = after.remediations.slice(-2);
      if (latest !== undefined && previous !== undefined && latest - previous < policy.cooldownMs) {
        problems.push(
          `${where}: two remediations ${latest - previous} ms apart, cooldown is ${policy.cooldownMs} ms`,
        );
      }
    }
  }
  return problems;
}

/** What must hold in every reachable state. */
function stateViolations(snapshot: EdgeRecord['after'], policy: MachinePolicy): string[] {
  const problems: string[] = [];
  const context = snapshot.context as RemediationContext;
  const state = topState(snapshot.value);
  const where = JSON.stringify(snapshot.value);
  if (WITHOUT_INCIDENT.has(state) !== (context.incident === null)) {
    problems.push(`${where}: incident ${context.incident ? 'open' : 'missing'}`);
  }
  // An escalated node may wait for the out-of-service taint it asked for once fenced.
  const failingOver = state === 'escalated' && context.incident?.outOfServiceTaint === 'asked';
  if (AWAITING_EFFECT.has(state) !== Boolean(context.incident?.awaiting) && !failingOver) {
    problems.push(`${where}: awaiting ${JSON.stringify(context.incident?.awaiting)}`);
  }
  for (const transition of getNextTransitions(snapshot)) {
    const eventType = String(transition.eventType);
    const delay = eventType.split('.')[2] as DelayName | undefined;
    if (!eventType.startsWith('xstate.after.') || delay === undefined) continue;
    if (context.deadlines[DELAY_DEADLINES[delay]] === undefined) {
      problems.push(`${where}: waits on ${delay} without a deadline`);
    }
  }
  if (policy.mode === 'dryRun' && !WITHOUT_INCIDENT.has(state)) {
    problems.push(`${where}: an incident stays open in dryRun mode`);
  }
  if (context.history.length > HISTORY_LIMIT) problems.push(`${where}: history unbounded`);
  return problems;
}

function allTransitions(machine: AnyStateMachine): Map<unknown, string> {
  const out = new Map<unknown, string>();
  const visit = (node: AnyStateNode) => {
    for (const [type, transitions] of node.transitions) {
      transitions.forEach((t, i) => out.set(t, `${node.id} on ${type} [${i}]`));
    }
    node.always?.forEach((t, i) => out.set(t, `${node.id} always [${i}]`));
    Object.values(node.states).forEach(visit);
  };
  visit(machine.root);
  return out;
}

function allStateIds(machine: AnyStateMachine): string[] {
  const ids: string[] = [];
  const visit = (node: AnyStateNode) => {
    ids.push(node.id);
    Object.values(node.states).forEach(visit);
  };
  visit(machine.root);
  return ids;
}

/** The policy a model is explored under, in one mode. */
function policyFor(model: Model, mode: Mode): MachinePolicy {
  const policy = modelPolicy(defaultMachinePolicy, mode);
  return model.policy === undefined ? policy : model.policy(policy);
}

interface Exploration {
  paths: StatePath<SnapshotFrom<AnyStateMachine>, MachineEvent>[];
  problems: string[];
  edges: number;
}

const coverage = new Map<Model['name'], { transitions: Set<unknown>; nodes: Set<string> }>();
const explorations = new Map<string, Exploration>();

/** Explores one machine in one mode once, checking edge invariants on the way. */
function explore(model: Model, mode: Mode): Exploration {
  const key = `${model.name}${model.variant ?? ''}/${mode}`;
  const done = explorations.get(key);
  if (done) return done;
  const policy = policyFor(model, mode);
  const covered = coverage.get(model.name) ?? { transitions: new Set(), nodes: new Set() };
  coverage.set(model.name, covered);
  const exploration: Exploration = { paths: [], problems: [], edges: 0 };
  const logic = instrumented(model.machine, covered, (edge) => {
    exploration.edges++;
    exploration.problems.push(...edgeViolations(edge, policy));
  });
  const paths: unknown = getShortestPaths(logic, {
    input: {
      actorKey: model.actorKey,
      policy,
      at: T0,
      ...(model.facts0 ? { facts: model.facts0 } : {}),
    },
    events: eventsFor(model),
    serializeState,
  });
  // The machine is typed as any machine; its events are the MachineEvents eventsFor() made.
  exploration.paths = paths as Exploration['paths'];
  for (const path of exploration.paths) {
    exploration.problems.push(...stateViolations(path.state, policy));
  }
  explorations.set(key, exploration);
  return exploration;
}

describe.each(MODELS)('the $title machine, explored from its events', (model: Model) => {
  // Exploring a graph is CPU-bound: on a busy 2-core machine (a control plane building beside
  // it) the largest takes tens of seconds.
  it.each(model.modes)(
    'keeps every invariant on every path in %s mode',
    (mode) => {
      const { paths, problems } = explore(model, mode);
      expect(paths.length).toBeGreaterThan(1);
      expect([...new Set(problems)].slice(0, 10)).toEqual([]);
    },
    120_000,
  );

  /** Every model of the machine, variants included: coverage is of the machine. */
  const ofMachine = MODELS.filter((m) => m.name === model.name);

  it('reaches every state of the definition on some generated path', () => {
    ofMachine.forEach((m) => m.modes.forEach((mode) => explore(m, mode)));
    const nodes = coverage.get(model.name)?.nodes ?? new Set();
    const missing = allStateIds(model.machine).filter(
      (id) => id !== model.machine.id && !nodes.has(id),
    );
    expect(missing).toEqual([]);
  });

  it('takes every transition of the definition on some generated path', () => {
    const edges = ofMachine.reduce(
      (n, m) => n + m.modes.reduce((k, mode) => k + explore(m, mode).edges, 0),
      0,
    );
    const taken = coverage.get(model.name)?.transitions ?? new Set();
    const missing = [...allTransitions(model.machine)]
      .filter(([transition]) => !taken.has(transition))
      .map(([, label]) => label);
    expect(edges).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });
});

const HORIZON = 6 * 60 * MINUTE;

/** The states an actor can rest in, per machine: each must be restored at least once. */
const RESTING: Record<Model['name'], string[]> = {
  pod: [
    'healthy',
    'suspect',
    'inhibited',
    'awaitingApproval',
    'remediating',
    'awaitingMerge',
    'verifying',
    'coolingDown',
    'escalated',
    'quarantined',
  ],
  node: [
    'healthy',
    'suspect',
    'awaitingApproval',
    'remediating',
    'verifying',
    'uncordoning',
    'coolingDown',
    'escalated',
    'quarantined',
  ],
  deployment: [
    'healthy',
    'suspect',
    'awaitingApproval',
    'remediating',
    'awaitingMerge',
    'verifying',
    'rollingBack',
    'coolingDown',
    'escalated',
    'quarantined',
  ],
};

/** With workload memory, a pod also rests asking its workload, and waiting on it. */
const WORKLOAD_RESTING = ['claiming', 'joined', 'verifying', 'remediating', 'quarantined'];
const FENCING_RESTING = ['remediating', 'verifying', 'escalated', 'uncordoning', 'coolingDown'];

function restingKey(snapshot: { value: unknown; context: unknown }): string {
  const deadlines = Object.keys((snapshot.context as RemediationContext).deadlines).sort();
  return JSON.stringify([snapshot.value, deadlines]);
}

/** Persists the actor, lets `gap` ms pass, restores it, and runs both to the horizon. */
function compareAfterDowntime(
  model: Model,
  events: readonly MachineEvent[],
  policy: MachinePolicy,
  fork: number,
  gap: number,
) {
  const live = replay(model, events, policy);
  const state = live.actor.getSnapshot().value as unknown;
  // What ActorHost stores, which must be what xstate itself would persist.
  const ours = persistedSnapshot(live.actor);
  expect(ours).toEqual(live.actor.getPersistedSnapshot());
  const persisted = JSON.parse(JSON.stringify(ours)) as Snapshot<unknown>;
  const liveEffectsBefore = live.log.effects.length;
  // The actor that never stopped sees each of its timers fire on time during the downtime.
  runOut([{ actor: live.actor, clock: live.clock }], fork + gap);
  live.clock.set(fork + gap);

  const restoredLog: Recording = { effects: [], records: [] };
  const restoredClock = new SimulatedClock();
  restoredClock.set(fork + gap);
  const restored: Actor<AnyStateMachine> = restoreActor(
    recorded(model.machine, restoredLog),
    persisted,
    {
      clock: restoredClock,
    },
  );
  restoredClock.set(fork + gap); // fires what fell due during the downtime

  runOut(
    [
      { actor: live.actor, clock: live.clock },
      { actor: restored, clock: restoredClock },
    ],
    fork + HORIZON,
  );
  const where = `${JSON.stringify(state)} after ${gap} ms of downtime`;
  expect(restored.getSnapshot().value, where).toEqual(live.actor.getSnapshot().value);
  // Only the clock time differs: the restored actor was told what the clock read.
  const { clockAt: _liveClock, ...liveContext } = contextOf(live.actor);
  const { clockAt: _restoredClock, ...restoredContext } = contextOf(restored);
  expect(restoredContext, where).toEqual(liveContext);
  expect(restoredLog.effects, where).toEqual(live.log.effects.slice(liveEffectsBefore));
  live.actor.stop();
  restored.stop();
}

describe.each(MODELS)('the $title machine, restored from a persisted snapshot', (model: Model) => {
  const restored = new Set<string>();

  it.each(model.modes)(
    'resumes every reachable state in %s mode as if it never stopped',
    (mode) => {
      const policy = policyFor(model, mode);
      const paths = [...explore(model, mode).paths].sort((a, b) => a.steps.length - b.steps.length);
      const reached = new Set<string>();
      const attempts = new Map<string, number>();
      let compared = 0;
      for (const path of paths) {
        // One real replay per state value and set of deadlines: replays are the slow part. A path
        // that real time cannot follow (timers in another order) is retried with the next one.
        const planned = restingKey(path.state);
        const tries = attempts.get(planned) ?? 0;
        if (reached.has(planned) || tries >= 5) continue;
        attempts.set(planned, tries + 1);
        const events = path.steps.map((step) => step.event);
        const probe = replay(model, events, policy);
        const snapshot = probe.actor.getSnapshot() as { value: unknown; context: unknown };
        const actual = restingKey(snapshot);
        const fork = probe.clock.now();
        const first = pendingDeadlines(snapshot as { context: RemediationContext })[0]?.at;
        probe.actor.stop();
        if (actual !== planned || reached.has(actual)) continue;
        reached.add(actual);
        const state = snapshot.value;
        restored.add(typeof state === 'string' ? state : (Object.keys(state as object)[0] ?? ''));
        // Downtime: half-way to the next deadline, and past it.
        const gaps =
          first === undefined
            ? [60 * MINUTE]
            : [Math.floor((first - fork) / 2), first - fork + MINUTE];
        for (const gap of gaps) {
          compareAfterDowntime(model, events, policy, fork, gap);
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(reached.size);
    },
  );

  it('has restored every state an actor can rest in', () => {
    const resting =
      model.variant === 'workload'
        ? WORKLOAD_RESTING
        : model.variant === 'fencing'
          ? FENCING_RESTING
          : RESTING[model.name];
    expect(resting.filter((state) => !restored.has(state))).toEqual([]);
  });
});
