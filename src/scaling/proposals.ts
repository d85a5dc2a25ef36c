/**
 * What a scaling decision becomes for the rest of kube-remedy:
 * - a `SCALE.PROPOSED` event for the Deployment's actor, whose machine applies the policy's mode
 *   (approval, dry run, gitops as a pull request), cooldowns, budgets and the HPA guard;
 * - the effect job the mode calls for, for a runtime that enqueues it directly: `scale` through
 *   the scale subresource (with the replica count the decision saw as precondition), or, in mode
 *   gitops, `openPullRequest` proposing the change; none in mode approval, which needs a person
 *   first (route the event instead);
 * - the problems a policy's status reports (an HPA on a scaled Deployment, unreadable signals).
 */
import type { EffectJob } from '../effects/catalogue.ts';
import type { RemediationEffect } from '../machines/effects.ts';
import type { ScaleProposedEvent } from '../machines/events.ts';
import type { PolicyRef } from '../policy/policy.ts';
import type { PolicySpec } from '../policy/schema.ts';
import type { PolicyProblem } from '../policy/status.ts';
import type { Mode } from '../policy/vocabulary.ts';
import type { HpaRef, ScalingDecision, ScalingPolicy } from './types.ts';

/** A Deployment the scaler scales, as the policy index and the observations know it. */
export interface ScaledDeployment {
  namespace: string;
  name: string;
  /** The Deployment's UID: the scale refuses to act on a replaced Deployment of that name. */
  uid?: string | undefined;
  /** `spec.replicas` as last observed. */
  replicas: number;
  /** The governing policy. */
  policy: {
    ref: PolicyRef;
    mode: Mode;
    scaling: ScalingPolicy;
    /** Where mode gitops proposes changes (`spec.gitops`). */
    gitops?: PolicySpec['gitops'];
  };
  /** When kube-remedy last scaled it, if known from elsewhere (e.g. the actor's history), ms. */
  lastScaledAt?: number | undefined;
}

/** The actor key of a Deployment: `Deployment/namespace/name`. */
export function deploymentKey(deployment: { namespace: string; name: string }): string {
  return `Deployment/${deployment.namespace}/${deployment.name}`;
}

/** What the scaler hands to its sink: a scale to make, or signals people must look at. */
export type ScalingProposal =
  | {
      kind: 'scale';
      /** `Deployment/namespace/name`: the actor that owns the Deployment. */
      actorKey: string;
      deployment: ScaledDeployment;
      decision: ScalingDecision & { decision: 'scaleOut' | 'scaleIn' };
      /** For the Deployment's actor (the recommended route). */
      event: ScaleProposedEvent;
      /** For direct enqueueing: `scale` or, in mode gitops, `openPullRequest`; null in mode approval. */
      effect: EffectJob | null;
    }
  | {
      kind: 'escalate';
      actorKey: string;
      deployment: ScaledDeployment;
      decision: ScalingDecision & { decision: 'escalate' };
    };

export type ScalingSink = (proposal: ScalingProposal) => void | Promise<void>;

export function scaleProposedEvent(decision: ScalingDecision, at: number): ScaleProposedEvent {
  return {
    type: 'SCALE.PROPOSED',
    at,
    from: decision.from,
    to: decision.to,
    reason: decision.reason,
  };
}

type PullRequestEffect = Extract<RemediationEffect, { kind: 'openPullRequest' }>;

/**
 * The effect job of a scale decision under the policy's mode. Ids are deterministic: the same
 * decision (same Deployment, time and change) is the same job, so a repeated hand-over cannot
 * double it; the `fromReplicas` precondition stops a stale one.
 */
export function scalingEffectJob(
  deployment: ScaledDeployment,
  decision: ScalingDecision,
  at: number,
  owner = 'controller',
): EffectJob | null {
  const { mode } = deployment.policy;
  if (mode === 'approval') return null;
  const base = {
    owner,
    actorKey: deploymentKey(deployment),
    incidentId: `scaling-${at}`,
    step: `scale-${decision.from}-to-${decision.to}`,
    policy: `${deployment.policy.ref.namespace}/${deployment.policy.ref.name}`,
    requestedAt: at,
  };
  if (mode === 'gitops') {
    // The machine's openPullRequest effect, plus what the GitOps processor needs to find the
    // manifest: the policy's spec.gitops and the workload (src/effects/gitops).
    const effect: PullRequestEffect = {
      kind: 'openPullRequest',
      target: {
        kind: 'Deployment',
        namespace: deployment.namespace,
        name: deployment.name,
        uid: deployment.uid ?? '',
        resourceVersion: '',
      },
      reason: decision.reason,
      proposes: { kind: 'scale', from: decision.from, to: decision.to },
    };
    return {
      ...base,
      step: `propose-scale-${decision.from}-to-${decision.to}`,
      effect: {
        ...effect,
        workload: { kind: 'Deployment', name: deployment.name },
        ...(deployment.policy.gitops === undefined ? {} : { gitops: deployment.policy.gitops }),
      },
    };
  }
  return {
    ...base,
    effect: {
      kind: 'scale',
      namespace: deployment.namespace,
      name: deployment.name,
      ...(deployment.uid === undefined ? {} : { uid: deployment.uid }),
      replicas: decision.to,
      fromReplicas: decision.from,
      reason: decision.reason,
    },
    ...(mode === 'dryRun' ? { dryRun: true } : {}),
  };
}

/** What the scaler last concluded about one Deployment, for the policy's status. */
export interface ScalingState {
  deployment: ScaledDeployment;
  decision: ScalingDecision;
  hpa: HpaRef | null;
}

const MAX_LISTED = 5;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

/**
 * The problems of one policy's scaling, for `PolicyReports.problems` (status condition Degraded):
 * Deployments it would scale that an HPA owns, and signals that cannot be read.
 */
export function scalingProblems(states: readonly ScalingState[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const conflicts = states
    .filter((state) => state.hpa !== null)
    .map(
      (state) =>
        `HorizontalPodAutoscaler ${state.deployment.namespace}/${state.hpa?.name ?? ''} targets Deployment ${state.deployment.name}`,
    )
    .sort();
  if (conflicts.length > 0) {
    problems.push({
      reason: 'HorizontalPodAutoscalerConflict',
      message: `${listed(conflicts)}; kube-remedy does not scale a Deployment an HPA owns (remove the HPA, or select the Deployment out of spec.scaling)`,
    });
  }
  const unreadable = states
    .filter((state) => state.hpa === null)
    .flatMap((state) =>
      state.decision.signals
        .filter((signal) => signal.verdict === 'unavailable')
        .map(
          (signal) =>
            `signal ${signal.name} for Deployment ${state.deployment.name}: ${signal.why}`,
        ),
    )
    .sort();
  if (unreadable.length > 0) {
    problems.push({ reason: 'SignalsUnavailable', message: listed(unreadable) });
  }
  return problems;
}

/** The problem of a policy with spec.scaling when no Prometheus is configured. */
export const PROMETHEUS_NOT_CONFIGURED: PolicyProblem = {
  reason: 'PrometheusNotConfigured',
  message:
    'spec.scaling reads its signals from Prometheus, and none is configured: set prometheus.url (KUBE_REMEDY_PROMETHEUS_URL) on the controller',
};
