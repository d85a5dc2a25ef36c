import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Deployment } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { effectJobId, type EffectJob } from '../../../src/effects/catalogue.ts';
import { controlStreamKey } from '../../../src/effects/control-stream.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { adminClient, createDeployment, freshNamespace, waitFor } from '../../cluster/fixtures.ts';
import { eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const WORKER = fileURLToPath(new URL('../../support/effect-worker-process.ts', import.meta.url));

describe('a worker killed in the middle of a job', () => {
  let scratch: RedisForTest | undefined;
  const children: ChildProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  function startWorker(env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [WORKER], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  }

  it('leads to exactly one applied action and one result for the actor', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'crash' });
    await createDeployment(client, ns, { name: 'api', replicas: 2 });
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/api`;
    await waitFor(
      'deployment observed',
      async () => (await client.get<V1Deployment>(path)).status?.observedGeneration === 1,
    );
    const before = await client.get<V1Deployment>(path);

    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    closers.push(() => connection.quit());
    const queues = new EffectQueues({ connection, keyPrefix: s.prefix, attempts: 3 });
    closers.push(() => queues.close());
    const job: EffectJob = {
      owner: 'controller',
      actorKey: `Deployment/${ns}/api`,
      incidentId: 'i1',
      step: 'scale-1',
      effect: { kind: 'scale', namespace: ns, name: 'api', replicas: 4, fromReplicas: 2 },
      requestedAt: Date.now(),
    };
    await queues.enqueue(job);

    const marker = join(mkdtempSync(join(tmpdir(), 'kr-crash-')), 'crashed');
    const env = {
      REDIS_URL: s.url,
      KEY_PREFIX: s.prefix,
      OWNER: 'controller',
      KUBECONFIG: inject('kube').kubeconfig,
    };
    const doomed = startWorker({ ...env, CRASH_AFTER_ACTION: marker });
    const [, signal] = (await once(doomed, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    expect(readFileSync(marker, 'utf8').trim()).toBe(effectJobId(job));
    // The action happened, but the job never completed and no result was published.
    expect((await client.get<V1Deployment>(path)).spec?.replicas).toBe(4);
    expect(await s.redis.xlen(controlStreamKey(s.prefix, 'controller'))).toBe(0);

    startWorker(env);
    const entries = await eventually(async () => {
      const read = await s.redis.xrange(controlStreamKey(s.prefix, 'controller'), '-', '+');
      expect(read).toHaveLength(1);
      return read;
    }, 30_000);
    const message = JSON.parse(entries[0]?.[1][1] ?? '{}') as {
      type: string;
      payload: { result: { outcome: string } };
    };
    expect(message.type).toBe('EFFECT.DONE');
    expect(message.payload.result.outcome).toBe(`${ns}/api already has 4 replicas`);

    const after = await client.get<V1Deployment>(path);
    expect(after.spec?.replicas).toBe(4);
    // One scale, one change of the spec.
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
  });
});
