/**
 * Pods as the kubelet writes them and the pieces every in-process benchmark needs to drive
 * actors: observations, a policy, a logger that writes nothing, and a snapshot store that keeps
 * nothing (for heap figures of the actors alone).
 */
import type { ActorSnapshotStore } from '../../src/actors/snapshot-store.ts';
import { analyzeObject } from '../../src/analyzers/index.ts';
import {
  defaultMachinePolicy,
  type MachineEvent,
  type MachinePolicy,
} from '../../src/machines/index.ts';
import type { PodObject } from '../../src/observe/index.ts';
import { createLogger, type Logger } from '../../src/telemetry/index.ts';

export interface PodState {
  restarts: number;
  crashLooping: boolean;
  node?: string;
  /**
   * The Deployment whose ReplicaSet (`<deployment>-<hash>`) owns the pod, with its
   * `pod-template-hash`. Default: Deployment `bench`, hash `6d4f`.
   */
  deployment?: { name: string; hash: string };
}

/** A pod of a Deployment's ReplicaSet with one container, running or crash-looping. */
export function podObject(namespace: string, name: string, state: PodState): PodObject {
  const { name: deployment, hash } = state.deployment ?? { name: 'bench', hash: '6d4f' };
  // The default's ReplicaSet name stays one literal, as before (the other benchmarks' heap).
  const replicaSet = state.deployment ? `${deployment}-${hash}` : 'bench-6d4f';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      resourceVersion: String(1000 + state.restarts),
      labels: { app: deployment, 'pod-template-hash': hash },
      ownerReferences: [{ kind: 'ReplicaSet', name: replicaSet, controller: true }],
    },
    spec: {
      nodeName: state.node ?? 'bench-node',
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: state.crashLooping ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          ready: !state.crashLooping,
          started: !state.crashLooping,
          restartCount: state.restarts,
          state: state.crashLooping
            ? {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: `back-off 40s restarting failed container=app pod=${name}_${namespace}`,
                },
              }
            : { running: { startedAt: '2026-11-28T10:00:00Z' } },
          lastState: state.restarts > 0 ? { terminated: { reason: 'Error', exitCode: 1 } } : {},
        },
      ],
    },
  };
}

export function observed(object: PodObject, at: number): MachineEvent {
  return { type: 'OBSERVED', at, ...analyzeObject(object) };
}

/** The default machine policy under a name of its own: auto mode, restartPod on crash loops. */
export const benchPolicy: MachinePolicy = { ...defaultMachinePolicy, name: 'bench/restarts' };
export const BENCH_POLICY_REF = 'bench/restarts';

export const silentLogger = (): Logger => createLogger({ level: 'silent', format: 'json' });

/** A store that keeps nothing: the heap then holds the actors alone. */
export const discardingStore: ActorSnapshotStore = {
  save: () => Promise.resolve(),
  remove: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  load: () => Promise.resolve({ snapshots: new Map(), dropped: [] }),
  loadPages: async function* () {
    yield await Promise.resolve({ snapshots: new Map(), dropped: [] });
  },
};
