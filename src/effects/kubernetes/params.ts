/**
 * The parameters each Kubernetes action takes, checked when the job runs: a job whose input is
 * wrong will never succeed, so it fails at once as terminal instead of being retried.
 */
import { z } from 'zod';
import { TerminalEffectError } from '../errors.ts';

const name = z.string().min(1);

export const podTarget = z.object({ namespace: name, name, uid: name });

export const deploymentTarget = z.object({
  namespace: name,
  name,
  /** The Deployment the decision saw; the action refuses to act on another one of that name. */
  uid: name.optional(),
});

/** A pod's workload action: refused once the Deployment moved on from the pods' ReplicaSet. */
const fromReplicaSet = { fromReplicaSet: name.optional() };

export const taintSpec = z.object({
  key: name,
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

/** A condition that must still hold on the node when the action runs, e.g. MemoryPressure=True. */
export const stillTrue = z.object({ type: name, status: z.enum(['True', 'False', 'Unknown']) });

export const nodeTarget = z.object({
  node: name,
  uid: name.optional(),
  requireCondition: stillTrue.optional(),
});

/** Deleting a pod: refused when no controller recreates it, unless the policy allows that. */
export const podDeletion = podTarget.extend({ deleteBarePod: z.boolean().default(false) });

export const PARAMS = {
  deletePod: podDeletion,
  restartPod: podDeletion,
  evictPod: podDeletion,
  rolloutRestart: deploymentTarget.extend(fromReplicaSet),
  rollback: deploymentTarget.extend({
    ...fromReplicaSet,
    /** Roll back to this revision; default: the one before the current. */
    toRevision: z.number().int().positive().optional(),
  }),
  scale: deploymentTarget.extend({
    replicas: z.number().int().min(0),
    /** The replica count the decision saw; a different one means someone else scaled. */
    fromReplicas: z.number().int().min(0).optional(),
  }),
  cordon: nodeTarget,
  uncordon: nodeTarget,
  taint: nodeTarget.extend({ taint: taintSpec }),
  untaint: nodeTarget.extend({ taint: taintSpec }),
  drain: nodeTarget.extend({
    /** Bound on one drain attempt before it is retried later. Default: 5 minutes. */
    timeoutMs: z.number().int().positive().optional(),
    minHealthyNodes: z.number().int().min(0).default(1),
  }),
} as const;

export type KubernetesActionKind = keyof typeof PARAMS;

export function parseParams<K extends KubernetesActionKind>(
  kind: K,
  effect: unknown,
): z.output<(typeof PARAMS)[K]> {
  const result = PARAMS[kind].safeParse(effect);
  if (!result.success) {
    throw new TerminalEffectError(
      'bad-input',
      `effect ${kind} has bad parameters: ${z.prettifyError(result.error)}`,
    );
  }
  return result.data as z.output<(typeof PARAMS)[K]>;
}
