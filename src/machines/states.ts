/**
 * The states all three machines share: the detection window, approval, the pull-request wait,
 * cooldown, quarantine, the escalation ladder and resolution. Each machine adds its own
 * `detected`, `remediating` and `verifying` (and the node its `uncordoning`).
 *
 * Every top-level state has an explicit id equal to its key, so shared transitions can target
 * `#resolved` whatever the machine. Every state that waits on a deadline re-enters itself on
 * RESUME, which re-arms its timer from the deadline in context (see restore.ts); such states have
 * no entry or exit actions, so re-entering them has no other effect.
 */
import type { DecisionKind, DeadlineName } from './context.ts';
import { remediationSetup } from './setup.ts';
import type { EscalationCause } from './steps.ts';

export const reach = (deadline: DeadlineName) =>
  ({ type: 'reachDeadline', params: { deadline } }) as const;
export const decision = (kind: DecisionKind) =>
  ({ type: 'decisionIs', params: { decision: kind } }) as const;
export const escalation = (because: EscalationCause) =>
  ({ type: 'noteEscalation', params: { because } }) as const;
export const close = (outcome: string) => ({ type: 'closeIncident', params: { outcome } }) as const;
/** Re-enter this state on RESUME: its `after` timer is armed again for the time left. */
export const resume = <S extends string>(state: S) =>
  ({ RESUME: { target: state, reenter: true, actions: 'noteTime' } }) as const;

/** Events nobody should act on in the current state end up in history, never silently. */
export const ignoredEverywhere = remediationSetup.createStateConfig({
  on: {
    OBSERVED: { actions: 'rememberObservation' },
    FACTS: { actions: 'rememberFacts' },
    POLICY: { actions: 'rememberPolicy' },
    RESUME: { actions: 'noteTime' },
    'EFFECT.DONE': { actions: 'noteIgnored' },
    'EFFECT.FAILED': { actions: 'noteIgnored' },
    'PROPOSAL.MERGED': { actions: 'noteIgnored' },
    'PROPOSAL.CLOSED': { actions: 'noteIgnored' },
    'SCALE.PROPOSED': { actions: 'noteIgnored' },
    APPROVE: { actions: 'noteIgnored' },
    REJECT: { actions: 'noteIgnored' },
    ESCALATE: { actions: 'noteIgnored' },
    SNOOZE: { actions: 'noteIgnored' },
    ACK: { actions: 'noteIgnored' },
    TRIGGER: { actions: 'noteIgnored' },
  },
}).on;

export const healthy = remediationSetup.createStateConfig({
  id: 'healthy',
  description:
    'Nothing the policy acts on. Every observation is analyzed; a symptom opens a detection window.',
  always: { guard: 'symptomPresent', target: 'suspect', actions: 'openWindow' },
});

export const suspect = remediationSetup.createStateConfig({
  id: 'suspect',
  description:
    'A symptom was seen. Confirmed once seen `threshold` times, or if still there when the window ends; forgotten otherwise.',
  always: { guard: 'thresholdReached', target: 'detected', actions: 'openDetectionIncident' },
  after: {
    untilWindowEnds: [
      {
        guard: 'symptomPersists',
        target: 'detected',
        actions: [reach('windowEnds'), 'openDetectionIncident'],
      },
      { target: 'healthy', actions: [reach('windowEnds'), 'closeWindow'] },
    ],
  },
  on: {
    OBSERVED: { actions: ['rememberObservation', 'countSighting'] },
    // A person asks to act now: confirmed at once, as at the threshold; the mode still decides.
    TRIGGER: {
      guard: 'symptomPresent',
      target: 'detected',
      actions: ['noteTrigger', 'openDetectionIncident'],
    },
    ...resume('suspect'),
  },
});

export const awaitingApproval = remediationSetup.createStateConfig({
  id: 'awaitingApproval',
  description:
    'A person must approve first. APPROVE re-decides with the approval (facts may have changed); the request expires after approvalTimeoutMs and escalates; SNOOZE extends it.',
  after: {
    untilApprovalExpires: {
      target: 'escalated',
      actions: [reach('approvalExpires'), escalation('approvalExpired')],
    },
  },
  on: {
    APPROVE: { guard: 'isFreshCommand', target: 'detected', actions: 'approve' },
    REJECT: {
      guard: 'isFreshCommand',
      target: 'coolingDown',
      actions: ['reject', close('rejected'), 'startCooldown'],
    },
    ESCALATE: {
      guard: 'isFreshCommand',
      target: 'escalated',
      actions: escalation('escalatedByPerson'),
    },
    SNOOZE: {
      guard: 'isFreshCommand',
      target: 'awaitingApproval',
      reenter: true,
      actions: 'extendApproval',
    },
    ...resume('awaitingApproval'),
  },
});

