/**
 * Parameters of the integration effects (evidence, GitOps, tickets), checked when the job runs:
 * input that cannot succeed fails at once as terminal. The machine's fields (`target`, `reason`,
 * `proposes`, `level`) come with the policy's integration settings the runtime adds when it
 * enqueues (`evidence`, `gitops`, `ticket`), in the CRD's own shapes.
 */
import { z } from 'zod';
import { TerminalEffectError } from '../errors.ts';

const name = z.string().min(1);

/** The machine's ObjectRef. */
export const objectRefParam = z.object({
  kind: name,
  namespace: name.nullable(),
  name,
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});
export type ObjectRefParam = z.output<typeof objectRefParam>;

/** The policy's `spec.evidence`. */
export const evidenceParam = z.union([
  z.object({
    s3: z.object({ bucket: name, prefix: z.string().default('') }),
    efs: z.undefined().optional(),
  }),
  z.object({ efs: z.object({ path: name }), s3: z.undefined().optional() }),
]);

export const collectEvidenceParams = z.object({
  target: objectRefParam,
  reason: z.string(),
  evidence: evidenceParam,
  /** The detection type, e.g. OOMKilled. */
  detection: z.string().optional(),
  /** The actor's decision trail (its records), as the runtime has it. */
  history: z.unknown().optional(),
  /** The LLM's suggested cause and fix, when one was made. */
  suggestion: z.unknown().optional(),
});

export function parseEffectParams<S extends z.ZodType>(
  kind: string,
  schema: S,
  effect: unknown,
): z.output<S> {
  const result = schema.safeParse(effect);
  if (!result.success) {
    throw new TerminalEffectError(
      'bad-input',
      `effect ${kind} has bad parameters: ${z.prettifyError(result.error)}`,
    );
  }
  return result.data;
}
