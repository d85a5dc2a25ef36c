/**
 * The scaler on a real control plane and a real Prometheus whose history was backfilled with
 * promtool (test/support/prometheus-history.ts): each Deployment is named after the scenario its
 * signals read (`scenario="$deployment"`), and the scaler's clock stands at the end of that
 * history (or before it), so windows are tested on fixed data without waiting. Scale proposals
 * are carried out by the real `scale` processor against the API server.
 */
import { describe, expect, inject, it } from 'vitest';
import { PrometheusHttpClient } from '../../../src/adapters/prometheus/index.ts';
import { kubernetesProcessors } from '../../../src/effects/kubernetes/index.ts';
import type { Mode } from '../../../src/policy/vocabulary.ts';
import {
  HpaIndex,
  Scaler,
  type ScaledDeployment,
  type ScalingDecision,
  type ScalingPolicy,
  type ScalingProposal,
} from '../../../src/scaling/index.ts';
import {
  adminClient,
  createDeployment,
  freshNamespace,
  type ObjectMeta,
} from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import type { ScenarioName } from '../../support/prometheus-history.ts';

const MINUTE = 60_000;
const { url, historyAnchorMs: anchor } = inject('prometheus');
const prometheus = new PrometheusHttpClient({ url, timeoutMs: 10_000 });
const kc = adminKubeConfig();
const processors = kubernetesProcessors({ kc });

/** The example policy's signals on the backfilled gauges: 2 of 3, 2m up, 10m down, step 2, 1..6. */
function scalingPolicy(changes: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return {
    minReplicas: 1,
    maxReplicas: 6,
    step: 2,
    require: 2,
    cooldownMs: 3 * MINUTE,
    stabilization: { scaleUpMs: 2 * MINUTE, scaleDownMs: 10 * MINUTE },
    onUnavailable: 'hold',
    signals: [
      {
        name: 'cpu',
        query: 'sum(scaling_cpu_cores{scenario="$deployment"})',
        per: 'replica',
        thresholds: { up: 0.8, down: 0.3 },
      },
      {
        name: 'latency',
        query: 'max(scaling_latency_seconds{scenario="$deployment"})',
        per: 'total',
        thresholds: { up: 0.5, down: 0.15 },
      },
      {
        name: 'queueDepth',
        query: 'sum(scaling_queue_depth{scenario="$deployment"})',
        per: 'total',
        thresholds: { up: 1000, down: 50 },
      },
    ],
    ...changes,
  };
}

interface DeploymentRead {
  metadata: ObjectMeta;
  spec: { replicas: number };
}

async function readDeployment(namespace: string, name: string): Promise<DeploymentRead> {
  return adminClient().get<DeploymentRead>(
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
  );
}

/**
 * A scaler over one Deployment of a fresh namespace, its HPAs watched for real, its clock at
 * `at`. `tick()` re-reads the Deployment first, as the controller's observations would.
 */
async function scalerFor(
  scenario: ScenarioName,
  options: { replicas: number; policy?: ScalingPolicy; mode?: Mode; at?: number },
) {
  const client = adminClient();
  const namespace = await freshNamespace(client, { prefix: 'scaling' });
  await createDeployment(client, namespace, { name: scenario, replicas: options.replicas });
  const { logger } = captureLogger('info');
  const hpas = new HpaIndex();
  const watch = hpas.watch(kc, { logger, namespace });
  await watch.synced;

  const policyRef = { namespace, name: 'scaling' };
  const listed: ScaledDeployment[] = [];
  const refresh = async () => {
    const read = await readDeployment(namespace, scenario);
    listed[0] = {
      namespace,
      name: scenario,
      uid: read.metadata.uid,
      replicas: read.spec.replicas,
      policy: {
        ref: policyRef,
        mode: options.mode ?? 'auto',
        scaling: options.policy ?? scalingPolicy(),
        gitops: {
          provider: 'github',
          repository: 'acme/deploy',
          branch: 'main',
          path: 'shop.yaml',
        },
      },
    };
  };
  const proposals: ScalingProposal[] = [];
  const clock = { now: options.at ?? anchor };
  const scaler = new Scaler({
    prometheus,
    deployments: () => listed,
    hpas: hpas.lookup,
    sink: (proposal) => {
      proposals.push(proposal);
    },
    logger,
    stepMs: 15_000,
    now: () => clock.now,
  });
  return {
    namespace,
    policyRef,
    hpas,
    scaler,
    proposals,
    clock,
    stop: () => watch.stop(),
    async tick(): Promise<ScalingDecision> {
      await refresh();
      const decisions = await scaler.tick();
      const decision = decisions.get(`Deployment/${namespace}/${scenario}`);
      if (decision === undefined) throw new Error('no decision');
      return decision;
    },
    replicas: async () => (await readDeployment(namespace, scenario)).spec.replicas,
  };
}

