/**
 * Objects in the shapes the kubelet and controllers write, and a harness that drives machines
 * through the pure `initialTransition`/`transition`, keeping the effects each step asked for.
 */
import { getNextTransitions, initialTransition, transition, type AnyStateMachine } from 'xstate';
import { analyzeObject } from '../../../src/analyzers/index.ts';
import type { WorkloadClaimRequest } from '../../../src/machines/workload.ts';
import type {
  DeploymentObject,
  NodeObject,
  ObservableObject,
  PodObject,
} from '../../../src/observe/index.ts';
import {
  defaultMachinePolicy,
  type DelayName,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
  type RecordedEvent,
  type RemediationContext,
  type RuntimeFacts,
} from '../../../src/machines/index.ts';

export const MINUTE = 60_000;
/** 2026-11-02T10:00:00Z: tests start here so that times read like times. */
export const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

export function crashLoopingPod(
  restarts: number,
  extra: Partial<PodObject['status']> = {},
): PodObject {
  return {
    kind: 'Pod',
    metadata: {
      name: 'api-7d9f-x2x',
      namespace: 'shop',
      uid: 'pod-uid-1',
      resourceVersion: `${100 + restarts}`,
      ownerReferences: [{ kind: 'ReplicaSet', name: 'api-7d9f', controller: true }],
    },
    spec: { nodeName: 'worker-1', containers: [{ name: 'api', image: 'shop/api:1.4.2' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'api',
          ready: false,
          restartCount: restarts,
          image: 'shop/api:1.4.2',
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 5m0s restarting failed container=api pod=api-7d9f-x2x_shop(pod-uid-1)`,
            },
          },
          lastState: { terminated: { reason: 'Error', exitCode: 1 } },
        },
      ],
      ...extra,
    },
  };
}

export function runningPod(restarts = 0): PodObject {
  const pod = crashLoopingPod(restarts);
  return {
    ...pod,
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'api',
          ready: true,
          restartCount: restarts,
          state: { running: { startedAt: '2026-11-02T10:00:00Z' } },
        },
      ],
    },
  };
}

export function oomKilledPod(restarts: number): PodObject {
  const pod = crashLoopingPod(restarts);
  return {
    ...pod,
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'api',
          ready: true,
          restartCount: restarts,
          state: { running: {} },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        },
      ],
    },
  };
}

export function node(conditions: Record<string, string>, unschedulable = false): NodeObject {
  const reasons: Record<string, string> = {
    Ready: 'KubeletReady',
    MemoryPressure: 'KubeletHasInsufficientMemory',
    DiskPressure: 'KubeletHasDiskPressure',
    PIDPressure: 'KubeletHasInsufficientPID',
  };
  return {
    kind: 'Node',
    metadata: { name: 'worker-1', uid: 'node-uid-1', resourceVersion: '900' },
    spec: { unschedulable },
    status: {
      conditions: Object.entries({
        MemoryPressure: 'False',
        DiskPressure: 'False',
        PIDPressure: 'False',
        Ready: 'True',
        ...conditions,
      }).map(([type, status]) => ({
        type,
        status,
        reason: status === 'Unknown' ? 'NodeStatusUnknown' : reasons[type],
        message: status === 'Unknown' ? 'Kubelet stopped posting node status.' : undefined,
        lastHeartbeatTime: '2026-11-02T10:00:00Z',
      })),
    },
  };
}

export const healthyNode = (unschedulable = false): NodeObject => node({}, unschedulable);

export function deployment(
  options: { failed?: boolean; desired?: number; available?: number; generation?: number } = {},
): DeploymentObject {
  const desired = options.desired ?? 3;
  const generation = options.generation ?? 7;
  return {
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'deploy-uid-1',
      resourceVersion: '500',
      generation,
      annotations: { 'deployment.kubernetes.io/revision': '12' },
    },
    spec: { replicas: desired },
    status: {
      observedGeneration: generation,
      replicas: desired,
      updatedReplicas: options.failed ? 1 : desired,
      readyReplicas: options.available ?? desired,
      availableReplicas: options.available ?? desired,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        options.failed
          ? {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "web-6b7c9" has timed out progressing.',
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'NewReplicaSetAvailable',
              message: 'ReplicaSet "web-5d8f" has successfully progressed.',
            },
      ],
    },
  };
}

export function observed(
  object: ObservableObject,
  at: number,
  facts?: Partial<RuntimeFacts>,
): MachineEvent {
  return { type: 'OBSERVED', at, ...analyzeObject(object), ...(facts ? { facts } : {}) };
}

export function policy(overrides: Partial<MachinePolicy> = {}): MachinePolicy {
  return { ...defaultMachinePolicy, ...overrides };
}

export interface Emitted {
  effects: EffectRequest[];
  records: RecordedEvent[];
  /** Timers armed by this step: delay name → ms. */
  timers: Partial<Record<DelayName, number>>;
  /** What the step asked the pod's workload (`claimWorkload`). */
  claims: WorkloadClaimRequest[];
}

type AnyAction = { type: string; params?: unknown };

function armedTimers(actions: readonly AnyAction[]): Emitted['timers'] {
  const timers: Emitted['timers'] = {};
  for (const action of actions) {
    if (action.type !== 'xstate.raise') continue;
    const { event, delay } = action.params as { event: { type: string }; delay?: number };
    const name = event.type.split('.')[2] as DelayName | undefined;
    if (delay !== undefined && name !== undefined) timers[name] = delay;
  }
  return timers;
}

export function emitted(actions: readonly AnyAction[]): Emitted {
  return {
    effects: actions
      .filter((a) => a.type === 'enqueueEffect')
      .map((a) => a.params as EffectRequest),
    records: actions.filter((a) => a.type === 'recordEvent').map((a) => a.params as RecordedEvent),
    timers: armedTimers(actions),
    claims: actions
      .filter((a) => a.type === 'claimWorkload')
      .map((a) => a.params as WorkloadClaimRequest),
  };
}

/** The type of the `after` event a delay would send in the current state. */
export function timerEvent(
  snapshot: Parameters<typeof getNextTransitions>[0],
  delay: DelayName,
): MachineEvent {
  const type = getNextTransitions(snapshot)
    .map((t) => String(t.eventType))
    .find((t) => t.startsWith(`xstate.after.${delay}.`));
  if (type === undefined)
    throw new Error(`no ${delay} timer is armed in ${JSON.stringify(snapshot.value)}`);
  return { type } as unknown as MachineEvent;
}

/**
 * Drives a machine through pure transitions: `send` returns what that event asked for, `fire`
 * delivers a timer as if its deadline had come. Nothing is executed.
 */
export class PureRun {
  snapshot: ReturnType<typeof initialTransition<AnyStateMachine>>[0];
  readonly machine: AnyStateMachine;
  readonly log: Pick<Emitted, 'effects' | 'records'> = { effects: [], records: [] };

  constructor(machine: AnyStateMachine, actorKey: string, machinePolicy: MachinePolicy, at = T0) {
    this.machine = machine;
    const [snapshot, actions] = initialTransition(machine, { actorKey, policy: machinePolicy, at });
    this.snapshot = snapshot;
    this.keep(actions);
  }

  get context(): RemediationContext {
    return this.snapshot.context as RemediationContext;
  }

  get value(): unknown {
    return this.snapshot.value as unknown;
  }

  matches(state: string): boolean {
    return this.snapshot.matches(state);
  }

  send(event: MachineEvent): Emitted {
    const [snapshot, actions] = transition(this.machine, this.snapshot, event);
    this.snapshot = snapshot;
    return this.keep(actions);
  }

  fire(delay: DelayName): Emitted {
    return this.send(timerEvent(this.snapshot, delay));
  }

  /** The effect id of the effect the machine waits for. */
  get awaited(): string {
    const id = this.context.incident?.awaiting?.effectId;
    if (id === undefined) throw new Error(`nothing is awaited in ${JSON.stringify(this.value)}`);
    return id;
  }

  get incidentId(): string {
    const id = this.context.incident?.id;
    if (id === undefined) throw new Error(`no incident is open in ${JSON.stringify(this.value)}`);
    return id;
  }

  private keep(actions: readonly AnyAction[]): Emitted {
    const out = emitted(actions);
    this.log.effects.push(...out.effects);
    this.log.records.push(...out.records);
    return out;
  }
}

export const POD_KEY = 'Pod/shop/api-7d9f-x2x';
export const NODE_KEY = 'Node/worker-1';
export const DEPLOYMENT_KEY = 'Deployment/shop/web';

export function kinds(out: Emitted): string[] {
  return out.effects.map((e) => e.effect.kind);
}
