import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/adapters/kubernetes/events.ts';
import { actorEventSink } from '../../../src/actors/role-wiring.ts';
import { createMetricsRegistry } from '../../../src/telemetry/metrics.ts';
import { createRuntimeMetrics } from '../../../src/telemetry/runtime-metrics.ts';
import { adminClient, createPod, freshNamespace, type List } from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger } from '../../support/logger.ts';

async function eventsOf(namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await adminClient().get<List<CoreV1Event>>(
    `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`,
  );
  // Only ours: the scheduler writes its own Events on the same pod.
  return list.items.filter((e) => e.reportingComponent?.startsWith('kube-remedy.io/'));
}

describe('Kubernetes Events for decisions', () => {
  it('writes an Event on the pod that kubectl describe shows', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'events' });
    const pod = await createPod(client, namespace, { name: 'cart' });
    const recorder = new EventRecorder(adminKubeConfig(), {
      component: 'kube-remedy-agent',
      instance: 'agent-n1',
      logger: captureLogger().logger,
    });
    await recorder.record(
      { apiVersion: 'v1', kind: 'Pod', namespace, name: 'cart', uid: pod.metadata.uid ?? '' },
      {
        type: 'Warning',
        reason: 'CrashLoopDetected',
        message: 'container "app" is in CrashLoopBackOff (restarts: 6)',
        action: 'Detect',
      },
    );
    const [event] = await eventsOf(namespace, 'cart');
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'CrashLoopDetected',
      message: 'container "app" is in CrashLoopBackOff (restarts: 6)',
      count: 1,
      involvedObject: { kind: 'Pod', name: 'cart', namespace, uid: pod.metadata.uid },
      source: { component: 'kube-remedy-agent' },
      reportingComponent: 'kube-remedy.io/kube-remedy-agent',
    });
  });

  it("puts an actor's decisions on its object, whatever its kind, and counts them", async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'events' });
    const recorder = new EventRecorder(adminKubeConfig(), {
      component: 'kube-remedy-controller',
      instance: 'controller',
      logger: captureLogger().logger,
    });
    const metrics = createRuntimeMetrics(createMetricsRegistry({ version: 'test', role: 'all' }));
    const sink = actorEventSink(recorder, metrics);
    const decided = { type: 'Normal' as const, reason: 'RolledBack', message: 'to revision 2' };
    const actor = (key: string) => ({ key, kind: 'Deployment' as const, policyRef: 'shop/p' });
    await sink.record(actor(`Deployment/${namespace}/web`), decided);
    const node = `kwok-events-${namespace}`;
    await sink.record({ ...actor(`Node/${node}`), kind: 'Node' }, decided);

    const [onDeployment] = await eventsOf(namespace, 'web');
    expect(onDeployment?.involvedObject).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace,
      name: 'web',
    });
    const nodeEvents = await adminClient().get<List<CoreV1Event>>(
      `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${node}`,
    );
    expect(nodeEvents.items[0]?.involvedObject).toMatchObject({
      apiVersion: 'v1',
      kind: 'Node',
      name: node,
    });
    expect((await metrics.eventsRecorded.get()).values).toContainEqual(
      expect.objectContaining({ labels: { type: 'Normal', reason: 'RolledBack' }, value: 2 }),
    );
  });

  it('aggregates repeats into one Event with a count, and caps a storm per object', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'events' });
    await createPod(client, namespace, { name: 'noisy' });
    let clock = 1_000_000;
    const recorder = new EventRecorder(adminKubeConfig(), {
      component: 'kube-remedy-agent',
      instance: 'agent-n1',
      logger: captureLogger().logger,
      burst: 5,
      refillMs: 60_000,
      now: () => clock,
    });
    const target = { apiVersion: 'v1', kind: 'Pod', namespace, name: 'noisy' };
    for (let i = 0; i < 50; i += 1) {
      clock += 10;
      await recorder.record(target, {
        type: 'Normal',
        reason: 'StillSuspect',
        message: 'restarts keep rising',
      });
    }
    const events = await eventsOf(namespace, 'noisy');
    expect(events).toHaveLength(1);
    expect(events[0]?.count).toBe(5);
    expect(recorder.dropped).toBe(45);
  });

  it('never throws when the API server refuses, it logs', async () => {
    const logs = captureLogger();
    const recorder = new EventRecorder(adminKubeConfig(), {
      component: 'kube-remedy-agent',
      instance: 'a',
      logger: logs.logger,
    });
    await recorder.record(
      { apiVersion: 'v1', kind: 'Pod', namespace: 'no-such-namespace-here', name: 'x' },
      { type: 'Normal', reason: 'Test', message: 'm' },
    );
    expect(logs.records().find((r) => r['msg'] === 'could not record event')).toMatchObject({
      reason: 'Test',
    });
  });
});
