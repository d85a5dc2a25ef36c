/**
 * The work behind the machines' named actions, as pure functions: each takes the context and the
 * event and returns what changes (a context patch), which Kubernetes Events to record and which
 * effects to ask for. setup.ts turns each into an action; tests can call them directly.
 */
import { describeNodePods } from '../observe/node-pods.ts';
import { FENCED_ANNOTATION } from '../observe/observe.ts';
import { formatDuration } from '../util/duration.ts';
import type {
  DeadlineName,
  Decision,
  DecisionKind,
  HistoryEntry,
  Incident,
  RemediationContext,
} from './context.ts';
import { COMMAND_MEMORY, HISTORY_LIMIT } from './context.ts';
import { decide, nodeCapacity } from './decisions.ts';
import {
  CLUSTER_CHANGING,
  DETECTION_EVIDENCE_STEP,
  describeEffect,
  objectName,
  OUT_OF_SERVICE_TAINT,
  undoOf,
  type Effect,
  type EffectRequest,
  type RecordedEvent,
  type RemediationEffect,
} from './effects.ts';
import { isCommand, type MachineEvent } from './events.ts';
import { objectRef, planFor } from './plans.ts';
import type { EscalationTarget } from './policy.ts';
import { carries, nextSightings, primaryDetection, restartCount } from './symptoms.ts';
import { problemOf, ticketsAsked, ticketsOfWorkload, ticketUpdate } from './tickets.ts';
import { deadlineAfter, timeOf } from './time.ts';
import { workloadKeyOf, type WorkloadClaimRequest } from './workload.ts';

export interface Outcome {
  patch?: Partial<RemediationContext>;
  records?: RecordedEvent[];
  effects?: EffectRequest[];
  /** Claims asked of the pod's workload (`claimWorkload`). */
  claims?: WorkloadClaimRequest[];
}

export type Step<P = undefined> = (
  context: RemediationContext,
  event: MachineEvent,
  params: P,
) => Outcome;

const NOTHING: Outcome = {};

function history(
  context: RemediationContext,
  at: number,
  decision: string,
  reason: string,
): HistoryEntry[] {
  const entry = { at, incidentId: context.incident?.id ?? null, decision, reason };
  return [...context.history, entry].slice(-HISTORY_LIMIT);
}

function withDeadline(
  context: RemediationContext,
  name: DeadlineName,
  at: number,
): RemediationContext['deadlines'] {
  return { ...context.deadlines, [name]: at };
}

function request(
  context: RemediationContext,
  incident: Incident,
  step: string,
  effect: Effect,
  at: number,
): EffectRequest {
  return {
    actorKey: context.actorKey,
    incidentId: incident.id,
    step,
    effectId: `${incident.id}/${step}`,
    requestedAt: at,
    effect,
    ...(incident.workload === undefined ? {} : { workload: incident.workload }),
  };
}

function triggerText(incident: Incident): string {
  return incident.trigger.kind === 'detection'
    ? incident.trigger.detection.reason
    : incident.trigger.reason;
}

function who(target: EscalationTarget): string {
  switch (target.type) {
    case 'slack':
      return `Slack ${target.channel}`;
    case 'slackUserGroup':
      return `Slack group ${target.userGroup}`;
    case 'page':
      return `on-call ${target.service}`;
    case 'ticket':
      return 'a ticket';
  }
}

/** One request per target of an escalation level: tickets are opened, the others notified. */
function levelRequests(
  context: RemediationContext,
  incident: Incident,
  stepPrefix: string,
  level: number,
  reason: string,
  at: number,
): EffectRequest[] {
  const targets = context.policy.escalation[level]?.targets ?? [];
  const target = objectRef(context);
  if (targets.length === 0) {
    const notice: Effect = {
      kind: 'notify',
      purpose: 'escalated',
      to: null,
      level: null,
      target,
      reason,
    };
    return [request(context, incident, `${stepPrefix}-notice`, notice, at)];
  }
  return targets.map((to, i) =>
    request(
      context,
      incident,
      `${stepPrefix}-${i}`,
      to.type === 'ticket'
        ? { kind: 'openTicket', level, target, reason }
        : { kind: 'notify', purpose: 'escalated', to, level, target, reason },
      at,
    ),
  );
}

function openIncident(
  context: RemediationContext,
  at: number,
  trigger: Incident['trigger'],
): Incident {
  const seq = context.incidentCount + 1;
  return {
    id: `${context.actorKey}#${seq}@${at}`,
    seq,
    openedAt: at,
    trigger,
    decision: null,
    plan: [],
    step: 0,
    awaiting: null,
    approvedBy: null,
    escalations: 0,
    escalation: null,
    uncordons: 0,
    nodeOutOfService: false,
    announced: false,
    commands: [],
  };
}

/** The incident, or nothing to do: steps that need one are only reachable with one. */
function incidentOf(context: RemediationContext): Incident | null {
  return context.incident;
}

/** Remembers a command's id so that a repeat is ignored. */
function handled(incident: Incident, event: MachineEvent): Incident {
  if (!isCommand(event) || event.id === undefined) return incident;
  return { ...incident, commands: [...incident.commands, event.id].slice(-COMMAND_MEMORY) };
}

// ---------------------------------------------------------------------------------------------
// Observations, facts, policy and time

export const rememberObservation: Step = (context, event) => {
  if (event.type !== 'OBSERVED') return NOTHING;
  return {
    patch: {
      observation: event.observation,
      detections: event.detections,
      facts: event.facts ? { ...context.facts, ...event.facts } : context.facts,
    },
  };
};

