import { describe, expect, it } from 'vitest';
import { analyze, analyzeObject, type Detection } from '../../../src/analyzers/index.ts';
import type { ContainerStatusObject, PodObject } from '../../../src/observe/index.ts';

interface PodShape {
  phase?: string;
  job?: boolean;
  deleting?: boolean;
  init?: ContainerStatusObject[];
  sidecars?: ContainerStatusObject[];
  containers?: ContainerStatusObject[];
  noStatus?: boolean;
}

/** A pod as the API server returns it, with the container statuses the kubelet wrote. */
function pod(shape: PodShape): PodObject {
  const init = [...(shape.init ?? []), ...(shape.sidecars ?? [])];
  const sidecarNames = new Set((shape.sidecars ?? []).map((s) => s.name));
  return {
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'shop',
      uid: 'u',
      resourceVersion: '1',
      ...(shape.deleting ? { deletionTimestamp: '2026-11-02T10:00:00Z' } : {}),
      ownerReferences: [
        { kind: shape.job ? 'Job' : 'ReplicaSet', name: 'owner', controller: true },
      ],
    },
    spec: {
      initContainers: init.map((s) => ({
        name: s.name,
        ...(sidecarNames.has(s.name) ? { restartPolicy: 'Always' } : {}),
      })),
      containers: (shape.containers ?? [{ name: 'app' }]).map((s) => ({ name: s.name })),
    },
    ...(shape.noStatus
      ? {}
      : {
          status: {
            phase: shape.phase ?? 'Running',
            initContainerStatuses: init,
            containerStatuses: shape.containers ?? [],
          },
        }),
  };
}

const crashLoop = (name: string, restarts: number): ContainerStatusObject => ({
  name,
  restartCount: restarts,
  state: {
    waiting: {
      reason: 'CrashLoopBackOff',
      message: `back-off 5m0s restarting failed container=${name} pod=p_shop(u)`,
    },
  },
  lastState: { terminated: { reason: 'Error', exitCode: 1 } },
});
const running = (name: string, restarts = 0): ContainerStatusObject => ({
  name,
  ready: true,
  restartCount: restarts,
  state: { running: { startedAt: '2026-11-02T09:00:00Z' } },
});
const waiting = (name: string, reason: string, message?: string): ContainerStatusObject => ({
  name,
  restartCount: 0,
  state: { waiting: { reason, ...(message ? { message } : {}) } },
});
const exited = (name: string, exitCode: number, reason: string): ContainerStatusObject => ({
  name,
  restartCount: 0,
  state: { terminated: { reason, exitCode } },
});

