/**
 * The registry analyzing a Deployment again when the pods of its newest ReplicaSet change: the
 * actor gets the whole observation with what is found now, once per change of what is found.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ActorHost } from '../../../src/actors/host.ts';
import { ActorRegistry } from '../../../src/actors/registry.ts';
import {
  RolloutPods,
  summarisePod,
  summariseReplicaSet,
} from '../../../src/actors/rollout-pods.ts';
import { MemorySnapshotStore } from '../../../src/actors/snapshot-store.ts';
import type { DeploymentObject, PodObject } from '../../../src/observe/index.ts';
import { parsePolicy, PolicyIndex } from '../../../src/policy/index.ts';
import { captureLogger } from '../../support/logger.ts';

const KEY = 'Deployment/shop/web';
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

const web: DeploymentObject = {
  kind: 'Deployment',
  metadata: { namespace: 'shop', name: 'web', uid: 'web-uid', generation: 2, labels: {} },
  spec: { replicas: 1 },
  status: {
    observedGeneration: 2,
    conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }],
  },
};

function pullingPod(message: string): PodObject {
  return {
    kind: 'Pod',
    metadata: {
      namespace: 'shop',
      name: 'web-7c9-a',
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7c9', controller: true }],
    },
    spec: { containers: [{ name: 'web', image: 'shop/web:2.0' }] },
    status: {
      phase: 'Pending',
      containerStatuses: [
        { name: 'web', state: { waiting: { reason: 'ImagePullBackOff', message } } },
      ],
    },
  };
}

function scene() {
  const clock = new SimulatedClock();
  clock.set(T0);
  const logger = captureLogger().logger;
  const sent: string[] = [];
  const host: ActorHost = new ActorHost({
    clock,
    store: new MemorySnapshotStore(),
    logger,
    effects: { enqueue: () => Promise.resolve() },
    onTransition: (key) => sent.push(key),
  });
  const index = new PolicyIndex({
    agentNamespace: 'kube-remedy-system',
    onChange: (change) => registry.governanceChanged(change),
  });
  const rollouts = new RolloutPods();
  const registry = new ActorRegistry({
    host,
    index,
    now: () => clock.now(),
    logger,
    analyzerFactsFor: (_key, observation) =>
      observation.kind === 'Deployment' ? rollouts.factsFor(observation) : undefined,
  });
  const parsed = parsePolicy({
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    metadata: { namespace: 'shop', name: 'rollouts', generation: 1 },
    spec: {
      selector: { kinds: ['Deployment'] },
      mode: 'dryRun',
      detections: [{ type: 'ImagePullBackOff', threshold: 2, window: '10m', action: 'rollback' }],
    },
  });
  if (!parsed.ok) throw new Error('the policy does not parse');
  index.setPolicy(parsed.policy);
  registry.policyChanged(parsed.policy);
  rollouts.setReplicaSet(
    summariseReplicaSet({
      metadata: {
        namespace: 'shop',
        name: 'web-7c9',
        annotations: { 'deployment.kubernetes.io/revision': '2' },
        ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'web-uid', controller: true }],
      },
    }),
  );
  /** A pod change as the controller's pod watch hands it on. */
  const podChanged = async (pod: PodObject): Promise<void> => {
    for (const key of rollouts.setPod(summarisePod(pod))) await registry.reanalyze(key);
    await host.flushAll();
  };
  return { host, index, registry, sent, podChanged };
}

describe('a Deployment analyzed again as its new pods change', () => {
  it('gets the whole observation with the new detections, once per change of them', async () => {
    const { host, registry, sent, podChanged } = scene();
    await registry.upsert(web);
    expect(host.snapshot(KEY)?.value).toBe('healthy');
    expect(host.snapshot(KEY)?.context.detections).toEqual([]);

    await podChanged(pullingPod('Back-off pulling image "shop/web:2.0"'));
    const first = host.snapshot(KEY);
    expect(first?.value).toBe('suspect');
    expect(first?.context.observation).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(first?.context.detections.map((d) => d.type)).toEqual([
      'ImagePullBackOff',
      'RolloutFailed',
    ]);
    expect(first?.context.detections[0]?.reason).toMatch(/^new ReplicaSet "web-7c9": pod /);
    expect(first?.context.window?.seen).toBe(1);

    // Nothing new found: the actor is not told again, so no sighting is counted twice.
    const before = sent.length;
    await registry.reanalyze(KEY);
    await host.flushAll();
    expect(sent.length).toBe(before);
    expect(host.snapshot(KEY)?.context.window?.seen).toBe(1);

    // The kubelet's message changes: a second sighting confirms the problem.
    await podChanged(pullingPod('ErrImagePull: not found'));
    expect(host.snapshot(KEY)?.value).toBe('coolingDown');
    expect(host.snapshot(KEY)?.context.history.map((h) => h.decision)).toEqual(['dryRun', 'close']);
    await host.stopAll();
  });

  it('leaves objects without an actor alone', async () => {
    const { host, registry } = scene();
    await registry.reanalyze(KEY);
    expect(host.has(KEY)).toBe(false);
  });
});

describe('a policy paused and resumed by its annotation', () => {
  it('reaches the actors it governs, though the generation does not move', async () => {
    const { host, index, registry } = scene();
    await registry.upsert(web);
    const annotate = async (annotations: Record<string, string>): Promise<void> => {
      const parsed = parsePolicy({
        metadata: { namespace: 'shop', name: 'rollouts', generation: 1, annotations },
        spec: {
          selector: { kinds: ['Deployment'] },
          mode: 'dryRun',
          detections: [
            { type: 'ImagePullBackOff', threshold: 2, window: '10m', action: 'rollback' },
          ],
        },
      });
      if (!parsed.ok) throw new Error('the policy does not parse');
      index.setPolicy(parsed.policy);
      registry.policyChanged(parsed.policy);
      await registry.settled();
      await host.flushAll();
    };
    await annotate({ 'remedy.kube-remedy.io/paused': 'incident INC-42, alice' });
    expect(host.snapshot(KEY)?.context.policy.paused).toBe('incident INC-42, alice');
    await annotate({});
    expect(host.snapshot(KEY)?.context.policy.paused).toBeUndefined();
    await host.stopAll();
  });
});