export const rememberFacts: Step = (context, event) =>
  event.type === 'FACTS' ? { patch: { facts: { ...context.facts, ...event.facts } } } : NOTHING;

export const rememberPolicy: Step = (_context, event) =>
  event.type === 'POLICY' ? { patch: { policy: event.policy } } : NOTHING;

/** RESUME: only the clock time changes (act() records it); nothing happened. */
export const noteTime: Step = () => NOTHING;

/**
 * A timer fired: the logical time is the deadline it was armed for (even if it fired late, after
 * a restore), never going backwards.
 */
export const reachDeadline: Step<{ deadline: DeadlineName }> = (context, _event, { deadline }) => {
  const at = Math.max(context.now, context.deadlines[deadline] ?? context.now);
  return { patch: { now: at, clockAt: Math.max(context.clockAt, at) } };
};

// ---------------------------------------------------------------------------------------------
// Detection window

export const openWindow: Step = (context, event) => {
  const detection = primaryDetection(context.policy, context.detections);
  const rule = detection && context.policy.detections[detection.type];
  if (!detection || !rule) return NOTHING;
  const at = timeOf(context, event);
  return {
    patch: {
      window: {
        type: detection.type,
        openedAt: at,
        seen: 1,
        restartsAtOpen: restartCount(context.observation),
      },
      deadlines: withDeadline(context, 'windowEnds', deadlineAfter(at, rule.windowMs)),
    },
  };
};

export const countSighting: Step = (context, event) => {
  const window = context.window;
  if (!window || event.type !== 'OBSERVED') return NOTHING;
  if (!event.detections.some((d) => d.type === window.type)) return NOTHING;
  return { patch: { window: { ...window, seen: nextSightings(window, event.observation) } } };
};

export const closeWindow: Step = () => ({ patch: { window: null } });

// ---------------------------------------------------------------------------------------------
// Incidents and decisions

export const openDetectionIncident: Step = (context, event) => {
  const type = context.window?.type;
  const detection =
    context.detections.find((d) => d.type === type) ??
    primaryDetection(context.policy, context.detections);
  if (!detection) return NOTHING;
  const at = timeOf(context, event);
  const opened = openIncident(context, at, { kind: 'detection', detection });
  const workload = context.facts.workloadMemory === true ? workloadKeyOf(context) : null;
  const incident = workload === null ? opened : { ...opened, workload };
  // Evidence first: the logs and the object it keeps may be gone once a remediation replaces the
  // pod (pod-replacing jobs wait for it, bounded). A dry run asks for nothing at all.
  const evidence: Effect = {
    kind: 'collectEvidence',
    target: objectRef(context),
    reason: detection.reason,
  };
  return {
    patch: { incident, incidentCount: incident.seq, window: null },
    records: [
      {
        type: 'Warning',
        reason: 'Detected',
        message: `${detection.type} confirmed: ${detection.reason}`,
      },
    ],
    effects:
      context.policy.mode === 'dryRun'
        ? []
        : [request(context, incident, DETECTION_EVIDENCE_STEP, evidence, at)],
  };
};

export const openScaleIncident: Step = (context, event) => {
  if (event.type !== 'SCALE.PROPOSED') return NOTHING;
  const at = timeOf(context, event);
  const { from, to, reason } = event;
  const incident = openIncident(context, at, { kind: 'scale', from, to, reason });
  return {
    patch: { incident, incidentCount: incident.seq },
    records: [
      {
        type: 'Normal',
        reason: 'ScaleProposed',
        message: `scale from ${from} to ${to} proposed: ${reason}`,
      },
    ],
  };
};

/** Takes the decision for the open incident (decisions.ts) and keeps it with its plan. */
export const takeDecision: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const decision = decide(context, at);
  const result = PLANNED.has(decision.decision) ? planFor(context, incident) : null;
  const plan = result && 'plan' in result ? result.plan : [];
  return {
    patch: {
      incident: { ...incident, decision, plan, step: 0 },
      history: history(context, at, decision.decision, decision.reason),
    },
  };
};

/** Decisions that go on to carry out (or ask about) the plan, which is kept with the incident. */
const PLANNED: ReadonlySet<DecisionKind> = new Set<DecisionKind>([
  'remediate',
  'propose',
  'askApproval',
]);

