/**
 * A whole AutoRemediationPolicy resource parsed into the typed `Policy`: who it is (namespace, name,
 * generation) and its spec with defaults applied and durations in milliseconds.
 */
import type { z } from 'zod';
import { policySpecSchema, type PolicySpec } from './schema.ts';

/** Identifies a policy. Policies are namespaced; the name is unique within the namespace. */
export interface PolicyRef {
  namespace: string;
  name: string;
}

/** `namespace/name`: the key of a policy in maps and messages. */
export function policyKey(ref: PolicyRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/**
 * The annotation that pauses a policy's automation (`kubectl annotate … remedy.kube-remedy.io/paused="why, who"`):
 * while it is there (with any value but `false`), every problem the policy confirms is handed to a
 * person instead of acted on, as in a storm. Its value is quoted wherever the hold is explained.
 */
export const PAUSE_ANNOTATION = 'remedy.kube-remedy.io/paused';

export type Policy = PolicySpec & {
  ref: PolicyRef;
  /** metadata.generation of the parsed spec (status.observedGeneration reports it back). */
  generation: number;
  uid?: string;
  /** The pause annotation's value while the policy is paused (empty when it says nothing). */
  paused?: string;
};

/** The pause annotation's value when it pauses the policy, or undefined. */
export function pausedBy(
  annotations: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const value = annotations?.[PAUSE_ANNOTATION];
  return value === undefined || value.trim().toLowerCase() === 'false' ? undefined : value.trim();
}

/** The resource as the API server returns it; only the fields kube-remedy reads. */
export interface PolicyResource {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
  };
  spec?: unknown;
  status?: unknown;
}

export type ParseResult =
  | { ok: true; policy: Policy }
  | { ok: false; ref: PolicyRef; generation: number; problems: string[] };

/** `spec.detections[0].action: …`: where the problem is and what it is, as kubectl would print it. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = ['spec', ...issue.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
  return `${path}: ${issue.message}`;
}

export function parsePolicy(resource: PolicyResource): ParseResult {
  const ref = {
    namespace: resource.metadata?.namespace ?? '',
    name: resource.metadata?.name ?? '',
  };
  const generation = resource.metadata?.generation ?? 0;
  const parsed = policySpecSchema.safeParse(resource.spec);
  if (!parsed.success) {
    return { ok: false, ref, generation, problems: parsed.error.issues.map(describeIssue) };
  }
  const uid = resource.metadata?.uid;
  const paused = pausedBy(resource.metadata?.annotations);
  return {
    ok: true,
    policy: {
      ...parsed.data,
      ref,
      generation,
      ...(uid === undefined ? {} : { uid }),
      ...(paused === undefined ? {} : { paused }),
    },
  };
}
