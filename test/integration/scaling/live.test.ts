/**
 * The scaler loop as it runs in the controller, end to end, in real time: a test exporter serves
 * the signals, the test Prometheus scrapes it every second, the scaler reads windows of a few
 * seconds on its own timer, and its sink carries the proposal out with the real `scale`
 * processor, so the Deployment's replicas change on the API server.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PrometheusHttpClient } from '../../../src/adapters/prometheus/index.ts';
import { kubernetesProcessors } from '../../../src/effects/kubernetes/index.ts';
import {
  HpaIndex,
  Scaler,
  type ScaledDeployment,
  type ScalingDecision,
  type ScalingProposal,
} from '../../../src/scaling/index.ts';
import { adminClient, createDeployment, freshNamespace } from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { startExporter, type TestExporter } from '../../support/prometheus-exporter.ts';

const kc = adminKubeConfig();
const scale = kubernetesProcessors({ kc }).scale;

describe('the scaler loop, live', () => {
  let exporter: TestExporter;
  beforeAll(async () => {
    exporter = await startExporter();
  });
  afterAll(async () => {
    await exporter.close();
  });

  it('scales a Deployment out once a second signal agrees, through the scale processor', async () => {
    const client = adminClient();
    const namespace = await freshNamespace(client, { prefix: 'scaling-live' });
    await createDeployment(client, namespace, { name: 'web', replicas: 2 });
    const read = async () =>
      client.get<{ metadata: { uid: string }; spec: { replicas: number } }>(
        `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
      );

    const labels = { deployment: 'web' };
    const gauge = (metric: string) =>
      `sum(${metric}{${exporter.selector},deployment="$deployment"})`;
    exporter.set('live_cpu_cores', 1.0, labels); // 0.5 per replica: normal
    exporter.set('live_latency_seconds', 0.2, labels);
    exporter.set('live_queue_depth', 100, labels);
    await exporter.scraped(`live_queue_depth{${exporter.selector}}`, (v) => v === 100);

    const deployment: ScaledDeployment = {
      namespace,
      name: 'web',
      uid: (await read()).metadata.uid,
      replicas: 2,
      policy: {
        ref: { namespace, name: 'web-scaling' },
        mode: 'auto',
        scaling: {
          minReplicas: 1,
          maxReplicas: 5,
          step: 2,
          require: 2,
          cooldownMs: 60_000,
          stabilization: { scaleUpMs: 3_000, scaleDownMs: 30_000 },
          onUnavailable: 'hold',
          signals: [
            {
              name: 'cpu',
              query: gauge('live_cpu_cores'),
              per: 'replica',
              thresholds: { up: 0.8, down: 0.3 },
            },
            {
              name: 'latency',
              query: gauge('live_latency_seconds'),
              per: 'total',
              thresholds: { up: 0.5, down: 0.1 },
            },
            {
              name: 'queueDepth',
              query: gauge('live_queue_depth'),
              per: 'total',
              thresholds: { up: 1000, down: 10 },
            },
          ],
        },
      },
    };

    const { logger } = captureLogger('info');
    const decisions: ScalingDecision[] = [];
    const proposals: ScalingProposal[] = [];
    const hpas = new HpaIndex();
    const scaler = new Scaler({
      prometheus: new PrometheusHttpClient({ url: inject('prometheus').url, timeoutMs: 5_000 }),
      deployments: () => [deployment],
      hpas: hpas.lookup,
      logger,
      intervalMs: 1_000,
      stepMs: 1_000,
      staleAfterMs: 5_000,
      onDecision: (_deployment, decision) => decisions.push(decision),
      // The runtime's job: here the proposal goes straight to the Kubernetes processor.
      sink: async (proposal) => {
        proposals.push(proposal);
        if (proposal.kind !== 'scale' || proposal.effect === null) return;
        await scale(proposal.effect, {
          jobId: 'live-scale',
          signal: new AbortController().signal,
          logger,
          attempt: 1,
        });
        deployment.replicas = (await read()).spec.replicas;
      },
    });
    scaler.start();
    try {
      // One signal high for longer than the window: judged high, and nothing happens.
      exporter.set('live_cpu_cores', 3.0, labels); // 1.5 per replica
      const lonely = await eventually(() => {
        const last = decisions[decisions.length - 1];
        expect(last?.signals[0]?.verdict).toBe('high');
        return last as ScalingDecision;
      }, 30_000);
      expect(lonely.decision).toBe('hold');
      expect(lonely.reason).toMatch(/only 1 of 3 signals \(cpu\) has been above the up threshold/);
      expect(proposals).toEqual([]);
      expect((await read()).spec.replicas).toBe(2);

      // A second signal agrees: once it has held for the window, the Deployment scales out.
      exporter.set('live_latency_seconds', 0.9, labels);
      await eventually(async () => expect((await read()).spec.replicas).toBe(4), 30_000, 200);
      expect(proposals).toHaveLength(1);
      expect(proposals[0]?.decision).toMatchObject({ decision: 'scaleOut', from: 2, to: 4 });
      expect(proposals[0]?.decision.reason).toMatch(
        /^scale out from 2 to 4 replicas: 2 of 3 signals have been above their up threshold for at least 3s \(cpu 1.5 per replica > 0.8, latency 0.9 > 0.5\)/,
      );
    } finally {
      await scaler.stop();
    }
  });
});
