/**
 * The `collectEvidence` processor: collects (Kubernetes API), redacts, renders and writes an
 * incident's bundle to S3 or a filesystem path, in the folder of the moment that asked (keys.ts),
 * and answers with where it is. A retry rewrites the same keys with what is true now.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { renderBundle } from '../../evidence/bundle.ts';
import { collect } from '../../evidence/collect.ts';
import { collectionLocation, evidenceLocation } from '../../evidence/keys.ts';
import type { LogBounds } from '../../evidence/logs.ts';
import { kubeReaders } from '../../evidence/owners.ts';
import type { EvidenceStore } from '../../evidence/store.ts';
import { TerminalEffectError } from '../errors.ts';
import type { EffectProcessor } from '../workers.ts';
import { collectEvidenceParams, parseEffectParams } from './params.ts';
import type { IncidentSuggestions } from './suggestions.ts';

export interface EvidenceProcessorsOptions {
  kc: KubeConfig;
  /** Where bundles go, by the policy's choice; a missing one fails such jobs as terminal. */
  stores: { s3?: EvidenceStore; filesystem?: EvidenceStore };
  /** Default: 500 lines and 256 KiB per container log. */
  bounds?: LogBounds;
  /** See EvidenceLocation: `{bucket}`, `{key}`, `{uri}`. */
  linkTemplate?: string | undefined;
  /** Suggestions the LLM made for incidents, for bundles whose job carries none. */
  suggestions?: IncidentSuggestions;
  /** The time now (ms), for the bundle's `collectedAt`. Default: Date.now. */
  now?: () => number;
}

export function evidenceProcessors(options: EvidenceProcessorsOptions): {
  collectEvidence: EffectProcessor;
} {
  const api = kubeReaders(options.kc);
  const bounds = options.bounds ?? { maxLines: 500, maxBytes: 256 * 1024 };
  const now = options.now ?? Date.now;

  const collectEvidence: EffectProcessor = async (job, context) => {
    const params = parseEffectParams('collectEvidence', collectEvidenceParams, job.effect);
    const store = params.evidence.s3 !== undefined ? options.stores.s3 : options.stores.filesystem;
    if (store === undefined) {
      throw new TerminalEffectError(
        'not-configured',
        `the policy keeps evidence in ${params.evidence.s3 !== undefined ? 'S3' : 'a filesystem path'}, which this worker is not configured for`,
      );
    }
    const target = params.target;
    const location = evidenceLocation(params.evidence, target, job.incidentId, {
      linkTemplate: options.linkTemplate,
    });
    const collection = collectionLocation(location, job.step, context.attempt);
    const evidence = await collect({ api, target, bounds });
    const suggestion = params.suggestion ?? (await options.suggestions?.latest(job.incidentId));
    const { files, findings } = renderBundle(
      {
        incidentId: job.incidentId,
        actorKey: job.actorKey,
        step: job.step,
        reason: params.reason,
        policy: job.policy,
        detection: params.detection,
        target,
        requestedAt: job.requestedAt,
        collectedAt: now(),
        history: params.history,
        suggestion,
      },
      evidence,
    );
    const container =
      params.evidence.s3 !== undefined ? params.evidence.s3.bucket : params.evidence.efs.path;
    await store.write(container, collection.key, files, context.signal);
    const redacted = findings.reduce((n, f) => n + f.count, 0);
    const logs = evidence.logs.length;
    const object =
      target.namespace === null
        ? `${target.kind} ${target.name}`
        : `${target.kind} ${target.namespace}/${target.name}`;
    context.logger.info(
      { bundle: collection.bundle, files: files.length, redacted },
      'evidence bundle written',
    );
    return {
      outcome: `collected evidence for ${object} (${evidence.events.length} events, ${logs} container logs, ${redacted} secrets redacted) at ${location.link}`,
      url: location.link,
      uri: location.folder,
      bundle: collection.bundle,
      index: collection.index,
      files: files.map((f) => f.name),
      redactions: findings,
    };
  };

  return { collectEvidence };
}
