/**
 * Agent memory: the real `kube-remedy run --role agent --node-name N` process watching a kwok
 * node with 110 pods (the kubelet's default maximum), every pod governed by a policy so each has
 * its actor, side by side with a bare client-node ListWatch process over the same 110 pods and
 * an empty Node process (the runtime's own floor).
 *
 *   node --expose-gc bench/agent-rss.bench.ts [settleSeconds=60]   (or: npm run bench agent-rss)
 *
 * RSS (VmRSS from /proc) is read when the pods are observed (the agent's /metrics shows 110 pod
 * actors; the bare informer holds 110 pods) and again after a settling period during which kwok
 * keeps the node and pods alive as a kubelet would. Uses the running test control plane (or
 * starts one), real Redis under a prefix of its own, and removes its node, namespace, keys and
 * processes. Design target: agent RSS ≤ 80 MB.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  Cleanup,
  createBenchNodes,
  createNamespace,
  createPods,
  createPolicy,
  deleteNamespace,
  deleteNodes,
  installCrd,
  suffix,
  useCluster,
  waitFor,
} from './support/cluster.ts';
import { buildCompiled } from './support/build.ts';
import { benchRedis } from './support/redis.ts';
import { fmt, machineLine, load, progress, sleep, table, verdict } from './support/report.ts';

const PODS = 110;
const SETTLE_SECONDS = Number(process.argv[2] ?? 60);
const TARGET_MB = 80;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The Node.js options the chart gives the agent (values.yaml, agent.nodeOptions). */
const AGENT_NODE_OPTIONS = (
  parseYaml(readFileSync(`${ROOT}deploy/helm/kube-remedy/values.yaml`, 'utf8')) as {
    agent: { nodeOptions: string };
  }
).agent.nodeOptions;

