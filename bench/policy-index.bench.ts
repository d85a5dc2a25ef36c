/**
 * "Which policy governs this object": the PolicyIndex against a naive linear scan over every
 * policy, in the same run, on the same policies and objects.
 *
 *   node --expose-gc bench/policy-index.bench.ts        (or: npm run bench policy-index)
 *
 * 1,000 policies (10 in each of 99 team namespaces, 10 node policies in kube-remedy-system) and
 * 100,000 objects (99,000 pods and deployments, 1,000 nodes). Both answer every lookup and must
 * agree; the run fails if they do not. Reported: lookups per second (a tight loop), p50/p99 of
 * single lookups (timed one by one), heap with all objects tracked, and the cost of re-evaluating
 * a namespace when one of its policies or an object's labels change.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parsePolicy, policyKey, type Policy } from '../src/policy/policy.ts';
import { PolicyIndex, type Governance, type ObjectIdentity } from '../src/policy/policy-index.ts';
import { compileSelector, type CompiledSelector } from '../src/policy/selector.ts';

const AGENT_NAMESPACE = 'kube-remedy-system';
const TEAM_NAMESPACES = 99;
const POLICIES_PER_NAMESPACE = 10;
const NODE_POLICIES = 10;
const WORKLOADS_PER_NAMESPACE = 1_000;
const NODES = 1_000;
const LOOKUPS = 200_000;
const APPS = 20;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with --expose-gc: node --expose-gc bench/policy-index.bench.ts\n');
  process.exit(2);
}

/** Deterministic pseudo-random numbers, so every run measures the same workload. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
const rand = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

function policy(namespace: string, name: string, selector: Record<string, unknown>): Policy {
  const kinds = selector['kinds'] as string[] | undefined;
  const nodes = kinds?.includes('Node') === true;
  const result = parsePolicy({
    metadata: { namespace, name, generation: 1 },
    spec: {
      selector,
      detections: [
        nodes
          ? { type: 'NotReady', action: 'cordon' }
          : kinds?.includes('Pod') === false
            ? { type: 'RolloutFailed', action: 'rollback' }
            : { type: 'CrashLoopBackOff', action: 'restartPod' },
      ],
    },
  });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.policy;
}

/**
 * Ten policies of one team: a catch-all, per-app ones, tiered and expression-based ones. Some
 * overlap at equal specificity on purpose, so conflicts (the longest lookups) are part of the mix.
 */
function teamPolicies(namespace: string): Policy[] {
  return [
    policy(namespace, 'everything', {}),
    policy(namespace, 'pods', { kinds: ['Pod'] }),
    policy(namespace, 'app-0', { matchLabels: { app: 'app-0' } }),
    policy(namespace, 'app-1', { matchLabels: { app: 'app-1' } }),
    policy(namespace, 'app-2-pods', { kinds: ['Pod'], matchLabels: { app: 'app-2' } }),
    policy(namespace, 'frontend', { kinds: ['Pod'], matchLabels: { tier: 'frontend' } }),
    policy(namespace, 'app-3-frontend', { matchLabels: { app: 'app-3', tier: 'frontend' } }),
    policy(namespace, 'not-batch', {
      kinds: ['Deployment'],
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }],
    }),
    policy(namespace, 'canary', {
      kinds: ['Deployment'],
      matchExpressions: [{ key: 'track', operator: 'In', values: ['canary'] }],
    }),
    policy(namespace, 'app-4-stable', {
      matchLabels: { app: 'app-4' },
      matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
    }),
  ];
}

const policies: Policy[] = [];
const namespaces = Array.from({ length: TEAM_NAMESPACES }, (_, i) => `team-${i}`);
for (const namespace of namespaces) policies.push(...teamPolicies(namespace));
for (let i = 0; i < NODE_POLICIES; i += 1) {
  policies.push(
    policy(AGENT_NAMESPACE, `nodes-${i}`, {
      kinds: ['Node'],
      ...(i === 0 ? {} : { matchLabels: { pool: `pool-${i}` } }),
    }),
  );
}

