/**
 * The model for path generation with @xstate/graph: which events can happen in a state (with the
 * times, ids and observations that make them meaningful) and a small projection of context that
 * keeps the state space finite (a counter or a clock in context would make it infinite).
 */
import { getNextTransitions, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import {
  deploymentMachine,
  nodeMachine,
  podMachine,
  remediationsInWindow,
  type MachineEvent,
  type MachinePolicy,
  type RemediationContext,
  type RuntimeFacts,
} from '../../../src/machines/index.ts';
import type { WorkloadIncident } from '../../../src/machines/workload.ts';
import type { ObservableObject } from '../../../src/observe/index.ts';
import {
  crashLoopingPod,
  deployment,
  DEPLOYMENT_KEY,
  healthyNode,
  MINUTE,
  node,
  NODE_KEY,
  observed,
  oomKilledPod,
  POD_KEY,
  runningPod,
  T0,
} from './fixtures.ts';

type Snapshot = SnapshotFrom<AnyStateMachine>;

export interface Model {
  name: 'pod' | 'node' | 'deployment';
  /** How the tests name it. */
  title: string;
  /**
   * A variant of the machine's model, explored apart (its state space would multiply the other's):
   * `workload` is a pod whose runtime keeps its workload's memory, so symptoms are claimed first.
   */
  variant?: 'workload' | 'fencing';
  /** Changes to the explored policy for this variant. */
  policy?: (policy: MachinePolicy) => MachinePolicy;
  /** Facts the actor starts with. */
  facts0?: Partial<RuntimeFacts>;
  /**
   * The modes that change this machine's paths. gitops only changes how desired state is changed
   * (rollbacks, scales, memory), which a node never does, so the node is explored without it.
   */
  modes: readonly MachinePolicy['mode'][];
  machine: AnyStateMachine;
  actorKey: string;
  /** Observations that matter for this kind (each a function of the context, for restart counts). */
  observations: (context: RemediationContext) => ObservableObject[];
  /** FACTS events that change decisions for this kind. */
  facts: (at: number) => MachineEvent[];
  /**
   * Whether a POLICY event may also swap in the same policy without time to approve, so that
   * held automation that nobody can be asked about (it escalates) is explored too.
   */
  noTimeToApprove?: boolean;
}

const STEP_MS = 1_000;

/** A policy small enough to explore: two remediations quarantine, a two-level ladder. */
export function modelPolicy(base: MachinePolicy, mode: MachinePolicy['mode']): MachinePolicy {
  return {
    ...base,
    mode,
    detections: {
      CrashLoopBackOff: { threshold: 2, windowMs: 10 * MINUTE, action: 'restartPod' },
      OOMKilled: {
        threshold: 1,
        windowMs: 10 * MINUTE,
        action: 'increaseMemory',
        memory: { increasePercent: 50 },
      },
      MemoryPressure: { threshold: 2, windowMs: 5 * MINUTE, action: 'drain' },
      DiskPressure: {
        threshold: 1,
        windowMs: 5 * MINUTE,
        action: 'taint',
        taint: { key: 'remedy.kube-remedy.io/disk', effect: 'NoSchedule' },
      },
      NotReady: { threshold: 1, windowMs: 5 * MINUTE, action: 'notify' },
      RolloutFailed: { threshold: 2, windowMs: MINUTE, action: 'rollback' },
    },
    escalation: [
      { afterMs: 0, targets: [{ type: 'slack', channel: '#oncall' }] },
      { afterMs: 15 * MINUTE, targets: [{ type: 'page', service: 'primary' }, { type: 'ticket' }] },
    ],
    quarantine: { maxRemediations: 2, windowMs: 2 * 60 * MINUTE },
    node: { drainAllowed: true, minHealthyNodes: 2 },
  };
}

function restarts(context: RemediationContext): number {
  return context.observation?.kind === 'Pod' ? context.observation.restartCount + 1 : 1;
}

export const MODELS: readonly Model[] = [
  {
    name: 'pod',
    title: 'pod',
    modes: ['auto', 'approval', 'dryRun', 'gitops'],
    machine: podMachine,
    actorKey: POD_KEY,
    observations: (c) => [
      crashLoopingPod(restarts(c)),
      runningPod(restarts(c)),
      oomKilledPod(restarts(c)),
    ],
    facts: (at) => [
      {
        type: 'FACTS',
        at,
        facts: { inhibited: { by: NODE_KEY, reason: 'node has MemoryPressure' } },
      },
      { type: 'FACTS', at, facts: { inhibited: null } },
      { type: 'FACTS', at, facts: { budgetAvailable: false } },
      { type: 'FACTS', at, facts: { budgetAvailable: true } },
    ],
    noTimeToApprove: true,
  },
  {
    name: 'pod',
    title: 'pod (workload memory)',
    variant: 'workload',
    // dryRun claims nothing (a dry run per pod), and gitops changes nothing on this path.
    modes: ['auto', 'approval'],
    machine: podMachine,
    actorKey: POD_KEY,
    facts0: { workloadMemory: true },
    observations: (c) => [madeAtT0(crashLoopingPod(restarts(c))), runningPod(restarts(c))],
    facts: (at) => [
      // The workload incident a pod waits on ended, and nothing holds the workload.
      {
        type: 'FACTS',
        at,
        facts: { workload: { type: 'CrashLoopBackOff', incidentId: null, heldUntil: null } },
      },
    ],
  },
  {
    name: 'node',
    title: 'node',
    modes: ['auto', 'approval', 'dryRun'],
    machine: nodeMachine,
    actorKey: NODE_KEY,
    observations: () => [
      node({ MemoryPressure: 'True' }),
      node({ DiskPressure: 'True' }),
      node({ Ready: 'Unknown' }),
      healthyNode(),
    ],
    facts: (at) => [
      { type: 'FACTS', at, facts: { healthyNodes: 5 } },
      { type: 'FACTS', at, facts: { healthyNodes: 2 } },
    ],
  },
  {
    name: 'node',
    title: 'node (dead, fenced, failed over)',
    variant: 'fencing',
    // What a fenced node does is the same whichever mode cordoned it; a dry run cordons nothing.
    modes: ['auto'],
    machine: nodeMachine,
    actorKey: NODE_KEY,
    policy: (p) => ({
      ...p,
      detections: {
        NotReady: {
          threshold: 1,
          windowMs: 5 * MINUTE,
          action: 'cordon',
          outOfServiceWhenFenced: true,
        },
      },
    }),
    observations: () => [node({ Ready: 'Unknown' }), fencedNode(), healthyNode()],
    facts: (at) => [{ type: 'FACTS', at, facts: { healthyNodes: 5 } }],
  },
  {
    name: 'deployment',
    title: 'deployment',
    modes: ['auto', 'approval', 'dryRun', 'gitops'],
    machine: deploymentMachine,
    actorKey: DEPLOYMENT_KEY,
    observations: () => [
      deployment({ failed: true }),
      deployment(),
      deployment({ desired: 5, available: 5 }),
    ],
    facts: (at) => [
      { type: 'FACTS', at, facts: { hpa: { name: 'web' } } },
      { type: 'FACTS', at, facts: { hpa: null } },
      { type: 'FACTS', at, facts: { budgetAvailable: false } },
      { type: 'FACTS', at, facts: { budgetAvailable: true } },
    ],
    noTimeToApprove: true,
  },
];

/** Every event that can matter in this state, with a time one second after the machine's. */
export function eventsFor(model: Model) {
  return (snapshot: Snapshot): MachineEvent[] => {
    const context = snapshot.context as RemediationContext;
    const at = context.now + STEP_MS;
    const incidentId = context.incident?.id ?? 'none';
    const awaited = context.incident?.awaiting?.effectId ?? 'none';
    const types = new Set(getNextTransitions(snapshot).map((t) => String(t.eventType)));
    const events: MachineEvent[] = [];
    for (const type of types) {
      switch (type) {
        case 'OBSERVED':
          for (const object of model.observations(context)) events.push(observed(object, at));
          if (model.name === 'pod') {
            events.push(observed(crashLoopingPod(restarts(context)), at, { inhibited: null }));
            if (model.variant === 'workload') {
              if (verifiedId(context) !== null) {
                events.push(
                  observed(madeAtT0(crashLoopingPod(restarts(context))), at, {
                    workload: underVerification(context),
                  }),
                );
              }
              events.push(
                observed(crashLoopingPod(restarts(context)), at, {
                  workload: { type: 'CrashLoopBackOff', incidentId: null, heldUntil: null },
                }),
              );
            }
          }
          break;
        case 'FACTS':
          events.push(...model.facts(at));
          if (model.variant === 'workload' && verifiedId(context) !== null) {
            events.push({ type, at, facts: { workload: underVerification(context) } });
          }
          break;
        case 'TAKEN_OVER':
          events.push({ type, at, incidentId, by: 'Pod/shop/api-7d9f-new' });
          break;
        case 'EFFECT.DONE':
          events.push({ type, at, effectId: awaited });
          break;
        case 'EFFECT.FAILED':
          events.push({ type, at, effectId: awaited, error: 'the API server said no' });
          break;
        case 'PROPOSAL.MERGED':
        case 'PROPOSAL.CLOSED':
          events.push({ type, at, effectId: awaited, by: 'reviewer' });
          break;
        case 'SCALE.PROPOSED':
          events.push({ type, at, from: 3, to: 5, reason: 'queue depth above target' });
          break;
        case 'APPROVE':
        case 'ACK':
          events.push({ type, at, by: 'alice', incidentId });
          break;
        case 'REJECT':
        case 'ESCALATE':
          events.push({ type, at, by: 'alice', incidentId, reason: 'looks wrong' });
          break;
        case 'SNOOZE':
          events.push({ type, at, by: 'alice', incidentId, durationMs: 30 * MINUTE });
          break;
        case 'TRIGGER':
          events.push({ type, at, by: 'alice', reason: 'the on-call engineer asked' });
          break;
        case 'RESUME':
          events.push({ type, at });
          break;
        case 'WORKLOAD':
          if (model.variant === 'workload') events.push(...workloadAnswers(incidentId, at));
          break;
        case 'ADOPT':
          if (model.variant !== 'workload') break;
          events.push({
            type,
            at,
            workload: WORKLOAD_KEY,
            incident: { ...workloadIncident(at), phase: 'verifying', verifyUntil: at + 5 * MINUTE },
            remediations: [at - MINUTE],
          });
          break;
        case 'POLICY':
          // The same policy again: a policy update must not disturb a running incident.
          events.push({ type, at, policy: context.policy });
          if (model.noTimeToApprove && context.policy.approvalTimeoutMs > 0) {
            events.push({ type, at, policy: { ...context.policy, approvalTimeoutMs: 0 } });
          }
          break;
        default:
          if (type.startsWith('xstate.after.')) events.push({ type } as unknown as MachineEvent);
      }
    }
    return events;
  };
}

const WORKLOAD_KEY = 'shop/Deployment/api';

/** A node gone Unknown that a fencing system (or a person) says is powered off. */
function fencedNode(): ObservableObject {
  const gone = node({ Ready: 'Unknown' });
  return {
    ...gone,
    metadata: { ...gone.metadata, annotations: { 'remedy.kube-remedy.io/fenced': 'powered off' } },
  };
}

/** The pod as created at T0: after every remediation `underVerification` says was verified. */
function madeAtT0(pod: ObservableObject): ObservableObject {
  return { ...pod, metadata: { ...pod.metadata, creationTimestamp: new Date(T0).toISOString() } };
}

/** The incident a waiting pod joined, when it waits on one. */
function verifiedId(context: RemediationContext): string | null {
  const joined = context.incident?.joinedTo;
  return joined !== undefined && 'incidentId' in joined ? joined.incidentId : null;
}

/** What the workload tells a waiting pod while another pod verifies a remediation made at T0. */
function underVerification(context: RemediationContext) {
  return {
    type: 'CrashLoopBackOff' as const,
    incidentId: verifiedId(context),
    heldUntil: null,
    verifyingActedAt: T0,
  };
}

/** The workload's incident that another pod of it opened, one remediation in. */
function workloadIncident(at: number): WorkloadIncident {
  return {
    id: `Pod/shop/api-7d9f-abc#1@${at - 2 * MINUTE}`,
    openedAt: at - 2 * MINUTE,
    holder: null,
    holderOwner: null,
    phase: 'remediating',
    attempts: 1,
    actedAt: at - MINUTE,
    replacesPod: true,
    verifyUntil: null,
    verificationWindowMs: 5 * MINUTE,
    announced: true,
    trigger: { type: 'CrashLoopBackOff', reason: 'container api restarted 3 times' },
  };
}

/** Every answer a workload can give a claim: lead a new or an open incident, join, be held. */
function workloadAnswers(incidentId: string, at: number): MachineEvent[] {
  const open = workloadIncident(at);
  return [
    {
      type: 'WORKLOAD',
      at,
      incidentId,
      answer: { role: 'lead', continues: null, remediations: [], ticket: false },
    },
    {
      type: 'WORKLOAD',
      at,
      incidentId,
      answer: {
        role: 'lead',
        continues: { ...open, holder: POD_KEY, holderOwner: 'agent-node-1' },
        remediations: [at - MINUTE],
        ticket: false,
      },
    },
    {
      type: 'WORKLOAD',
      at,
      incidentId,
      answer: {
        role: 'member',
        incident: { ...open, holder: 'Pod/shop/api-7d9f-abc' },
        remediations: [at - MINUTE],
      },
    },
    {
      type: 'WORKLOAD',
      at,
      incidentId,
      answer: { role: 'held', why: 'quarantined', until: at + 30 * MINUTE, remediations: [] },
    },
  ];
}

/** State value plus the few context facts that change what can happen next. */
export function serializeState(snapshot: Snapshot): string {
  const c = snapshot.context as RemediationContext;
  const i = c.incident;
  return JSON.stringify([
    snapshot.value,
    c.detections.map((d) => d.type).sort(),
    c.window?.type ?? null,
    Math.min(c.window?.seen ?? 0, 3),
    c.facts.inhibited !== null,
    c.facts.healthyNodes,
    c.facts.hpa !== null,
    c.facts.budgetAvailable,
    c.facts.workloadMemory === true,
    c.policy.approvalTimeoutMs === 0,
    c.observation?.kind === 'Deployment' ? c.observation.desiredReplicas : null,
    c.observation?.kind === 'Node' ? c.observation.unschedulable : null,
    remediationsInWindow(c, c.now),
    i && [
      i.trigger.kind,
      i.trigger.kind === 'detection' ? i.trigger.detection.type : null,
      i.decision?.decision ?? null,
      i.step,
      i.awaiting?.kind ?? null,
      i.approvedBy !== null,
      i.escalation?.level ?? null,
      Math.min(i.escalations, 2),
      Math.min(i.uncordons, 2),
      i.nodeOutOfService,
      i.claim ?? null,
      Math.min(i.attempts ?? 0, 3),
      i.joinedTo === undefined ? null : 'held' in i.joinedTo ? 'held' : 'member',
    ],
  ]);
}

/** What happened on one edge of the graph: the transitions taken, the states entered, the actions. */
export interface EdgeRecord {
  before: Snapshot;
  event: MachineEvent;
  after: Snapshot;
  actions: { type: string; params?: unknown }[];
}

interface InspectionScope {
  system: { _sendInspectionEvent: (event: unknown) => void };
  actionExecutor: (action: { type: string; params?: unknown }) => void;
}

interface MicrostepEvent {
  type: string;
  snapshot: { _nodes: { id: string }[] };
  _transitions: unknown[];
}

/**
 * The machine as graph logic that reports every transition it makes. It listens to xstate's
 * microstep inspection events (`_transitions`, `_nodes`: internal, so a change in xstate makes
 * the coverage assertions fail loudly rather than pass quietly) and to the actions it resolves.
 */
export function instrumented(
  machine: AnyStateMachine,
  coverage: { transitions: Set<unknown>; nodes: Set<string> },
  onEdge: (edge: EdgeRecord) => void,
): AnyStateMachine {
  const logic = Object.create(machine) as AnyStateMachine;
  logic.transition = (snapshot, event, scope) => {
    const s = scope as unknown as InspectionScope;
    const { _sendInspectionEvent: inspect } = s.system;
    const execute = s.actionExecutor;
    const actions: EdgeRecord['actions'] = [];
    s.system._sendInspectionEvent = (inspection) => {
      const microstep = inspection as MicrostepEvent;
      if (microstep.type !== '@xstate.microstep') return;
      for (const transition of microstep._transitions) coverage.transitions.add(transition);
      for (const node of microstep.snapshot._nodes) coverage.nodes.add(node.id);
    };
    s.actionExecutor = (action) => actions.push({ type: action.type, params: action.params });
    try {
      const after = machine.transition(snapshot, event, scope);
      onEdge({ before: snapshot, event: event as MachineEvent, after, actions });
      return after;
    } finally {
      s.system._sendInspectionEvent = inspect;
      s.actionExecutor = execute;
    }
  };
  return logic;
}
