import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { effectJobId, type EffectJob, type Integration } from '../../../src/effects/catalogue.ts';
import {
  startControlConsumer,
  type ControlConsumer,
  type ControlMessage,
} from '../../../src/effects/control-stream.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import {
  startEffectWorkers,
  type EffectProcessor,
  type EffectWorkers,
} from '../../../src/effects/workers.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

function job(step: string, kind = 'deletePod'): EffectJob {
  return {
    owner: 'agent-n1',
    actorKey: 'Pod/shop/cart-1',
    incidentId: 'inc-1',
    step,
    effect: { kind, uid: 'u-1' },
    requestedAt: 1,
  };
}

describe('effects as BullMQ jobs', () => {
  let scratch: RedisForTest | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function harness(
    processors: Record<string, EffectProcessor>,
    attempts = 3,
    integrations: Integration[] = ['kubernetes'],
  ) {
    scratch = await redisForTest();
    const s = scratch;
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    const publisher = new Redis(s.url);
    const reader = new Redis(s.url);
    closers.push(
      () => connection.quit(),
      () => publisher.quit(),
      () => reader.quit(),
    );
    const logs = captureLogger();
    const queues = new EffectQueues({ connection, keyPrefix: s.prefix, attempts, backoffMs: 10 });
    closers.push(() => queues.close());
    const workers: EffectWorkers = startEffectWorkers({
      connection,
      redis: publisher,
      keyPrefix: s.prefix,
      integrations,
      owner: 'agent-n1',
      processors,
      logger: logs.logger,
    });
    closers.push(() => workers.close());
    const results: ControlMessage[] = [];
    const consumer: ControlConsumer = startControlConsumer({
      redis: reader,
      keyPrefix: s.prefix,
      owner: 'agent-n1',
      handle: (m) => void results.push(m),
      logger: logs.logger,
      blockMs: 100,
    });
    closers.push(() => consumer.stop());
    return { queues, results, logs };
  }

  it('runs the same decision enqueued twice once, and tells the owner', async () => {
    let runs = 0;
    const { queues, results } = await harness({
      deletePod: () => {
        runs += 1;
        return Promise.resolve({ outcome: 'deleted pod shop/cart-1' });
      },
    });
    const first = await queues.enqueue(job('remediate-1'));
    const second = await queues.enqueue(job('remediate-1'));
    expect(second.jobId).toBe(first.jobId);
    await eventually(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({
      id: `${first.jobId}-done`,
      actorKey: 'Pod/shop/cart-1',
      type: 'EFFECT.DONE',
      payload: {
        effectId: first.jobId,
        step: 'remediate-1',
        result: { outcome: 'deleted pod shop/cart-1' },
      },
    });
    // Even after it finished, the same request stays the same (finished) job.
    await queues.enqueue(job('remediate-1'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runs).toBe(1);
  });

  it('gives ids without ":" that differ by step', () => {
    const a = effectJobId(job('remediate-1'));
    expect(a).toMatch(/^[0-9a-f]{40}$/);
    expect(effectJobId(job('remediate-2'))).not.toBe(a);
  });

  it('fails a terminal error at once, without retries', async () => {
    let runs = 0;
    const { queues, results } = await harness({
      deletePod: () => {
        runs += 1;
        return Promise.reject(
          new TerminalEffectError('precondition-failed', 'pod cart-1 has another UID now'),
        );
      },
    });
    await queues.enqueue(job('remediate-1'));
    await eventually(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({
      type: 'EFFECT.FAILED',
      payload: {
        error: { code: 'precondition-failed', message: 'pod cart-1 has another UID now' },
        attempts: 1,
      },
    });
    expect(runs).toBe(1);
  });

  it('retries a passing failure and reports only the final outcome', async () => {
    let runs = 0;
    const { queues, results, logs } = await harness({
      deletePod: () => {
        runs += 1;
        return runs < 3
          ? Promise.reject(new Error('connection reset'))
          : Promise.resolve({ outcome: 'deleted' });
      },
    });
    await queues.enqueue(job('remediate-1'));
    await eventually(() => expect(results.map((r) => r.type)).toEqual(['EFFECT.DONE']));
    expect(runs).toBe(3);
    expect(
      logs.records().filter((r) => r['msg'] === 'effect attempt failed; will retry'),
    ).toHaveLength(2);
  });

  it('reports failure after the last attempt', async () => {
    const { queues, results } = await harness(
      { deletePod: () => Promise.reject(new Error('API server down')) },
      2,
    );
    await queues.enqueue(job('remediate-1'));
    await eventually(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({
      type: 'EFFECT.FAILED',
      payload: { attempts: 2, error: { message: 'API server down' } },
    });
  });

  it('waits without spending attempts when told to retry later, then succeeds', async () => {
    let runs = 0;
    const { queues, results } = await harness(
      {
        evictPod: () => {
          runs += 1;
          return runs <= 3
            ? Promise.reject(
                new RetryLaterError('PodDisruptionBudget shop/cart allows no disruption now', 20),
              )
            : Promise.resolve({ outcome: 'evicted' });
        },
      },
      1,
    );
    await queues.enqueue(job('remediate-1', 'evictPod'));
    await eventually(() => expect(results.map((r) => r.type)).toEqual(['EFFECT.DONE']));
    expect(runs).toBe(4);
  });

  describe('an action that replaces pods, in an incident that keeps evidence', () => {
    const evidenceJob = (): EffectJob => ({
      ...job('detected-evidence', 'collectEvidence'),
      owner: 'agent-n1',
    });
    const restart = (waitMs: number, askedAt = Date.now()): EffectJob => ({
      ...job('remediate-1', 'deletePod'),
      evidenceFirst: { jobId: effectJobId(evidenceJob()), askedAt, waitMs },
    });
    /** Workers whose evidence takes `evidenceMs` to write, and the order things happened in. */
    async function recordingOrder(evidenceMs: number) {
      const order: string[] = [];
      const running = await harness(
        {
          collectEvidence: async () => {
            await new Promise((resolve) => setTimeout(resolve, evidenceMs));
            order.push('evidence written');
            return { outcome: 'collected' };
          },
          deletePod: () => {
            order.push('pod deleted');
            return Promise.resolve({ outcome: 'deleted' });
          },
        },
        3,
        ['kubernetes', 'evidence'],
      );
      return { ...running, order };
    }

    it('waits for the evidence to be written first, even when it is queued after the action', async () => {
      const { queues, results, order } = await recordingOrder(400);
      await queues.enqueue(restart(30_000));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await queues.enqueue(evidenceJob());
      await eventually(() => expect(results).toHaveLength(2));
      expect(order).toEqual(['evidence written', 'pod deleted']);
    });

    it('acts anyway once the wait is over, saying what it waited for', async () => {
      let deletedAt = 0;
      const { queues, results, logs } = await harness({
        deletePod: () => {
          deletedAt = Date.now();
          return Promise.resolve({ outcome: 'deleted' });
        },
      });
      const { jobId } = await queues.enqueue(restart(600));
      const enqueuedAt = (await queues.queue('kubernetes', 'agent-n1').getJob(jobId))!.timestamp;
      await eventually(() => expect(results.map((r) => r.type)).toEqual(['EFFECT.DONE']));
      expect(deletedAt - enqueuedAt).toBeGreaterThanOrEqual(600);
      expect(logs.records()).toContainEqual(
        expect.objectContaining({
          msg: "acting without the incident's evidence: it was not collected in time",
        }),
      );
      expect(logs.records()).toContainEqual(
        expect.objectContaining({
          msg: 'effect deferred',
          reason: "waiting for the incident's evidence to be collected first (not queued yet)",
        }),
      );
    });

    it("counts the wait from the evidence job's enqueueing, not the incident's own (past) time", async () => {
      // Restored after downtime: the detection deadline passed 20 minutes ago, and the evidence
      // and the restart are both asked for now.
      const { queues, results, order } = await recordingOrder(300);
      await queues.enqueue(evidenceJob());
      await queues.enqueue(restart(30_000, Date.now() - 20 * 60_000));
      await eventually(() => expect(results).toHaveLength(2));
      expect(order).toEqual(['evidence written', 'pod deleted']);
    });

    it('does not wait when the evidence was asked for longer ago than the wait (approved later)', async () => {
      const { queues, results, logs } = await harness({
        deletePod: () => Promise.resolve({ outcome: 'deleted' }),
      });
      await queues.enqueue(restart(30_000, Date.now() - 2 * 3600_000));
      await eventually(() => expect(results.map((r) => r.type)).toEqual(['EFFECT.DONE']), 5_000);
      expect(logs.records().some((r) => r['msg'] === 'effect deferred')).toBe(false);
    });

    it('does not wait for evidence that already failed', async () => {
      const { queues, results } = await harness(
        {
          collectEvidence: () =>
            Promise.reject(new TerminalEffectError('not-configured', 'no store')),
          deletePod: () => Promise.resolve({ outcome: 'deleted' }),
        },
        3,
        ['kubernetes', 'evidence'],
      );
      await queues.enqueue(evidenceJob());
      await eventually(() => expect(results.map((r) => r.type)).toEqual(['EFFECT.FAILED']));
      const started = Date.now();
      await queues.enqueue(restart(30_000));
      await eventually(() => expect(results).toHaveLength(2));
      expect(results[1]?.type).toBe('EFFECT.DONE');
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });

  it('fails an effect no processor of this role carries out', async () => {
    const { queues, results } = await harness({});
    await queues.enqueue(job('remediate-1', 'cordon'));
    await eventually(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({
      type: 'EFFECT.FAILED',
      payload: { error: { code: 'no-processor' } },
    });
  });
});