describe('the pod analyzer', () => {
  it.each<[string, PodShape, Detection[]]>([
    [
      'a crash-looping app container, quoting the kubelet',
      { containers: [crashLoop('api', 12)] },
      [
        {
          type: 'CrashLoopBackOff',
          reason:
            'container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container=api pod=p_shop(u) (restarts: 12)',
        },
      ],
    ],
    [
      'only the failing container of several',
      { containers: [running('web', 1), crashLoop('worker', 4), running('metrics')] },
      [
        {
          type: 'CrashLoopBackOff',
          reason:
            'container "worker" is in CrashLoopBackOff: back-off 5m0s restarting failed container=worker pod=p_shop(u) (restarts: 4)',
        },
      ],
    ],
    [
      'a crash-looping init container while the pod is still Pending',
      {
        phase: 'Pending',
        init: [crashLoop('migrate', 3)],
        containers: [waiting('api', 'PodInitializing')],
      },
      [
        {
          type: 'CrashLoopBackOff',
          reason:
            'init container "migrate" is in CrashLoopBackOff: back-off 5m0s restarting failed container=migrate pod=p_shop(u) (restarts: 3)',
        },
      ],
    ],
    [
      'a crash-looping sidecar (a restartable init container) beside a healthy app',
      { sidecars: [crashLoop('proxy', 7)], containers: [running('api')] },
      [
        {
          type: 'CrashLoopBackOff',
          reason:
            'sidecar container "proxy" is in CrashLoopBackOff: back-off 5m0s restarting failed container=proxy pod=p_shop(u) (restarts: 7)',
        },
      ],
    ],
    [
      'ImagePullBackOff',
      {
        phase: 'Pending',
        containers: [waiting('api', 'ImagePullBackOff', 'Back-off pulling image "shop/api:nope"')],
      },
      [
        {
          type: 'ImagePullBackOff',
          reason: 'container "api" is in ImagePullBackOff: Back-off pulling image "shop/api:nope"',
        },
      ],
    ],
    [
      'ErrImagePull as ImagePullBackOff',
      { phase: 'Pending', containers: [waiting('api', 'ErrImagePull', 'manifest unknown')] },
      [
        {
          type: 'ImagePullBackOff',
          reason: 'container "api" is in ErrImagePull: manifest unknown',
        },
      ],
    ],
    [
      'InvalidImageName as ImagePullBackOff',
      { phase: 'Pending', containers: [waiting('api', 'InvalidImageName')] },
      [{ type: 'ImagePullBackOff', reason: 'container "api" is in InvalidImageName' }],
    ],
    [
      'ErrImageNeverPull as ImagePullBackOff',
      { phase: 'Pending', containers: [waiting('api', 'ErrImageNeverPull', 'image not present')] },
      [
        {
          type: 'ImagePullBackOff',
          reason: 'container "api" is in ErrImageNeverPull: image not present',
        },
      ],
    ],
    [
      'an OOM kill in the last run of a container running again',
      {
        containers: [
          {
            ...running('api', 4),
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
      [
        {
          type: 'OOMKilled',
          reason: 'container "api" was OOMKilled in its last run (exit code 137, restarts: 4)',
        },
      ],
    ],
    [
      'an OOM kill as the current state, once even when the last run was one too',
      {
        containers: [
          {
            ...exited('api', 137, 'OOMKilled'),
            restartCount: 2,
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
      [{ type: 'OOMKilled', reason: 'container "api" was OOMKilled (exit code 137, restarts: 2)' }],
    ],
    [
      'an OOM kill that sends the container into a crash loop, as both',
      {
        containers: [
          {
            ...crashLoop('api', 6),
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
      [
        {
          type: 'CrashLoopBackOff',
          reason:
            'container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container=api pod=p_shop(u) (restarts: 6)',
        },
        {
          type: 'OOMKilled',
          reason: 'container "api" was OOMKilled in its last run (exit code 137, restarts: 6)',
        },
      ],
    ],
  ])('finds %s', (_name, shape, expected) => {
    expect(analyzeObject(pod(shape)).detections).toEqual(expected);
  });

  it.each<[string, PodShape]>([
    ['a healthy pod', { containers: [running('api')] }],
    ['a pod with no status yet', { noStatus: true }],
    ['a Pending pod waiting to be scheduled', { phase: 'Pending', containers: [] }],
    [
      'a pod whose containers are still being created',
      { phase: 'Pending', containers: [waiting('api', 'ContainerCreating')] },
    ],
    [
      'a terminating pod, whatever its containers last said',
      { deleting: true, containers: [crashLoop('api', 9)] },
    ],
    [
      'a Succeeded pod, even if an earlier run was OOM-killed',
      {
        phase: 'Succeeded',
        containers: [
          {
            ...exited('job', 0, 'Completed'),
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
    ],
    [
      "a Job's pod whose app exited 0 while its sidecar still runs",
      { job: true, sidecars: [running('proxy')], containers: [exited('job', 0, 'Completed')] },
    ],
    [
      'an init container that completed',
      { init: [exited('migrate', 0, 'Completed')], containers: [running('api')] },
    ],
  ])('finds nothing in %s', (_name, shape) => {
    expect(analyzeObject(pod(shape)).detections).toEqual([]);
  });

  it("still sees a Job's pod that was OOM-killed", () => {
    const { detections } = analyzeObject(
      pod({ job: true, phase: 'Failed', containers: [exited('job', 137, 'OOMKilled')] }),
    );
    expect(detections.map((d) => d.type)).toEqual(['OOMKilled']);
  });

  it('is registered for the Pod kind', () => {
    const { observation } = analyzeObject(pod({ containers: [crashLoop('api', 1)] }));
    expect(analyze(observation).map((d) => d.type)).toEqual(['CrashLoopBackOff']);
  });
});
