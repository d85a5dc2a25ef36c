import { describe, expect, it } from 'vitest';
import {
  observe,
  sameObservation,
  type DeploymentObject,
  type NodeObject,
  type PodObject,
} from '../../../src/observe/index.ts';

const podWithSidecar: PodObject = {
  kind: 'Pod',
  metadata: {
    name: 'web-0',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '41',
    ownerReferences: [
      { kind: 'Node', name: 'ignored-not-controller' },
      { kind: 'StatefulSet', name: 'web', controller: true },
    ],
  },
  spec: {
    nodeName: 'worker-2',
    initContainers: [
      { name: 'migrate', image: 'shop/migrate:3' },
      { name: 'proxy', image: 'envoy:1.31', restartPolicy: 'Always' },
    ],
    containers: [{ name: 'web', image: 'shop/web:9' }],
  },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    initContainerStatuses: [
      {
        name: 'migrate',
        restartCount: 0,
        state: { terminated: { reason: 'Completed', exitCode: 0 } },
      },
      { name: 'proxy', ready: true, restartCount: 2, state: { running: {} } },
    ],
    containerStatuses: [
      {
        name: 'web',
        ready: true,
        restartCount: 5,
        state: { running: { startedAt: '2026-11-02T09:00:00Z' } },
        lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
      },
    ],
  },
};

describe('observing a pod', () => {
  it('lists init and sidecar containers first, in spec order, then the app containers', () => {
    const o = observe(podWithSidecar);
    expect(o.containers.map((c) => [c.name, c.role])).toEqual([
      ['migrate', 'init'],
      ['proxy', 'sidecar'],
      ['web', 'app'],
    ]);
  });

  it('keeps the kubelet reasons, exit codes and the last termination of each container', () => {
    const o = observe(podWithSidecar);
    expect(o.containers[0]).toMatchObject({
      state: 'terminated',
      reason: 'Completed',
      exitCode: 0,
    });
    expect(o.containers[2]).toMatchObject({
      state: 'running',
      restartCount: 5,
      lastTermination: { reason: 'OOMKilled', exitCode: 137, message: null },
    });
  });

  it('reports the highest restart count, readiness, node and controlling owner', () => {
    expect(observe(podWithSidecar)).toMatchObject({
      kind: 'Pod',
      namespace: 'shop',
      name: 'web-0',
      uid: 'u-1',
      resourceVersion: '41',
      phase: 'Running',
      ready: true,
      nodeName: 'worker-2',
      owner: { kind: 'StatefulSet', name: 'web' },
      restartCount: 5,
      terminating: false,
    });
  });

  it('observes a pod the kubelet has not reported yet as having no phase and unknown containers', () => {
    const o = observe({
      kind: 'Pod',
      metadata: { name: 'new', namespace: 'shop' },
      spec: { containers: [{ name: 'app' }] },
    });
    expect(o.phase).toBeNull();
    expect(o.containers).toEqual([
      expect.objectContaining({ name: 'app', state: null, ready: false, restartCount: 0 }),
    ]);
  });

  it('marks a pod with a deletionTimestamp as terminating', () => {
    const o = observe({
      ...podWithSidecar,
      metadata: { ...podWithSidecar.metadata, deletionTimestamp: '2026-11-02T10:00:00Z' },
    });
    expect(o.terminating).toBe(true);
  });
});

describe('observing a node and a deployment', () => {
  const node: NodeObject = {
    kind: 'Node',
    metadata: { name: 'worker-1', uid: 'n-1', resourceVersion: '7' },
    spec: { unschedulable: true },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory' },
        { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' },
      ],
    },
  };

  it('gives a node no namespace, its Ready status and its conditions without timestamps', () => {
    expect(observe(node)).toEqual({
      kind: 'Node',
      namespace: null,
      name: 'worker-1',
      uid: 'n-1',
      resourceVersion: '7',
      generation: null,
      ready: 'Unknown',
      unschedulable: true,
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'True',
          reason: 'KubeletHasInsufficientMemory',
          message: null,
        },
        { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: null },
      ],
    });
  });

  it('reads replicas, generations and the revision of a deployment, defaulting spec.replicas to 1', () => {
    const deployment: DeploymentObject = {
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        generation: 4,
        annotations: { 'deployment.kubernetes.io/revision': '9' },
      },
      status: { observedGeneration: 3, replicas: 2, availableReplicas: 1 },
    };
    expect(observe(deployment)).toMatchObject({
      desiredReplicas: 1,
      generation: 4,
      observedGeneration: 3,
      replicas: 2,
      availableReplicas: 1,
      readyReplicas: 0,
      revision: '9',
      paused: false,
    });
  });
});

describe('dropping unchanged observations', () => {
  it('treats observations that differ only in resourceVersion (a heartbeat) as the same', () => {
    const a = observe(podWithSidecar);
    const b = observe({
      ...podWithSidecar,
      metadata: { ...podWithSidecar.metadata, resourceVersion: '42' },
    });
    expect(sameObservation(a, b)).toBe(true);
  });

  it('sees a new restart as a change', () => {
    const a = observe(podWithSidecar);
    const statuses = podWithSidecar.status?.containerStatuses ?? [];
    const b = observe({
      ...podWithSidecar,
      status: {
        ...podWithSidecar.status,
        containerStatuses: statuses.map((s) => ({ ...s, restartCount: 6 })),
      },
    });
    expect(sameObservation(a, b)).toBe(false);
  });

  it('never equates observations of different kinds or a missing one', () => {
    const pod = observe(podWithSidecar);
    expect(sameObservation(null, null)).toBe(true);
    expect(sameObservation(pod, null)).toBe(false);
    expect(sameObservation(pod, observe({ kind: 'Node', metadata: { name: 'web-0' } }))).toBe(
      false,
    );
  });
});
