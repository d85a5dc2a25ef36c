import type { V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { Budgets } from '../../../src/budgets/budgets.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import { kubernetesProcessors } from '../../../src/effects/kubernetes/index.ts';
import { CORDONED_BY } from '../../../src/effects/kubernetes/nodes.ts';
import type { EffectProcessor, ProcessorContext } from '../../../src/effects/workers.ts';
import {
  adminClient,
  createDeployment,
  createFakeNode,
  createPod,
  FIXTURE_NODE_TAINT,
  freshNamespace,
  makeNodeMemoryPressure,
  waitFor,
  type List,
} from '../../cluster/fixtures.ts';
import { adminKubeConfig, roleKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest } from '../../support/redis.ts';

const processors = kubernetesProcessors({ kc: adminKubeConfig() });

function run(
  kind: string,
  effect: Record<string, unknown>,
  options: { dryRun?: boolean; jobId?: string; on?: Record<string, EffectProcessor> } = {},
) {
  const job: EffectJob = {
    owner: 'agent-test',
    actorKey: `Test/${kind}`,
    incidentId: 'inc-1',
    step: 'remediate-1',
    effect: { kind, ...effect },
    requestedAt: Date.parse('2026-11-28T12:00:00Z'),
    ...(options.dryRun ? { dryRun: true } : {}),
  };
  const context: ProcessorContext = {
    jobId: options.jobId ?? `job-${kind}`,
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  };
  const table: Record<string, EffectProcessor> = options.on ?? processors;
  const processor = table[kind];
  if (processor === undefined) throw new Error(`no processor ${kind}`);
  return processor(job, context);
}

/** A job of `kind` with budget scopes, through the given processors. */
function runJob(
  table: Record<string, EffectProcessor>,
  kind: string,
  effect: Record<string, unknown>,
  scopes: { scope: string; limit: number; windowMs: number }[],
) {
  const processor = table[kind];
  if (processor === undefined) throw new Error(`no processor ${kind}`);
  return processor(
    {
      owner: 'agent-test',
      actorKey: `Test/${kind}`,
      incidentId: `inc-${kind}`,
      step: 'remediate-1',
      effect: { kind, ...effect },
      requestedAt: Date.now(),
      budget: { scopes },
    },
    {
      jobId: `job-${kind}-${effect['deleteBarePod'] === true ? 'allowed' : 'guarded'}`,
      signal: new AbortController().signal,
      logger: captureLogger().logger,
      attempt: 1,
    },
  );
}

async function podsOf(namespace: string, app: string): Promise<V1Pod[]> {
  return (
    await adminClient().get<List<V1Pod>>(
      `/api/v1/namespaces/${namespace}/pods?labelSelector=app=${app}`,
    )
  ).items;
}

async function deploymentPods(namespace: string, name: string, count: number): Promise<V1Pod[]> {
  return eventually(async () => {
    const pods = (await podsOf(namespace, name)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(pods).toHaveLength(count);
    return pods;
  }, 30_000);
}

function onlyOn(node: string): Record<string, unknown> {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] };
  return {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } },
  };
}

