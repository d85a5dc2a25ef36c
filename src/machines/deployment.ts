/**
 * The deployment machine: failed rollouts (rolled back when the policy allows) and the scaler's
 * proposals (`SCALE.PROPOSED`), never fighting an HPA that owns the replica count. In gitops mode
 * both become pull requests. A scale that does not hold is put back before escalating.
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

export const deploymentMachine = remediationSetup.createMachine({
  id: 'deployment',
  description:
    'Detects and remediates the problems of one Deployment, and applies scaling decisions.',
  context: ({ input }) => initialContext(input),
  initial: 'healthy',
  on: ignoredEverywhere,
  states: {
    healthy: {
      ...healthy,
      description:
        'Nothing the policy acts on. A symptom opens a detection window; a scaling proposal opens an incident, unless an HPA owns the replica count.',
      on: {
        'SCALE.PROPOSED': [
          { guard: 'hpaPresent', actions: 'recordScaleSkipped' },
          { target: 'detected', actions: 'openScaleIncident' },
        ],
      },
    },
    suspect,
    detected: {
      id: 'detected',
      description:
        'Confirmed (or a scale proposed). Decides once, with a reason: stand down, quarantine, escalate, dry run, ask for approval, propose a pull request, or remediate.',
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
        { guard: decision('propose'), target: 'remediating', actions: 'requestPlanStep' },
        { guard: decision('remediate'), target: 'remediating', actions: 'requestPlanStep' },
      ],
    },
    awaitingApproval,
    remediating: {
      id: 'remediating',
      description:
        'The rollback, rollout restart, scale or pull request was asked for; waiting for its result until effectTimeoutMs.',
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
        'Done; the symptom must stay away for verificationWindowMs (a scale holds as soon as its replicas are available). Otherwise the remediation failed.',
      after: {
        untilVerificationEnds: [
          { guard: 'verificationHeld', target: 'resolved', actions: reach('verificationEnds') },
          { target: 'verificationFailed', actions: reach('verificationEnds') },
        ],
      },
      on: {
        OBSERVED: [
          {
            guard: 'symptomObserved',
            target: 'verificationFailed',
            actions: 'rememberObservation',
          },
          { guard: 'scaleObserved', target: 'resolved', actions: 'rememberObservation' },
        ],
        ESCALATE: {
          guard: 'isFreshCommand',
          target: 'escalated',
          actions: escalation('escalatedByPerson'),
        },
        ...resume('verifying'),
      },
    },
    verificationFailed: {
      id: 'verificationFailed',
      description:
        'The remediation did not hold: what can be put back (a scale) is rolled back first; then people take over.',
      always: [
        { guard: 'hasUndo', target: 'rollingBack', actions: 'requestUndo' },
        { target: 'escalated', actions: escalation('verificationFailed') },
      ],
    },
    rollingBack: {
      id: 'rollingBack',
      description:
        'Putting back the replica count the failed scale changed; then escalating, whatever the result.',
      after: {
        untilEffectTimesOut: {
          target: 'escalated',
          actions: [reach('effectTimesOut'), escalation('effectTimedOut')],
        },
      },
      on: {
        'EFFECT.DONE': {
          guard: 'isAwaitedEffect',
          target: 'escalated',
          actions: escalation('undone'),
        },
        'EFFECT.FAILED': {
          guard: 'isAwaitedEffect',
          target: 'escalated',
          actions: escalation('undoFailed'),
        },
        ...resume('rollingBack'),
      },
    },
    resolved,
    coolingDown,
    escalated,
    quarantined,
  },
});
