/**
 * Pod analyzer: the kubelet's waiting and terminated reasons, per container (init, sidecar and app
 * containers alike), looked up in tables rather than tested in if-chains.
 */
import type { ContainerObservation, ContainerRole, PodObservation } from '../observe/index.ts';
import type { Analyzer, Detection, DetectionType } from './types.ts';

/** Waiting reasons of a container that cannot make progress on its own. */
export const WAITING_REASONS: Readonly<Record<string, DetectionType>> = {
  CrashLoopBackOff: 'CrashLoopBackOff',
  ImagePullBackOff: 'ImagePullBackOff',
  ErrImagePull: 'ImagePullBackOff',
  InvalidImageName: 'ImagePullBackOff',
  ErrImageNeverPull: 'ImagePullBackOff',
};

/** Terminated reasons that are failures whatever the exit code says. */
export const TERMINATED_REASONS: Readonly<Record<string, DetectionType>> = {
  OOMKilled: 'OOMKilled',
};

const ROLE_LABEL: Readonly<Record<ContainerRole, string>> = {
  init: 'init container',
  sidecar: 'sidecar container',
  app: 'container',
};

function restarts(container: ContainerObservation): string {
  return container.restartCount > 0 ? `restarts: ${container.restartCount}` : '';
}

function parenthesized(...parts: string[]): string {
  const text = parts.filter(Boolean).join(', ');
  return text ? ` (${text})` : '';
}

function waitingDetection(container: ContainerObservation): Detection | null {
  if (container.state !== 'waiting' || container.reason === null) return null;
  const type = WAITING_REASONS[container.reason];
  if (type === undefined) return null;
  const message = container.message ? `: ${container.message}` : '';
  return {
    type,
    reason: `${ROLE_LABEL[container.role]} "${container.name}" is in ${container.reason}${message}${parenthesized(restarts(container))}`,
  };
}

function terminationDetection(container: ContainerObservation): Detection | null {
  const current =
    container.state === 'terminated'
      ? { reason: container.reason, exitCode: container.exitCode, when: '' }
      : null;
  const last = container.lastTermination
    ? { ...container.lastTermination, when: ' in its last run' }
    : null;
  for (const ended of [current, last]) {
    if (ended?.reason == null) continue;
    const type = TERMINATED_REASONS[ended.reason];
    if (type === undefined) continue;
    const code = ended.exitCode === null ? '' : `exit code ${ended.exitCode}`;
    return {
      type,
      reason: `${ROLE_LABEL[container.role]} "${container.name}" was ${ended.reason}${ended.when}${parenthesized(code, restarts(container))}`,
    };
  }
  return null;
}

/**
 * A pod that finished its work: phase Succeeded, or a Job's pod whose app containers all exited 0
 * (a sidecar may still be running, so the phase can lag).
 */
export function isCompletedPod(pod: PodObservation): boolean {
  if (pod.phase === 'Succeeded') return true;
  if (pod.owner?.kind !== 'Job') return false;
  const apps = pod.containers.filter((c) => c.role === 'app');
  return apps.length > 0 && apps.every((c) => c.state === 'terminated' && c.exitCode === 0);
}

export const analyzePod: Analyzer<PodObservation> = (pod) => {
  // A pod being deleted or done is nobody's failure, whatever its containers last reported.
  if (pod.terminating || isCompletedPod(pod)) return [];
  const detections: Detection[] = [];
  for (const container of pod.containers) {
    for (const detection of [waitingDetection(container), terminationDetection(container)]) {
      if (detection) detections.push(detection);
    }
  }
  return detections;
};
