/**
 * Deployment analyzer: a rollout that the controller gave up on (Progressing=False), and a new
 * ReplicaSet whose pods cannot pull their images, which the runtime passes in as a fact.
 */
import type { DeploymentObservation } from '../observe/index.ts';
import { analyzePod } from './pod.ts';
import type { Analyzer, AnalyzerFacts, Detection, DetectionType } from './types.ts';

export interface RolloutConditionRule {
  condition: string;
  status: string;
  reasons: readonly string[];
  type: DetectionType;
  says: string;
}

export const ROLLOUT_CONDITION_RULES: readonly RolloutConditionRule[] = [
  {
    condition: 'Progressing',
    status: 'False',
    reasons: ['ProgressDeadlineExceeded'],
    type: 'RolloutFailed',
    says: 'rollout failed',
  },
];

/**
 * The controller has not yet looked at the latest spec: its conditions describe the previous
 * rollout, and a fix just applied must not be judged by the failure it replaces.
 */
function conditionsAreStale(deployment: DeploymentObservation): boolean {
  return (
    deployment.generation !== null &&
    deployment.observedGeneration !== null &&
    deployment.observedGeneration < deployment.generation
  );
}

function conditionDetections(deployment: DeploymentObservation): Detection[] {
  if (conditionsAreStale(deployment)) return [];
  const detections: Detection[] = [];
  for (const rule of ROLLOUT_CONDITION_RULES) {
    const condition = deployment.conditions.find((c) => c.type === rule.condition);
    if (condition?.status !== rule.status || !rule.reasons.includes(condition.reason ?? '')) {
      continue;
    }
    const message = condition.message ? `: ${condition.message}` : '';
    detections.push({
      type: rule.type,
      reason: `${rule.says}: condition ${condition.type} is ${condition.status} (${condition.reason ?? ''})${message}`,
    });
  }
  return detections;
}

/**
 * The newest ReplicaSet the runtime saw is not (yet) the one the Deployment runs. ReplicaSets and
 * Deployments arrive on separate watches: right after a rollback the Deployment names the
 * restored revision while the ReplicaSet watch still shows the failing one as newest, and until
 * the controller has looked at the new template no ReplicaSet is its answer. Judging the failing
 * pods then would fail the rollback's verification on the very pods it replaces.
 */
function rolloutFactsAreStale(
  deployment: DeploymentObservation,
  replicaSet: NonNullable<AnalyzerFacts['newReplicaSet']>,
): boolean {
  if (conditionsAreStale(deployment)) return true;
  const [ours, theirs] = [deployment.revision, replicaSet.revision ?? null];
  return ours !== null && theirs !== null && ours !== theirs;
}

export const analyzeDeployment: Analyzer<DeploymentObservation> = (deployment, facts) => {
  const detections = conditionDetections(deployment);
  const replicaSet = facts.newReplicaSet;
  if (!replicaSet || rolloutFactsAreStale(deployment, replicaSet)) return detections;
  const pulls = replicaSet.pods.flatMap((pod) =>
    analyzePod(pod, {})
      .filter((d) => d.type === 'ImagePullBackOff')
      .map((d) => `pod "${pod.name}": ${d.reason}`),
  );
  const [first, ...rest] = pulls;
  if (first === undefined) return detections;
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  // Both names apply: a policy may watch either the pull failure or the failed rollout.
  detections.push(
    { type: 'ImagePullBackOff', reason: `new ReplicaSet "${replicaSet.name}": ${first}${more}` },
    {
      type: 'RolloutFailed',
      reason: `rollout failed: new ReplicaSet "${replicaSet.name}" cannot pull its images: ${first}${more}`,
    },
  );
  return detections;
};
