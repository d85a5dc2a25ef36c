import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { bullPrefix } from '../../../src/effects/queues.ts';
import type { SimulationResult } from '../../../src/simulate/index.ts';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  makePodCrashLoop,
  type List,
} from '../../cluster/fixtures.ts';
import { createPolicy, installCrd, policyManifest } from '../../integration/policy/support.ts';
import { cleanEnv, runCli, startCli } from '../../support/cli.ts';
import { eventually } from '../../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../../support/process.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const NOTIFICATIONS = new Set(['notify', 'openTicket', 'collectEvidence']);

describe('record, then simulate --replay', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('reproduces the decisions the live agent made in the recorded window', async () => {
    scratch = await redisForTest();
    const client = adminClient();
    const kubeconfig = inject('kube').kubeconfig;
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: 'replay' });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    const spec = {
      selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
      mode: 'auto',
      detections: [
        {
          type: 'CrashLoopBackOff',
          threshold: 3,
          window: '10m',
          action: 'restartPod',
          deleteBarePods: true,
        },
      ],
    };
    await createPolicy(client, ns, 'restart-cart', spec);
    await createPod(client, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });

    // Record the namespace; its own namespace stands in for kube-remedy's, so no node policy of
    // another test is in the recording.
    const dir = await mkdtemp(join(tmpdir(), 'kube-remedy-replay-'));
    const recording = join(dir, 'window.jsonl');
    const recorder = startCli(
      [
        'record',
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        ns,
        '--agent-namespace',
        ns,
        '--duration',
        '10m',
        '-o',
        recording,
      ],
      cleanEnv(),
    );
    let progress = '';
    onTestFailed(() => {
      process.stderr.write(`--- kube-remedy record ---\n${progress}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: recorder.stderr }).on('line', (line) => {
        progress += `${line}\n`;
        if (line.includes('watching for changes')) resolve();
      });
      recorder.once('exit', (code) =>
        reject(new Error(`record exited with ${String(code)}:\n${progress}`)),
      );
    });

    // The live agent, as test/e2e/agent.test.ts runs it.
    const agent = await startKubeRemedy(
      ['--role', 'agent', '--node-name', node, '--kubeconfig', kubeconfig],
      {
        REDIS_URL: scratch.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix,
        KUBE_REMEDY_IDENTITY: `agent-${node}`,
      },
    );
    processes.push(agent);
    await waitReady(agent);

    for (const restartCount of [1, 2, 3, 4, 5, 6]) {
      const exists =
        (await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status === 200;
      if (!exists) break;
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // The agent restarted the pod (deleted it): the recording holds that too.
    await eventually(async () => {
      const pods = await client.get<List<unknown>>(
        `/api/v1/namespaces/${ns}/pods?fieldSelector=metadata.name=cart-1`,
      );
      expect(pods.items).toHaveLength(0);
    }, 30_000);

    const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
    const queue = new Queue(`effects-kubernetes-agent-${node}`, {
      connection,
      prefix: bullPrefix(scratch.prefix),
    });
    let live: string[][];
    try {
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
      live = jobs
        .map((job) => {
          const data = job.data as { actorKey: string; step: string; effect: { kind: string } };
          return [data.actorKey, data.step, data.effect.kind];
        })
        .sort();
    } finally {
      await queue.close();
      await connection.quit();
    }
    expect(live).toEqual([[`Pod/${ns}/cart-1`, 'remediate-1', 'restartPod']]);

    recorder.kill('SIGINT');
    const [code] = (await once(recorder, 'exit')) as [number | null];
    expect(code, progress).toBe(0);
    expect(progress).toMatch(/recording: done after .*, \d+ events \(pods \d+/);

    // Backtest: the same window and the same policy, given as a file.
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, stringify(policyManifest(ns, 'restart-cart', spec)));
    const replay = await runCli([
      'simulate',
      '--replay',
      recording,
      '--policy',
      policyFile,
      '-o',
      'json',
    ]);
    expect(replay.status, replay.stderr).toBe(0);
    const result = JSON.parse(replay.stdout) as SimulationResult;
    const replayed = result.effects
      .filter((e) => !NOTIFICATIONS.has(e.kind))
      .map((e) => [e.object, e.step, e.kind])
      .sort();
    expect(replayed, await readFile(recording, 'utf8')).toEqual(live);
    expect(result.effects[0]?.reason).toMatch(
      /container "app" is in CrashLoopBackOff: .*restarts: 3\)$/,
    );
  });
});