describe('Kubernetes remediation actions on a real API server', () => {
  it("deletes a deployment's pod by UID, and its ReplicaSet replaces it", async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'cart', replicas: 1 });
    const [pod] = await deploymentPods(ns, 'cart', 1);
    const target = { namespace: ns, name: pod?.metadata?.name, uid: pod?.metadata?.uid };

    expect(await run('deletePod', target)).toMatchObject({
      outcome: `deleted pod ${ns}/${target.name}`,
    });
    const [replacement] = await eventually(async () => {
      const pods = (await podsOf(ns, 'cart')).filter((p) => p.metadata?.uid !== target.uid);
      expect(pods).toHaveLength(1);
      return pods;
    }, 30_000);
    expect(replacement?.metadata?.name).not.toBe(target.name);
    // Once the pod is gone (not merely terminating: a delete then still finds it), a rerun of
    // the same job counts that as done.
    await eventually(async () => {
      const status = (await client.request('GET', `/api/v1/namespaces/${ns}/pods/${target.name}`))
        .status;
      expect(status).toBe(404);
    }, 30_000);
    expect((await run('deletePod', target)).outcome).toMatch(/already gone/);
  });

  it('refuses to delete a pod that is no longer the one the decision saw', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createPod(client, ns, { name: 'solo' });
    await expect(
      run('deletePod', { namespace: ns, name: 'solo', uid: 'some-older-uid' }),
    ).rejects.toMatchObject({
      code: 'precondition-failed',
    });
    expect((await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/solo`)).metadata?.name).toBe(
      'solo',
    );
  });

  it('writes nothing in a dry run, yet has the API server check the request', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    const pod = await createPod(client, ns, { name: 'kept' });
    const result = await run(
      'deletePod',
      { namespace: ns, name: 'kept', uid: pod.metadata.uid, deleteBarePod: true },
      { dryRun: true },
    );
    expect(result.outcome).toBe(`would delete pod ${ns}/kept`);
    const still = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/kept`);
    expect(still.metadata?.deletionTimestamp).toBeUndefined();
  });

  it.each(['restartPod', 'deletePod', 'evictPod'])(
    '%s refuses a pod no controller would recreate and spends no budget on it, unless the policy allowed it',
    async (kind) => {
      const client = adminClient();
      const ns = await freshNamespace(client, { prefix: 'act' });
      const pod = await createPod(client, ns, { name: 'only-one' });
      const scratch = await redisForTest();
      const budgets = new Budgets(scratch.redis, scratch.prefix);
      const guarded = kubernetesProcessors({ kc: adminKubeConfig(), budgets });
      const scope = { scope: `policy/${ns}/restart`, limit: 5, windowMs: 60_000 };
      try {
        const target = { namespace: ns, name: 'only-one', uid: pod.metadata.uid };
        const error: unknown = await runJob(guarded, kind, target, [scope]).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TerminalEffectError);
        expect((error as TerminalEffectError).code).toBe('bare-pod');
        expect((error as Error).message).toMatch(
          /has no controller that would recreate it, so it is not deleted; people decide/,
        );
        expect((await budgets.usage([scope]))[0]?.used).toBe(0);
        const still = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/only-one`);
        expect(still.metadata?.deletionTimestamp).toBeUndefined();
        // The policy said deleteBarePods: the pod is deleted, and the budget counts it.
        await runJob(guarded, kind, { ...target, deleteBarePod: true }, [scope]);
        expect((await budgets.usage([scope]))[0]?.used).toBe(1);
        await eventually(async () => {
          expect(
            (await client.request('GET', `/api/v1/namespaces/${ns}/pods/only-one`)).status,
          ).toBe(404);
        }, 30_000);
      } finally {
        await budgets.close();
        await scratch.cleanup();
      }
    },
  );

  it('waits on a PodDisruptionBudget instead of forcing the eviction, then evicts when it allows', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'api', replicas: 2 });
    const pods = await deploymentPods(ns, 'api', 2);
    await eventually(async () => {
      const running = (await podsOf(ns, 'api')).filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      expect(running).toHaveLength(2);
    }, 30_000);
    await client.create(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      metadata: { name: 'api' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } },
    });
    const target = { namespace: ns, name: pods[0]?.metadata?.name, uid: pods[0]?.metadata?.uid };
    await eventually(async () => {
      const error: unknown = await run('evictPod', target).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryLaterError);
      expect((error as Error).message).toMatch(/PodDisruptionBudget allows no disruption/);
    }, 20_000);
    expect(
      (await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${target.name}`)).metadata
        ?.deletionTimestamp,
    ).toBeUndefined();

    await client.delete(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/api`);
    expect((await run('evictPod', target)).outcome).toBe(`evicted pod ${ns}/${target.name}`);
  });

  it('restarts a rollout once, however often the job runs', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'web', replicas: 1 });
    await run('rolloutRestart', { namespace: ns, name: 'web' });
    const first = await client.get<V1Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect(first.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(
      '2026-11-28T12:00:00.000Z',
    );
    await run('rolloutRestart', { namespace: ns, name: 'web' });
    const second = await client.get<V1Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect(second.metadata?.generation).toBe(first.metadata?.generation);
  });

  it('rolls a bad image back to the previous revision, and only once', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    const created = await createDeployment(client, ns, {
      name: 'shop',
      replicas: 1,
      image: 'registry.k8s.io/pause:3.10',
    });
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/shop`;
    await waitFor(
      'revision 1',
      async () =>
        (await client.get<V1Deployment>(path)).metadata?.annotations?.[
          'deployment.kubernetes.io/revision'
        ] === '1',
    );
    await client.patch(
      path,
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', image: 'registry.example/shop:broken' }] },
          },
        },
      },
      'strategic',
    );
    await waitFor(
      'revision 2',
      async () =>
        (await client.get<V1Deployment>(path)).metadata?.annotations?.[
          'deployment.kubernetes.io/revision'
        ] === '2',
    );

    const result = await run(
      'rollback',
      { namespace: ns, name: 'shop', uid: created.metadata.uid },
      { jobId: 'rb-1' },
    );
    expect(result).toMatchObject({
      fromRevision: 2,
      toRevision: 1,
      outcome: `rolled back ${ns}/shop from revision 2 to revision 1`,
    });
    const after = await client.get<V1Deployment>(path);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe('registry.k8s.io/pause:3.10');
    await waitFor(
      'revision 3',
      async () =>
        (await client.get<V1Deployment>(path)).metadata?.annotations?.[
          'deployment.kubernetes.io/revision'
        ] === '3',
    );

    // The retried job must not roll "back" again, onto the broken revision.
    expect(
      (await run('rollback', { namespace: ns, name: 'shop' }, { jobId: 'rb-1' })).outcome,
    ).toMatch(/already rolled back/);
    expect((await client.get<V1Deployment>(path)).spec?.template.spec?.containers[0]?.image).toBe(
      'registry.k8s.io/pause:3.10',
    );
  });

  it('puts back exactly the template of the previous revision, not a merge with the failing one', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'shop', replicas: 1 });
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/shop`;
    const replicaSets = async () =>
      (
        await client.get<
          List<{ metadata: { name: string; annotations?: Record<string, string> } }>
        >(`/apis/apps/v1/namespaces/${ns}/replicasets`)
      ).items;
    const revision = async () =>
      (await client.get<V1Deployment>(path)).metadata?.annotations?.[
        'deployment.kubernetes.io/revision'
      ];
    await waitFor('revision 1', async () => (await revision()) === '1');
    const before = (await client.get<V1Deployment>(path)).spec?.template;
    // The failing release adds to the template's maps: an annotation and a nodeSelector entry.
    await client.patch(
      path,
      {
        spec: {
          template: {
            metadata: { annotations: { 'example.com/release': 'broken' } },
            spec: {
              nodeSelector: { 'example.com/pool': 'new' },
              containers: [{ name: 'app', image: 'registry.example/shop:broken' }],
            },
          },
        },
      },
      'strategic',
    );
    // The Deployment names its revision once its controller has made the new ReplicaSet.
    await waitFor('revision 2', async () => (await revision()) === '2');

    await run('rollback', { namespace: ns, name: 'shop' }, { jobId: 'rb-exact' });
    const after = (await client.get<V1Deployment>(path)).spec?.template;
    expect(after?.metadata?.annotations?.['example.com/release']).toBeUndefined();
    expect(after?.spec?.nodeSelector).toBeUndefined();
    expect(after?.spec?.containers[0]?.image).toBe(before?.spec?.containers[0]?.image);
    // The Deployment controller takes the first ReplicaSet up again: no third one is made.
    await waitFor('revision 3 on the first ReplicaSet', async () =>
      (await replicaSets()).some(
        (rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3',
      ),
    );
    expect(await replicaSets()).toHaveLength(2);
  });

  it("rolls a Deployment back for its failing pods' ReplicaSet once, however many of its pods ask", async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'shop', replicas: 2 });
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/shop`;
    const revision = async () =>
      (await client.get<V1Deployment>(path)).metadata?.annotations?.[
        'deployment.kubernetes.io/revision'
      ];
    await waitFor('revision 1', async () => (await revision()) === '1');
    await client.patch(
      path,
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', image: 'registry.example/shop:broken' }] },
          },
        },
      },
      'strategic',
    );
    await waitFor('revision 2', async () => (await revision()) === '2');
    const failing = (
      await adminClient().get<
        List<{ metadata: { name: string; annotations?: Record<string, string> } }>
      >(`/apis/apps/v1/namespaces/${ns}/replicasets`)
    ).items.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2')
      ?.metadata.name;
    expect(failing).toBeDefined();

    // The first failing pod's incident rolls back; the second pod's, a moment later, finds the
    // Deployment already moved on from that ReplicaSet and leaves the good revision alone.
    const first = await run(
      'rollback',
      { namespace: ns, name: 'shop', fromReplicaSet: failing },
      { jobId: 'pod-a' },
    );
    expect(first).toMatchObject({ fromRevision: 2, toRevision: 1 });
    await waitFor('revision 3', async () => (await revision()) === '3');
    const second: unknown = await run(
      'rollback',
      { namespace: ns, name: 'shop', fromReplicaSet: failing },
      { jobId: 'pod-b' },
    ).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(TerminalEffectError);
    expect((second as TerminalEffectError).code).toBe('moved-on');
    expect((second as Error).message).toMatch(
      new RegExp(`has moved on from ReplicaSet ${failing ?? ''} \\(its current one is `),
    );
    const restarted: unknown = await run(
      'rolloutRestart',
      { namespace: ns, name: 'shop', fromReplicaSet: failing },
      { jobId: 'pod-c' },
    ).catch((e: unknown) => e);
    expect((restarted as TerminalEffectError).code).toBe('moved-on');
    expect((await client.get<V1Deployment>(path)).spec?.template.spec?.containers[0]?.image).toBe(
      'registry.k8s.io/pause:3.10',
    );
    expect(await revision()).toBe('3');
  });

  it('scales through the scale subresource and refuses when someone else scaled first', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    await createDeployment(client, ns, { name: 'queue', replicas: 2 });
    const result = await run('scale', {
      namespace: ns,
      name: 'queue',
      replicas: 4,
      fromReplicas: 2,
    });
    expect(result).toMatchObject({
      outcome: `scaled ${ns}/queue from 2 to 4 replicas`,
      inverse: { kind: 'scale', replicas: 2, fromReplicas: 4 },
    });
    expect(
      (await client.get<V1Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/queue`)).spec
        ?.replicas,
    ).toBe(4);
    await expect(
      run('scale', { namespace: ns, name: 'queue', replicas: 6, fromReplicas: 2 }),
    ).rejects.toThrow(/someone else scaled it/);
  });

  it("cordons and uncordons its own cordon, but leaves a person's cordon alone", async () => {
    const client = adminClient();
    const node = await createFakeNode(client);
    const name = node.metadata.name;
    await makeNodeMemoryPressure(client, name);
    expect(
      (
        await run('cordon', {
          node: name,
          requireCondition: { type: 'MemoryPressure', status: 'True' },
        })
      ).outcome,
    ).toBe(`cordoned node ${name}`);
    let current = await client.get<V1Node>(`/api/v1/nodes/${name}`);
    expect(current.spec?.unschedulable).toBe(true);
    expect(current.metadata?.annotations?.[CORDONED_BY]).toBe('Test/cordon');
    await run('uncordon', { node: name });
    current = await client.get<V1Node>(`/api/v1/nodes/${name}`);
    expect(current.spec?.unschedulable).toBeFalsy();

    await client.patch(`/api/v1/nodes/${name}`, { spec: { unschedulable: true } });
    expect(await run('uncordon', { node: name })).toMatchObject({ leftAlone: true });
    expect((await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.unschedulable).toBe(true);
  });

  it('does not cordon a node whose pressure has cleared', async () => {
    const client = adminClient();
    const node = await createFakeNode(client);
    await expect(
      run('cordon', {
        node: node.metadata.name,
        requireCondition: { type: 'MemoryPressure', status: 'True' },
      }),
    ).rejects.toMatchObject({ code: 'condition-cleared' });
  });

  it('taints and untaints a node without disturbing its other taints', async () => {
    const client = adminClient();
    const node = await createFakeNode(client);
    const name = node.metadata.name;
    const taint = { key: 'remedy.kube-remedy.io/pressure', value: 'memory', effect: 'NoSchedule' };
    expect((await run('taint', { node: name, taint })).inverse).toEqual({
      kind: 'untaint',
      node: name,
      taint,
    });
    let taints = (await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.taints ?? [];
    expect(taints.map((t) => t.key).sort()).toEqual([FIXTURE_NODE_TAINT.key, taint.key].sort());
    await run('untaint', { node: name, taint });
    taints = (await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.taints ?? [];
    expect(taints.map((t) => t.key)).toEqual([FIXTURE_NODE_TAINT.key]);
  });

  it('taints a node that carries a timed NoExecute taint, as the node lifecycle controller leaves on an unreachable node', async () => {
    const client = adminClient();
    const node = await createFakeNode(client);
    const name = node.metadata.name;
    const unreachable = {
      key: 'node.kubernetes.io/unreachable',
      effect: 'NoExecute',
      timeAdded: '2026-12-08T03:00:40Z',
    };
    await client.patch(`/api/v1/nodes/${name}`, {
      spec: { taints: [...(node.spec?.taints ?? []), unreachable] },
    });
    const taint = { key: 'remedy.kube-remedy.io/gone', effect: 'NoSchedule' };
    await run('taint', { node: name, taint });
    const taints = (await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.taints ?? [];
    expect(taints.map((t) => t.key).sort()).toEqual(
      [FIXTURE_NODE_TAINT.key, unreachable.key, taint.key].sort(),
    );
    // Its time is kept as it was.
    expect(JSON.stringify(taints.find((t) => t.key === unreachable.key)?.timeAdded)).toContain(
      '2026-12-08T03:00:40',
    );
  });

  it('puts the out-of-service taint only on a node that is not Ready and is fenced', async () => {
    const client = adminClient();
    const node = await createFakeNode(client);
    const name = node.metadata.name;
    const outOfService = {
      key: 'node.kubernetes.io/out-of-service',
      value: 'nodeshutdown',
      effect: 'NoExecute',
    };
    // kwok keeps the fake node Ready.
    await expect(run('taint', { node: name, taint: outOfService })).rejects.toMatchObject({
      code: 'condition-cleared',
    });
    const taints = (await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.taints ?? [];
    expect(taints.map((t) => t.key)).not.toContain(outOfService.key);
  });

  it('drains a node: evicts controlled pods, leaves DaemonSet and bare pods, never forces', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'drain' });
    const node = await createFakeNode(client);
    const name = node.metadata.name;
    const tolerate = [{ key: FIXTURE_NODE_TAINT.key, operator: 'Exists' }];
    await client.create(`/apis/apps/v1/namespaces/${ns}/replicasets`, {
      metadata: { name: 'worker' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'worker' } },
        template: {
          metadata: { labels: { app: 'worker' } },
          spec: {
            // Affinity, not nodeName: replacements must respect the cordon and stay Pending.
            affinity: onlyOn(name),
            tolerations: tolerate,
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      },
    });
    await client.create(`/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            tolerations: tolerate,
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchFields: [{ key: 'metadata.name', operator: 'In', values: [name] }] },
                  ],
                },
              },
            },
            containers: [{ name: 'agent', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      },
    });
    await createPod(client, ns, { name: 'bare', nodeName: name });
    await eventually(async () => {
      const pods = (
        await client.get<List<V1Pod>>(`/api/v1/pods?fieldSelector=spec.nodeName=${name}`)
      ).items;
      expect(pods.filter((p) => p.metadata?.namespace === ns)).toHaveLength(4);
    }, 30_000);

    const result = await run('drain', { node: name, timeoutMs: 30_000 });
    expect(result.outcome).toMatch(
      new RegExp(`^drained node ${name}: 2 pod\\(s\\) evicted; left `),
    );
    expect(result['skipped']).toMatchObject({
      [`${ns}/bare`]: 'no controller would recreate it (never forced)',
    });
    expect(Object.values(result['skipped'] as Record<string, string>)).toContain('DaemonSet pod');
    expect((await client.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.unschedulable).toBe(true);
  });

  it('reports an action its role may not take as forbidden, not as something to retry', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'act' });
    const pod = await createPod(client, ns, { name: 'guarded' });
    const asAgent = kubernetesProcessors({ kc: roleKubeConfig('agent') });
    const error: unknown = await run(
      'deletePod',
      { namespace: ns, name: 'guarded', uid: pod.metadata.uid },
      { on: asAgent },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalEffectError);
    expect(error).toMatchObject({
      code: 'forbidden',
      message: `not allowed to delete pod ${ns}/guarded`,
    });
  });

  it('rejects bad parameters at once', async () => {
    await expect(run('scale', { namespace: 'x', name: 'y', replicas: -1 })).rejects.toMatchObject({
      code: 'bad-input',
    });
    expect(inject('kube').nodes.length).toBeGreaterThan(0);
  });
});
