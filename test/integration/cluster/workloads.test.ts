import { describe, expect, inject, it } from 'vitest';
import {
  adminClient,
  createDeployment,
  freshNamespace,
  podCondition,
  waitFor,
  type List,
  type ObjectMeta,
  type Pod,
} from '../../cluster/fixtures.ts';

interface ReplicaSet {
  metadata: ObjectMeta;
  status: { readyReplicas?: number };
}
interface Deployment {
  metadata: ObjectMeta;
  status: { availableReplicas?: number; readyReplicas?: number };
}

describe('workloads on kwok nodes', () => {
  const kube = inject('kube');

  it('turns a Deployment into a ReplicaSet whose pods run on the kwok nodes', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'deploy' });
    const deployment = await createDeployment(client, ns, { name: 'web', replicas: 3 });

    const rs = await waitFor('a ReplicaSet owned by the Deployment', async () => {
      const list = await client.get<List<ReplicaSet>>(
        `/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dweb`,
      );
      return list.items.find((r) =>
        r.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid),
      );
    });
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });

    const pods = await waitFor('three Running, Ready pods', async () => {
      const list = await client.get<List<Pod>>(
        `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`,
      );
      const running = list.items.filter(
        (p) => p.status?.phase === 'Running' && podCondition(p, 'Ready')?.status === 'True',
      );
      return running.length === 3 ? running : undefined;
    });
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs.metadata.name,
      });
      expect(kube.nodes).toContain(pod.spec.nodeName);
      expect(pod.status?.podIP).toMatch(/^10\.244\./);
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({
        name: 'app',
        ready: true,
        restartCount: 0,
      });
      expect(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt).toBeDefined();
    }

    const available = await waitFor('the Deployment to report 3 available replicas', async () => {
      const d = await client.get<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
      return d.status.availableReplicas === 3 ? d : undefined;
    });
    expect(available.status.readyReplicas).toBe(3);
  });
});