/** Why the machine escalates when it was not the decision function that said so. */
export const ESCALATION_REASONS = {
  effectFailed: (c, e) =>
    e.type === 'EFFECT.FAILED'
      ? `${awaitedKind(c)} failed: ${e.error}`
      : `${awaitedKind(c)} failed`,
  effectTimedOut: (c) =>
    `${awaitedKind(c)} did not report back within ${formatDuration(c.policy.effectTimeoutMs)}`,
  verificationFailed: (c, e) => {
    const back = e.type === 'OBSERVED' ? e.detections : c.detections;
    const incident = c.incident;
    const type = incident?.trigger.kind === 'detection' ? incident.trigger.detection.type : null;
    const seen = back.find((d) => d.type === type) ?? back[0];
    const said = seen
      ? `the remediation did not hold: ${seen.reason}`
      : `the remediation did not hold within ${formatDuration(c.policy.verificationWindowMs)}`;
    const o = c.observation;
    if (type !== 'NotReady' || o?.kind !== 'Node' || o.ready === 'True') return said;
    const failover =
      c.policy.detections.NotReady?.outOfServiceWhenFenced === true
        ? `; once it is fenced (powered off or cut off), annotate it ${FENCED_ANNOTATION} and kube-remedy taints it ${OUT_OF_SERVICE_TAINT.key} so its stateful pods fail over`
        : '';
    const pods = c.facts.nodePods;
    const held = pods === undefined || pods === null ? '' : `; ${describeNodePods(pods)}`;
    return `${said}; ${o.name} has not been Ready${goneFor(o, timeOf(c, e))}${held}${failover}`;
  },
  approvalExpired: (c) => `nobody approved within ${formatDuration(c.policy.approvalTimeoutMs)}`,
  proposalExpired: (c) =>
    `the pull request was neither merged nor closed within ${formatDuration(c.policy.approvalTimeoutMs)}`,
  escalatedByPerson: (_c, e) =>
    e.type === 'ESCALATE'
      ? `escalated by ${e.by}${e.reason ? `: ${e.reason}` : ''}`
      : 'escalated by a person',
  nextStepUnsafe: (c) => nodeCapacity(c).reason,
  undone: (c) => `the remediation did not hold and was undone (${undoDescription(c)})`,
  undoFailed: (c, e) =>
    `the remediation did not hold and undoing it failed${e.type === 'EFFECT.FAILED' ? `: ${e.error}` : ''} (${undoDescription(c)})`,
} satisfies Record<string, (context: RemediationContext, event: MachineEvent) => string>;

export type EscalationCause = keyof typeof ESCALATION_REASONS;

function awaitedKind(context: RemediationContext): string {
  return context.incident?.awaiting?.kind ?? 'the effect';
}

function lastStep(incident: Incident): RemediationEffect | undefined {
  return incident.plan[Math.min(incident.step, incident.plan.length - 1)];
}

function undoDescription(context: RemediationContext): string {
  const incident = context.incident;
  const done = incident && lastStep(incident);
  const undo = done && undoOf(done);
  return undo ? describeEffect(undo) : 'nothing to undo';
}

export const noteEscalation: Step<{ because: EscalationCause }> = (context, event, { because }) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const decision: Decision = {
    decision: 'escalate',
    reason: ESCALATION_REASONS[because](context, event),
  };
  return {
    patch: {
      // Escalating ends any wait for an effect: a late result is ignored.
      incident: { ...handled(incident, event), decision, awaiting: null },
      history: history(context, at, decision.decision, decision.reason),
    },
  };
};

export const closeIncident: Step<{ outcome: string }> = (context, event, { outcome }) => {
  const at = timeOf(context, event);
  const reason = context.incident ? `${outcome}: ${triggerText(context.incident)}` : outcome;
  return {
    patch: { incident: null, window: null, history: history(context, at, 'close', reason) },
  };
};

export const startCooldown: Step = (context, event) => ({
  patch: {
    deadlines: withDeadline(
      context,
      'cooldownEnds',
      deadlineAfter(timeOf(context, event), context.policy.cooldownMs),
    ),
  },
});

// ---------------------------------------------------------------------------------------------
// Records of decisions that do not ask for effects

const RECORDS: Readonly<
  Record<'dryRun' | 'wait' | 'standDown' | 'join', Omit<RecordedEvent, 'message'>>
> = {
  dryRun: { type: 'Normal', reason: 'DryRun' },
  wait: { type: 'Normal', reason: 'Waiting' },
  standDown: { type: 'Normal', reason: 'StoodDown' },
  join: { type: 'Normal', reason: 'Joined' },
};

export const recordDecision: Step<{ as: keyof typeof RECORDS }> = (context, _event, params) => {
  const reason = context.incident?.decision?.reason ?? '';
  return { records: [{ ...RECORDS[params.as], message: reason }] };
};

export const recordScaleSkipped: Step = (context, event) => {
  if (event.type !== 'SCALE.PROPOSED') return NOTHING;
  const hpa = context.facts.hpa?.name ?? 'an HPA';
  const reason = `HorizontalPodAutoscaler ${hpa} owns the replica count, so the proposed scale from ${event.from} to ${event.to} is not applied (${event.reason})`;
  return {
    patch: { history: history(context, timeOf(context, event), 'skip', reason) },
    records: [{ type: 'Normal', reason: 'ScaleSkipped', message: reason }],
  };
};

/** A person asked the policy to act now; the detection it confirms follows. */
export const noteTrigger: Step = (context, event) => {
  if (event.type !== 'TRIGGER') return NOTHING;
  const why = event.reason === undefined ? '' : `: ${event.reason}`;
  return {
    patch: {
      history: history(context, timeOf(context, event), 'trigger', `asked by ${event.by}${why}`),
    },
  };
};