/** Carries out a proposal's effect with the real Kubernetes `scale` processor. */
async function carryOut(proposal: ScalingProposal | undefined) {
  if (proposal?.kind !== 'scale' || proposal.effect === null) {
    throw new Error(`expected a scale proposal with an effect, got ${JSON.stringify(proposal)}`);
  }
  const scale = processors.scale;
  return scale(proposal.effect, {
    jobId: 'scaling-test',
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  });
}

function verdicts(decision: ScalingDecision): Record<string, string> {
  return Object.fromEntries(decision.signals.map((s) => [s.name, s.verdict]));
}

describe('the scaler on a real cluster and Prometheus', () => {
  it('scales a Deployment out when two of three signals stay high for the window, and the API server has it', async () => {
    const run = await scalerFor('two-high', { replicas: 2 });
    try {
      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'scaleOut', from: 2, to: 4 });
      expect(verdicts(decision)).toEqual({ cpu: 'high', latency: 'high', queueDepth: 'normal' });
      expect(decision.reason).toBe(
        'scale out from 2 to 4 replicas: 2 of 3 signals have been above their up threshold for at least 2m ' +
          '(cpu 1.2 per replica > 0.8, latency 0.8 > 0.5) and 2 must agree; step 2 limits this decision (5 wanted)',
      );

      expect(run.proposals).toHaveLength(1);
      const [proposal] = run.proposals;
      expect(proposal).toMatchObject({
        kind: 'scale',
        actorKey: `Deployment/${run.namespace}/two-high`,
        event: { type: 'SCALE.PROPOSED', at: anchor, from: 2, to: 4, reason: decision.reason },
        effect: { effect: { kind: 'scale', replicas: 4, fromReplicas: 2 } },
      });
      const result = await carryOut(proposal);
      expect(result.outcome).toMatch(/4/);
      expect(await run.replicas()).toBe(4);

      // The next round sees 4 replicas: the same CPU is 0.6 per replica, within its band.
      const next = await run.tick();
      expect(next).toMatchObject({ decision: 'hold', from: 4, to: 4 });
      expect(verdicts(next)).toEqual({ cpu: 'normal', latency: 'high', queueDepth: 'normal' });
      expect(next.signals[0]?.why).toBe('0.6 per replica is between 0.3 and 0.8');
      expect(run.proposals).toHaveLength(1);
    } finally {
      await run.stop();
    }
  });

  it('does not scale out when only one signal is high', async () => {
    const run = await scalerFor('one-high', { replicas: 2 });
    try {
      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'hold', from: 2, to: 2 });
      expect(verdicts(decision)).toEqual({ cpu: 'high', latency: 'normal', queueDepth: 'normal' });
      expect(decision.reason).toBe(
        'hold at 2 replicas: only 1 of 3 signals (cpu) has been above the up threshold for 2m, and 2 must agree',
      );
      expect(run.proposals).toEqual([]);
      expect(await run.replicas()).toBe(2);
    } finally {
      await run.stop();
    }
  });

  it('does not scale out before the signals have been high for the whole window', async () => {
    // Four minutes before the end of the history, cpu and latency have been high for one minute.
    const run = await scalerFor('two-high', { replicas: 2, at: anchor - 4 * MINUTE });
    try {
      const decision = await run.tick();
      expect(decision.decision).toBe('hold');
      expect(decision.signals.map((s) => s.why)).toEqual([
        'above 0.8 per replica (1.2) for only 1m of the 2m needed',
        'above 0.5 (0.8) for only 1m of the 2m needed',
        '500 is between 50 and 1000',
      ]);
      expect(run.proposals).toEqual([]);
    } finally {
      await run.stop();
    }
  });

  it('scales in only after the longer scale-down window, and the API server has it', async () => {
    // cpu and latency are low from 12 minutes before the end of the history.
    const run = await scalerFor('low-load', { replicas: 4, at: anchor - 6 * MINUTE });
    try {
      const early = await run.tick();
      expect(early.decision).toBe('hold');
      expect(early.signals[0]?.why).toBe(
        'below 0.3 per replica (0.1) for only 6m of the 10m needed',
      );
      expect(run.proposals).toEqual([]);

      run.clock.now = anchor;
      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'scaleIn', from: 4, to: 2 });
      expect(decision.reason).toBe(
        'scale in from 4 to 2 replicas: 2 of 3 signals have been below their down threshold for at least 10m ' +
          '(cpu 0.1 per replica < 0.3, latency 0.05 < 0.15) and 2 must agree; queueDepth needs at least 2 to stay below the up threshold',
      );
      await carryOut(run.proposals[0]);
      expect(await run.replicas()).toBe(2);
    } finally {
      await run.stop();
    }
  });

  it("holds on signals that fail, in Prometheus's words, and reports them for the policy status", async () => {
    const base = scalingPolicy();
    const [cpu, latency, queueDepth] = base.signals as [
      ScalingPolicy['signals'][number],
      ScalingPolicy['signals'][number],
      ScalingPolicy['signals'][number],
    ];
    const policy = scalingPolicy({
      signals: [
        cpu,
        { ...latency, query: 'max(scaling_latency_seconds{scenario="$deployment"}[5m)' },
        { ...queueDepth, query: 'sum(scaling_queue_depth_nobody_serves{scenario="$deployment"})' },
      ],
    });
    const run = await scalerFor('two-high', { replicas: 2, policy });
    try {
      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'hold', from: 2, to: 2 });
      expect(verdicts(decision)).toEqual({
        cpu: 'high',
        latency: 'unavailable',
        queueDepth: 'unavailable',
      });
      const latencyWhy = decision.signals[1]?.why ?? '';
      expect(latencyWhy).toMatch(
        /^Prometheus rejected the query "max\(scaling_latency_seconds\{scenario="two-high"\}\[5m\)": .*parse error/,
      );
      expect(decision.signals[2]?.why).toBe(
        'no data: the query returned no series (check the metric name and its labels)',
      );
      expect(decision.reason).toBe(
        `hold at 2 replicas: only 1 of 3 signals can be read and 2 must agree (latency: ${latencyWhy}; queueDepth: ${decision.signals[2]?.why})`,
      );
      expect(run.proposals).toEqual([]);
      expect(run.scaler.problems(run.policyRef)).toEqual([
        {
          reason: 'SignalsUnavailable',
          message: `signal latency for Deployment two-high: ${latencyWhy}; signal queueDepth for Deployment two-high: ${decision.signals[2]?.why}`,
        },
      ]);
    } finally {
      await run.stop();
    }
  });

  it('escalates once when too few signals can be read and the policy says escalate', async () => {
    const base = scalingPolicy();
    const policy = scalingPolicy({
      onUnavailable: 'escalate',
      signals: base.signals.map((signal, i) =>
        i === 0 ? signal : { ...signal, query: `${signal.query} +` },
      ),
    });
    const run = await scalerFor('two-high', { replicas: 2, policy });
    try {
      const first = await run.tick();
      expect(first.decision).toBe('escalate');
      expect(first.reason).toMatch(
        /^escalate: only 1 of 3 signals can be read and 2 must agree \(latency: Prometheus rejected the query/,
      );
      const second = await run.tick();
      expect(second.decision).toBe('escalate');
      expect(run.proposals.map((p) => p.kind)).toEqual(['escalate']);
      expect(await run.replicas()).toBe(2);
    } finally {
      await run.stop();
    }
  });

  it('holds and reports the conflict when an HPA targets the Deployment', async () => {
    const run = await scalerFor('two-high', { replicas: 2 });
    try {
      await adminClient().create(
        `/apis/autoscaling/v2/namespaces/${run.namespace}/horizontalpodautoscalers`,
        {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'two-high-hpa' },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'two-high' },
            minReplicas: 1,
            maxReplicas: 10,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
              },
            ],
          },
        },
      );
      await eventually(() => expect(run.hpas.hpaFor(run.namespace, 'two-high')).not.toBeNull());

      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'hold', from: 2, to: 2 });
      expect(decision.reason).toBe(
        'hold at 2 replicas: HorizontalPodAutoscaler two-high-hpa targets this Deployment and owns its replica count, so kube-remedy does not scale it',
      );
      expect(run.proposals).toEqual([]);
      expect(run.scaler.problems(run.policyRef)).toEqual([
        {
          reason: 'HorizontalPodAutoscalerConflict',
          message: `HorizontalPodAutoscaler ${run.namespace}/two-high-hpa targets Deployment two-high; kube-remedy does not scale a Deployment an HPA owns (remove the HPA, or select the Deployment out of spec.scaling)`,
        },
      ]);
      expect(await run.replicas()).toBe(2);
    } finally {
      await run.stop();
    }
  });

  it('in mode gitops, proposes the change as a pull request and leaves the replicas alone', async () => {
    const run = await scalerFor('two-high', { replicas: 2, mode: 'gitops' });
    try {
      const decision = await run.tick();
      expect(decision).toMatchObject({ decision: 'scaleOut', from: 2, to: 4 });
      const [proposal] = run.proposals;
      expect(proposal?.kind).toBe('scale');
      expect(proposal?.kind === 'scale' ? proposal.effect : null).toMatchObject({
        actorKey: `Deployment/${run.namespace}/two-high`,
        effect: {
          kind: 'openPullRequest',
          target: { kind: 'Deployment', namespace: run.namespace, name: 'two-high' },
          proposes: { kind: 'scale', from: 2, to: 4 },
          reason: decision.reason,
          gitops: { repository: 'acme/deploy', path: 'shop.yaml' },
        },
      });
      expect(await run.replicas()).toBe(2);

      // While the pull request waits, the next round asks nothing more: the cooldown holds it.
      run.clock.now = anchor + 15_000;
      const next = await run.tick();
      expect(next.decision).toBe('hold');
      expect(next.reason).toMatch(
        /^hold at 2 replicas: would scale out to 4 \(.*\), but the last scale was 15s ago and the cooldown of 3m lasts until /,
      );
      expect(run.proposals).toHaveLength(1);
    } finally {
      await run.stop();
    }
  });

  it('asks Prometheus once per distinct query in a round, however many Deployments share it', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'scaling' });
    await createDeployment(client, namespace, { name: 'a', replicas: 2 });
    await createDeployment(client, namespace, { name: 'b', replicas: 2 });
    // One shared series for both (no $deployment in the queries).
    const shared = scalingPolicy();
    const policy = scalingPolicy({
      signals: shared.signals.map((signal) => ({
        ...signal,
        query: signal.query.replace('$deployment', 'two-high'),
      })),
    });
    const asked: string[] = [];
    const counting = {
      instantQuery: prometheus.instantQuery.bind(prometheus),
      rangeQuery: (query: string, options: Parameters<PrometheusHttpClient['rangeQuery']>[1]) => {
        asked.push(query);
        return prometheus.rangeQuery(query, options);
      },
    };
    const listed: ScaledDeployment[] = await Promise.all(
      ['a', 'b'].map(async (name) => ({
        namespace,
        name,
        uid: (await readDeployment(namespace, name)).metadata.uid,
        replicas: 2,
        policy: { ref: { namespace, name: 'shared' }, mode: 'auto' as const, scaling: policy },
      })),
    );
    const proposals: ScalingProposal[] = [];
    const scaler = new Scaler({
      prometheus: counting,
      deployments: () => listed,
      hpas: () => null,
      sink: (proposal) => {
        proposals.push(proposal);
      },
      logger: captureLogger().logger,
      stepMs: 15_000,
      now: () => anchor,
    });
    const decisions = await scaler.tick();
    expect([...decisions.values()].map((d) => d.decision)).toEqual(['scaleOut', 'scaleOut']);
    expect(asked).toHaveLength(3);
    expect(new Set(asked).size).toBe(3);
    expect(proposals.map((p) => p.actorKey).sort()).toEqual([
      `Deployment/${namespace}/a`,
      `Deployment/${namespace}/b`,
    ]);
  });
});
