/** The record of actions behind each policy's status, on a real Redis. */
import { afterEach, describe, expect, it } from 'vitest';
import { ActionLog, MAX_KEPT } from '../../../src/effects/action-log.ts';
import type { RecentAction } from '../../../src/policy/index.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const NOW = Date.parse('2026-12-08T03:00:00Z');
const HOUR = 3_600_000;

function entry(at: number, action = 'cordon'): RecentAction {
  return {
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    object: 'Node/worker-2',
    detection: 'NotReady',
    action,
    outcome: 'Succeeded',
    incident: 'Node/worker-2#1@0',
    message: `${action} at ${at}`,
    decidedBy: 'controller',
  };
}

describe('the action log in Redis', () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function open(): Promise<{ log: ActionLog; s: RedisForTest }> {
    scratch = await redisForTest();
    return { log: new ActionLog(scratch.redis, scratch.prefix), s: scratch };
  }

  it('gives a policy its actions of the last day, newest first, each job once', async () => {
    const { log } = await open();
    await log.record('ops/nodes', 'job-1', entry(NOW - 30 * HOUR, 'taint'));
    await log.record('ops/nodes', 'job-2', entry(NOW - 2 * HOUR, 'cordon'));
    await log.record('ops/nodes', 'job-3', entry(NOW - HOUR, 'uncordon'));
    // A result published twice (a worker that died after acting) is one action.
    await log.record('ops/nodes', 'job-3', entry(NOW - HOUR, 'uncordon'));
    await log.record('shop/web', 'job-4', entry(NOW - HOUR, 'restartPod'));
    const read = await log.read('ops/nodes', NOW);
    expect(read.actions24h).toBe(2);
    expect(read.recent.map((a) => a.action)).toEqual(['uncordon', 'cordon']);
    expect(read.recent[0]).toEqual(entry(NOW - HOUR, 'uncordon'));
    expect((await log.read('shop/none', NOW)).recent).toEqual([]);
  });

  it(`stays bounded: at most ${MAX_KEPT} actions per policy, their entries with them`, async () => {
    const { log, s } = await open();
    for (let i = 0; i < MAX_KEPT + 5; i += 1) {
      await log.record('ops/busy', `job-${i}`, entry(NOW - HOUR + i * 1_000));
    }
    const read = await log.read('ops/busy', NOW, 3);
    expect(read.actions24h).toBe(MAX_KEPT);
    expect(read.recent.map((a) => a.message)).toEqual(
      [4, 3, 2].map((k) => `cordon at ${NOW - HOUR + (MAX_KEPT + k) * 1_000}`),
    );
    expect(await s.redis.hlen(`${s.prefix}:actions:ops/busy:entries`)).toBe(MAX_KEPT);
  });

  it('leaves out an entry it cannot read rather than failing the status', async () => {
    const { log, s } = await open();
    await log.record('ops/nodes', 'job-1', entry(NOW - HOUR));
    await s.redis.hset(`${s.prefix}:actions:ops/nodes:entries`, 'job-1', 'not json');
    expect(await log.read('ops/nodes', NOW)).toEqual({ actions24h: 1, recent: [] });
  });
});