/** A command or result that does not apply here is kept in history, never acted on. */
export const noteIgnored: Step = (context, event) => {
  const by = 'by' in event ? ` from ${event.by}` : '';
  const state = context.incident ? `incident ${context.incident.id}` : 'no open incident';
  return {
    patch: {
      history: history(
        context,
        timeOf(context, event),
        'ignore',
        `${event.type}${by} ignored (${state})`,
      ),
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Remediation steps

/** Asks for the plan's current step and waits for its result until the effect time-out. */
export const requestPlanStep: Step = (context, event) => {
  const incident = incidentOf(context);
  const effect = incident?.plan[incident.step];
  if (!incident || !effect) return NOTHING;
  const at = timeOf(context, event);
  const attempts = incident.attempts ?? 0;
  // Each try of the ladder is a job of its own (job ids are per incident and step); the first
  // step of a try counts it.
  const tried = incident.step === 0 ? attempts : attempts - 1;
  const step =
    tried <= 0
      ? `remediate-${incident.step + 1}`
      : `try-${tried + 1}-remediate-${incident.step + 1}`;
  const req = request(context, incident, step, effect, at);
  // The first change to the cluster is what quarantine counts; a proposal counts once merged.
  const counts = incident.step === 0 && CLUSTER_CHANGING.has(effect.kind);
  return {
    patch: {
      incident: {
        ...incident,
        awaiting: { effectId: req.effectId, kind: effect.kind },
        ...(incident.step === 0 ? { attempts: attempts + 1, actedAt: at } : {}),
      },
      deadlines: withDeadline(
        context,
        'effectTimesOut',
        deadlineAfter(at, context.policy.effectTimeoutMs),
      ),
      ...(counts ? { remediations: countRemediation(context, at) } : {}),
    },
    records: [
      {
        type: 'Normal',
        reason: effect.kind === 'openPullRequest' ? 'Proposing' : 'Remediating',
        message: `${describeEffect(effect)}: ${effect.reason}`,
      },
    ],
    effects: [req],
  };
};

function countRemediation(context: RemediationContext, at: number): number[] {
  return [...context.remediations, at].slice(
    -Math.max(1, context.policy.quarantine.maxRemediations),
  );
}

/** The awaited step is done: a cordon or taint now keeps the node out of service. */
export const completeStep: Step = (context) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const kind = incident.awaiting?.kind;
  const outOfService =
    incident.nodeOutOfService || kind === 'cordon' || kind === 'taint' || kind === 'drain';
  return {
    patch: {
      incident: {
        ...incident,
        awaiting: null,
        step: incident.step + 1,
        nodeOutOfService: outOfService,
      },
    },
  };
};

export const startVerification: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const window = context.policy.verificationWindowMs;
  return {
    patch: {
      incident: { ...incident, awaiting: null },
      deadlines: withDeadline(context, 'verificationEnds', deadlineAfter(at, window)),
    },
    records: [
      {
        type: 'Normal',
        reason: 'Verifying',
        message: `${incident.plan.map(describeEffect).join(', then ')} done; watching for ${formatDuration(window)}`,
      },
    ],
  };
};

/** The pull request is open: people have `approvalTimeoutMs` to merge or close it. */
export const noteProposalOpened: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const outcome = event.type === 'EFFECT.DONE' && event.outcome ? `: ${event.outcome}` : '';
  return {
    patch: {
      incident: { ...incident, announced: true },
      deadlines: withDeadline(
        context,
        'approvalExpires',
        deadlineAfter(at, context.policy.approvalTimeoutMs),
      ),
    },
    records: [
      { type: 'Normal', reason: 'ProposalOpened', message: `pull request opened${outcome}` },
    ],
  };
};

export const noteProposalMerged: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'PROPOSAL.MERGED') return NOTHING;
  const at = timeOf(context, event);
  return {
    patch: {
      incident: { ...incident, step: incident.step + 1 },
      remediations: countRemediation(context, at),
    },
    records: [
      { type: 'Normal', reason: 'ProposalMerged', message: `pull request merged by ${event.by}` },
    ],
  };
};

export const noteProposalClosed: Step = (context, event) => {
  if (event.type !== 'PROPOSAL.CLOSED') return NOTHING;
  return {
    records: [
      {
        type: 'Normal',
        reason: 'ProposalClosed',
        message: `pull request closed unmerged by ${event.by}`,
      },
    ],
  };
};

/** Verification failed: put back what the remediation changed, if it can be (undoOf). */
export const requestUndo: Step = (context, event) => {
  const incident = incidentOf(context);
  const done = incident && lastStep(incident);
  const undo = done && undoOf(done);
  if (!incident || !undo) return NOTHING;
  const at = timeOf(context, event);
  const req = request(context, incident, 'undo', undo, at);
  return {
    patch: {
      incident: { ...incident, awaiting: { effectId: req.effectId, kind: undo.kind } },
      deadlines: withDeadline(
        context,
        'effectTimesOut',
        deadlineAfter(at, context.policy.effectTimeoutMs),
      ),
    },
    records: [
      {
        type: 'Warning',
        reason: 'RollingBack',
        message: `${describeEffect(undo)}: ${undo.reason}`,
      },
    ],
    effects: [req],
  };
};

/** The node recovered: take back the cordon (or the taint) that kept it out of service. */
export const requestUncordon: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const target = objectRef(context);
  const attempt = incident.uncordons + 1;
  const reason = `${objectName(target)} recovered: ${triggerText(incident)} is gone`;
  const taint = incident.plan.find((e) => e.kind === 'taint');
  // The out-of-service taint comes off first: the node's own pods may come back to it once it is
  // schedulable again.
  const effect: RemediationEffect =
    incident.outOfServiceTaint === 'asked' || incident.outOfServiceTaint === 'applied'
      ? { kind: 'untaint', target, reason, taint: OUT_OF_SERVICE_TAINT }
      : taint?.kind === 'taint'
        ? { kind: 'untaint', target, reason, taint: taint.taint }
        : { kind: 'uncordon', target, reason };
  const req = request(context, incident, `${effect.kind}-${attempt}`, effect, at);
  return {
    patch: {
      incident: {
        ...incident,
        uncordons: attempt,
        awaiting: { effectId: req.effectId, kind: effect.kind },
      },
      deadlines: withDeadline(
        context,
        'effectTimesOut',
        deadlineAfter(at, context.policy.effectTimeoutMs),
      ),
    },
    records: [
      {
        type: 'Normal',
        reason: 'ReturningToService',
        message: `${describeEffect(effect)}: ${reason}`,
      },
    ],
    effects: [req],
  };
};