const objects: ObjectIdentity[] = [];
for (const namespace of namespaces) {
  for (let i = 0; i < WORKLOADS_PER_NAMESPACE; i += 1) {
    objects.push({
      kind: i % 10 === 0 ? 'Deployment' : 'Pod',
      namespace,
      name: `w-${i}`,
      labels: {
        app: `app-${Math.floor(rand() * APPS)}`,
        tier: pick(['frontend', 'backend', 'batch']),
        track: pick(['stable', 'stable', 'stable', 'canary']),
        'pod-template-hash': Math.floor(rand() * 1e9).toString(36),
      },
    });
  }
}
for (let i = 0; i < NODES; i += 1) {
  objects.push({
    kind: 'Node',
    name: `node-${i}`,
    labels: { pool: `pool-${i % 12}`, 'kubernetes.io/hostname': `node-${i}` },
  });
}

/** The baseline: every lookup scans every policy, checking namespace, kind, labels, rank. */
class LinearScan {
  private readonly entries: { policy: Policy; selector: CompiledSelector }[];

  constructor(all: Policy[]) {
    this.entries = all.map((p) => ({ policy: p, selector: compileSelector(p.selector) }));
  }

  lookup(object: ObjectIdentity): Governance {
    let best = -1;
    let winners: Policy[] = [];
    for (const { policy: candidate, selector } of this.entries) {
      const inScope =
        object.kind === 'Node'
          ? candidate.ref.namespace === AGENT_NAMESPACE && selector.kinds.has('Node')
          : candidate.ref.namespace === object.namespace;
      if (!inScope || !selector.kinds.has(object.kind)) continue;
      if (!selector.matches(object.labels ?? {})) continue;
      if (selector.rank > best) {
        best = selector.rank;
        winners = [candidate];
      } else if (selector.rank === best) {
        winners.push(candidate);
      }
    }
    if (winners.length === 0) return { state: 'ungoverned' };
    if (winners.length === 1) return { state: 'governed', policy: (winners[0] as Policy).ref };
    const sorted = winners
      .map((p) => p.ref)
      .sort((a, b) => policyKey(a).localeCompare(policyKey(b)));
    return { state: 'conflict', policies: sorted };
  }
}

