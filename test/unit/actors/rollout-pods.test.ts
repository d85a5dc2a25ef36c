/**
 * The pods of each Deployment's newest ReplicaSet, from ReplicaSets and pods as the API server
 * sends them: which ReplicaSet is the newest, which changes give a Deployment other facts, and
 * what the Deployment analyzer finds in them.
 */
import { describe, expect, it } from 'vitest';
import {
  RolloutPods,
  summarisePod,
  summariseReplicaSet,
  type ReplicaSetObject,
} from '../../../src/actors/rollout-pods.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import { observe, type DeploymentObject, type PodObject } from '../../../src/observe/index.ts';

const KEY = 'Deployment/shop/web';
const WEB = { namespace: 'shop', name: 'web', uid: 'web-uid' };

function replicaSet(
  name: string,
  revision: number,
  owner: { uid?: string } = {},
): ReplicaSetObject {
  return {
    metadata: {
      namespace: 'shop',
      name,
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [
        {
          kind: 'Deployment',
          name: 'web',
          uid: owner.uid ?? WEB.uid,
          controller: true,
        },
      ],
    },
  };
}

function pod(
  name: string,
  replicaSetName: string | null,
  waiting: string | null,
  resourceVersion = '1',
): PodObject {
  return {
    kind: 'Pod',
    metadata: {
      namespace: 'shop',
      name,
      uid: `${name}-uid`,
      resourceVersion,
      ownerReferences:
        replicaSetName === null
          ? []
          : [{ kind: 'ReplicaSet', name: replicaSetName, controller: true }],
    },
    spec: { nodeName: 'worker-1', containers: [{ name: 'web', image: 'shop/web:2.0' }] },
    status: {
      phase: waiting === null ? 'Running' : 'Pending',
      containerStatuses: [
        {
          name: 'web',
          ready: waiting === null,
          restartCount: 0,
          state:
            waiting === null
              ? { running: {} }
              : { waiting: { reason: waiting, message: 'Back-off pulling image "shop/web:2.0"' } },
        },
      ],
    },
  };
}

const deployment: DeploymentObject = {
  kind: 'Deployment',
  metadata: { namespace: 'shop', name: 'web', uid: WEB.uid, generation: 2 },
  spec: { replicas: 2 },
  status: {
    observedGeneration: 2,
    conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }],
  },
};

/** An index that has seen revision 1 (running) and revision 2 (its first pod cannot pull). */
function rollingOut(): RolloutPods {
  const index = new RolloutPods();
  index.setReplicaSet(summariseReplicaSet(replicaSet('web-old', 1)));
  index.setPod(summarisePod(pod('web-old-a', 'web-old', null)));
  index.setReplicaSet(summariseReplicaSet(replicaSet('web-new', 2)));
  index.setPod(summarisePod(pod('web-new-b', 'web-new', null)));
  index.setPod(summarisePod(pod('web-new-a', 'web-new', 'ImagePullBackOff')));
  return index;
}

const podNames = (index: RolloutPods): string[] =>
  index.factsFor(WEB).newReplicaSet?.pods.map((p) => p.name) ?? [];

