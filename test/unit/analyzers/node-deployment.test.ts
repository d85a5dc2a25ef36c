import { describe, expect, it } from 'vitest';
import { analyzeObject, type Detection } from '../../../src/analyzers/index.ts';
import {
  observe,
  type ConditionObject,
  type DeploymentObject,
  type NodeObject,
  type PodObject,
} from '../../../src/observe/index.ts';

function node(conditions: ConditionObject[]): NodeObject {
  return { kind: 'Node', metadata: { name: 'worker-1', uid: 'n' }, status: { conditions } };
}

const ready: ConditionObject = {
  type: 'Ready',
  status: 'True',
  reason: 'KubeletReady',
  message: 'kubelet is posting ready status',
};
const noPressure = ['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
  type,
  status: 'False',
  reason: `KubeletHasSufficient${type.replace('Pressure', '')}`,
}));

describe('the node analyzer', () => {
  it.each<[string, ConditionObject[], Detection[]]>([
    ['a Ready node without pressure', [...noPressure, ready], []],
    ['a node that has not reported its conditions yet', [], []],
    [
      'memory pressure',
      [
        {
          type: 'MemoryPressure',
          status: 'True',
          reason: 'KubeletHasInsufficientMemory',
          message: 'kubelet has insufficient memory available',
        },
        ready,
      ],
      [
        {
          type: 'MemoryPressure',
          reason:
            'node has MemoryPressure: condition MemoryPressure is True (KubeletHasInsufficientMemory): kubelet has insufficient memory available',
        },
      ],
    ],
    [
      'disk and PID pressure together',
      [
        { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure' },
        { type: 'PIDPressure', status: 'True', reason: 'KubeletHasInsufficientPID' },
        ready,
      ],
      [
        {
          type: 'DiskPressure',
          reason: 'node has DiskPressure: condition DiskPressure is True (KubeletHasDiskPressure)',
        },
        {
          type: 'PIDPressure',
          reason: 'node has PIDPressure: condition PIDPressure is True (KubeletHasInsufficientPID)',
        },
      ],
    ],
    [
      'a kubelet that stopped posting status (Ready Unknown)',
      [
        ...noPressure,
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
        },
      ],
      [
        {
          type: 'NotReady',
          reason:
            'node is NotReady: condition Ready is Unknown (NodeStatusUnknown): Kubelet stopped posting node status.',
        },
      ],
    ],
    [
      'a kubelet that reports NotReady (Ready False)',
      [
        {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message: 'container runtime is down',
        },
      ],
      [
        {
          type: 'NotReady',
          reason:
            'node is NotReady: condition Ready is False (KubeletNotReady): container runtime is down',
        },
      ],
    ],
  ])('reads %s', (_name, conditions, expected) => {
    expect(analyzeObject(node(conditions)).detections).toEqual(expected);
  });
});

function deployment(
  progressing: ConditionObject,
  generations: { generation: number; observed: number } = { generation: 3, observed: 3 },
): DeploymentObject {
  return {
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', generation: generations.generation },
    spec: { replicas: 3 },
    status: {
      observedGeneration: generations.observed,
      replicas: 4,
      updatedReplicas: 1,
      availableReplicas: 3,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        progressing,
      ],
    },
  };
}

const stuck: ConditionObject = {
  type: 'Progressing',
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: 'ReplicaSet "web-6b7c9" has timed out progressing.',
};

function newPod(name: string, reason: string): PodObject {
  return {
    kind: 'Pod',
    metadata: { name, namespace: 'shop' },
    spec: { containers: [{ name: 'web' }] },
    status: {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'web',
          restartCount: 0,
          state: { waiting: { reason, message: 'Back-off pulling image "shop/web:2.0"' } },
        },
      ],
    },
  };
}

describe('the deployment analyzer', () => {
  it('finds a rollout that exceeded its progress deadline', () => {
    expect(analyzeObject(deployment(stuck)).detections).toEqual([
      {
        type: 'RolloutFailed',
        reason:
          'rollout failed: condition Progressing is False (ProgressDeadlineExceeded): ReplicaSet "web-6b7c9" has timed out progressing.',
      },
    ]);
  });

  it.each<[string, DeploymentObject]>([
    [
      'a rollout in progress',
      deployment({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }),
    ],
    [
      'a paused rollout',
      deployment({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused' }),
    ],
    [
      'a stuck condition the controller has not re-evaluated since the spec changed',
      deployment(stuck, { generation: 4, observed: 3 }),
    ],
  ])('finds nothing wrong with %s', (_name, object) => {
    expect(analyzeObject(object).detections).toEqual([]);
  });

  it('finds image pulls failing in the new ReplicaSet, a fact the runtime provides', () => {
    const pods = [newPod('web-7c9-a', 'ImagePullBackOff'), newPod('web-7c9-b', 'ErrImagePull')].map(
      (p) => observe(p),
    );
    const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' };
    const { detections } = analyzeObject(deployment(progressing), {
      newReplicaSet: { name: 'web-7c9', pods },
    });
    expect(detections).toEqual([
      {
        type: 'ImagePullBackOff',
        reason:
          'new ReplicaSet "web-7c9": pod "web-7c9-a": container "web" is in ImagePullBackOff: Back-off pulling image "shop/web:2.0" (and 1 more)',
      },
      {
        type: 'RolloutFailed',
        reason:
          'rollout failed: new ReplicaSet "web-7c9" cannot pull its images: pod "web-7c9-a": container "web" is in ImagePullBackOff: Back-off pulling image "shop/web:2.0" (and 1 more)',
      },
    ]);
  });

  it('finds nothing in a new ReplicaSet whose pods are pulling fine', () => {
    const pods = [observe({ ...newPod('web-7c9-a', 'ContainerCreating') })];
    const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' };
    expect(
      analyzeObject(deployment(progressing), { newReplicaSet: { name: 'web-7c9', pods } })
        .detections,
    ).toEqual([]);
  });
});
