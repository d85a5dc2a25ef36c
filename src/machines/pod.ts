/**
 * The pod machine: crash loops, image pulls and OOM kills of one pod. A pod on a node the node
 * machine is handling is the node's problem: the pod machine waits (`inhibited`) instead of acting.
 */
import { and } from 'xstate';
import { initialContext } from './context.ts';
import { remediationSetup } from './setup.ts';
import {
  awaitingApproval,
  awaitingMerge,
  close,
  coolingDown,
  decision,
  escalated,
  escalation,
  healthy,
  ignoredEverywhere,
  quarantined,
  reach,
  resolved,
  resume,
  suspect,
} from './states.ts';

export const podMachine = remediationSetup.createMachine({
  id: 'pod',
  description: 'Detects and remediates the problems of one pod under its policy.',
  context: ({ input }) => initialContext(input),
  initial: 'healthy',
  on: {
    ...ignoredEverywhere,
    WORKLOAD: { actions: 'noteIgnored' },
    ADOPT: { actions: 'noteIgnored' },
    TAKEN_OVER: { actions: 'noteIgnored' },
  },
  states: {
    healthy: {
      ...healthy,
      on: {
        // A new pod that replaces the one its workload's remediation removed.
        // (A dry run never remediates, so it has no verification to take over.)
        ADOPT: { guard: 'mayAdopt', target: 'verifying', actions: 'adoptVerification' },
      },
    },
    suspect,
    detected: {
      id: 'detected',
      description:
        'Confirmed. Decides once, with a reason: stand down, ask the workload, join its incident, quarantine, wait for the node, escalate, dry run, ask for approval, propose, or remediate.',
      entry: 'takeDecision',
      always: [
        {
          guard: decision('standDown'),
          target: 'healthy',
          actions: [{ type: 'recordDecision', params: { as: 'standDown' } }, close('stood down')],
        },
        { guard: decision('claim'), target: 'claiming', actions: 'requestClaim' },
        {
          guard: decision('join'),
          target: 'joined',
          actions: { type: 'recordDecision', params: { as: 'join' } },
        },
        { guard: decision('quarantine'), target: 'quarantined', actions: 'startQuarantine' },
        {
          guard: decision('wait'),
          target: 'inhibited',
          actions: { type: 'recordDecision', params: { as: 'wait' } },
        },
        { guard: decision('escalate'), target: 'escalated' },
        {
          guard: decision('dryRun'),
          target: 'coolingDown',
          actions: [
            { type: 'recordDecision', params: { as: 'dryRun' } },
            close('dry run'),
            'startCooldown',
          ],
        },
        { guard: decision('askApproval'), target: 'awaitingApproval', actions: 'requestApproval' },
        { guard: decision('propose'), target: 'remediating', actions: 'requestPlanStep' },
        { guard: decision('remediate'), target: 'remediating', actions: 'requestPlanStep' },
      ],
    },
    claiming: {
      id: 'claiming',
      description:
        "Asks the pod's workload whether another of its pods already handles this symptom: one incident per workload. Without an answer by effectTimeoutMs the pod decides alone.",
      after: {
        untilEffectTimesOut: {
          target: 'detected',
          actions: [reach('effectTimesOut'), 'decideAlone'],
        },
      },
      on: {
        WORKLOAD: { guard: 'isAwaitedClaim', target: 'detected', actions: 'settleClaim' },
        // After a restore nobody is answering: ask again (a claim by its holder is answered alike).
        RESUME: { target: 'claiming', reenter: true, actions: ['noteTime', 'askClaimAgain'] },
      },
    },
    joined: {
      id: 'joined',
      description:
        'Another pod of the workload leads this incident, or the workload is quarantined or cooling down: this pod waits until the workload is free, then looks again. A pod created after the remediation being verified that still shows the symptom claims the incident: the remediation did not hold.',
      after: {
        untilWorkloadFree: {
          target: 'healthy',
          actions: [reach('workloadFree'), close('waited for the workload; looking again')],
        },
      },
      on: {
        FACTS: [
          {
            guard: 'workloadFree',
            target: 'healthy',
            actions: ['rememberFacts', close('the workload is free again')],
          },
          {
            guard: 'contradictsVerification',
            target: 'detected',
            actions: ['rememberFacts', 'claimAfterAction'],
          },
        ],
        OBSERVED: [
          {
            guard: 'workloadFree',
            target: 'healthy',
            actions: ['rememberObservation', close('the workload is free again')],
          },
          {
            guard: 'symptomClearedInObservation',
            target: 'healthy',
            actions: ['rememberObservation', close('symptom cleared')],
          },
          {
            guard: 'contradictsVerification',
            target: 'detected',
            actions: ['rememberObservation', 'claimAfterAction'],
          },
        ],
        ESCALATE: {
          guard: 'isFreshCommand',
          target: 'escalated',
          actions: escalation('escalatedByPerson'),
        },
        ...resume('joined'),
      },
    },
    inhibited: {
      id: 'inhibited',
      description:
        "The pod's node is being remediated, so this is the node's problem: nothing is done until the inhibition lifts or the symptom clears.",
      on: {
        FACTS: {
          guard: 'inhibitionLifted',
          target: 'healthy',
          actions: ['rememberFacts', close('inhibition lifted')],
        },
        OBSERVED: [
          {
            guard: 'inhibitionLifted',
            target: 'healthy',
            actions: ['rememberObservation', close('inhibition lifted')],
          },
          {
            guard: 'symptomClearedInObservation',
            target: 'healthy',
            actions: ['rememberObservation', close('symptom cleared')],
          },
        ],
        ESCALATE: {
          guard: 'isFreshCommand',
          target: 'escalated',
          actions: escalation('escalatedByPerson'),
        },
      },
    },
    awaitingApproval,
    remediating: {
      id: 'remediating',
      description:
        'The remediation was asked for (restart, delete or evict the pod, or a change to its workload); waiting for its result until effectTimeoutMs.',
      after: {
        untilEffectTimesOut: {
          target: 'escalated',
          actions: [reach('effectTimesOut'), escalation('effectTimedOut')],
        },
      },
      on: {
        'EFFECT.DONE': [
          { guard: 'isAwaitedProposal', target: 'awaitingMerge', actions: 'noteProposalOpened' },
          {
            guard: 'isAwaitedEffect',
            target: 'verifying',
            actions: ['completeStep', 'startVerification'],
          },
        ],
        'EFFECT.FAILED': {
          guard: 'isAwaitedEffect',
          target: 'escalated',
          actions: escalation('effectFailed'),
        },
        ...resume('remediating'),
      },
    },
    awaitingMerge,
    verifying: {
      id: 'verifying',
      description:
        "Done; the symptom must stay away for verificationWindowMs, here and on every pod of the workload created since. If it comes back here, the remediation did not hold: the policy's ladder takes its next step (the action again, then a rollback), quarantine trips, or people take over (a restart cannot be undone). If it shows on another new pod, that pod goes on with the incident and this one lets go.",
      after: {
        untilVerificationEnds: [
          {
            guard: 'verificationHeld',
            target: 'resolved',
            actions: reach('verificationEnds'),
          },
          {
            guard: 'anotherTry',
            target: 'detected',
            actions: [reach('verificationEnds'), 'nextAttempt'],
          },
          {
            target: 'escalated',
            actions: [reach('verificationEnds'), escalation('verificationFailed')],
          },
        ],
      },
      on: {
        OBSERVED: [
          {
            guard: and(['symptomObserved', 'anotherTry']),
            target: 'detected',
            actions: ['rememberObservation', 'nextAttempt'],
          },
          {
            guard: 'symptomObserved',
            target: 'escalated',
            actions: ['rememberObservation', escalation('verificationFailed')],
          },
        ],
        // A pod that came after the remediation shows the symptom: it goes on with the incident.
        TAKEN_OVER: { guard: 'isTakenOver', target: 'healthy', actions: 'letGoOfVerification' },
        ESCALATE: {
          guard: 'isFreshCommand',
          target: 'escalated',
          actions: escalation('escalatedByPerson'),
        },
        ...resume('verifying'),
      },
    },
    resolved,
    coolingDown,
    escalated,
    quarantined,
  },
});
