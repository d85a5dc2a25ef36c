/**
 * Machine benchmarks: heap per idle actor and events per second, per machine. A plain script:
 *
 *   node bench/machines.bench.ts [actors]
 *
 * It re-runs itself with --expose-gc when needed, so heap figures are measured after full
 * collections. Prints a Markdown table for bench/RESULTS.md. The design target is 100k idle
 * actors within 400 MB of heap (about 4 KB per actor).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import {
  createActor,
  initialTransition,
  SimulatedClock,
  transition,
  type Actor,
  type AnyStateMachine,
} from 'xstate';
import { analyzeObject } from '../src/analyzers/index.ts';
import {
  defaultMachinePolicy,
  deploymentMachine,
  nodeMachine,
  podMachine,
  type MachineEvent,
  type RemediationContext,
} from '../src/machines/index.ts';
import type { ObservableObject } from '../src/observe/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  const rerun = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(rerun.status ?? 1);
}

const ACTORS = Number(process.argv[2] ?? 20_000);
const T0 = Date.UTC(2026, 10, 2, 10);

function pod(name: string, restarts: number, crashing: boolean): ObservableObject {
  return {
    kind: 'Pod',
    metadata: { name, namespace: 'bench', uid: `uid-${name}`, resourceVersion: String(restarts) },
    spec: { nodeName: 'worker-1', containers: [{ name: 'app', image: 'bench/app:1' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: crashing ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: 'app',
          ready: !crashing,
          restartCount: restarts,
          state: crashing
            ? {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: 'back-off 5m0s restarting failed container',
                },
              }
            : { running: {} },
        },
      ],
    },
  };
}

function node(name: string, pressure: boolean): ObservableObject {
  return {
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1' },
    status: {
      conditions: [
        {
          type: 'MemoryPressure',
          status: pressure ? 'True' : 'False',
          reason: 'KubeletHasInsufficientMemory',
        },
        { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      ],
    },
  };
}

function deployment(name: string, failed: boolean): ObservableObject {
  return {
    kind: 'Deployment',
    metadata: { name, namespace: 'bench', uid: `uid-${name}`, generation: 2, resourceVersion: '1' },
    spec: { replicas: 3 },
    status: {
      observedGeneration: 2,
      replicas: 3,
      availableReplicas: 3,
      conditions: [
        failed
          ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }
          : { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

interface Subject {
  name: string;
  machine: AnyStateMachine;
  key: (i: number) => string;
  healthy: (i: number, n: number) => ObservableObject;
  sick: (i: number, n: number) => ObservableObject;
}

const SUBJECTS: Subject[] = [
  {
    name: 'pod',
    machine: podMachine,
    key: (i) => `Pod/bench/app-${i}`,
    healthy: (i, n) => pod(`app-${i}`, n, false),
    sick: (i, n) => pod(`app-${i}`, n, true),
  },
  {
    name: 'node',
    machine: nodeMachine,
    key: (i) => `Node/worker-${i}`,
    healthy: (i) => node(`worker-${i}`, false),
    sick: (i) => node(`worker-${i}`, true),
  },
  {
    name: 'deployment',
    machine: deploymentMachine,
    key: (i) => `Deployment/bench/web-${i}`,
    healthy: (i) => deployment(`web-${i}`, false),
    sick: (i) => deployment(`web-${i}`, true),
  },
];

const provided = (machine: AnyStateMachine) =>
  machine.provide({ actions: { enqueueEffect: () => {}, recordEvent: () => {} } });

function observed(object: ObservableObject, at: number): MachineEvent {
  return { type: 'OBSERVED', at, ...analyzeObject(object) };
}

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

/** Bytes of heap per started actor idling in `healthy` with one observation remembered. */
function heapPerActor(subject: Subject): number {
  const machine = provided(subject.machine);
  const policy = { ...defaultMachinePolicy, node: { drainAllowed: true, minHealthyNodes: 0 } };
  const before = heapUsed();
  const actors: Actor<AnyStateMachine>[] = [];
  for (let i = 0; i < ACTORS; i++) {
    const actor = createActor(machine, {
      input: { actorKey: subject.key(i), policy, at: T0 },
    }).start();
    actor.send(observed(subject.healthy(i, 0), T0));
    actors.push(actor);
  }
  const after = heapUsed();
  const perActor = (after - before) / actors.length;
  for (const actor of actors) actor.stop();
  return perActor;
}

/**
 * The same state kept as a bare snapshot (no actor): what the machine itself costs, as opposed
 * to xstate's Actor and the system each actor created alone gets.
 */
