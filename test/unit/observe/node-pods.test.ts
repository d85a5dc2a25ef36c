/** What a dead node holds, as its escalation says it. */
import { describe, expect, it } from 'vitest';
import { describeNodePods, SHOWN, summarizeNodePods } from '../../../src/observe/node-pods.ts';

const pod = (name: string, more: { owner?: string; volumes?: object[]; phase?: string } = {}) => ({
  metadata: {
    namespace: 'shop',
    name,
    ...(more.owner === undefined
      ? {}
      : { ownerReferences: [{ kind: more.owner, controller: true }] }),
  },
  spec: { volumes: more.volumes ?? [] },
  status: { phase: more.phase ?? 'Running' },
});

describe('the pods a dead node holds', () => {
  it('names the StatefulSet pods and those with data on the node, and counts the rest', () => {
    const summary = summarizeNodePods([
      pod('db-1', { owner: 'StatefulSet' }),
      pod('db-0', { owner: 'StatefulSet', volumes: [{ persistentVolumeClaim: {} }] }),
      pod('web-7d9f-x', { owner: 'ReplicaSet', volumes: [{ emptyDir: { medium: 'Memory' } }] }),
      pod('cache-0', { owner: 'DaemonSet', volumes: [{ hostPath: { path: '/var/cache' } }] }),
      pod('scratch', { volumes: [{ emptyDir: {} }] }),
      pod('job-done', { owner: 'Job', phase: 'Succeeded' }),
    ]);
    expect(summary).toEqual({
      total: 5,
      statefulSet: ['shop/db-0', 'shop/db-1'],
      localData: ['shop/cache-0', 'shop/scratch'],
    });
    expect(describeNodePods(summary)).toBe(
      'it holds 5 pods: StatefulSet pods shop/db-0, shop/db-1; with data on the node shop/cache-0, shop/scratch',
    );
  });

  it(`names at most ${SHOWN} of each, and says so plainly when there is nothing to name`, () => {
    const many = Array.from({ length: 30 }, (_, i) => pod(`db-${i}`, { owner: 'StatefulSet' }));
    const summary = summarizeNodePods(many);
    expect(summary.total).toBe(30);
    expect(summary.statefulSet).toHaveLength(SHOWN);
    expect(describeNodePods({ total: 0, statefulSet: [], localData: [] })).toBe('it holds no pods');
    expect(describeNodePods({ total: 1, statefulSet: [], localData: [] })).toBe('it holds 1 pod');
  });
});
