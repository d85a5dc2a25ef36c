/** Plain Pod objects in the shapes the kubelet writes, for tests that need no cluster. */
export interface PodShape {
  namespace?: string;
  name?: string;
  uid?: string;
  node?: string;
  restarts: number;
  crashLooping: boolean;
  /**
   * The controlling owner. Default: ReplicaSet cart-6d4f (with no pod-template-hash label, so
   * the pod's workload is that ReplicaSet); null for a pod no controller owns.
   */
  owner?: { kind: string; name: string } | null;
  labels?: Record<string, string>;
}

export function podObject(shape: PodShape): Record<string, unknown> {
  const owner = shape.owner === undefined ? { kind: 'ReplicaSet', name: 'cart-6d4f' } : shape.owner;
  const waiting = shape.crashLooping
    ? {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: 'back-off 40s restarting failed container=app',
        },
      }
    : { running: { startedAt: '2026-11-28T10:00:00Z' } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: shape.name ?? 'cart-1',
      namespace: shape.namespace ?? 'shop',
      uid: shape.uid ?? 'uid-cart-1',
      resourceVersion: String(100 + shape.restarts),
      ...(shape.labels === undefined ? {} : { labels: shape.labels }),
      ownerReferences:
        owner === null
          ? []
          : [
              {
                apiVersion: 'apps/v1',
                kind: owner.kind,
                name: owner.name,
                uid: `uid-${owner.name}`,
                controller: true,
              },
            ],
    },
    spec: {
      nodeName: shape.node ?? 'node-1',
      containers: [{ name: 'app', image: 'shop/cart:1.4.2' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: shape.crashLooping ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'shop/cart:1.4.2',
          imageID: '',
          ready: !shape.crashLooping,
          started: !shape.crashLooping,
          restartCount: shape.restarts,
          state: waiting,
          lastState: shape.restarts > 0 ? { terminated: { reason: 'Error', exitCode: 1 } } : {},
        },
      ],
    },
  };
}