/** Resident set and its peak, in MB (MiB), from /proc/<pid>/status. */
function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Sum of a Prometheus gauge's samples whose labels contain `match`. */
function gauge(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (match && !rest.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const cleanup = new Cleanup();
try {
  const cluster = await useCluster();
  cleanup.add('control plane', () => cluster.release());
  const client = cluster.admin;
  const id = suffix();
  const node = `bench-rss-${id}`;
  const namespace = `bench-rss-${id}`;
  const scratch = await benchRedis('rss');
  cleanup.add('redis keys', () => scratch.cleanup());

  progress(`creating node ${node}, namespace ${namespace} and ${PODS} pods`);
  await installCrd(client);
  await createBenchNodes(cluster, [node]);
  cleanup.add('node', () => deleteNodes(client, [node]));
  await createNamespace(client, namespace);
  cleanup.add('namespace', () => deleteNamespace(client, namespace, true));
  await createPolicy(client, namespace, 'restart-crash-loops', {
    selector: { kinds: ['Pod'], matchLabels: { app: 'bench' } },
    mode: 'auto',
    detections: [{ type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'restartPod' }],
  });
  const names = Array.from({ length: PODS }, (_, i) => `app-${String(i).padStart(3, '0')}`);
  await createPods(client, namespace, names, () => node);
  await waitFor(
    `${PODS} pods Running on ${node}`,
    async () => {
      const list = await client.get<{ items: { status?: { phase?: string } }[] }>(
        `/api/v1/namespaces/${namespace}/pods?fieldSelector=spec.nodeName=${node}`,
      );
      return list.items.filter((p) => p.status?.phase === 'Running').length === PODS;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );

  const build = buildCompiled();
  cleanup.add('compiled build', () => build.remove());
  const bareScript = build.strip(`${ROOT}bench/support/bare-list-watch.ts`);

  // Every process starts together, so all live through the same conditions.
  const agents = [
    { name: 'kube-remedy agent, compiled (dist/, as in the image)', entry: build.main, tag: 'js' },
    {
      name: `kube-remedy agent, compiled, ${AGENT_NODE_OPTIONS} (as the chart runs it)`,
      entry: build.main,
      tag: 'js-tuned',
      nodeOptions: AGENT_NODE_OPTIONS,
    },
    {
      name: 'kube-remedy agent, from the sources (type stripping)',
      entry: `${ROOT}bin/kube-remedy.js`,
      tag: 'ts',
    },
  ].map((spec) => startAgent(spec.name, spec.entry, spec.tag, spec.nodeOptions));
  // The floor: client-node's ListWatch alone, with Node's defaults and with the agent's options.
  const bares = [
    { name: 'bare client-node ListWatch, no-op handlers (compiled)', nodeOptions: undefined },
    {
      name: `bare client-node ListWatch, no-op handlers (compiled), ${AGENT_NODE_OPTIONS}`,
      nodeOptions: AGENT_NODE_OPTIONS,
    },
  ].map((spec) => {
    const child = spawn(process.execPath, [bareScript, cluster.cp.adminKubeconfig, node], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ...(spec.nodeOptions ? { NODE_OPTIONS: spec.nodeOptions } : {}) },
    });
    const bare = { ...spec, child, pods: 0 };
    child.on('message', (message: { pods?: number }) => (bare.pods = message.pods ?? bare.pods));
    cleanup.add(spec.name, () => stopChild(child));
    return bare;
  });
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
    stdio: 'ignore',
  });
  cleanup.add('empty process', () => stopChild(idle));

  function startAgent(name: string, entry: string, tag: string, nodeOptions?: string) {
    const env = {
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      REDIS_URL: scratch.url,
      KUBE_REMEDY_REDIS_KEY_PREFIX: `${scratch.prefix}-${tag}`,
      KUBE_REMEDY_IDENTITY: `bench-agent-${id}-${tag}`,
      KUBE_REMEDY_LOG_FORMAT: 'json',
      KUBE_REMEDY_LOG_LEVEL: 'info',
    };
    const child = spawn(
      process.execPath,
      [
        entry,
        'run',
        '--role',
        'agent',
        '--node-name',
        node,
        '--kubeconfig',
        cluster.cp.adminKubeconfig,
        '--http-port',
        '0',
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cleanup.add(name, () => stopChild(child));
    let log = '';
    const url = new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const match = /"http":"(http:\/\/[^"]+)"/.exec(log);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) =>
        reject(new Error(`${name} exited with ${String(code)}:\n${log}`)),
      );
    });
    return { name, child, url };
  }

  const bases = await Promise.all(agents.map((a) => a.url));
  const started = performance.now();
  const metrics = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const podActors = async (base: string): Promise<number> =>
    gauge(await metrics(base), 'kube_remedy_actors', 'machine="Pod"');
  await waitFor(
    `both agents to hold ${PODS} pod actors and the bare informer ${PODS} pods`,
    async () => {
      if (bares.some((bare) => bare.pods !== PODS)) return false;
      for (const base of bases) {
        if ((await podActors(base)) !== PODS) return false;
        if ((await fetch(`${base}/readyz`)).status !== 200) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  );
  const observedAfter = (performance.now() - started) / 1000;
  const loadObserved = load();
  const processes = [
    ...agents.map((a, i) => ({
      name: `${a.name}, ${PODS} pod actors`,
      pid: a.child.pid ?? 0,
      base: bases[i],
    })),
    ...bares.map((bare) => ({ name: bare.name, pid: bare.child.pid ?? 0, base: undefined })),
    { name: 'empty Node process', pid: idle.pid ?? 0, base: undefined },
  ];
  const heap = async (base: string | undefined): Promise<number> =>
    base === undefined ? NaN : gauge(await metrics(base), 'nodejs_heap_size_used_bytes');
  const observed = await Promise.all(
    processes.map(async (p) => ({ ...rss(p.pid), heap: await heap(p.base) })),
  );
  progress(`pods observed after ${observedAfter.toFixed(1)} s; settling ${SETTLE_SECONDS} s`);
  const maxima = processes.map(() => 0);
  for (let s = 0; s < SETTLE_SECONDS; s++) {
    await sleep(1_000);
    processes.forEach((p, i) => (maxima[i] = Math.max(maxima[i] ?? 0, rss(p.pid).rss)));
  }
  const settled = await Promise.all(
    processes.map(async (p) => ({ ...rss(p.pid), heap: await heap(p.base) })),
  );
  for (const base of bases) {
    if ((await podActors(base)) !== PODS)
      throw new Error(`an agent lost pod actors while settling`);
  }

  // Where the memory goes: RSS of a process that only imports a module, nothing else.
  progress('measuring the RSS of imports alone');
  const importRss = (specifier: string | undefined): number => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      specifier === undefined ? '' : `await import(${JSON.stringify(specifier)});`,
      "const kb = Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);",
      'process.stdout.write(String(kb / 1024));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: build.dir,
      encoding: 'utf8',
    });
    return Number(result.stdout);
  };
  const imports: [string, string | undefined][] = [
    ['nothing (empty Node process)', undefined],
    ['`@kubernetes/client-node`', '@kubernetes/client-node'],
    ['`@kubernetes/client-node/dist/watch.js` alone', '@kubernetes/client-node/dist/watch.js'],
    ['`xstate`', 'xstate'],
    ['`bullmq` (with ioredis)', 'bullmq'],
    [
      'dist/actors/agent.js (the agent role and what it imports)',
      `${build.dir}/dist/actors/agent.js`,
    ],
    [
      'dist/cli/commands/run.js (roles imported when they run)',
      `${build.dir}/dist/cli/commands/run.js`,
    ],
    ['dist/cli/program.js (the whole command line)', `${build.dir}/dist/cli/program.js`],
  ];
  const importRows = imports.map(([what, specifier]) => [what, fmt(importRss(specifier), 1)]);

  const rows = processes.map((p, i) => {
    const o = observed[i] as (typeof observed)[number];
    const s = settled[i] as (typeof settled)[number];
    return [
      p.name,
      fmt(o.rss, 1),
      fmt(s.rss, 1),
      fmt(maxima[i] ?? NaN, 1),
      fmt(s.peak, 1),
      p.base === undefined ? '—' : `${fmt(o.heap / 2 ** 20, 1)} / ${fmt(s.heap / 2 ** 20, 1)}`,
    ];
  });
  // Rows: agents compiled, compiled with the chart's options, from the sources; bare informers
  // with Node's defaults and with the chart's options; the empty process.
  const larger = (i: number): number => Math.max(observed[i]?.rss ?? NaN, settled[i]?.rss ?? NaN);
  const [compiled, tuned, sources] = [larger(0), larger(1), larger(2)];
  const [bareRss, bareTuned] = [settled[3]?.rss ?? NaN, settled[4]?.rss ?? NaN];
  const lines = [
    `### Agent RSS, ${PODS} pods on one kwok node`,
    '',
    machineLine(),
    `Load average when the pods were observed: ${loadObserved}. Pods observed ${fmt(observedAfter, 1)} s after both agents' HTTP servers were up; settling period ${SETTLE_SECONDS} s (RSS sampled every second).`,
    '',
    table(
      [
        'process',
        'RSS when observed (MB)',
        `RSS after ${SETTLE_SECONDS} s (MB)`,
        'max RSS while settling (MB)',
        'peak RSS, VmHWM (MB)',
        'heap used observed / settled (MB)',
      ],
      rows,
    ),
    '',
    `Target agent RSS ≤ ${TARGET_MB} MB (the larger of the two readings): as the chart runs it ${fmt(tuned, 1)} MB, ` +
      `${verdict(tuned <= TARGET_MB)}; compiled with Node's defaults ${fmt(compiled, 1)} MB, ${verdict(compiled <= TARGET_MB)}; ` +
      `from the sources ${fmt(sources, 1)} MB, ${verdict(sources <= TARGET_MB)}. ` +
      `The bare informer alone, with the same options: ${fmt(bareTuned, 1)} MB (${verdict(bareTuned <= TARGET_MB)} as a floor), ` +
      `with Node's defaults ${fmt(bareRss, 1)} MB; the agent over it: +${fmt(tuned - bareTuned, 1)} MB (chart's options), ` +
      `+${fmt(compiled - bareRss, 1)} MB (defaults).`,
    '',
    'MB = MiB (VmRSS / VmHWM from /proc). Agents: `run --role agent --node-name N`, admin kubeconfig,',
    'log level info, real Redis (a prefix each). Compiled = `tsc -p tsconfig.build.json` into a',
    'temporary directory; the bare informer is bench/support/bare-list-watch.ts with its types',
    'stripped (plain JavaScript), so both compiled rows pay no type-stripping cost.',
    '',
    'Where it goes: RSS of a compiled process that only imports one module and exits.',
    '',
    table(['imported', 'RSS (MB)'], importRows),
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await cleanup.run();
}
