import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Budgets } from '../../../src/budgets/budgets.ts';
import { TerminalEffectError } from '../../../src/effects/errors.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { startEffectWorkers } from '../../../src/effects/workers.ts';
import { cleanEnv, runCli } from '../../support/cli.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

describe('kube-remedy queues', () => {
  let scratch: RedisForTest | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('shows depth, the reason of each recent failure, budgets in use and nodes being drained', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    closers.push(() => connection.quit());
    const queues = new EffectQueues({ connection, keyPrefix: s.prefix, attempts: 1 });
    closers.push(() => queues.close());
    const workers = startEffectWorkers({
      connection,
      redis: connection,
      keyPrefix: s.prefix,
      integrations: ['kubernetes'],
      owner: 'agent-n1',
      processors: {
        deletePod: () =>
          Promise.reject(
            new TerminalEffectError('forbidden', 'not allowed to delete pod shop/cart'),
          ),
      },
      logger: captureLogger().logger,
    });
    closers.push(() => workers.close());
    await queues.enqueue({
      owner: 'agent-n1',
      actorKey: 'Pod/shop/cart',
      incidentId: 'i1',
      step: 'remediate-1',
      effect: { kind: 'deletePod' },
      requestedAt: 1,
    });
    const budgets = new Budgets(s.redis, s.prefix);
    await budgets.take('a1', [{ scope: 'namespace/shop', limit: 5, windowMs: 60_000 }]);
    await budgets.takeNodeSlot({
      node: 'node-3',
      incidentId: 'Node/node-3#1@5',
      healthyNodes: 5,
      minHealthyNodes: 2,
    });
    await budgets.close();

    const env = cleanEnv({ REDIS_URL: s.url, KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix });
    const json = await eventually(async () => {
      const result = await runCli(['queues', '-o', 'json'], env);
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout) as { queues: { name: string; failed: number }[] };
      expect(report.queues).toEqual([
        expect.objectContaining({ name: 'effects-kubernetes-agent-n1', failed: 1 }),
      ]);
      return report;
    });
    expect(json).toMatchObject({
      queues: [
        {
          recentFailures: [
            {
              effect: 'deletePod',
              object: 'Pod/shop/cart',
              reason: 'not allowed to delete pod shop/cart',
            },
          ],
        },
      ],
      budgets: [{ scope: 'namespace/shop', used: 1 }],
      nodesDisrupted: { 'node-3': 'Node/node-3#1@5' },
    });

    const text = await runCli(['queues'], env);
    expect(text.stdout).toMatch(/effects-kubernetes-agent-n1\s+0\s+0\s+0\s+1\s+0/);
    expect(text.stdout).toContain('deletePod Pod/shop/cart: not allowed to delete pod shop/cart');
    expect(text.stdout).toContain('node-3 (incident Node/node-3#1@5)');
  });

  it('says clearly when Redis cannot be reached', async () => {
    const result = await runCli(['queues'], cleanEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot read the queues from Redis/);
  });
});
