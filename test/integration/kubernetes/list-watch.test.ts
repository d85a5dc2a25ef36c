import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  startListWatch,
  type RunningListWatch,
  type WatchEvent,
} from '../../../src/adapters/kubernetes/list-watch.ts';
import { PODS } from '../../../src/adapters/kubernetes/resource.ts';
import { adminClient, createPod, freshNamespace } from '../../cluster/fixtures.ts';
import { adminKubeConfig, roleKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';

describe('the resilient list-watch on a real API server', () => {
  const running: RunningListWatch[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.stop()));
  });

  function collect(): {
    events: WatchEvent<V1Pod>[];
    names: (type: 'upsert' | 'delete') => string[];
  } {
    const events: WatchEvent<V1Pod>[] = [];
    return {
      events,
      names: (type) => [
        ...new Set(events.filter((e) => e.type === type).map((e) => e.object.metadata?.name ?? '')),
      ],
    };
  }

  it("sees only its node's pods, existing ones first, then every change with the whole object", async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'lw' });
    const [nodeA, nodeB] = inject('kube').nodes as [string, string];
    await createPod(client, namespace, { name: 'before', nodeName: nodeA });
    await createPod(client, namespace, { name: 'elsewhere', nodeName: nodeB });

    const seen = collect();
    const watch = startListWatch<V1Pod>(adminKubeConfig(), {
      resource: PODS,
      namespace,
      fieldSelector: `spec.nodeName=${nodeA}`,
      onEvent: (event) => seen.events.push(event),
      logger: captureLogger().logger,
    });
    running.push(watch);
    await watch.synced;
    expect(seen.names('upsert')).toEqual(['before']);
    expect(seen.events[0]?.object).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      spec: { nodeName: nodeA },
    });

    await createPod(client, namespace, { name: 'after', nodeName: nodeA });
    await createPod(client, namespace, { name: 'after-elsewhere', nodeName: nodeB });
    await eventually(() => expect(seen.names('upsert')).toContain('after'));
    await client.delete(`/api/v1/namespaces/${namespace}/pods/before`, { gracePeriodSeconds: 0 });
    await eventually(() => expect(seen.names('delete')).toContain('before'));
    expect(seen.names('upsert')).not.toContain('after-elsewhere');
    expect(seen.names('upsert')).not.toContain('elsewhere');
  });

  it('keeps retrying while it is forbidden and syncs once it is allowed', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'lw-rbac' });
    await createPod(client, namespace, { name: 'visible' });
    const logs = captureLogger();
    const seen = collect();
    const restarts: string[] = [];
    const watch = startListWatch<V1Pod>(roleKubeConfig('agent'), {
      resource: PODS,
      namespace,
      onEvent: (event) => seen.events.push(event),
      onRestart: (reason) => restarts.push(reason),
      logger: logs.logger,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
    running.push(watch);
    await eventually(() => expect(restarts.length).toBeGreaterThanOrEqual(2));
    expect(watch.isSynced()).toBe(false);
    expect(logs.records().find((r) => r['msg'] === 'list-watch failed; retrying')).toMatchObject({
      status: 403,
    });

    const agent = inject('kube').roles.agent;
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      metadata: { name: 'read-pods' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }],
    });
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: 'agent-reads-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-pods' },
      subjects: [
        { kind: 'ServiceAccount', name: agent.serviceAccount, namespace: agent.namespace },
      ],
    });
    await watch.synced;
    expect(seen.names('upsert')).toEqual(['visible']);
  });

  it('relists periodically, delivering the whole state again', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'lw-relist' });
    await createPod(client, namespace, { name: 'stays' });
    const seen = collect();
    const restarts: string[] = [];
    let syncs = 0;
    const watch = startListWatch<V1Pod>(adminKubeConfig(), {
      resource: PODS,
      namespace,
      onEvent: (event) => seen.events.push(event),
      onSynced: () => (syncs += 1),
      onRestart: (reason) => restarts.push(reason),
      logger: captureLogger().logger,
      relistIntervalMs: 300,
    });
    running.push(watch);
    await watch.synced;
    await eventually(() => expect(syncs).toBeGreaterThanOrEqual(3));
    expect(restarts).toContain('relist');
    // Every relist delivers the whole state again: level-triggered consumers converge.
    expect(
      seen.events.filter((e) => e.object.metadata?.name === 'stays').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('keeps and delivers only what its transform makes of the objects a label selects', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'lw-transform' });
    await createPod(client, namespace, { name: 'chosen', labels: { tier: 'web' } });
    await createPod(client, namespace, { name: 'other' });
    type Kept = { metadata: { namespace: string; name: string }; node: string | null };
    const events: WatchEvent<Kept>[] = [];
    let syncs = 0;
    const watch = startListWatch<Kept>(adminKubeConfig(), {
      resource: PODS,
      namespace,
      labelSelector: 'tier',
      transform: (object) => ({
        metadata: {
          namespace: object.metadata?.namespace ?? '',
          name: object.metadata?.name ?? '',
        },
        node: (object as V1Pod).spec?.nodeName ?? null,
      }),
      onEvent: (event) => events.push(event),
      onSynced: () => (syncs += 1),
      logger: captureLogger().logger,
      relistIntervalMs: 300,
    });
    running.push(watch);
    await watch.synced;
    expect(events[0]).toMatchObject({
      type: 'upsert',
      object: { metadata: { namespace, name: 'chosen' } },
    });

    await createPod(client, namespace, { name: 'later', labels: { tier: 'web' } });
    await eventually(() => expect(events.map((e) => e.object.metadata.name)).toContain('later'));
    // Scheduled: the change arrives reduced, as everything else.
    await eventually(() =>
      expect(
        events.some((e) => e.object.metadata.name === 'chosen' && e.object.node !== null),
      ).toBe(true),
    );
    await client.delete(`/api/v1/namespaces/${namespace}/pods/later`, { gracePeriodSeconds: 0 });
    await eventually(() =>
      expect(events.filter((e) => e.type === 'delete').map((e) => e.object.metadata)).toEqual([
        { namespace, name: 'later' },
      ]),
    );
    // Relists deliver the reduced objects too.
    await eventually(() => expect(syncs).toBeGreaterThanOrEqual(2));
    expect(events.map((e) => e.object.metadata.name)).not.toContain('other');
    for (const event of events) expect(Object.keys(event.object)).toEqual(['metadata', 'node']);
  });
});
