/**
 * The setup every machine is built from: its types, and every action, guard and delay by name.
 *
 * Three actions do I/O and have no implementation here: `enqueueEffect` (params: EffectRequest),
 * `recordEvent` (params: RecordedEvent) and `claimWorkload` (params: WorkloadClaimRequest). The runtime provides them with `machine.provide()`; tests
 * read them from the pure `transition()` result or provide recorders. The other actions are the
 * steps of steps.ts: each updates the context and asks for effects and records through those two.
 */
import { enqueueActions, setup } from 'xstate';
import type { RemediationContext, MachineInput } from './context.ts';
import { initialContext } from './context.ts';
import type { EffectRequest, RecordedEvent } from './effects.ts';
import type { WorkloadClaimRequest } from './workload.ts';
import type { MachineEvent } from './events.ts';
import * as guards from './guards.ts';
import * as steps from './steps.ts';
import type { Step } from './steps.ts';
import { clockTimeOf, DELAY_DEADLINES, remainingMs, timeOf, type DelayName } from './time.ts';

function notProvided<P>(name: string): (_: unknown, params: P) => never {
  return () => {
    throw new Error(
      `action ${name} is not provided: the runtime wires it with machine.provide({ actions: { ${name} } })`,
    );
  };
}

/**
 * A step as an action: its context patch (always stamped with the time of the event), then its
 * records and effects as `recordEvent` and `enqueueEffect` actions, in that order.
 */
function act<P>(step: Step<P>) {
  return enqueueActions<
    RemediationContext,
    MachineEvent,
    P,
    MachineEvent,
    never,
    IoAction,
    never,
    never,
    never
  >(({ context, event, enqueue }, params) => {
    const outcome = step(context, event, params);
    enqueue.assign({
      now: timeOf(context, event),
      clockAt: clockTimeOf(context, event),
      ...outcome.patch,
    });
    for (const record of outcome.records ?? []) enqueue({ type: 'recordEvent', params: record });
    for (const effect of outcome.effects ?? []) enqueue({ type: 'enqueueEffect', params: effect });
    for (const claim of outcome.claims ?? []) enqueue({ type: 'claimWorkload', params: claim });
  });
}

type IoAction =
  | { type: 'recordEvent'; params: RecordedEvent }
  | { type: 'enqueueEffect'; params: EffectRequest }
  | { type: 'claimWorkload'; params: WorkloadClaimRequest };

function delays() {
  const out = {} as Record<
    DelayName,
    (args: { context: RemediationContext; event: MachineEvent }) => number
  >;
  for (const [name, deadline] of Object.entries(DELAY_DEADLINES) as [
    DelayName,
    (typeof DELAY_DEADLINES)[DelayName],
  ][]) {
    out[name] = ({ context, event }) => remainingMs(context, event, deadline);
  }
  return out;
}