describe("the pods of a Deployment's newest ReplicaSet", () => {
  it('are those of the ReplicaSet with the highest revision, by name', () => {
    const facts = rollingOut().factsFor(WEB);
    expect(facts.newReplicaSet?.name).toBe('web-new');
    expect(podNames(rollingOut())).toEqual(['web-new-a', 'web-new-b']);
  });

  it('let the Deployment analyzer see the image pull failing in the new rollout', () => {
    const observation = observe(deployment);
    expect(analyze(observation, rollingOut().factsFor(observation))).toEqual([
      {
        type: 'ImagePullBackOff',
        reason:
          'new ReplicaSet "web-new": pod "web-new-a": container "web" is in ImagePullBackOff: Back-off pulling image "shop/web:2.0"',
      },
      {
        type: 'RolloutFailed',
        reason:
          'rollout failed: new ReplicaSet "web-new" cannot pull its images: pod "web-new-a": container "web" is in ImagePullBackOff: Back-off pulling image "shop/web:2.0"',
      },
    ]);
  });

  it("judge a rollback's Deployment on the ReplicaSet it restored, not the one it left", () => {
    // The rollback gave web-old revision 3; the Deployment says so before the ReplicaSet watch does.
    const rolledBack = (generation: number, observedGeneration: number): DeploymentObject => ({
      ...deployment,
      metadata: {
        ...deployment.metadata,
        generation,
        annotations: { 'deployment.kubernetes.io/revision': '3' },
      },
      status: { ...deployment.status, observedGeneration },
    });
    const index = rollingOut();
    const seen = (object: DeploymentObject) => {
      const observation = observe(object);
      return analyze(observation, index.factsFor(observation)).map((d) => d.type);
    };
    expect(index.factsFor(WEB).newReplicaSet?.revision).toBe('2');
    expect(seen(rolledBack(3, 3))).toEqual([]);
    // Before the controller has looked at the restored template, no ReplicaSet is its answer yet.
    expect(seen(rolledBack(3, 2))).toEqual([]);
    index.setReplicaSet(summariseReplicaSet(replicaSet('web-old', 3)));
    expect(index.factsFor(WEB).newReplicaSet).toMatchObject({ name: 'web-old', revision: '3' });
    expect(seen(rolledBack(3, 3))).toEqual([]);
    // A failing pull in the ReplicaSet the Deployment does run is still seen.
    index.setPod(summarisePod(pod('web-old-b', 'web-old', 'ImagePullBackOff')));
    expect(seen(rolledBack(3, 3))).toEqual(['ImagePullBackOff', 'RolloutFailed']);
  });

  it.each([
    ['a pod of the newest ReplicaSet changes', pod('web-new-b', 'web-new', 'ErrImagePull'), [KEY]],
    ['a pod of the newest ReplicaSet appears', pod('web-new-c', 'web-new', null), [KEY]],
    ['a pod of an older ReplicaSet changes', pod('web-old-a', 'web-old', 'CrashLoopBackOff'), []],
    [
      'only the resourceVersion of a pod changes',
      pod('web-new-a', 'web-new', 'ImagePullBackOff', '2'),
      [],
    ],
    ['a pod of the newest ReplicaSet is orphaned', pod('web-new-b', null, null), [KEY]],
  ])('give the Deployment other facts when %s', (_name, changed, keys) => {
    expect(rollingOut().setPod(summarisePod(changed))).toEqual(keys);
  });

  it('move to a newer ReplicaSet, with the pods seen before it', () => {
    const index = rollingOut();
    expect(index.setPod(summarisePod(pod('web-next-a', 'web-next', null)))).toEqual([]);
    expect(index.setReplicaSet(summariseReplicaSet(replicaSet('web-next', 3)))).toEqual([KEY]);
    expect(index.factsFor(WEB).newReplicaSet?.name).toBe('web-next');
    expect(podNames(index)).toEqual(['web-next-a']);
    // A rollback gives the old ReplicaSet the next revision: it is the newest again.
    expect(index.setReplicaSet(summariseReplicaSet(replicaSet('web-old', 4)))).toEqual([KEY]);
    expect(podNames(index)).toEqual(['web-old-a']);
    expect(index.setReplicaSet(summariseReplicaSet(replicaSet('web-old', 4)))).toEqual([]);
  });

  it('lose what is deleted', () => {
    const index = rollingOut();
    expect(index.deletePod({ metadata: { namespace: 'shop', name: 'web-new-a' } })).toEqual([KEY]);
    expect(podNames(index)).toEqual(['web-new-b']);
    expect(index.deletePod({ metadata: { namespace: 'shop', name: 'web-old-a' } })).toEqual([]);
    expect(index.deleteReplicaSet({ metadata: { namespace: 'shop', name: 'web-new' } })).toEqual([
      KEY,
    ]);
    expect(index.factsFor(WEB).newReplicaSet?.name).toBe('web-old');
    expect(index.deleteReplicaSet({ metadata: { namespace: 'shop', name: 'web-old' } })).toEqual([
      KEY,
    ]);
    expect(index.factsFor(WEB)).toEqual({});
    expect(index.size()).toEqual({ replicaSets: 0, pods: 1 });
  });

  it('belong to the Deployment by uid: one re-created under the same name has none yet', () => {
    const index = rollingOut();
    expect(index.factsFor({ ...WEB, uid: 'web-uid-2' })).toEqual({});
    index.setReplicaSet(summariseReplicaSet(replicaSet('web-again', 1, { uid: 'web-uid-2' })));
    expect(index.factsFor({ ...WEB, uid: 'web-uid-2' }).newReplicaSet?.name).toBe('web-again');
    expect(index.factsFor(WEB).newReplicaSet?.name).toBe('web-new');
  });

  it('keep nothing of a ReplicaSet no Deployment controls but its summary', () => {
    const index = new RolloutPods();
    const bare = summariseReplicaSet({
      metadata: { namespace: 'shop', name: 'bare', ownerReferences: [] },
    });
    expect(bare).toEqual({
      metadata: { namespace: 'shop', name: 'bare' },
      deployment: null,
      revision: null,
    });
    expect(index.setReplicaSet(bare)).toEqual([]);
    expect(index.setPod(summarisePod(pod('bare-a', 'bare', 'ImagePullBackOff')))).toEqual([]);
    expect(index.factsFor({ namespace: 'shop', name: 'bare', uid: '' })).toEqual({});
  });

  it('keep a pod as its observation only', () => {
    const summary = summarisePod(pod('web-new-a', 'web-new', 'ImagePullBackOff'));
    expect(Object.keys(summary)).toEqual(['metadata', 'observation']);
    expect(summary.metadata).toEqual({ namespace: 'shop', name: 'web-new-a' });
    expect(summary.observation).toMatchObject({
      kind: 'Pod',
      owner: { kind: 'ReplicaSet', name: 'web-new' },
      containers: [{ name: 'web', state: 'waiting', reason: 'ImagePullBackOff' }],
    });
  });
});
