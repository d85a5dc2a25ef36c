/**
 * The pod machine: crash loops, image pulls and OOM kills of one pod. A pod on a node the node
 * machine is handling is the node's problem: the pod machine waits (`inhibited`) instead of acting.
 */
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
  on: ignoredEverywhere,
  states: {
    healthy,
    suspect,
    detected: {
      id: 'detected',
      description:
        'Confirmed. Decides once, with a reason: stand down, quarantine, wait for the node, escalate, dry run, ask for approval, propose, or remediate.',
      entry: 'takeDecision',
      always: [
        {
          guard: decision('standDown'),
          target: 'healthy',
          actions: [{ type: 'recordDecision', params: { as: 'standDown' } }, close('stood down')],
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
        'Done; the symptom must stay away for verificationWindowMs. If it comes back, the remediation failed and people take over (a restart cannot be undone).',
      after: {
        untilVerificationEnds: [
          {
            guard: 'verificationHeld',
            target: 'resolved',
            actions: reach('verificationEnds'),
          },
          {
            target: 'escalated',
            actions: [reach('verificationEnds'), escalation('verificationFailed')],
          },
        ],
      },
      on: {
        OBSERVED: {
          guard: 'symptomObserved',
          target: 'escalated',
          actions: ['rememberObservation', escalation('verificationFailed')],
        },
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