/**
 * Putting the node back failed every time: the incident ends (the symptom is gone) but the node
 * stays out of service, and people are told to put it back by hand.
 */
export const leaveOutOfService: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const target = objectRef(context);
  const reason = `${objectName(target)} recovered but is still out of service: putting it back failed ${incident.uncordons} times; uncordon it by hand`;
  const notice: Effect = {
    kind: 'notify',
    purpose: 'escalated',
    to: null,
    level: null,
    target,
    reason,
  };
  const at = timeOf(context, event);
  // People still have work to do: the ticket says so and stays open.
  const ticket = ticketUpdate(context, incident, { reason, resolve: false });
  return {
    patch: ticket.patch,
    records: [{ type: 'Warning', reason: 'LeftOutOfService', message: reason }],
    effects: [
      request(context, incident, 'left-out-of-service', notice, at),
      ...ticket.effects.map((e) => request(context, incident, 'left-out-of-service-ticket', e, at)),
    ],
  };
};

export const completeUncordon: Step = (context) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  if (incident.outOfServiceTaint === 'asked' || incident.outOfServiceTaint === 'applied') {
    // The out-of-service taint is off; the cordon is next (this was not a try of putting it back).
    const { outOfServiceTaint: _off, ...rest } = incident;
    return {
      patch: {
        incident: { ...rest, awaiting: null, uncordons: Math.max(0, incident.uncordons - 1) },
      },
    };
  }
  return { patch: { incident: { ...incident, awaiting: null, nodeOutOfService: false } } };
};

/**
 * The node did not come back and is confirmed fenced: the out-of-service taint lets Kubernetes
 * delete its pods and detach their volumes, so its StatefulSet pods start on other nodes.
 */
export const requestOutOfService: Step = (context, event) => {
  const incident = incidentOf(context);
  const o = context.observation;
  if (!incident || o?.kind !== 'Node') return NOTHING;
  const at = timeOf(context, event);
  const target = objectRef(context);
  const fencedBy = o.fenced === undefined || o.fenced === '' ? '' : ` ("${o.fenced}")`;
  const reason = `${objectName(target)} is still not Ready${goneFor(o, at)} and is fenced${fencedBy}: its pods may safely run elsewhere`;
  const effect: RemediationEffect = { kind: 'taint', target, reason, taint: OUT_OF_SERVICE_TAINT };
  const req = request(context, incident, 'out-of-service', effect, at);
  return {
    patch: {
      incident: {
        ...incident,
        outOfServiceTaint: 'asked',
        awaiting: { effectId: req.effectId, kind: 'taint' },
      },
      history: history(context, at, 'failOver', reason),
    },
    records: [
      { type: 'Warning', reason: 'FailingOver', message: `${describeEffect(effect)}: ${reason}` },
    ],
    effects: [req],
  };
};

export const noteOutOfService: Step = (context) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  return {
    patch: { incident: { ...incident, awaiting: null, outOfServiceTaint: 'applied' } },
    records: [
      {
        type: 'Normal',
        reason: 'OutOfService',
        message: `${objectName(objectRef(context))} is tainted ${OUT_OF_SERVICE_TAINT.key}: its pods fail over; the taint comes off when it is Ready again`,
      },
    ],
  };
};

export const noteOutOfServiceFailed: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const why = event.type === 'EFFECT.FAILED' ? `: ${event.error}` : '';
  return {
    patch: { incident: { ...incident, awaiting: null, outOfServiceTaint: 'failed' } },
    records: [
      {
        type: 'Warning',
        reason: 'OutOfServiceFailed',
        message: `could not taint ${objectName(objectRef(context))} ${OUT_OF_SERVICE_TAINT.key}${why}; its pods stay where they are until people move them`,
      },
    ],
  };
};

/** `, since … (for …)`: how long a node has not been Ready, when it says. */
function goneFor(o: { readySince?: number }, at: number): string {
  if (o.readySince === undefined || o.readySince > at) return '';
  return ` since ${new Date(o.readySince).toISOString()} (${formatDuration(at - o.readySince)})`;
}

// ---------------------------------------------------------------------------------------------
// People: approval, escalation, acknowledgement, snoozing

export const requestApproval: Step = (context, event) => {
  const incident = incidentOf(context);
  const proposes = incident?.plan[0];
  if (!incident || !proposes) return NOTHING;
  const at = timeOf(context, event);
  const expiresAt = deadlineAfter(at, context.policy.approvalTimeoutMs);
  const reason = incident.decision?.reason ?? describeEffect(proposes);
  const effect: Effect = {
    kind: 'notify',
    purpose: 'approvalRequested',
    to: null,
    level: null,
    target: objectRef(context),
    reason,
    proposes,
    expiresAt,
  };
  return {
    patch: {
      incident: { ...incident, announced: true },
      deadlines: withDeadline(context, 'approvalExpires', expiresAt),
    },
    records: [{ type: 'Normal', reason: 'ApprovalRequested', message: reason }],
    effects: [request(context, incident, 'approval', effect, at)],
  };
};

export const approve: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'APPROVE') return NOTHING;
  return {
    patch: { incident: { ...handled(incident, event), approvedBy: event.by } },
    records: [{ type: 'Normal', reason: 'Approved', message: `approved by ${event.by}` }],
  };
};

