import type { DetectionType } from '../policy/vocabulary.ts';
import type { Observation, PodObservation } from '../observe/index.ts';

export { DETECTION_TYPES, type DetectionType } from '../policy/vocabulary.ts';

/** A problem an analyzer found, in the policy's words, with a sentence saying why. */
export interface Detection {
  type: DetectionType;
  /** Names the container or condition and quotes the kubelet's or controller's reason. */
  reason: string;
}

/**
 * Facts an analyzer cannot read from the object itself; the runtime gathers them. Analyzers never
 * call the API: what they need arrives here.
 */
export interface AnalyzerFacts {
  /**
   * For a Deployment: the pods of its newest ReplicaSet, to see image pulls failing, and that
   * ReplicaSet's `deployment.kubernetes.io/revision` where the runtime knows it.
   */
  newReplicaSet?: { name: string; revision?: string | null; pods: readonly PodObservation[] };
}

export type Analyzer<O extends Observation> = (observation: O, facts: AnalyzerFacts) => Detection[];
