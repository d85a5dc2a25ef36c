/**
 * The node machine: pressure and NotReady. Cordon, then drain when the policy allows, then verify;
 * a node that recovers is uncordoned, one that does not stays cordoned and people take over.
 * Nothing takes a node out of service if fewer than `minHealthyNodes` healthy nodes would remain.
 */
import { initialContext } from './context.ts';
import { remediationSetup } from './setup.ts';
import {
  awaitingApproval,
  close,
  coolingDown,
  decision,
  escalated,
  escalation,
  healthy,
  ignoredEverywhere,
  quarantined,
  reach,
  resume,
  suspect,
} from './states.ts';

/**
 * The node's escalation: as every machine's, and a NotReady node whose rule fails over is tainted
 * out of service as soon as it is confirmed fenced while people own it.
 */
const nodeEscalated = remediationSetup.createStateConfig({
  ...escalated,
  states: {
    ...escalated.states,
    recovery: {
      ...escalated.states?.recovery,
      on: {
        'EFFECT.DONE': { guard: 'isAwaitedOutOfService', actions: 'noteOutOfService' },
        'EFFECT.FAILED': { guard: 'isAwaitedOutOfService', actions: 'noteOutOfServiceFailed' },
      },
      states: {
        ...escalated.states?.recovery?.states,
        symptomPresent: {
          description:
            'The symptom is still there. A NotReady node confirmed fenced, under a rule that fails it over, is tainted out of service.',
          always: [
            { guard: 'symptomGone', target: 'holding', actions: 'startRecoveryWatch' },
            { guard: 'mayFailOver', actions: 'requestOutOfService' },
          ],
        },
      },
    },
  },
});

export const nodeMachine = remediationSetup.createMachine({
  id: 'node',
  description: 'Detects and remediates the problems of one node under its policy.',
  context: ({ input }) => initialContext(input),
  initial: 'healthy',
  on: ignoredEverywhere,
  states: {
    healthy,
    suspect,
    detected: {
      id: 'detected',
      description:
        'Confirmed. Decides once, with a reason: stand down, quarantine, escalate (also when too few healthy nodes would remain), dry run, ask for approval, or remediate.',
      entry: 'takeDecision',
      always: [
        {
          guard: decision('standDown'),
          target: 'healthy',
          actions: [{ type: 'recordDecision', params: { as: 'standDown' } }, close('stood down')],
        },
        { guard: decision('quarantine'), target: 'quarantined', actions: 'startQuarantine' },
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
        { guard: decision('remediate'), target: 'remediating', actions: 'requestPlanStep' },
      ],
    },
    awaitingApproval,
    remediating: {
      id: 'remediating',
      description:
        'Cordon (or taint), then drain when the policy allows: one step at a time, each waiting for its result until effectTimeoutMs. Before draining, the healthy node count is checked again.',
      after: {
        untilEffectTimesOut: {
          target: 'escalated',
          actions: [reach('effectTimesOut'), escalation('effectTimedOut')],
        },
      },
      on: {
        'EFFECT.DONE': [
          {
            guard: 'isAwaitedLastStep',
            target: 'verifying',
            actions: ['completeStep', 'startVerification'],
          },
          {
            guard: 'isAwaitedNextStepUnsafe',
            target: 'escalated',
            actions: ['completeStep', escalation('nextStepUnsafe')],
          },
          {
            guard: 'isAwaitedEffect',
            target: 'remediating',
            reenter: true,
            actions: ['completeStep', 'requestPlanStep'],
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
    verifying: {
      id: 'verifying',
      description:
        'Out of service; the condition must clear and stay clear for verificationWindowMs. If it comes back the node stays cordoned and people take over.',
      after: {
        untilVerificationEnds: [
          { guard: 'verificationHeld', target: 'resolved', actions: reach('verificationEnds') },
          {
            target: 'escalated',
            actions: [reach('verificationEnds'), escalation('verificationFailed')],
          },
        ],
      },
      on: {
        ESCALATE: {
          guard: 'isFreshCommand',
          target: 'escalated',
          actions: escalation('escalatedByPerson'),
        },
        ...resume('verifying'),
      },
    },
    resolved: {
      id: 'resolved',
      description:
        'The condition is gone. A node we took out of service is put back first (after two failed attempts it is left to people); then people who heard about it are told, and the cooldown starts.',
      always: [
        { guard: 'mayReturnNodeToService', target: 'uncordoning', actions: 'requestUncordon' },
        {
          guard: 'nodeOutOfService',
          target: 'coolingDown',
          actions: ['leaveOutOfService', close('left out of service'), 'startCooldown'],
        },
        { target: 'coolingDown', actions: ['resolve', close('resolved'), 'startCooldown'] },
      ],
    },
    uncordoning: {
      id: 'uncordoning',
      description:
        'Putting the recovered node back in service (uncordon, or untaint); waiting for the result until effectTimeoutMs.',
      after: {
        untilEffectTimesOut: {
          target: 'escalated',
          actions: [reach('effectTimesOut'), escalation('effectTimedOut')],
        },
      },
      on: {
        'EFFECT.DONE': {
          guard: 'isAwaitedEffect',
          target: 'resolved',
          actions: 'completeUncordon',
        },
        'EFFECT.FAILED': {
          guard: 'isAwaitedEffect',
          target: 'escalated',
          actions: escalation('effectFailed'),
        },
        ...resume('uncordoning'),
      },
    },
    coolingDown,
    escalated: nodeEscalated,
    quarantined,
  },
});