export const reject: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'REJECT') return NOTHING;
  const why = event.reason ? `: ${event.reason}` : '';
  return {
    patch: { incident: handled(incident, event) },
    records: [{ type: 'Normal', reason: 'Rejected', message: `rejected by ${event.by}${why}` }],
  };
};

/** SNOOZE while approval is pending: people get more time, never less. */
export const extendApproval: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'SNOOZE') return NOTHING;
  const until = deadlineAfter(event.at, event.durationMs);
  const current = context.deadlines.approvalExpires ?? until;
  return {
    patch: {
      incident: handled(incident, event),
      deadlines: withDeadline(context, 'approvalExpires', Math.max(current, until)),
    },
    records: [
      {
        type: 'Normal',
        reason: 'Snoozed',
        message: `approval extended by ${event.by} for ${formatDuration(event.durationMs)}`,
      },
    ],
  };
};

/**
 * Evidence collected when the incident was detected is still what is true when the incident is
 * escalated or quarantined at that same moment: one bundle, not two.
 */
function evidenceIsCurrent(incident: Incident, at: number): boolean {
  return incident.trigger.kind === 'detection' && incident.openedAt === at;
}

function nextEscalationAt(
  context: RemediationContext,
  startedAt: number,
  level: number,
): number | undefined {
  const next = context.policy.escalation[level];
  return next === undefined ? undefined : deadlineAfter(startedAt, next.afterMs);
}

/** People own the incident now: evidence is collected (unless just collected) and the ladder starts. */
export const startEscalation: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const escalations = incident.escalations + 1;
  const reason = incident.decision?.reason ?? triggerText(incident);
  const next = nextEscalationAt(context, at, 0);
  const evidence: Effect = { kind: 'collectEvidence', target: objectRef(context), reason };
  const emptyLadder = context.policy.escalation.length === 0;
  return {
    patch: {
      incident: {
        ...incident,
        escalations,
        escalation: { startedAt: at, level: 0, acknowledgedBy: null },
        announced: true,
      },
      deadlines:
        next === undefined ? context.deadlines : withDeadline(context, 'nextEscalation', next),
    },
    records: [{ type: 'Warning', reason: 'Escalated', message: reason }],
    effects: [
      ...(evidenceIsCurrent(incident, at)
        ? []
        : [request(context, incident, `escalate-${escalations}-evidence`, evidence, at)]),
      // Without a ladder, the policy's own channel still hears about it once.
      ...(emptyLadder
        ? levelRequests(context, incident, `escalate-${escalations}`, 0, reason, at)
        : []),
    ],
  };
};

/** Tells the current level of the ladder and moves on to the next. */
export const notifyEscalationLevel: Step = (context, event) => {
  const incident = incidentOf(context);
  const escalation = incident?.escalation;
  if (!incident || !escalation) return NOTHING;
  const at = timeOf(context, event);
  const level = escalation.level;
  const reason = incident.decision?.reason ?? triggerText(incident);
  const targets = context.policy.escalation[level]?.targets;
  if (targets === undefined) {
    return { patch: { incident: handled(incident, event) } };
  }
  const next = nextEscalationAt(context, escalation.startedAt, level + 1);
  const effects = levelRequests(
    context,
    incident,
    `escalate-${incident.escalations}-level-${level + 1}`,
    level,
    reason,
    at,
  );
  return {
    patch: {
      incident: { ...handled(incident, event), escalation: { ...escalation, level: level + 1 } },
      deadlines:
        next === undefined ? context.deadlines : withDeadline(context, 'nextEscalation', next),
      ...ticketsAsked(context, incident, effects),
    },
    records: [
      {
        type: 'Warning',
        reason: 'EscalationLevel',
        message: `level ${level + 1}: telling ${targets.map(who).join(', ')}`,
      },
    ],
    effects,
  };
};

export const acknowledge: Step = (context, event) => {
  const incident = incidentOf(context);
  const escalation = incident?.escalation;
  if (!incident || !escalation || event.type !== 'ACK') return NOTHING;
  return {
    patch: {
      incident: {
        ...handled(incident, event),
        escalation: { ...escalation, acknowledgedBy: event.by },
      },
    },
    records: [
      {
        type: 'Normal',
        reason: 'Acknowledged',
        message: `acknowledged by ${event.by}: the ladder stops`,
      },
    ],
  };
};

export const snooze: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'SNOOZE') return NOTHING;
  const until = deadlineAfter(event.at, event.durationMs);
  return {
    patch: {
      incident: handled(incident, event),
      deadlines: withDeadline(context, 'snoozeEnds', until),
    },
    records: [
      {
        type: 'Normal',
        reason: 'Snoozed',
        message: `snoozed by ${event.by} for ${formatDuration(event.durationMs)}`,
      },
    ],
  };
};

/** The symptom went away while escalated: it must stay away for the verification window. */
export const startRecoveryWatch: Step = (context, event) => ({
  patch: {
    deadlines: withDeadline(
      context,
      'recoveryHolds',
      deadlineAfter(timeOf(context, event), context.policy.verificationWindowMs),
    ),
  },
});

// ---------------------------------------------------------------------------------------------
// Quarantine and resolution

