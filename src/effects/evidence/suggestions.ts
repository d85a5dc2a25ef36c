/**
 * The LLM's suggested cause, kept with the incident's evidence. A suggestion is made when people
 * are asked to look, usually after the detection's bundle was written, so it is kept twice: as
 * `suggestions/<step>.json` in the incident's evidence folder, and in Redis for the incident's
 * later collections (escalation, quarantine), whose `bundle.json` then carries it.
 */
import type { Redis } from '../../adapters/redis.ts';
import { evidenceLocation, safeSegment } from '../../evidence/keys.ts';
import type { EvidenceStore } from '../../evidence/store.ts';
import type { EffectProcessor } from '../workers.ts';
import { evidenceParam, objectRefParam } from './params.ts';

/** As long as a finished effect job is kept: a week. */
const KEPT_S = 7 * 24 * 3600;

export interface IncidentSuggestions {
  /** The latest suggestion made for the incident, or undefined. */
  latest(incidentId: string): Promise<unknown>;
  keep(incidentId: string, suggestion: unknown): Promise<void>;
}

export function redisIncidentSuggestions(redis: Redis, keyPrefix: string): IncidentSuggestions {
  const key = (incidentId: string) => `${keyPrefix}:evidence:suggestion:${incidentId}`;
  return {
    latest: async (incidentId) => {
      const text = await redis.get(key(incidentId));
      if (text === null) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // Not ours to fail a bundle over: the bundle goes without it.
        return undefined;
      }
    },
    keep: async (incidentId, suggestion) => {
      await redis.set(key(incidentId), JSON.stringify(suggestion), 'EX', KEPT_S);
    },
  };
}

export interface KeepSuggestionsOptions {
  suggestions: IncidentSuggestions;
  stores: { s3?: EvidenceStore; filesystem?: EvidenceStore };
}

/**
 * The `suggestCause` processor, keeping what it suggested with the incident's evidence when the
 * policy keeps evidence (its job carries the policy's `evidenceTarget`). Keeping is best effort:
 * a store that fails is logged and the suggestion still reaches people.
 */
export function keepingSuggestions(
  suggestCause: EffectProcessor,
  options: KeepSuggestionsOptions,
): EffectProcessor {
  return async (job, context) => {
    const result = await suggestCause(job, context);
    const suggestion = result['suggestion'];
    if (suggestion === null || suggestion === undefined) return result;
    try {
      await options.suggestions.keep(job.incidentId, suggestion);
    } catch (error) {
      context.logger.warn({ err: error }, 'the suggestion could not be kept for later bundles');
    }
    const target = evidenceParam.safeParse(job.effect['evidenceTarget']);
    const object = objectRefParam.safeParse(job.effect['target']);
    if (!target.success || !object.success) return result;
    const store = target.data.s3 !== undefined ? options.stores.s3 : options.stores.filesystem;
    if (store === undefined) return result;
    const location = evidenceLocation(target.data, object.data, job.incidentId);
    const container = target.data.s3 !== undefined ? target.data.s3.bucket : target.data.efs.path;
    const body = JSON.stringify(
      { incidentId: job.incidentId, step: job.step, shownTo: 'people, never executed', suggestion },
      null,
      2,
    );
    try {
      await store.write(
        container,
        `${location.key}suggestions/`,
        [
          {
            name: `${safeSegment(job.step)}.json`,
            body: `${body}\n`,
            contentType: 'application/json',
          },
        ],
        context.signal,
      );
    } catch (error) {
      context.logger.warn({ err: error }, 'the suggestion could not be kept with the evidence');
    }
    return result;
  };
}
