/**
 * What the storm breaker keeps, in both of its stores: Redis (every agent and the controller)
 * and memory. Each reporter reports the targets it has actors of; the tally counts each target
 * once, unhealthy when any reporter says it is, over the reporters still reporting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorms, Storms, type StormStore } from '../../../src/budgets/storms.ts';
import { eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;
const WEB = 'Deployment/shop/web';
const DB = 'StatefulSet/shop/db';
const DEBUG = 'Pod/shop/debug';

const report = (entries: Record<string, boolean>) => new Map(Object.entries(entries));

describe.each([
  ['Redis', 'redis'],
  ['memory', 'memory'],
] as const)("the storm breaker's keeping in the %s store", (_name, kind) => {
  let scratch: RedisForTest | undefined;
  let clock = START;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
    clock = START;
  });

  async function open(): Promise<StormStore> {
    if (kind === 'memory') return new MemoryStorms(() => clock);
    scratch = await redisForTest();
    return new Storms(scratch.redis, scratch.prefix);
  }

  /** Time passes: Redis stamps reports with its own clock, memory with the one it was given. */
  async function pass(ms: number): Promise<void> {
    clock += ms;
    if (kind === 'redis') await sleep(ms);
  }

  it('counts the pods of one workload once, under however many reporters', async () => {
    const storms = await open();
    // Five replicas of web: two under agent a, two under agent b, one under agent c, all failing.
    await storms.report('shop/web', 'agent-a', report({ [WEB]: true }), MINUTE);
    await storms.report('shop/web', 'agent-b', report({ [WEB]: true, [DB]: false }), MINUTE);
    expect(await storms.report('shop/web', 'agent-c', report({ [WEB]: true }), MINUTE)).toEqual({
      targets: 2,
      unhealthy: 1,
      reporters: 3,
    });
  });

  it('keeps a workload unhealthy while any reporter has a failing pod of it, and healthy once none has', async () => {
    const storms = await open();
    await storms.report('shop/web', 'agent-a', report({ [WEB]: true, [DEBUG]: true }), MINUTE);
    await storms.report('shop/web', 'agent-b', report({ [WEB]: true, [DB]: false }), MINUTE);
    // web's pod under agent a runs again; its pod under agent b still fails.
    expect(
      await storms.report('shop/web', 'agent-a', report({ [WEB]: false, [DEBUG]: true }), MINUTE),
    ).toEqual({ targets: 3, unhealthy: 2, reporters: 2 });
    // Its pod under agent b runs again too.
    expect(
      await storms.report('shop/web', 'agent-b', report({ [WEB]: false, [DB]: false }), MINUTE),
    ).toEqual({ targets: 3, unhealthy: 1, reporters: 2 });
  });

  it('drops a reporter that stopped reporting, and one whose report is empty', async () => {
    const storms = await open();
    await storms.report('shop/web', 'agent-b', report({ [WEB]: true, [DB]: true }), 200);
    expect(await storms.report('shop/web', 'agent-a', report({ [WEB]: false }), 10_000)).toEqual({
      targets: 2,
      unhealthy: 2,
      reporters: 2,
    });
    // agent-b dies and says nothing more; its report is older than the bound it was kept for.
    await pass(300);
    await eventually(async () =>
      expect(await storms.report('shop/web', 'agent-a', report({ [WEB]: false }), 200)).toEqual({
        targets: 1,
        unhealthy: 0,
        reporters: 1,
      }),
    );
    // A reporter without targets leaves the tally.
    expect(await storms.report('shop/web', 'agent-a', new Map(), 200)).toEqual({
      targets: 0,
      unhealthy: 0,
      reporters: 0,
    });
  });

  it('forgets a reporter that stops, in every policy it reported', async () => {
    const storms = await open();
    for (const policy of ['shop/web', 'shop/db']) {
      await storms.report(policy, 'agent-a', report({ [WEB]: true }), MINUTE);
      await storms.report(policy, 'agent-b', report({ [DB]: true }), MINUTE);
    }
    await storms.forget(['shop/web', 'shop/db'], 'agent-a');
    for (const policy of ['shop/web', 'shop/db']) {
      expect(await storms.report(policy, 'agent-b', report({ [DB]: true }), MINUTE)).toEqual({
        targets: 1,
        unhealthy: 1,
        reporters: 1,
      });
    }
  });

  it('opens a storm once when many see it at the same moment, and all agree on its start', async () => {
    const storms = await open();
    const seen = await Promise.all(
      Array.from({ length: 40 }, (_, i) => storms.open('shop/web', START + i, MINUTE)),
    );
    expect(seen.filter((x) => x.opened)).toHaveLength(1);
    const first = seen.find((x) => x.opened)?.startedAt;
    expect(new Set(seen.map((x) => x.startedAt))).toEqual(new Set([first]));
    expect(await storms.openSince('shop/web')).toBe(first);
  });

  it('keeps a storm open for the quiet time after each sighting, then opens a new one', async () => {
    const storms = await open();
    expect(await storms.open('shop/web', START, 600)).toEqual({ opened: true, startedAt: START });
    await pass(300);
    expect(await storms.open('shop/web', START + 300, 600)).toEqual({
      opened: false,
      startedAt: START,
    });
    await pass(300);
    // 600 ms after it opened, 300 after it was last seen: still the same storm.
    expect(await storms.openSince('shop/web')).toBe(START);
    await pass(600);
    await eventually(async () => expect(await storms.openSince('shop/web')).toBeNull());
    expect(await storms.open('shop/web', START + 1_200, 600)).toEqual({
      opened: true,
      startedAt: START + 1_200,
    });
  });

  const storm = { unhealthy: 3, targets: 5, maxUnhealthyPercent: 50 };

  it('keeps the cooldown after a storm as the first runtime to see its end names it; the others, and one that starts later, hold until then', async () => {
    const storms = await open();
    const first = { ...storm, resumesAt: START + 600 };
    expect(await storms.cooldown('shop/web', first, START)).toEqual(first);
    // Another runtime sees the end a moment later: it resumes when the first said.
    expect(
      await storms.cooldown('shop/web', { ...storm, resumesAt: START + 900 }, START + 300),
    ).toEqual(first);
    expect(await storms.cooldownOf('shop/web', START + 300)).toEqual(first);
    expect(await storms.cooldownOf('shop/db', START + 300)).toBeNull();
    clock = START + 600;
    // Over at its time, whoever asks.
    expect(await storms.cooldownOf('shop/web', START + 600)).toBeNull();
  });

  it('ends the cooldown when a new storm comes', async () => {
    const storms = await open();
    await storms.cooldown('shop/web', { ...storm, resumesAt: START + MINUTE }, START);
    await storms.endCooldown('shop/web');
    expect(await storms.cooldownOf('shop/web', START + 1)).toBeNull();
  });

  if (kind === 'redis') {
    it('lets the cooldown key expire in Redis when it is over, and reads a damaged one as none', async () => {
      const storms = await open();
      const s = scratch as RedisForTest;
      await storms.cooldown('shop/web', { ...storm, resumesAt: Date.now() + 300 }, Date.now());
      await eventually(async () =>
        expect(await s.redis.exists(`${s.prefix}:storm:cooldown:shop/web`)).toBe(0),
      );
      await s.redis.set(`${s.prefix}:storm:cooldown:shop/db`, 'not json');
      expect(await storms.cooldownOf('shop/db', Date.now())).toBeNull();
    });
  }
});

describe('the storm tally in Redis', () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('keeps one hash per policy, one field per reporter, expiring with the staleness bound', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const storms = new Storms(s.redis, s.prefix);
    await storms.report('shop/web', 'agent-a', report({ [WEB]: true, [DEBUG]: false }), MINUTE);
    const key = `${s.prefix}:storm:targets:shop/web`;
    expect(await s.redis.hkeys(key)).toEqual(['agent-a']);
    expect(await s.redis.hget(key, 'agent-a')).toMatch(
      /^\d+\n1 Deployment\/shop\/web\n0 Pod\/shop\/debug$/,
    );
    expect(await s.redis.pttl(key)).toBeGreaterThan(MINUTE - 5_000);
  });

  it('drops a field it cannot read instead of counting it', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const storms = new Storms(s.redis, s.prefix);
    const key = `${s.prefix}:storm:targets:shop/web`;
    await s.redis.hset(key, 'agent-old', '4 2 1764324000000');
    expect(await storms.report('shop/web', 'agent-a', report({ [WEB]: true }), MINUTE)).toEqual({
      targets: 1,
      unhealthy: 1,
      reporters: 1,
    });
    expect(await s.redis.hkeys(key)).toEqual(['agent-a']);
  });
});