/** Remediations did not hold: stop acting, tell the first level of the ladder once. */
export const startQuarantine: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const { maxRemediations, windowMs } = context.policy.quarantine;
  // Hands-off until enough remediations have left the window to allow one more.
  const inWindow = context.remediations.filter((t) => t > at - windowMs);
  const oldestThatMustLeave = inWindow[inWindow.length - maxRemediations] ?? at;
  const reason = incident.decision?.reason ?? triggerText(incident);
  const evidence: Effect = { kind: 'collectEvidence', target: objectRef(context), reason };
  const tell = levelRequests(context, incident, 'quarantine', 0, reason, at).map((r) =>
    r.effect.kind === 'notify'
      ? { ...r, effect: { ...r.effect, purpose: 'quarantined' as const } }
      : r,
  );
  return {
    patch: {
      incident: { ...incident, announced: true },
      deadlines: withDeadline(
        context,
        'quarantineEnds',
        deadlineAfter(oldestThatMustLeave, windowMs),
      ),
      ...ticketsAsked(context, incident, tell),
    },
    records: [{ type: 'Warning', reason: 'Quarantined', message: reason }],
    effects: [
      ...(evidenceIsCurrent(incident, at)
        ? []
        : [request(context, incident, 'quarantine-evidence', evidence, at)]),
      ...tell,
    ],
  };
};

/**
 * The quarantine ends by the clock, not because the problem is gone: its ticket gets a comment
 * (whether the symptom is still seen) and stays open until an incident of the problem resolves.
 */
export const liftQuarantine: Step = (context, event) => {
  const message = 'remediations are allowed again: the quarantine window has passed';
  const records: RecordedEvent[] = [{ type: 'Normal', reason: 'QuarantineLifted', message }];
  const incident = incidentOf(context);
  const problem = incident && problemOf(incident);
  if (!incident || problem === null) return { records };
  const seen = carries(context.detections, problem) ? 'is still seen' : 'is not seen now';
  const ticket = ticketUpdate(context, incident, {
    reason: `${message}; ${problem} ${seen}`,
    resolve: false,
  });
  const at = timeOf(context, event);
  return {
    patch: ticket.patch,
    records,
    effects: ticket.effects.map((e) =>
      request(context, incident, 'quarantine-lifted-ticket', e, at),
    ),
  };
};

export const resolve: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const message = `resolved: ${triggerText(incident)} is gone`;
  const notice: Effect = {
    kind: 'notify',
    purpose: 'resolved',
    to: null,
    level: null,
    target: objectRef(context),
    reason: message,
  };
  // The problem's ticket, whichever incident opened it, is closed with the resolution.
  const ticket = ticketUpdate(context, incident, {
    reason: `${triggerText(incident)} is gone`,
    resolve: true,
  });
  return {
    patch: ticket.patch,
    records: [{ type: 'Normal', reason: 'Resolved', message }],
    // People who heard about the incident hear that it ended; nobody else is bothered.
    effects: [
      ...(incident.announced ? [request(context, incident, 'resolved', notice, at)] : []),
      ...ticket.effects.map((e) => request(context, incident, 'resolved-ticket', e, at)),
    ],
  };
};

// ---------------------------------------------------------------------------------------------
// The workload's incident (docs/adr/0014, part 4)

/** Asks the pod's workload who decides this incident; the answer comes as WORKLOAD. */
export const requestClaim: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || incident.trigger.kind !== 'detection' || incident.workload === undefined)
    return NOTHING;
  const at = timeOf(context, event);
  const createdAt = context.observation?.kind === 'Pod' ? context.observation.createdAt : undefined;
  return {
    patch: {
      deadlines: withDeadline(
        context,
        'effectTimesOut',
        deadlineAfter(at, context.policy.effectTimeoutMs),
      ),
    },
    claims: [
      {
        actorKey: context.actorKey,
        workload: incident.workload,
        incidentId: incident.id,
        trigger: incident.trigger.detection,
        verificationWindowMs: context.policy.verificationWindowMs,
        requestedAt: at,
        ...(createdAt === undefined ? {} : { createdAt }),
      },
    ],
  };
};

/** After a restore: the claim again (its answer was lost with the process), the deadline kept. */
export const askClaimAgain: Step = (context, event) => {
  const { claims } = requestClaim(context, event, undefined);
  return claims === undefined ? NOTHING : { claims };
};

function mergedRemediations(context: RemediationContext, theirs: readonly number[]): number[] {
  return [...new Set([...context.remediations, ...theirs])]
    .sort((a, b) => a - b)
    .slice(-Math.max(1, context.policy.quarantine.maxRemediations));
}

/**
 * The workload answered. Leading, the pod continues the workload's open incident when there is
 * one (its id, its ladder position, whether people were told); otherwise it waits on the pod that
 * leads, or on the workload's quarantine or cooldown. The decision is taken again with it.
 */
