/**
 * The conditions machines branch on, as pure predicates of (context, event). setup.ts registers
 * each under its name, which is what the diagrams show.
 */
import { MAX_RETURN_ATTEMPTS, type DecisionKind, type RemediationContext } from './context.ts';
import { nodeCapacity, remediationsInWindow } from './decisions.ts';
import { TAKES_NODE_OUT, undoOf } from './effects.ts';
import { isCommand, type MachineEvent } from './events.ts';
import { carries, incidentSymptomIn, primaryDetection } from './symptoms.ts';
import { timeOf } from './time.ts';
import { CREATION_SLACK_MS } from '../workloads/rules.ts';
import { incidentRule, ladderStep } from './workload.ts';

type Predicate<P = undefined> = (
  context: RemediationContext,
  event: MachineEvent,
  params: P,
) => boolean;

/** The object shows a detection the policy has a rule for. */
export const symptomPresent: Predicate = (c) => primaryDetection(c.policy, c.detections) !== null;

/** The window's sightings reached the rule's threshold. */
export const thresholdReached: Predicate = (c) => {
  const rule = c.window && c.policy.detections[c.window.type];
  return Boolean(c.window && rule && c.window.seen >= rule.threshold);
};

/** The window ends with its symptom still there: confirmed by persistence. */
export const symptomPersists: Predicate = (c) =>
  c.window !== null && carries(c.detections, c.window.type);

export const decisionIs: Predicate<{ decision: DecisionKind }> = (c, _e, { decision }) =>
  c.incident?.decision?.decision === decision;

/** The result names the effect the machine is waiting for (repeats and stale results do not). */
export const isAwaitedEffect: Predicate = (c, e) =>
  'effectId' in e && c.incident?.awaiting?.effectId === e.effectId;

export const isAwaitedProposal: Predicate = (c, e) =>
  isAwaitedEffect(c, e, undefined) && c.incident?.awaiting?.kind === 'openPullRequest';

export const hasNextStep: Predicate = (c) =>
  c.incident !== null && c.incident.step + 1 < c.incident.plan.length;

/** The next step would take the node out of service below `minHealthyNodes`. */
export const nextStepUnsafe: Predicate = (c) => {
  const next = c.incident?.plan[c.incident.step + 1];
  return next !== undefined && TAKES_NODE_OUT.has(next.kind) && !nodeCapacity(c).ok;
};

/** A person's command about the open incident, not seen before. */
export const isFreshCommand: Predicate = (c, e) =>
  isCommand(e) &&
  c.incident !== null &&
  e.incidentId === c.incident.id &&
  (e.id === undefined || !c.incident.commands.includes(e.id));

/**
 * The pod belongs to the ReplicaSet the incident's rollback (or rollout restart) moved the
 * Deployment away from: it is about to be replaced, so its symptom says nothing of the remedy.
 */
function leftBehind(c: RemediationContext, o: RemediationContext['observation']): boolean {
  const incident = c.incident;
  if (o?.kind !== 'Pod' || o.owner?.kind !== 'ReplicaSet' || incident === null) return false;
  const latest = incident.plan[Math.min(incident.step, incident.plan.length - 1)];
  return (
    (latest?.kind === 'rollback' || latest?.kind === 'rolloutRestart') &&
    latest.fromReplicaSet === o.owner.name
  );
}

/** This observation shows the incident's symptom (not on a pod its rollback leaves behind). */
export const symptomObserved: Predicate = (c, e) =>
  e.type === 'OBSERVED' &&
  c.incident !== null &&
  incidentSymptomIn(c.incident, c.policy, e.detections) &&
  !leftBehind(c, e.observation);

/** This observation no longer shows the incident's symptom. */
export const symptomClearedInObservation: Predicate = (c, e) =>
  e.type === 'OBSERVED' &&
  c.incident !== null &&
  !incidentSymptomIn(c.incident, c.policy, e.detections);

/** The latest observation no longer shows the incident's symptom. */
export const symptomGone: Predicate = (c) =>
  c.incident !== null && !incidentSymptomIn(c.incident, c.policy, c.detections);

function scaleReached(c: RemediationContext, observation: MachineEvent | null): boolean {
  const trigger = c.incident?.trigger;
  const o = observation?.type === 'OBSERVED' ? observation.observation : c.observation;
  if (trigger?.kind !== 'scale' || o?.kind !== 'Deployment') return false;
  return o.desiredReplicas === trigger.to && o.availableReplicas === trigger.to;
}

/** A scale shows as done in this observation: the replicas are there and available. */
export const scaleObserved: Predicate = (c, e) => scaleReached(c, e);

/** At the end of verification: the symptom stayed away (for a scale: the replicas are there). */
export const verificationHeld: Predicate = (c) => {
  if (!c.incident) return false;
  return c.incident.trigger.kind === 'scale'
    ? scaleReached(c, null) && primaryDetection(c.policy, c.detections) === null
    : !incidentSymptomIn(c.incident, c.policy, c.detections) || leftBehind(c, c.observation);
};

/** What the remediation changed can be put back (a scale). */
export const hasUndo: Predicate = (c) => {
  const incident = c.incident;
  const done = incident?.plan[Math.min(incident.step, incident.plan.length - 1)];
  return done !== undefined && undoOf(done) !== null;
};

export const hpaPresent: Predicate = (c) => c.facts.hpa !== null;