const describeGovernance = (g: Governance): string =>
  g.state === 'governed'
    ? policyKey(g.policy)
    : g.state === 'conflict'
      ? `conflict:${g.policies.map(policyKey).join(',')}`
      : 'none';

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1_048_576;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface LookupStats {
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

function measure(
  lookup: (object: ObjectIdentity) => Governance,
  sample: ObjectIdentity[],
): LookupStats {
  // Warm up the JIT on the same code path.
  for (let i = 0; i < 20_000; i += 1) lookup(sample[i % sample.length] as ObjectIdentity);
  // Throughput: a tight loop, no per-call timer.
  let sink = 0;
  const start = performance.now();
  for (const object of sample) sink += lookup(object).state.length;
  const elapsedMs = performance.now() - start;
  // Latency: each call timed on its own (the timer adds ~50 ns to each).
  const latencies = new Float64Array(sample.length);
  for (let i = 0; i < sample.length; i += 1) {
    const t0 = process.hrtime.bigint();
    sink += lookup(sample[i] as ObjectIdentity).state.length;
    latencies[i] = Number(process.hrtime.bigint() - t0) / 1_000;
  }
  latencies.sort();
  if (sink === 0) throw new Error('unreachable: keeps the loops from being optimised away');
  return {
    opsPerSecond: sample.length / (elapsedMs / 1_000),
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
  };
}

const heapBefore = heapMb();
const buildStart = performance.now();
let changes = 0;
const index = new PolicyIndex({ agentNamespace: AGENT_NAMESPACE, onChange: () => (changes += 1) });
for (const p of policies) index.setPolicy(p);
for (const object of objects) index.setObject(object);
const buildMs = performance.now() - buildStart;
const buildChanges = changes;
const heapIndex = heapMb() - heapBefore;

const linear = new LinearScan(policies);
const heapLinear = heapMb() - heapBefore - heapIndex;

const sample = Array.from({ length: LOOKUPS }, () => pick(objects));

// Both must give the same answer for every object before their speed means anything.
let disagreements = 0;
const outcomes = { governed: 0, conflict: 0, ungoverned: 0 };
for (const object of objects) {
  const indexed = index.lookup(object);
  outcomes[indexed.state] += 1;
  if (describeGovernance(indexed) !== describeGovernance(linear.lookup(object))) disagreements += 1;
}
if (disagreements > 0) {
  process.stderr.write(`index and linear scan disagree on ${disagreements} objects\n`);
  process.exit(1);
}

const indexed = measure((object) => index.lookup(object), sample);
const scanned = measure((object) => linear.lookup(object), sample);

// Updates: a policy edit re-evaluates its namespace's tracked objects; a label change one object.
const editSamples = 200;
const editStart = performance.now();
for (let i = 0; i < editSamples; i += 1) {
  const namespace = namespaces[i % namespaces.length] as string;
  index.setPolicy(
    policy(namespace, 'app-0', { matchLabels: { app: i % 2 === 0 ? 'app-5' : 'app-0' } }),
  );
}
const policyEditUs = ((performance.now() - editStart) * 1_000) / editSamples;
const labelStart = performance.now();
for (let i = 0; i < LOOKUPS; i += 1) {
  const object = objects[i % (objects.length - NODES)] as ObjectIdentity;
  index.setObject({ ...object, labels: { ...object.labels, app: `app-${i % APPS}` } });
}
const labelChangeUs = ((performance.now() - labelStart) * 1_000) / LOOKUPS;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const lines = [
  `machine: ${availableParallelism()} cores (${cpu}), ${fmt(totalmem() / 2 ** 30, 0)} GiB; node ${process.version}; ${new Date().toISOString()}`,
  `workload: ${policies.length} policies (${POLICIES_PER_NAMESPACE} per namespace in ${TEAM_NAMESPACES} namespaces + ${NODE_POLICIES} node policies), ${objects.length.toLocaleString('en-US')} objects tracked; ${LOOKUPS.toLocaleString('en-US')} lookups`,
  `answers: ${outcomes.governed} governed, ${outcomes.conflict} in conflict, ${outcomes.ungoverned} ungoverned; index and linear scan agree on all ${objects.length.toLocaleString('en-US')}`,
  '',
  '| lookup                 |     ops/s |  p50 µs |  p99 µs |',
  '| ---------------------- | --------: | ------: | ------: |',
  `| PolicyIndex            | ${fmt(indexed.opsPerSecond, 0).padStart(9)} | ${fmt(indexed.p50Us, 2).padStart(7)} | ${fmt(indexed.p99Us, 2).padStart(7)} |`,
  `| linear scan (baseline) | ${fmt(scanned.opsPerSecond, 0).padStart(9)} | ${fmt(scanned.p50Us, 2).padStart(7)} | ${fmt(scanned.p99Us, 2).padStart(7)} |`,
  '',
  `speed-up: ${fmt(indexed.opsPerSecond / scanned.opsPerSecond)}x`,
  `heap: index with ${objects.length.toLocaleString('en-US')} tracked objects ${fmt(heapIndex)} MB (${fmt((heapIndex * 1_048_576) / objects.length, 0)} B/object; the label maps are the caller's, shared, not counted); linear scan's policies ${fmt(heapLinear, 2)} MB`,
  `build: ${fmt(buildMs, 0)} ms for ${policies.length} policies + ${objects.length.toLocaleString('en-US')} objects (${buildChanges.toLocaleString('en-US')} change notifications)`,
  `updates: policy edit (re-evaluates its namespace's ~${WORKLOADS_PER_NAMESPACE} objects) ${fmt(policyEditUs, 0)} µs; object label change ${fmt(labelChangeUs, 2)} µs`,
];
process.stdout.write(`${lines.join('\n')}\n`);
