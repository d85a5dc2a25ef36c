/**
 * What the controller learns of a dead node's pods, with its own rights on a real API server:
 * the pods bound to the node, named in the node's escalation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeadNodePods, podsOnNode } from '../../../src/actors/dead-node-pods.ts';
import type { RuntimeFacts } from '../../../src/machines/index.ts';
import { initialContext, defaultMachinePolicy } from '../../../src/machines/index.ts';
import { adminClient, createFakeNode, freshNamespace } from '../../cluster/fixtures.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { roleKubeConfig } from '../../support/kube.ts';
import { find, render } from '../chart/helm.ts';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

/** The chart's own ClusterRole for the controller, bound to the controller's identity here. */
async function grantChartRights(name: string): Promise<() => Promise<void>> {
  const admin = adminClient();
  const role = find(await render(), 'ClusterRole', 'kube-remedy-controller') as unknown as {
    rules: unknown[];
  };
  await admin.create(`${RBAC}/clusterroles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: role.rules,
  });
  await admin.create(`${RBAC}/clusterrolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [
      { kind: 'ServiceAccount', name: 'kube-remedy-controller', namespace: 'kube-remedy-system' },
    ],
  });
  return async () => {
    await admin.delete(`${RBAC}/clusterrolebindings/${name}`);
    await admin.delete(`${RBAC}/clusterroles/${name}`);
  };
}

describe("a dead node's pods, listed by the controller", () => {
  let revoke: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await revoke?.();
    revoke = undefined;
  });

  it('names the pods bound to the node, those with data on it, and nothing of other nodes', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'dead-pods' });
    const node = (await createFakeNode(client)).metadata.name;
    const other = (await createFakeNode(client)).metadata.name;
    const bare = (name: string, nodeName: string, volumes: object[] = []) =>
      client.create(`/api/v1/namespaces/${ns}/pods`, {
        metadata: { name },
        spec: {
          nodeName,
          containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
          volumes,
        },
      });
    await bare('cache', node, [{ name: 'data', hostPath: { path: '/var/cache' } }]);
    await bare('web', node);
    await bare('elsewhere', other);

    // With the rights the chart gives the controller, and no more.
    revoke = await grantChartRights(`kube-remedy-controller-${ns}`);
    const list = podsOnNode(roleKubeConfig('controller'));
    await eventually(async () => expect(await list(other)).toHaveLength(1));
    const told: { key: string; facts: Partial<RuntimeFacts> }[] = [];
    const logs = captureLogger();
    const keeper = new DeadNodePods({
      list,
      facts: (key, facts) => {
        told.push({ key, facts });
        return Promise.resolve();
      },
      logger: logs.logger,
    });
    const key = `Node/${node}`;
    const context = {
      ...initialContext({ actorKey: key, policy: defaultMachinePolicy, at: 0 }),
      kind: 'Node' as const,
    };
    const incident = {
      id: `${key}#1@0`,
      trigger: { kind: 'detection', detection: { type: 'NotReady', reason: 'gone' } },
    };
    const snapshot = { value: 'remediating', context: { ...context, incident } } as never;
    keeper.noteTransition(key, snapshot);
    // Seen again in the same incident: listed once.
    keeper.noteTransition(key, snapshot);
    await eventually(() => expect([told.length, logs.records()]).toEqual([1, []]));
    expect(told[0]).toEqual({
      key,
      facts: { nodePods: { total: 2, statefulSet: [], localData: [`${ns}/cache`] } },
    });
  });
});