/** The current rung of the ladder is due. */
export const escalationLevelDue: Predicate = (c, e) => {
  const escalation = c.incident?.escalation;
  const level = escalation && c.policy.escalation[escalation.level];
  return Boolean(escalation && level && escalation.startedAt + level.afterMs <= timeOf(c, e));
};

export const ladderExhausted: Predicate = (c) =>
  (c.incident?.escalation?.level ?? 0) >= c.policy.escalation.length;

/** The runtime says the inhibiting actor let go. */
export const inhibitionLifted: Predicate = (_c, e) =>
  (e.type === 'FACTS' || e.type === 'OBSERVED') && e.facts?.inhibited === null;

/** A cordon or taint of ours is still in place. */
export const nodeOutOfService: Predicate = (c) => c.incident?.nodeOutOfService === true;

/** A cordon or taint of ours is in place and putting the node back has not failed too often. */
export const mayReturnNodeToService: Predicate = (c) =>
  c.incident?.nodeOutOfService === true && c.incident.uncordons < MAX_RETURN_ATTEMPTS;

/**
 * A node this NotReady incident took out of service, still not Ready, is now confirmed fenced,
 * and its rule fails such a node over (`outOfServiceWhenFenced`): not asked before in the
 * incident, and never in a dry run.
 */
export const mayFailOver: Predicate = (c) => {
  const i = c.incident;
  const o = c.observation;
  if (i === null || o?.kind !== 'Node' || c.policy.mode === 'dryRun') return false;
  const notReady = i.trigger.kind === 'detection' && i.trigger.detection.type === 'NotReady';
  return (
    notReady &&
    c.policy.detections.NotReady?.outOfServiceWhenFenced === true &&
    i.nodeOutOfService &&
    i.outOfServiceTaint === undefined &&
    o.fenced !== undefined &&
    o.ready !== 'True'
  );
};

/** The result of the out-of-service taint this incident asked for. */
export const isAwaitedOutOfService: Predicate = (c, e) =>
  isAwaitedEffect(c, e, undefined) && c.incident?.outOfServiceTaint === 'asked';

/** The awaited step was the plan's last. */
export const isAwaitedLastStep: Predicate = (c, e) =>
  isAwaitedEffect(c, e, undefined) && !hasNextStep(c, e, undefined);

/** The awaited step is done, and the next one would leave too few healthy nodes. */
export const isAwaitedNextStepUnsafe: Predicate = (c, e) =>
  isAwaitedEffect(c, e, undefined) &&
  hasNextStep(c, e, undefined) &&
  nextStepUnsafe(c, e, undefined);

/** The workload's answer to the claim this incident is waiting for. */
export const isAwaitedClaim: Predicate = (c, e) =>
  e.type === 'WORKLOAD' && c.incident !== null && e.incidentId === c.incident.id;

/**
 * A pod waiting on its workload may decide again: the incident it joined ended (or another one
 * began, which it will join), and no quarantine or cooldown of the workload holds any more.
 */
export const workloadFree: Predicate = (c, e) => {
  const fact = e.type === 'FACTS' || e.type === 'OBSERVED' ? e.facts?.workload : undefined;
  const joined = c.incident?.joinedTo;
  if (fact === undefined || fact === null || joined === undefined) return false;
  const open = 'incidentId' in joined ? joined.incidentId : null;
  const held = fact.heldUntil !== null && fact.heldUntil > timeOf(c, e);
  return !held && (fact.incidentId === null || fact.incidentId !== open);
};

/**
 * A pod waiting on its workload's incident is one of the results of the remediation being
 * verified (created after it) and still shows the symptom: the remediation did not hold, and
 * this pod must say so by claiming the incident (src/workloads/rules.ts, `claim`).
 */
export const contradictsVerification: Predicate = (c, e) => {
  const fact = e.type === 'FACTS' || e.type === 'OBSERVED' ? e.facts?.workload : undefined;
  const joined = c.incident?.joinedTo;
  const o = e.type === 'OBSERVED' ? e.observation : c.observation;
  if (fact === undefined || fact === null || joined === undefined || o?.kind !== 'Pod')
    return false;
  const actedAt = fact.verifyingActedAt ?? null;
  return (
    'incidentId' in joined &&
    fact.incidentId === joined.incidentId &&
    actedAt !== null &&
    o.createdAt !== undefined &&
    o.createdAt + CREATION_SLACK_MS >= actedAt
  );
};

/** The workload's incident this pod verifies was taken over by a pod that showed it did not hold. */
export const isTakenOver: Predicate = (c, e) =>
  e.type === 'TAKEN_OVER' &&
  c.incident !== null &&
  c.incident.claim === 'lead' &&
  e.incidentId === c.incident.id;

/**
 * The remediation did not hold and the incident goes on: the ladder has a next step, or
 * quarantine is due (which the decision says). Otherwise people take over.
 */
export const anotherTry: Predicate = (c, e) => {
  const rule = incidentRule(c);
  if (rule === undefined || c.incident === null) return false;
  if (ladderStep(rule, c.incident.attempts ?? 0) !== null) return true;
  const { maxRemediations } = c.policy.quarantine;
  return c.incident.claim !== undefined && remediationsInWindow(c, timeOf(c, e)) >= maxRemediations;
};

/** A replacement pod may take over its workload's verification: not in a dry run. */
export const mayAdopt: Predicate = (c, e) => e.type === 'ADOPT' && c.policy.mode !== 'dryRun';
