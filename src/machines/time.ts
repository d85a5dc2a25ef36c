/**
 * Time inside a machine. Machines read no clock. Two times are kept:
 *
 * - `now`, the logical time: the `at` of the event being handled (never going backwards), or, for
 *   a timer that fired, the deadline it was armed for. Deadlines are computed from it.
 * - `clockAt`, the latest time the actor's clock is known to have reached: event times, and the
 *   `at` of RESUME after a restore. Delays are measured from it.
 *
 * Every wait is an absolute deadline in context and each `after` delay is (deadline − clockAt),
 * so re-entering a state (which RESUME does after a restore) re-arms its timer for the time that
 * is left, and a deadline missed while the process was down fires at once, with the logical time
 * it was due, so the schedule that follows from it keeps its times.
 */
import type { DeadlineName, RemediationContext } from './context.ts';
import { MAX_DURATION_MS } from './policy.ts';

function atOf(event: object): number | undefined {
  return 'at' in event && typeof event.at === 'number' ? event.at : undefined;
}

/**
 * The logical time of handling this event: its `at` (never before the machine's `now`), or `now`
 * for timers and for RESUME, which says what the clock reads, not that anything happened.
 */
export function timeOf(context: Pick<RemediationContext, 'now'>, event: object): number {
  const at = atOf(event);
  const isResume = 'type' in event && event.type === 'RESUME';
  return at === undefined || isResume ? context.now : Math.max(context.now, at);
}

/** The latest time the clock is known to have reached, this event included. */
export function clockTimeOf(
  context: Pick<RemediationContext, 'clockAt' | 'now'>,
  event: object,
): number {
  return Math.max(context.clockAt, context.now, atOf(event) ?? -Infinity);
}

/** Each named delay and the deadline it waits for. */
export const DELAY_DEADLINES = {
  untilWindowEnds: 'windowEnds',
  untilApprovalExpires: 'approvalExpires',
  untilEffectTimesOut: 'effectTimesOut',
  untilVerificationEnds: 'verificationEnds',
  untilCooldownEnds: 'cooldownEnds',
  untilNextEscalation: 'nextEscalation',
  untilSnoozeEnds: 'snoozeEnds',
  untilRecoveryHolds: 'recoveryHolds',
  untilQuarantineEnds: 'quarantineEnds',
  untilWorkloadFree: 'workloadFree',
} as const satisfies Record<string, DeadlineName>;

export type DelayName = keyof typeof DELAY_DEADLINES;

/**
 * How long until a deadline, from the latest known clock time. A deadline already past
 * gives 0 (the timer fires at once); a missing one waits as long as timers can, which the state
 * invariants in the tests rule out.
 */
export function remainingMs(
  context: RemediationContext,
  event: object,
  deadline: DeadlineName,
): number {
  const at = context.deadlines[deadline];
  if (at === undefined) return MAX_DURATION_MS;
  return Math.min(MAX_DURATION_MS, Math.max(0, at - clockTimeOf(context, event)));
}

/** now + ms, for deadlines; durations are bounded by the policy checks and MAX_DURATION_MS. */
export function deadlineAfter(now: number, ms: number): number {
  return now + Math.min(Math.max(0, ms), MAX_DURATION_MS);
}