export const awaitingMerge = remediationSetup.createStateConfig({
  id: 'awaitingMerge',
  description:
    'A pull request proposes the change. Merged: verify it. Closed: people said no. Neither within approvalTimeoutMs: escalate.',
  after: {
    untilApprovalExpires: {
      target: 'escalated',
      actions: [reach('approvalExpires'), escalation('proposalExpired')],
    },
  },
  on: {
    'PROPOSAL.MERGED': {
      guard: 'isAwaitedEffect',
      target: 'verifying',
      actions: ['noteProposalMerged', 'startVerification'],
    },
    'PROPOSAL.CLOSED': {
      guard: 'isAwaitedEffect',
      target: 'coolingDown',
      actions: ['noteProposalClosed', close('proposal closed'), 'startCooldown'],
    },
    ESCALATE: {
      guard: 'isFreshCommand',
      target: 'escalated',
      actions: escalation('escalatedByPerson'),
    },
    ...resume('awaitingMerge'),
  },
});

export const resolved = remediationSetup.createStateConfig({
  id: 'resolved',
  description:
    'The symptom stayed away. People who heard about the incident are told it ended; the cooldown starts.',
  always: { target: 'coolingDown', actions: ['resolve', close('resolved'), 'startCooldown'] },
});

export const coolingDown = remediationSetup.createStateConfig({
  id: 'coolingDown',
  description:
    'Quiet time after an incident: observations are kept, nothing starts until cooldownMs has passed.',
  after: { untilCooldownEnds: { target: 'healthy', actions: reach('cooldownEnds') } },
  on: resume('coolingDown'),
});

export const quarantined = remediationSetup.createStateConfig({
  id: 'quarantined',
  description:
    'Remediations did not hold: hands off. People were told once; remediation resumes when the oldest counted remediation leaves the quarantine window.',
  after: {
    untilQuarantineEnds: {
      target: 'healthy',
      actions: [reach('quarantineEnds'), 'liftQuarantine', close('quarantine lifted')],
    },
  },
  on: {
    ESCALATE: {
      guard: 'isFreshCommand',
      target: 'escalated',
      actions: escalation('escalatedByPerson'),
    },
    ...resume('quarantined'),
  },
});

export const escalated = remediationSetup.createStateConfig({
  id: 'escalated',
  description:
    'People own the incident: evidence is collected and the ladder tells each level when due, until someone acknowledges. Closes by itself once the symptom has stayed away for verificationWindowMs.',
  type: 'parallel',
  entry: 'startEscalation',
  states: {
    ladder: {
      initial: 'paging',
      states: {
        paging: {
          description: 'Telling each level when it is due; ESCALATE tells the next one now.',
          always: [
            {
              guard: 'escalationLevelDue',
              target: 'paging',
              reenter: true,
              actions: 'notifyEscalationLevel',
            },
            { guard: 'ladderExhausted', target: 'exhausted' },
          ],
          after: {
            untilNextEscalation: {
              target: 'paging',
              reenter: true,
              actions: reach('nextEscalation'),
            },
          },
          on: {
            ACK: { guard: 'isFreshCommand', target: 'acknowledged', actions: 'acknowledge' },
            SNOOZE: { guard: 'isFreshCommand', target: 'snoozed', actions: 'snooze' },
            ESCALATE: {
              guard: 'isFreshCommand',
              target: 'paging',
              reenter: true,
              actions: 'notifyEscalationLevel',
            },
            ...resume('paging'),
          },
        },
        snoozed: {
          description: 'Nobody is told until the snooze ends.',
          after: { untilSnoozeEnds: { target: 'paging', actions: reach('snoozeEnds') } },
          on: {
            ACK: { guard: 'isFreshCommand', target: 'acknowledged', actions: 'acknowledge' },
            ESCALATE: {
              guard: 'isFreshCommand',
              target: 'paging',
              actions: 'notifyEscalationLevel',
            },
            ...resume('snoozed'),
          },
        },
        acknowledged: {
          description: 'Someone is on it: the ladder stops.',
          on: {
            ESCALATE: {
              guard: 'isFreshCommand',
              target: 'paging',
              actions: 'notifyEscalationLevel',
            },
          },
        },
        exhausted: {
          description: 'Every level has been told.',
          on: {
            ACK: { guard: 'isFreshCommand', target: 'acknowledged', actions: 'acknowledge' },
          },
        },
      },
    },
    recovery: {
      initial: 'symptomPresent',
      states: {
        symptomPresent: {
          description: 'The symptom is still there.',
          always: { guard: 'symptomGone', target: 'holding', actions: 'startRecoveryWatch' },
        },
        holding: {
          description: 'The symptom is gone; it must stay away for verificationWindowMs.',
          after: { untilRecoveryHolds: { target: '#resolved', actions: reach('recoveryHolds') } },
          on: {
            OBSERVED: {
              guard: 'symptomObserved',
              target: 'symptomPresent',
              actions: 'rememberObservation',
            },
            ...resume('holding'),
          },
        },
      },
    },
  },
});
