/** The analyzers, one per kind, registered by kind. */
import {
  observe,
  type ObservableKind,
  type ObservableObject,
  type Observation,
} from '../observe/index.ts';
import { analyzeDeployment } from './deployment.ts';
import { analyzeNode } from './node.ts';
import { analyzePod } from './pod.ts';
import type { AnalyzerFacts, Detection } from './types.ts';

export * from './types.ts';
export { analyzeDeployment, ROLLOUT_CONDITION_RULES } from './deployment.ts';
export { analyzeNode, NODE_CONDITION_RULES } from './node.ts';
export { analyzePod, isCompletedPod, TERMINATED_REASONS, WAITING_REASONS } from './pod.ts';

export const ANALYZERS = {
  Pod: analyzePod,
  Node: analyzeNode,
  Deployment: analyzeDeployment,
} as const satisfies Record<ObservableKind, unknown>;

/** The detections of one observation, by the analyzer registered for its kind. */
export function analyze(observation: Observation, facts: AnalyzerFacts = {}): Detection[] {
  switch (observation.kind) {
    case 'Pod':
      return ANALYZERS.Pod(observation, facts);
    case 'Node':
      return ANALYZERS.Node(observation, facts);
    case 'Deployment':
      return ANALYZERS.Deployment(observation, facts);
  }
}

/** Observes an object and analyzes the observation: what `OBSERVED` events carry. */
export function analyzeObject(
  object: ObservableObject,
  facts: AnalyzerFacts = {},
): { observation: Observation; detections: Detection[] } {
  const observation = observe(object);
  return { observation, detections: analyze(observation, facts) };
}
