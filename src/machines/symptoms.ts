/** Which detection a machine cares about, and how sightings are counted against a threshold. */
import type { Detection, DetectionType } from '../analyzers/types.ts';
import type { Observation } from '../observe/index.ts';
import type { DetectionWindow, Incident } from './context.ts';
import type { MachinePolicy } from './policy.ts';

/**
 * When an object shows several problems, the first one here that the policy has a rule for is
 * handled: a node that is NotReady is not treated for pressure; an OOMKilled container that
 * crash-loops is treated for the OOM, which restarting would not fix.
 */
export const DETECTION_PRIORITY: readonly DetectionType[] = [
  'NotReady',
  'MemoryPressure',
  'DiskPressure',
  'PIDPressure',
  'RolloutFailed',
  'ImagePullBackOff',
  'OOMKilled',
  'CrashLoopBackOff',
];

/** What a rule's threshold counts (the CRD's words: restarts for crash loops and OOM kills). */
export const THRESHOLD_COUNTS: Readonly<Record<DetectionType, 'restarts' | 'observations'>> = {
  CrashLoopBackOff: 'restarts',
  OOMKilled: 'restarts',
  ImagePullBackOff: 'observations',
  MemoryPressure: 'observations',
  DiskPressure: 'observations',
  PIDPressure: 'observations',
  NotReady: 'observations',
  RolloutFailed: 'observations',
};

export function carries(detections: readonly Detection[], type: DetectionType): boolean {
  return detections.some((d) => d.type === type);
}

/** The detection the policy acts on, if the object shows one. */
export function primaryDetection(
  policy: MachinePolicy,
  detections: readonly Detection[],
): Detection | null {
  for (const type of DETECTION_PRIORITY) {
    if (!policy.detections[type]) continue;
    const found = detections.find((d) => d.type === type);
    if (found) return found;
  }
  return null;
}

export function restartCount(observation: Observation | null): number {
  return observation?.kind === 'Pod' ? observation.restartCount : 0;
}

/** Sightings after one more observation carrying the window's type. */
export function nextSightings(window: DetectionWindow, observation: Observation | null): number {
  if (THRESHOLD_COUNTS[window.type] === 'restarts') {
    // The first sighting counts as one; every restart since the window opened adds one.
    return 1 + Math.max(0, restartCount(observation) - window.restartsAtOpen);
  }
  return window.seen + 1;
}

/**
 * Whether the incident's symptom shows in these detections. A scale has no symptom of its own:
 * it is judged by whether the Deployment shows any problem the policy watches.
 */
export function incidentSymptomIn(
  incident: Incident,
  policy: MachinePolicy,
  detections: readonly Detection[],
): boolean {
  return incident.trigger.kind === 'detection'
    ? carries(detections, incident.trigger.detection.type)
    : primaryDetection(policy, detections) !== null;
}
