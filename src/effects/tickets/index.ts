/**
 * The `openTicket` and `updateTicket` processors: one ticket per problem (the workload of a pod's
 * incident, else the actor key; and the detection type), opened at the escalation level the
 * policy names, commented on recurrence and resolved when the incident is.
 */
import { z } from 'zod';
import { evidenceLocation } from '../../evidence/keys.ts';
import {
  openOrComment,
  updateTicket,
  type TicketFacts,
  type TicketOutcome,
} from '../../tickets/tickets.ts';
import type { TicketProvider, TicketTracker } from '../../tickets/tracker.ts';
import type { EffectJob } from '../catalogue.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectProcessor, EffectResult } from '../workers.ts';
import { evidenceParam, objectRefParam, parseEffectParams } from '../evidence/params.ts';

const common = {
  target: objectRefParam,
  reason: z.string(),
  /** The detection type the incident is about (half of the fingerprint), e.g. OOMKilled. */
  detection: z.string().min(1),
  /** The policy's `spec.ticket`. */
  ticket: z.object({ provider: z.enum(['jira', 'github']), project: z.string().min(1) }),
  /** The policy's `spec.evidence`, to link the incident's bundle. */
  evidence: evidenceParam.optional(),
  /** The pull request proposing a fix, when there is one. */
  proposalUrl: z.string().optional(),
};

export const openTicketParams = z.object({
  ...common,
  /** The escalation level (0-based) that asks for the ticket. */
  level: z.number().int().min(0).optional(),
});

export const updateTicketParams = z.object({
  ...common,
  /** Resolve (transition to done / close) after commenting; otherwise only comment. */
  resolve: z.boolean().default(false),
});

export interface TicketProcessorsOptions {
  trackers: Partial<Record<TicketProvider, TicketTracker>>;
  linkTemplate?: string | undefined;
}

function objectName(target: z.output<typeof objectRefParam>): string {
  return target.namespace === null
    ? `${target.kind} ${target.name}`
    : `${target.kind} ${target.namespace}/${target.name}`;
}

function result(outcome: TicketOutcome, provider: TicketProvider, words: string): EffectResult {
  return {
    outcome: words,
    ticket:
      outcome.ticket === null
        ? null
        : {
            provider,
            key: outcome.ticket.key,
            url: outcome.ticket.url,
            status: outcome.ticket.status,
          },
    url: outcome.ticket?.url ?? null,
    created: outcome.created,
    commented: outcome.commented,
    resolved: outcome.resolved,
  };
}

export function ticketProcessors(options: TicketProcessorsOptions): {
  openTicket: EffectProcessor;
  updateTicket: EffectProcessor;
} {
  function setup(
    job: EffectJob,
    params: z.output<typeof openTicketParams> | z.output<typeof updateTicketParams>,
    level: number | undefined,
  ): { tracker: TicketTracker; facts: TicketFacts } {
    const tracker = options.trackers[params.ticket.provider];
    if (tracker === undefined) {
      throw new TerminalEffectError(
        'not-configured',
        `the policy opens tickets on ${params.ticket.provider}, which this worker has no credentials for`,
      );
    }
    const evidence =
      params.evidence === undefined
        ? undefined
        : evidenceLocation(params.evidence, params.target, job.incidentId, {
            linkTemplate: options.linkTemplate,
          }).link;
    return {
      tracker,
      facts: {
        actorKey: job.actorKey,
        workload: job.workload,
        object: objectName(params.target),
        detection: params.detection,
        incidentId: job.incidentId,
        reason: params.reason,
        policy: job.policy,
        level,
        links: { evidence, proposal: params.proposalUrl },
      },
    };
  }

  return {
    openTicket: async (job, context) => {
      const params = parseEffectParams('openTicket', openTicketParams, job.effect);
      const { tracker, facts } = setup(job, params, params.level);
      const outcome = await openOrComment({
        tracker,
        project: params.ticket.project,
        facts,
        jobId: context.jobId,
        signal: context.signal,
      });
      const key = outcome.ticket?.key ?? '?';
      const words = outcome.created
        ? `opened ticket ${key} (${outcome.ticket?.url ?? ''})`
        : outcome.commented
          ? `ticket ${key} was already open; commented on it`
          : `ticket ${key} already has this update`;
      return result(outcome, tracker.provider, words);
    },
    updateTicket: async (job, context) => {
      const params = parseEffectParams('updateTicket', updateTicketParams, job.effect);
      const { tracker, facts } = setup(job, params, undefined);
      const outcome = await updateTicket({
        tracker,
        project: params.ticket.project,
        facts,
        jobId: context.jobId,
        resolve: params.resolve,
        signal: context.signal,
      });
      const key = outcome.ticket?.key;
      const words =
        key === undefined
          ? `no open ticket for ${facts.object} (${facts.detection}); nothing to update`
          : params.resolve
            ? outcome.resolved
              ? `resolved ticket ${key}`
              : `commented on ticket ${key}, but no transition to a done status is available`
            : outcome.commented
              ? `commented on ticket ${key}`
              : `ticket ${key} already has this update`;
      return result(outcome, tracker.provider, words);
    },
  };
}
