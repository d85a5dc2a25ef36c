/**
 * A node under memory pressure on a live cluster, with the budgets on: cordoned, drained through
 * the Eviction API and put back in service by its agent, as one incident that spends one budget
 * token and holds the node's slot only while it acts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Budgets } from '../../src/budgets/budgets.ts';
import {
  adminClient,
  createDeployment,
  createFakeNode,
  createPod,
  freshNamespace,
  KUBELET_NODE_CONDITIONS,
  makeNodeMemoryPressure,
  setNodeConditions,
  type List,
  type Pod,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { agentEvents, startLiveAgent } from '../support/live-agent.ts';
import type { RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('draining a node on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('cordons, drains through evictions and uncordons as one incident that spends one token', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const pool = `drain-${s.prefix}`;
    const node = (await createFakeNode(client, { dedicated: false, labels: { pool } })).metadata
      .name;
    const ns = await freshNamespace(client, { prefix: 'drain' });
    const policyName = `drain-${s.prefix}`;
    // One action per hour: the drain after its own cordon must not need a second token.
    await createPolicy(client, 'kube-remedy-system', policyName, {
      selector: { kinds: ['Node'], matchLabels: { pool } },
      mode: 'auto',
      detections: [{ type: 'MemoryPressure', threshold: 1, window: '2s', action: 'drain' }],
      verification: { window: '2s' },
      cooldown: '1h',
      // The pool is this one node (minHealthyNodes counts the nodes the policy selects).
      budget: { minHealthyNodes: 0, maxActions: 1, window: '1h' },
    });
    // Two pods its Deployment would recreate elsewhere, and one nothing would recreate.
    await createDeployment(client, ns, { name: 'web', replicas: 2, nodeSelector: { pool } });
    await createPod(client, ns, { name: 'debug', nodeName: node, labels: { app: 'debug' } });
    const podsOnNode = async (): Promise<Pod[]> =>
      (
        await client.get<List<Pod>>(
          `/api/v1/namespaces/${ns}/pods?fieldSelector=spec.nodeName=${node}`,
        )
      ).items.filter((p) => p.metadata.deletionTimestamp === undefined);
    await eventually(async () => expect(await podsOnNode()).toHaveLength(3), 30_000);

    await startLiveAgent(node, s, processes);
    const budgets = new Budgets(s.redis, s.prefix);
    const unschedulable = async () =>
      (await client.get<{ spec?: { unschedulable?: boolean } }>(`/api/v1/nodes/${node}`)).spec
        ?.unschedulable === true;

    try {
      await makeNodeMemoryPressure(client, node);
      // Cordoned, then drained: the web pods are evicted (their replacements cannot come back
      // to a cordoned node); the pod nothing would recreate stays.
      await eventually(async () => {
        expect(await unschedulable()).toBe(true);
        expect((await podsOnNode()).map((p) => p.metadata.name)).toEqual(['debug']);
      }, 60_000);
      const holder = await budgets.nodesDisrupted();
      expect(Object.keys(holder)).toEqual([node]);
      expect(holder[node]).toMatch(new RegExp(`^Node/${node}#1@`));

      await setNodeConditions(client, node, [
        {
          type: 'MemoryPressure',
          status: 'False',
          ...KUBELET_NODE_CONDITIONS.MemoryPressure.False,
        },
      ]);
      // Verified, then put back in service; the slot is let go.
      await eventually(async () => {
        expect(await unschedulable()).toBe(false);
        expect(await budgets.nodesDisrupted()).toEqual({});
      }, 60_000);
      const scope = {
        scope: `policy/kube-remedy-system/${policyName}`,
        limit: 1,
        windowMs: 3_600_000,
      };
      expect((await budgets.usage([scope]))[0]?.used).toBe(1);
      // The worker uncordons (and lets go of the slot) before the result reaches the node's
      // machine, which then resolves: its Event comes last.
      const reasons = await eventually(async () => {
        const seen = (await agentEvents('default', node)).map((e) => e.reason);
        expect(seen).toEqual(
          expect.arrayContaining([
            'Detected',
            'Remediating',
            'Verifying',
            'ReturningToService',
            'Resolved',
          ]),
        );
        return seen;
      }, 30_000);
      expect(reasons).not.toContain('Escalated');
    } finally {
      await budgets.close();
    }
  });
});