export const remediationSetup = setup({
  types: {
    context: {} as RemediationContext,
    events: {} as MachineEvent,
    input: {} as MachineInput,
  },
  actions: {
    enqueueEffect: notProvided<EffectRequest>('enqueueEffect'),
    recordEvent: notProvided<RecordedEvent>('recordEvent'),
    claimWorkload: notProvided<WorkloadClaimRequest>('claimWorkload'),
    rememberObservation: act(steps.rememberObservation),
    rememberFacts: act(steps.rememberFacts),
    rememberPolicy: act(steps.rememberPolicy),
    noteTime: act(steps.noteTime),
    reachDeadline: act(steps.reachDeadline),
    openWindow: act(steps.openWindow),
    countSighting: act(steps.countSighting),
    closeWindow: act(steps.closeWindow),
    openDetectionIncident: act(steps.openDetectionIncident),
    openScaleIncident: act(steps.openScaleIncident),
    takeDecision: act(steps.takeDecision),
    noteEscalation: act(steps.noteEscalation),
    closeIncident: act(steps.closeIncident),
    startCooldown: act(steps.startCooldown),
    recordDecision: act(steps.recordDecision),
    recordScaleSkipped: act(steps.recordScaleSkipped),
    noteIgnored: act(steps.noteIgnored),
    noteTrigger: act(steps.noteTrigger),
    requestPlanStep: act(steps.requestPlanStep),
    completeStep: act(steps.completeStep),
    startVerification: act(steps.startVerification),
    noteProposalOpened: act(steps.noteProposalOpened),
    noteProposalMerged: act(steps.noteProposalMerged),
    noteProposalClosed: act(steps.noteProposalClosed),
    requestUndo: act(steps.requestUndo),
    requestUncordon: act(steps.requestUncordon),
    completeUncordon: act(steps.completeUncordon),
    leaveOutOfService: act(steps.leaveOutOfService),
    requestApproval: act(steps.requestApproval),
    approve: act(steps.approve),
    reject: act(steps.reject),
    extendApproval: act(steps.extendApproval),
    startEscalation: act(steps.startEscalation),
    notifyEscalationLevel: act(steps.notifyEscalationLevel),
    acknowledge: act(steps.acknowledge),
    snooze: act(steps.snooze),
    startRecoveryWatch: act(steps.startRecoveryWatch),
    startQuarantine: act(steps.startQuarantine),
    liftQuarantine: act(steps.liftQuarantine),
    resolve: act(steps.resolve),
    requestClaim: act(steps.requestClaim),
    askClaimAgain: act(steps.askClaimAgain),
    settleClaim: act(steps.settleClaim),
    decideAlone: act(steps.decideAlone),
    nextAttempt: act(steps.nextAttempt),
    adoptVerification: act(steps.adoptVerification),
    claimAfterAction: act(steps.claimAfterAction),
    letGoOfVerification: act(steps.letGoOfVerification),
    requestOutOfService: act(steps.requestOutOfService),
    noteOutOfService: act(steps.noteOutOfService),
    noteOutOfServiceFailed: act(steps.noteOutOfServiceFailed),
  },
  guards: {
    symptomPresent: ({ context, event }) => guards.symptomPresent(context, event, undefined),
    thresholdReached: ({ context, event }) => guards.thresholdReached(context, event, undefined),
    symptomPersists: ({ context, event }) => guards.symptomPersists(context, event, undefined),
    decisionIs: ({ context, event }, params: Parameters<typeof guards.decisionIs>[2]) =>
      guards.decisionIs(context, event, params),
    isAwaitedEffect: ({ context, event }) => guards.isAwaitedEffect(context, event, undefined),
    isAwaitedProposal: ({ context, event }) => guards.isAwaitedProposal(context, event, undefined),
    isAwaitedLastStep: ({ context, event }) => guards.isAwaitedLastStep(context, event, undefined),
    isAwaitedNextStepUnsafe: ({ context, event }) =>
      guards.isAwaitedNextStepUnsafe(context, event, undefined),
    isFreshCommand: ({ context, event }) => guards.isFreshCommand(context, event, undefined),
    symptomObserved: ({ context, event }) => guards.symptomObserved(context, event, undefined),
    symptomClearedInObservation: ({ context, event }) =>
      guards.symptomClearedInObservation(context, event, undefined),
    symptomGone: ({ context, event }) => guards.symptomGone(context, event, undefined),
    scaleObserved: ({ context, event }) => guards.scaleObserved(context, event, undefined),
    verificationHeld: ({ context, event }) => guards.verificationHeld(context, event, undefined),
    hasUndo: ({ context, event }) => guards.hasUndo(context, event, undefined),
    hpaPresent: ({ context, event }) => guards.hpaPresent(context, event, undefined),
    escalationLevelDue: ({ context, event }) =>
      guards.escalationLevelDue(context, event, undefined),
    ladderExhausted: ({ context, event }) => guards.ladderExhausted(context, event, undefined),
    inhibitionLifted: ({ context, event }) => guards.inhibitionLifted(context, event, undefined),
    nodeOutOfService: ({ context, event }) => guards.nodeOutOfService(context, event, undefined),
    mayReturnNodeToService: ({ context, event }) =>
      guards.mayReturnNodeToService(context, event, undefined),
    isAwaitedClaim: ({ context, event }) => guards.isAwaitedClaim(context, event, undefined),
    workloadFree: ({ context, event }) => guards.workloadFree(context, event, undefined),
    anotherTry: ({ context, event }) => guards.anotherTry(context, event, undefined),
    mayAdopt: ({ context, event }) => guards.mayAdopt(context, event, undefined),
    contradictsVerification: ({ context, event }) =>
      guards.contradictsVerification(context, event, undefined),
    isTakenOver: ({ context, event }) => guards.isTakenOver(context, event, undefined),
    mayFailOver: ({ context, event }) => guards.mayFailOver(context, event, undefined),
    isAwaitedOutOfService: ({ context, event }) =>
      guards.isAwaitedOutOfService(context, event, undefined),
  },
  delays: delays(),
});

export { initialContext };