export const settleClaim: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident || event.type !== 'WORKLOAD') return NOTHING;
  const { answer } = event;
  const remediations = mergedRemediations(context, answer.remediations);
  const at = timeOf(context, event);
  switch (answer.role) {
    case 'lead': {
      const open = answer.continues;
      const continued =
        open === null || open.id === incident.id
          ? { ...incident, claim: 'lead' as const }
          : {
              ...incident,
              id: open.id,
              openedAt: open.openedAt,
              attempts: open.attempts,
              announced: incident.announced || open.announced,
              claim: 'lead' as const,
            };
      const so = `${open?.attempts ?? 0} remediation${open?.attempts === 1 ? '' : 's'} so far did not hold`;
      const why =
        open === null || open.id === incident.id
          ? `leads the incident for ${incident.workload ?? 'its workload'}`
          : answer.displaced !== undefined
            ? `came after the remediation of incident ${open.id} and shows its symptom, so the remediation verified on ${answer.displaced} did not hold; this pod goes on with it (${so})`
            : `takes over incident ${open.id} of ${incident.workload ?? 'its workload'} (${so})`;
      const problem = problemOf(incident);
      // The incident this pod opened becomes part of the workload's: one incident, not two.
      const merged =
        open === null || open.id === incident.id
          ? context
          : {
              ...context,
              history: history(context, at, 'continue', `continues incident ${open.id}`),
            };
      return {
        patch: {
          incident: continued,
          remediations,
          history: history({ ...merged, incident: continued }, at, 'claim', why),
          ...(problem === null ? {} : ticketsOfWorkload(context, problem, answer.ticket)),
        },
        ...(answer.displaced === undefined
          ? {}
          : { records: [{ type: 'Warning' as const, reason: 'NotHeld', message: why }] }),
      };
    }
    case 'member':
      return {
        patch: {
          incident: {
            ...incident,
            claim: 'member',
            joinedTo: { incidentId: answer.incident.id, holder: answer.incident.holder },
          },
          remediations,
          // Told when the workload is free; in case that word is lost, it looks again after
          // as long as the leading pod's remediation and verification may take.
          deadlines: withDeadline(
            context,
            'workloadFree',
            deadlineAfter(at, context.policy.effectTimeoutMs + context.policy.verificationWindowMs),
          ),
        },
      };
    case 'held':
      return {
        patch: {
          incident: {
            ...incident,
            claim: 'held',
            joinedTo: { held: answer.why, until: answer.until },
          },
          remediations,
          deadlines: withDeadline(context, 'workloadFree', answer.until),
        },
      };
  }
};

/** The workload did not answer in time (Redis away): the pod decides alone, as without memory. */
export const decideAlone: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const continued = { ...incident, claim: 'alone' as const };
  return {
    patch: {
      incident: continued,
      history: history(
        { ...context, incident: continued },
        timeOf(context, event),
        'claim',
        `${incident.workload ?? 'the workload'} did not answer within ${formatDuration(context.policy.effectTimeoutMs)}; this pod decides alone`,
      ),
    },
  };
};

/**
 * The remediation did not hold (the symptom is back during verification, here or on a
 * replacement): the incident goes back to be decided again, one step further on the ladder.
 */
export const nextAttempt: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const at = timeOf(context, event);
  const back = ESCALATION_REASONS.verificationFailed(context, event);
  return {
    patch: {
      incident: { ...incident, decision: null, plan: [], step: 0, awaiting: null },
      history: history(context, at, 'retry', back),
    },
    records: [{ type: 'Warning', reason: 'NotHeld', message: back }],
  };
};

/**
 * A waiting pod came after the remediation being verified and still shows the symptom: it asks
 * the workload again, which hands it the incident (the verification failed) unless it ended.
 */
export const claimAfterAction: Step = (context, event) => {
  const incident = incidentOf(context);
  if (!incident) return NOTHING;
  const { claim: _claim, joinedTo: _joined, ...rest } = incident;
  const again: Incident = { ...rest, decision: null };
  return {
    patch: {
      incident: again,
      history: history(
        { ...context, incident: again },
        timeOf(context, event),
        'claim',
        `this pod came after the remediation being verified and still shows the symptom; asking ${incident.workload ?? 'the workload'} again`,
      ),
    },
  };
};

/**
 * A pod that came after the remediation showed the symptom and took the incident over: the
 * verification this pod held failed there. It lets go without telling anyone it resolved.
 */
export const letGoOfVerification: Step = (context, event) => {
  if (event.type !== 'TAKEN_OVER' || context.incident === null) return NOTHING;
  const at = timeOf(context, event);
  const reason = `${event.by} came after the remediation and shows the symptom, so it did not hold; ${event.by} goes on with incident ${event.incidentId}`;
  return {
    patch: {
      incident: null,
      window: null,
      history: history(context, at, 'close', reason),
    },
    records: [{ type: 'Normal', reason: 'HandedOver', message: reason }],
  };
};

/**
 * A new pod replaces the one its workload's remediation removed: it takes over the verification,
 * with the workload's incident id and absolute deadline, so a success there is the incident's.
 */
export const adoptVerification: Step = (context, event) => {
  if (event.type !== 'ADOPT') return NOTHING;
  const adopted = event.incident;
  const at = timeOf(context, event);
  const reason = `took over the verification of incident ${adopted.id} from its replaced pod`;
  const opened = openIncident(context, at, { kind: 'detection', detection: adopted.trigger });
  const incident: Incident = {
    ...opened,
    id: adopted.id,
    openedAt: adopted.openedAt,
    decision: { decision: 'remediate', reason },
    announced: adopted.announced,
    attempts: adopted.attempts,
    ...(adopted.actedAt === null ? {} : { actedAt: adopted.actedAt }),
    claim: 'lead',
    workload: event.workload,
  };
  return {
    patch: {
      incident,
      incidentCount: incident.seq,
      remediations: mergedRemediations(context, event.remediations),
      deadlines: withDeadline(
        context,
        'verificationEnds',
        adopted.verifyUntil ?? deadlineAfter(at, context.policy.verificationWindowMs),
      ),
      history: history({ ...context, incident }, at, 'adopt', reason),
      ...ticketsOfWorkload(context, adopted.trigger.type, event.ticket),
    },
    records: [
      {
        type: 'Normal',
        reason: 'Verifying',
        message: `replaces the pod of incident ${adopted.id}; watching until ${new Date(adopted.verifyUntil ?? at).toISOString()}`,
      },
    ],
  };
};
