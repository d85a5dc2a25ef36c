/**
 * Which problems have a ticket, and what becomes of it as an incident ends (docs/adr/0016).
 * A ticket the escalation ladder asked for is remembered by its problem (the detection type:
 * with the actor key, the ticket's fingerprint); the incident that resolves the problem closes
 * it, whichever incident opened it; endings that are no verified fix only comment on it.
 */
import type { DetectionType } from '../policy/vocabulary.ts';
import type { Incident, RemediationContext } from './context.ts';
import type { Effect, EffectRequest } from './effects.ts';
import { objectRef } from './plans.ts';

/** The problem an incident is about, when a detection (not a scale proposal) opened it. */
export function problemOf(incident: Incident): DetectionType | null {
  return incident.trigger.kind === 'detection' ? incident.trigger.detection.type : null;
}

/**
 * Remembers that a ticket was asked for the incident's problem, so that the incident resolving
 * it closes it. A scale has no problem to fingerprint: the runtime opens no ticket for it.
 */
export function ticketsAsked(
  context: RemediationContext,
  incident: Incident,
  requests: readonly EffectRequest[],
): Pick<RemediationContext, 'tickets'> {
  const problem = problemOf(incident);
  const open = context.tickets ?? [];
  if (problem === null || open.includes(problem)) return {};
  return requests.some((r) => r.effect.kind === 'openTicket')
    ? { tickets: [...open, problem] }
    : {};
}

/**
 * What a pod learns from its workload when it leads the workload's incident or takes its
 * verification over: that the symptom has an open ticket, which another pod of the workload may
 * have opened. It remembers it as its own, so that its resolution closes it.
 */
export function ticketsOfWorkload(
  context: RemediationContext,
  problem: DetectionType,
  workloadHasTicket: boolean | undefined,
): Pick<RemediationContext, 'tickets'> {
  const open = context.tickets ?? [];
  return workloadHasTicket === true && !open.includes(problem)
    ? { tickets: [...open, problem] }
    : {};
}

/**
 * The update of the ticket of the incident's problem, if one was asked for and not resolved
 * since: resolving closes it (and forgets it), otherwise a comment says what happened.
 */
export function ticketUpdate(
  context: RemediationContext,
  incident: Incident,
  update: { reason: string; resolve: boolean },
): { patch: Pick<RemediationContext, 'tickets'>; effects: Effect[] } {
  const problem = problemOf(incident);
  const open = context.tickets ?? [];
  if (problem === null || !open.includes(problem)) return { patch: {}, effects: [] };
  return {
    patch: update.resolve ? { tickets: open.filter((t) => t !== problem) } : {},
    effects: [
      {
        kind: 'updateTicket',
        target: objectRef(context),
        reason: update.reason,
        detection: problem,
        resolve: update.resolve,
      },
    ],
  };
}
