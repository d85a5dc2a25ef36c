/**
 * The `suggestCause` processor: asks an LLM for the probable root cause of an incident, from its
 * evidence, redacted and bounded. The answer is a suggestion for people, shown in the incident's
 * Slack thread and returned in the effect's result; nothing in it is ever executed. A failing,
 * slow or nonsense answer never fails the incident: the job completes with the outcome
 * "no suggestion: <why>". A suggestion is kept per job, so a rerun (say, after Slack failed to
 * show it) does not ask the model again.
 */
import {
  buildPrompt,
  LlmError,
  parseSuggestion,
  type IncidentEvidence,
  type LlmClient,
} from '../../adapters/llm/index.ts';
import type { Suggestion } from '../../chatops/model.ts';
import type { Notifier } from '../../chatops/notifier.ts';
import type { ChatOpsStore } from '../../chatops/store.ts';
import type { Redactor } from '../../redaction/index.ts';
import type { EffectJob } from '../catalogue.ts';
import { toEffectError } from '../slack/index.ts';
import type { EffectProcessor, EffectResult } from '../workers.ts';

export interface SuggestCauseOptions {
  llm: LlmClient;
  /** The model asked when the effect names none (a policy's spec.llm.model names one). */
  model: string;
  /** Upper bound of the prompt in characters. */
  maxPromptChars: number;
  redactor: Redactor;
  /** Keeps suggestions per job. */
  store: ChatOpsStore;
  /** Evidence for jobs that carry none: Events, log lines, the object, the actor's history. */
  gatherEvidence?: (job: EffectJob, signal: AbortSignal) => Promise<IncidentEvidence>;
  /** Shows the suggestion (or why there is none) in the incident's Slack thread. */
  notifier?: Notifier;
}

function subjectOf(job: EffectJob): string {
  const target = job.effect.target as
    { kind?: string; namespace?: string | null; name?: string } | undefined;
  if (target?.kind !== undefined && target.name !== undefined) {
    return target.namespace === null || target.namespace === undefined
      ? `${target.kind} ${target.name}`
      : `${target.kind} ${target.namespace}/${target.name}`;
  }
  return job.actorKey;
}

async function evidenceOf(
  job: EffectJob,
  options: SuggestCauseOptions,
  signal: AbortSignal,
): Promise<IncidentEvidence> {
  const given = job.effect.evidence;
  if (typeof given === 'object' && given !== null) return given;
  if (options.gatherEvidence !== undefined) return options.gatherEvidence(job, signal);
  const reason = typeof job.effect.reason === 'string' ? job.effect.reason : undefined;
  return reason === undefined ? {} : { summary: reason };
}

export function createSuggestCauseProcessor(options: SuggestCauseOptions): EffectProcessor {
  return async (job, context) => {
    const log = context.logger;
    const model = typeof job.effect.model === 'string' ? job.effect.model : options.model;
    let suggestion: Suggestion | null = await options.store.suggestion(context.jobId);
    let why: string | null = null;
    if (suggestion === null) {
      try {
        const evidence = await evidenceOf(job, options, context.signal);
        const prompt = buildPrompt(evidence, {
          maxChars: options.maxPromptChars,
          redactor: options.redactor,
          subject: subjectOf(job),
        });
        log.info(
          { model, chars: prompt.chars, redacted: prompt.findings, cuts: prompt.cuts },
          'asking the LLM for a probable cause',
        );
        const answer = await options.llm.complete(
          { model, messages: prompt.messages },
          context.signal,
        );
        const parsed = parseSuggestion(answer, options.redactor);
        if (parsed.ok) {
          suggestion = { ...parsed.suggestion, model };
          await options.store.setSuggestion(context.jobId, suggestion);
        } else {
          why = parsed.reason;
        }
      } catch (error) {
        // Shutting down: try again later rather than record that there is no suggestion.
        if (context.signal.aborted) throw error;
        if (!(error instanceof LlmError)) {
          log.warn({ err: error }, 'building or asking for a suggestion failed');
        }
        why = error instanceof LlmError ? error.message : 'the evidence could not be gathered';
      }
    }
    if (options.notifier !== undefined) {
      try {
        await options.notifier.attachSuggestion(
          job,
          context.jobId,
          suggestion,
          why,
          context.signal,
        );
      } catch (error) {
        throw toEffectError(error);
      }
    }
    if (suggestion === null) {
      log.info({ model, why }, 'no suggestion');
      const result: EffectResult = {
        outcome: `no suggestion: ${why ?? 'unknown'}`,
        suggestion: null,
      };
      return result;
    }
    const percent = Math.round(suggestion.confidence * 100);
    return {
      outcome: `suggested (confidence ${percent}%, never executed): ${suggestion.probableCause}`,
      suggestion,
    };
  };
}
