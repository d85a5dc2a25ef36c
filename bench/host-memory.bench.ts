/**
 * Heap per idle actor through ActorHost, the way the agent and the controller hold them:
 *
 * - spawned: `spawn` with the registry's shared compiled policy, then one healthy observation;
 * - restored: `restore` from the JSON of a persisted snapshot (as read from Redis), as startAgent
 *   does (no policy given) and with the policy handed over;
 * - for reference, the same actors from bare `createActor` with no host around them.
 *
 *   node --expose-gc bench/host-memory.bench.ts [actors=100000] [--baseline <host module>]
 *
 * Each case runs in a fresh process, and the heap is read after full collections with a store
 * that keeps nothing (so the heap holds the actors alone; the restore benchmark uses Redis).
 * `--baseline` measures another ActorHost implementation side by side in the same run (e.g. the
 * last committed src/actors/host.ts, copied with its imports made absolute).
 * Design target: 100k idle actors within 400 MB of heap (MB = MiB, as bench/machines.bench.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createActor, type AnyStateMachine } from 'xstate';
import type { ActorHost as ActorHostType } from '../src/actors/host.ts';
import { MACHINES, systemClock } from '../src/machines/index.ts';
import type { PodObject } from '../src/observe/index.ts';
import {
  BENCH_POLICY_REF,
  benchPolicy,
  discardingStore,
  observed,
  podObject,
  silentLogger,
} from './support/objects.ts';
import {
  fmt,
  heapUsed,
  load,
  machineLine,
  progress,
  requireGc,
  table,
  verdict,
} from './support/report.ts';

const TARGET_MB = 400;
const NAMESPACE = 'bench';
const HOST_MODULE = fileURLToPath(new URL('../src/actors/host.ts', import.meta.url));

type Case = 'spawned' | 'restored' | 'restored, shared policy' | 'bare createActor';
const CASES: Case[] = ['spawned', 'restored', 'restored, shared policy', 'bare createActor'];

interface Measured {
  bytesPerActor: number;
  heapTotal: number;
  seconds: number;
  load: string;
}

// ---- child: one case, one host implementation -------------------------------------------------
if (process.argv[2] === '--child') {
  requireGc('bench/host-memory.bench.ts');
  const [, , , which = '', hostModule = HOST_MODULE, count = '0'] = process.argv;
  const actors = Number(count);
  const { ActorHost } = (await import(pathToFileURL(hostModule).href)) as {
    ActorHost: typeof ActorHostType;
  };
  const logger = silentLogger();
  const newHost = (): ActorHostType =>
    new ActorHost({
      clock: systemClock,
      store: discardingStore,
      logger,
      effects: { enqueue: () => Promise.resolve() },
    });
  const key = (i: number): string => `Pod/${NAMESPACE}/app-${i}`;
  // The pod as a watch delivers it: parsed from JSON, so its strings are its own.
  const healthy = (i: number) =>
    observed(
      JSON.parse(
        JSON.stringify(podObject(NAMESPACE, `app-${i}`, { restarts: 0, crashLooping: false })),
      ) as PodObject,
      Date.now(),
    );

  // Restored cases start from persisted snapshots as JSON text (what Redis hands back), made by
  // real actors before the measurement and kept alive across it, so they cancel out.
  let texts: string[] = [];
  if (which.startsWith('restored')) {
    // The snapshots the host persists (getPersistedSnapshot), as JSON.
    const records = new Map<string, string>();
    const maker = new ActorHost({
      clock: systemClock,
      store: {
        ...discardingStore,
        save: (actorKey, _machine, snapshot) => {
          records.set(actorKey, JSON.stringify(snapshot));
          return Promise.resolve();
        },
      },
      logger,
      effects: { enqueue: () => Promise.resolve() },
    });
    for (let i = 0; i < actors; i++) {
      maker.spawn(key(i), benchPolicy, BENCH_POLICY_REF, { inhibited: null });
      void maker.send(key(i), healthy(i));
    }
    await maker.flushAll();
    await maker.stopAll();
    texts = Array.from({ length: actors }, (_, i) => records.get(key(i)) ?? '');
  }

  const keep: unknown[] = [];
  const before = heapUsed();
  const t0 = performance.now();
  if (which === 'bare createActor') {
    const machine = MACHINES.Pod.provide({
      actions: { enqueueEffect: () => undefined, recordEvent: () => undefined },
    }) as AnyStateMachine;
    for (let i = 0; i < actors; i++) {
      const actor = createActor(machine, {
        input: {
          actorKey: key(i),
          policy: benchPolicy,
          at: Date.now(),
          facts: { inhibited: null },
        },
      }).start();
      actor.send(healthy(i));
      keep.push(actor);
    }
  } else {
    const host = newHost();
    keep.push(host);
    if (which === 'spawned') {
      for (let i = 0; i < actors; i++) {
        host.spawn(key(i), benchPolicy, BENCH_POLICY_REF, { inhibited: null });
        void host.send(key(i), healthy(i));
      }
    } else {
      const policy = which === 'restored, shared policy' ? benchPolicy : undefined;
      for (let i = 0; i < actors; i++) {
        host.restore(key(i), JSON.parse(texts[i] as string), policy, BENCH_POLICY_REF);
      }
    }
    await host.flushAll();
    if (host.size !== actors)
      throw new Error(`expected ${actors} actors, the host has ${host.size}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = heapUsed();
  const result: Measured = {
    bytesPerActor: (after - before) / actors,
    heapTotal: after,
    seconds,
    load: load(),
  };
  process.send?.({ result, kept: keep.length, texts: texts.length });
  process.exit(0);
}

// ---- parent ------------------------------------------------------------------------------------
requireGc('bench/host-memory.bench.ts');
const args = process.argv.slice(2);
const baselineAt = args.indexOf('--baseline');
const baseline = baselineAt >= 0 ? args.splice(baselineAt, 2)[1] : undefined;
const ACTORS = Number(args[0] ?? 100_000);
const implementations: [string, string][] = [
  ['src/actors/host.ts (this tree)', HOST_MODULE],
  ...(baseline ? ([[`baseline: ${baseline}`, baseline]] as [string, string][]) : []),
];

function measure(which: Case, hostModule: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), '--child', which, hostModule, String(ACTORS)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let result: Measured | undefined;
    child.on('message', (message: { result: Measured }) => (result = message.result));
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`${which} exited with ${String(code)}`)),
    );
  });
}

const rows: string[][] = [];
for (const which of CASES) {
  for (const [name, module] of implementations) {
    if (which === 'bare createActor' && module !== HOST_MODULE) continue;
    progress(`${which}, ${name}: ${fmt(ACTORS)} actors`);
    const m = await measure(which, module);
    const total = (m.bytesPerActor * 100_000) / 2 ** 20;
    rows.push([
      which,
      which === 'bare createActor' ? '— (no host)' : name,
      fmt(m.bytesPerActor),
      `${fmt(total)} MB`,
      which === 'bare createActor' ? '—' : verdict(total <= TARGET_MB),
      fmt(m.heapTotal / 2 ** 20),
      fmt(m.seconds, 1),
      m.load,
    ]);
  }
}

const lines = [
  `### Heap per idle actor through ActorHost (${fmt(ACTORS)} actors per case)`,
  '',
  machineLine(),
  '',
  table(
    [
      'actors',
      'host',
      'heap per idle actor (B)',
      '100k idle actors',
      `≤ ${TARGET_MB} MB`,
      'heap used in all (MB)',
      'made in (s)',
      'load average',
    ],
    rows,
  ),
  '',
  'Idle actor: a pod actor in `healthy` with one observation remembered (made from the pod parsed',
  'from JSON, as a watch delivers it), started, subscribed to by the host, its facts',
  '({ inhibited: null }) as the agent gives them. Spawned actors share the',
  "registry's compiled policy; restored ones come from the JSON of a persisted snapshot. Store:",
  'one that keeps nothing, so the heap holds the actors alone. MB = MiB.',
  '',
];
process.stdout.write(lines.join('\n'));
