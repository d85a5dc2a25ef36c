import { describe, expect, it } from 'vitest';
import { isReplaced, workloadOf } from '../../../src/observe/index.ts';

describe('the workload of a pod', () => {
  it.each([
    [
      'a Deployment through its ReplicaSet',
      { kind: 'ReplicaSet', name: 'web-6d5f7c9b8' },
      { 'pod-template-hash': '6d5f7c9b8' },
      { kind: 'Deployment', name: 'web' },
    ],
    [
      'a ReplicaSet of its own when its name does not carry the template hash',
      { kind: 'ReplicaSet', name: 'web-legacy' },
      { 'pod-template-hash': '6d5f7c9b8' },
      { kind: 'ReplicaSet', name: 'web-legacy' },
    ],
    [
      'a CronJob through the Job it scheduled',
      { kind: 'Job', name: 'nightly-backup-29412360' },
      {},
      { kind: 'CronJob', name: 'nightly-backup' },
    ],
    [
      'a Job of its own',
      { kind: 'Job', name: 'migrate-2' },
      {},
      { kind: 'Job', name: 'migrate-2' },
    ],
    [
      'its StatefulSet',
      { kind: 'StatefulSet', name: 'pg' },
      {},
      { kind: 'StatefulSet', name: 'pg' },
    ],
    [
      'its DaemonSet',
      { kind: 'DaemonSet', name: 'fluentd' },
      {},
      { kind: 'DaemonSet', name: 'fluentd' },
    ],
  ])('is %s', (_name, owner, labels, expected) => {
    const workload = workloadOf({ name: 'p-1', owner, labels });
    expect(workload).toEqual(expected);
    expect(isReplaced(workload)).toBe(true);
  });

  it('is the pod itself for a mirror pod, which deleting does not restart', () => {
    const workload = workloadOf({ name: 'etcd-n1', owner: { kind: 'Node', name: 'n1' } });
    expect(workload).toEqual({ kind: 'Pod', name: 'etcd-n1' });
    expect(isReplaced(workload)).toBe(false);
  });

  it('is the pod itself when no controller owns it, and nothing replaces such a pod', () => {
    const workload = workloadOf({ name: 'debug-1', owner: null });
    expect(workload).toEqual({ kind: 'Pod', name: 'debug-1' });
    expect(isReplaced(workload)).toBe(false);
  });
});
