import { describe, expect, it } from 'vitest';
import {
  adminClient,
  createFakeNode,
  getNode,
  KUBELET_NODE_CONDITIONS,
  makeNodeDiskPressure,
  makeNodeMemoryPressure,
  makeNodeNotReady,
  makeNodePIDPressure,
  nodeCondition,
  restoreNode,
  STATUS_OWNER_ANNOTATION,
  waitFor,
  type KubeClient,
  type Node,
  type PressureCondition,
} from '../../cluster/fixtures.ts';

function hasTaint(node: Node, key: string, effect: string): boolean {
  return (node.spec.taints ?? []).some((t) => t.key === key && t.effect === effect);
}

/** The node lifecycle controller's reaction proves the conditions are read as real ones. */
function waitForTaint(
  client: KubeClient,
  name: string,
  key: string,
  effect: string,
): Promise<Node> {
  return waitFor(
    `taint ${key}:${effect} on ${name}`,
    async () => {
      const node = await getNode(client, name);
      return hasTaint(node, key, effect) ? node : undefined;
    },
    { timeoutMs: 90_000 },
  );
}

const pressures: [PressureCondition, (c: KubeClient, n: string) => Promise<Node>, string][] = [
  ['MemoryPressure', makeNodeMemoryPressure, 'node.kubernetes.io/memory-pressure'],
  ['DiskPressure', makeNodeDiskPressure, 'node.kubernetes.io/disk-pressure'],
  ['PIDPressure', makeNodePIDPressure, 'node.kubernetes.io/pid-pressure'],
];

// A loaded two-core machine can keep the node lifecycle controller busy for a while: give its
// reaction room, so slowness ends in waitFor's message (what was awaited) rather than a bare timeout.
describe('node condition fixtures', { timeout: 150_000 }, () => {
  it.each(pressures)(
    'make a node report %s as the kubelet does',
    async (type, makePressure, taint) => {
      const client = adminClient();
      const { metadata } = await createFakeNode(client);
      const before = nodeCondition(await getNode(client, metadata.name), type);
      expect(before?.status).toBe('False');

      await makePressure(client, metadata.name);
      const node = await waitForTaint(client, metadata.name, taint, 'NoSchedule');

      const condition = nodeCondition(node, type);
      expect(condition).toMatchObject({ status: 'True', ...KUBELET_NODE_CONDITIONS[type].True });
      expect(Date.parse(condition!.lastHeartbeatTime!)).not.toBeNaN();
      expect(Date.parse(condition!.lastTransitionTime!)).toBeGreaterThanOrEqual(
        Date.parse(before!.lastTransitionTime!),
      );
      expect(nodeCondition(node, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'KubeletReady',
      });
    },
  );

  it('make a node NotReady with the reason the kubelet gives, and keep it so', async () => {
    const client = adminClient();
    const { metadata } = await createFakeNode(client);
    await makeNodeNotReady(client, metadata.name);
    // The controller takes its time to taint; kwok, had it not left the node alone, acts in milliseconds.
    const node = await waitForTaint(
      client,
      metadata.name,
      'node.kubernetes.io/not-ready',
      'NoExecute',
    );

    expect(nodeCondition(node, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KubeletNotReady',
      message: KUBELET_NODE_CONDITIONS.Ready.False.message,
    });
    expect(node.metadata.annotations?.[STATUS_OWNER_ANNOTATION]).toBe('fixture');
    expect(nodeCondition(node, 'MemoryPressure')?.status).toBe('False');
  });

  it('make a node whose kubelet stopped posting go Unknown', async () => {
    const client = adminClient();
    const { metadata } = await createFakeNode(client);
    const heartbeat = nodeCondition(
      await getNode(client, metadata.name),
      'Ready',
    )?.lastHeartbeatTime;
    await makeNodeNotReady(client, metadata.name, { reason: 'NodeStatusUnknown' });
    const node = await waitForTaint(
      client,
      metadata.name,
      'node.kubernetes.io/unreachable',
      'NoExecute',
    );

    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      expect(nodeCondition(node, type)).toMatchObject({
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      });
    }
    expect(nodeCondition(node, 'Ready')?.lastHeartbeatTime).toBe(heartbeat);
  });

  it('restore a node to healthy and hand it back to kwok', async () => {
    const client = adminClient();
    const { metadata } = await createFakeNode(client);
    await makeNodeMemoryPressure(client, metadata.name);
    await makeNodeNotReady(client, metadata.name);
    await waitForTaint(client, metadata.name, 'node.kubernetes.io/not-ready', 'NoExecute');

    await restoreNode(client, metadata.name);
    const node = await waitFor('the not-ready and memory-pressure taints to go', async () => {
      const n = await getNode(client, metadata.name);
      return (n.spec.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'))
        ? undefined
        : n;
    });
    expect(nodeCondition(node, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(nodeCondition(node, 'MemoryPressure')).toMatchObject({
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
    });
    expect(node.metadata.annotations?.[STATUS_OWNER_ANNOTATION]).toBeUndefined();
  });
});
