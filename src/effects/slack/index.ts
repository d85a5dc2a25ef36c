/**
 * The `notify` and `escalate` processors: each job tells Slack about one transition of one
 * incident (src/chatops/notifier.ts does the telling). Idempotent: what a job posted is recorded
 * under its job id, so a rerun (a lapsed lock, a retry after a failed parent update) posts nothing
 * twice. Failures are typed for the queue: bad parameters and Slack's permanent refusals are
 * terminal, a rate limit waits as long as Slack asks, anything else is retried.
 */
import { isTerminalSlackError, SlackApiError } from '../../adapters/slack/client.ts';
import { linkSchema } from '../../chatops/model.ts';
import { InvalidNotificationError, NoChannelError, type Notifier } from '../../chatops/notifier.ts';
import { ThreadBusyError } from '../../chatops/store.ts';
import { evidenceLocation } from '../../evidence/keys.ts';
import type { EffectJob } from '../catalogue.ts';
import { RetryLaterError, TerminalEffectError } from '../errors.ts';
import { evidenceParam, objectRefParam } from '../evidence/params.ts';
import type { EffectProcessor } from '../workers.ts';

/** Maps what telling Slack can throw to what the effect queue understands. */
export function toEffectError(error: unknown): unknown {
  if (error instanceof InvalidNotificationError) {
    return new TerminalEffectError('bad-input', error.message, { cause: error });
  }
  if (error instanceof NoChannelError) {
    return new TerminalEffectError('no-channel', error.message, { cause: error });
  }
  if (error instanceof ThreadBusyError)
    return new RetryLaterError(error.message, 1_000, { cause: error });
  if (error instanceof SlackApiError && error.code === 'ratelimited') {
    return new RetryLaterError(error.message, error.retryAfterMs ?? 30_000, { cause: error });
  }
  if (isTerminalSlackError(error)) {
    return new TerminalEffectError(`slack-${error.code}`, error.message, { cause: error });
  }
  return error;
}

/**
 * The job with a link to its incident's evidence added, when the policy keeps evidence (the
 * runtime adds the policy's `evidence` block): the location is known before the bundle is
 * written, so the first message already links it.
 */
export function withEvidenceLink(job: EffectJob, linkTemplate: string | undefined): EffectJob {
  const evidence = evidenceParam.safeParse(job.effect['evidence']);
  const target = objectRefParam.safeParse(job.effect['target']);
  if (!evidence.success || !target.success) return job;
  const url = evidenceLocation(evidence.data, target.data, job.incidentId, { linkTemplate }).link;
  const link = linkSchema.safeParse({ label: 'Evidence', url });
  // A location Slack cannot show (an odd path, a bad template) costs the link, not the message.
  if (!link.success) return job;
  const links = Array.isArray(job.effect['links']) ? (job.effect['links'] as unknown[]) : [];
  return { ...job, effect: { ...job.effect, links: [...links, link.data] } };
}

export function createSlackProcessors(
  notifier: Notifier,
  options: { evidenceLinkTemplate?: string | undefined } = {},
): {
  notify: EffectProcessor;
  escalate: EffectProcessor;
} {
  const processor: EffectProcessor = async (job, context) => {
    try {
      const linked = withEvidenceLink(job, options.evidenceLinkTemplate);
      const told = await notifier.notify(linked, context.jobId, context.signal);
      const result = {
        outcome: told.outcome,
        channel: told.channel,
        threadTs: told.threadTs,
        replyTs: told.replyTs,
      };
      return told.targetTs === undefined ? result : { ...result, targetTs: told.targetTs };
    } catch (error) {
      throw toEffectError(error);
    }
  };
  return { notify: processor, escalate: processor };
}
