/**
 * The effects machines may ask for, the integration (queue) that carries out each, and the
 * deterministic job id that makes a repeated request the same job.
 */
import { createHash } from 'node:crypto';
import type { NodeSelector } from '../budgets/healthy-nodes.ts';

export const INTEGRATIONS = [
  'kubernetes',
  'slack',
  'gitops',
  'tickets',
  'evidence',
  'llm',
] as const;
export type Integration = (typeof INTEGRATIONS)[number];

/** Which integration carries out each effect kind. An unknown kind is a programming error. */
export const EFFECT_INTEGRATION: Readonly<Record<string, Integration>> = {
  deletePod: 'kubernetes',
  restartPod: 'kubernetes',
  evictPod: 'kubernetes',
  rolloutRestart: 'kubernetes',
  rollback: 'kubernetes',
  scale: 'kubernetes',
  cordon: 'kubernetes',
  uncordon: 'kubernetes',
  taint: 'kubernetes',
  untaint: 'kubernetes',
  drain: 'kubernetes',
  notify: 'slack',
  escalate: 'slack',
  openPullRequest: 'gitops',
  openTicket: 'tickets',
  updateTicket: 'tickets',
  collectEvidence: 'evidence',
  suggestCause: 'llm',
};

export function integrationFor(kind: string): Integration {
  const integration = EFFECT_INTEGRATION[kind];
  if (integration === undefined)
    throw new Error(`no integration carries out effect kind "${kind}"`);
  return integration;
}

/** What a machine asked for: a kind and its parameters. */
export interface Effect {
  kind: string;
  [param: string]: unknown;
}

/** One effect as a job: who asked, in which incident, at which step, and what. */
export interface EffectJob {
  /** Whose control stream gets the result: `agent-<node>` or `controller`. */
  owner: string;
  /**
   * Whose queue carries out a Kubernetes action, when not the owner's: a pod actor's rollout
   * restart runs in the controller, which holds the rights on Deployments.
   */
  executor?: string;
  /** `Kind/namespace/name` of the actor that asked. */
  actorKey: string;
  /**
   * `namespace/Kind/name` of the workload whose incident this is (a pod's incident kept in its
   * workload's memory): its ticket is the workload's, and people's commands for it go to the pod
   * that holds the incident now. Absent for nodes, Deployments, pods no controller replaces, and
   * incidents opened before their pod's actor kept workload memory.
   */
  workload?: string;
  incidentId: string;
  /** The step within the incident, e.g. `remediate-1`; the same step is the same job. */
  step: string;
  effect: Effect;
  /** The policy that allowed it, `namespace/name`, for budgets and audit. */
  policy?: string;
  /**
   * What the incident is about: its detection type (`CrashLoopBackOff`…), or `scale` for a
   * scaling decision. For the policy's record of actions; absent in older jobs.
   */
  detection?: string;
  /** When the machine asked, ms since the epoch. */
  requestedAt: number;
  /** Ask the API server to validate and admit the action but persist nothing. */
  dryRun?: boolean;
  /**
   * An evidence job this action waits for before it runs (until it has finished, or `waitMs`
   * after the evidence was asked for at `askedAt`, ms since the epoch): replacing a pod takes its
   * logs and its object with it. An action approved hours after detection does not wait.
   */
  evidenceFirst?: { jobId: string; askedAt: number; waitMs: number };
  /** Budgets a disruptive action must take a token from before it acts. */
  budget?: {
    scopes: { scope: string; limit: number; windowMs: number }[];
    /** For node disruptions: never leave fewer healthy nodes… */
    minHealthyNodes?: number;
    /** The floor as a percentage of the nodes `nodeSelector` selects, in place of the count. */
    minHealthyPercent?: number;
    /** …among the nodes this selector selects (the policy's): every node when absent. */
    nodeSelector?: NodeSelector;
  };
}

/**
 * A job id from the actor, incident and step, so a restart or a duplicate decision can never
 * double an action. Hex only: BullMQ reserves `:` in ids.
 */
export function effectJobId(job: Pick<EffectJob, 'actorKey' | 'incidentId' | 'step'>): string {
  return createHash('sha256')
    .update(`${job.actorKey}\n${job.incidentId}\n${job.step}`)
    .digest('hex')
    .slice(0, 40);
}