function heapPerSnapshot(subject: Subject): number {
  const machine = provided(subject.machine);
  const before = heapUsed();
  const snapshots: unknown[] = [];
  for (let i = 0; i < ACTORS; i++) {
    const [initial] = initialTransition(machine, {
      actorKey: subject.key(i),
      policy: defaultMachinePolicy,
      at: T0,
    });
    snapshots.push(transition(machine, initial, observed(subject.healthy(i, 0), T0))[0]);
  }
  const after = heapUsed();
  return (after - before) / snapshots.length;
}

/** Healthy observations through one actor: the steady state of a watch. */
function observationsPerSecond(subject: Subject): number {
  const machine = provided(subject.machine);
  const actor = createActor(machine, {
    input: { actorKey: subject.key(0), policy: defaultMachinePolicy, at: T0 },
  }).start();
  const events = Array.from({ length: 1_000 }, (_, i) => observed(subject.healthy(0, i), T0 + i));
  const count = 200_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const event = events[i % events.length] as MachineEvent;
    actor.send({ ...event, at: T0 + i });
  }
  const seconds = (performance.now() - started) / 1000;
  actor.stop();
  return count / seconds;
}

/**
 * Whole incidents on a simulated clock: detection, remediation, verification, cooldown, each
 * event and timer counted as one event.
 */
function incidentEventsPerSecond(subject: Subject): number {
  const machine = provided(subject.machine);
  const clock = new SimulatedClock();
  clock.set(T0);
  const policy = {
    ...defaultMachinePolicy,
    quarantine: { maxRemediations: 1_000_000, windowMs: 60_000 },
    node: { drainAllowed: false, minHealthyNodes: 0 },
  };
  const actor = createActor(machine, {
    clock,
    input: { actorKey: subject.key(0), policy, at: T0, facts: { healthyNodes: 10 } },
  }).start();
  const context = () => actor.getSnapshot().context as RemediationContext;
  let events = 0;
  let restarts = 0;
  const started = performance.now();
  for (let cycle = 0; cycle < 2_000; cycle++) {
    for (let i = 0; i < 3; i++) {
      clock.set(clock.now() + 1_000);
      actor.send(observed(subject.sick(0, ++restarts), clock.now()));
      events++;
    }
    // A threshold not met by observations alone is met when the window ends.
    const windowEnds = context().deadlines.windowEnds;
    if (actor.getSnapshot().matches('suspect') && windowEnds !== undefined) {
      clock.set(windowEnds);
      events++;
    }
    const effectId = context().incident?.awaiting?.effectId;
    if (effectId === undefined)
      throw new Error(`no effect awaited in ${JSON.stringify(actor.getSnapshot().value)}`);
    clock.set(clock.now() + 1_000);
    actor.send({ type: 'EFFECT.DONE', at: clock.now(), effectId });
    actor.send(observed(subject.healthy(0, restarts), clock.now()));
    events += 2;
    for (const deadline of ['verificationEnds', 'cooldownEnds'] as const) {
      const at = context().deadlines[deadline];
      if (at !== undefined && at > clock.now()) clock.set(at);
      events++;
    }
    // A node is put back in service before the cooldown.
    const uncordon = context().incident?.awaiting?.effectId;
    if (uncordon !== undefined) {
      actor.send({ type: 'EFFECT.DONE', at: clock.now(), effectId: uncordon });
      const at = context().deadlines.cooldownEnds;
      if (at !== undefined && at > clock.now()) clock.set(at);
      events += 2;
    }
    if (!actor.getSnapshot().matches('healthy')) {
      throw new Error(`cycle ${cycle} ended in ${JSON.stringify(actor.getSnapshot().value)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  actor.stop();
  return events / seconds;
}

const format = (n: number) => Math.round(n).toLocaleString('en-US');

const rows = SUBJECTS.map((subject) => {
  const bytes = heapPerActor(subject);
  return [
    subject.name,
    format(bytes),
    `${((bytes * 100_000) / 1024 / 1024).toFixed(0)} MB`,
    format(heapPerSnapshot(subject)),
    format(observationsPerSecond(subject)),
    format(incidentEventsPerSecond(subject)),
  ];
});

const lines = [
  `### Machines (${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${availableParallelism()} CPUs, ${format(ACTORS)} actors per machine)`,
  '',
  '| machine | heap per idle actor (bytes) | 100k idle actors | of which the snapshot (bytes) | healthy observations/s (one actor) | incident events/s (one actor) |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
  '',
  'Idle actor: started, one healthy observation remembered, the policy object shared. The',
  'snapshot column is the same state without an actor around it. Incident',
  'events: observations, effect results and timers of whole detect-remediate-verify-cool down',
  'cycles on a SimulatedClock. Target: 100k idle actors within 400 MB of heap.',
  '',
];
process.stdout.write(lines.join('\n'));
