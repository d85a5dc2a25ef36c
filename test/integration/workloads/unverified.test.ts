/**
 * A restart whose pod went away with no replacement where an agent could verify it: the workload
 * memory on real Redis keeps such verifications in an index, and the controller's sweep ends
 * them unverified, telling the incident's thread and ticket, and recording an Event on the
 * workload, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Detection } from '../../../src/analyzers/types.ts';
import { UnverifiedIncidents } from '../../../src/actors/unverified-incidents.ts';
import type { EffectRequest, RecordedEvent } from '../../../src/machines/effects.ts';
import {
  adopt,
  claim,
  release,
  report,
  type WorkloadMemory,
} from '../../../src/workloads/rules.ts';
import {
  MemoryWorkloadStore,
  RedisWorkloadStore,
  type WorkloadStore,
} from '../../../src/workloads/store.ts';
import type { WorkloadObject } from '../../../src/workloads/unverified.ts';
import { captureLogger, type CapturedLogger } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const MINUTE = 60_000;
const WEB = 'shop/Deployment/web';
const WINDOW = 5 * MINUTE;
const FLOOR = 30_000;
const crashLoop: Detection = { type: 'CrashLoopBackOff', reason: 'container app keeps crashing' };

/** web-a leads, restarts (announced, with a ticket) and is deleted at `deletedAt`. */
async function restartedAndGone(
  store: WorkloadStore,
  deletedAt: number,
  extra: { ticket?: boolean; announced?: boolean; policy?: string } = {},
): Promise<void> {
  const holder = 'Pod/shop/web-a';
  await store.change(WEB, 'CrashLoopBackOff', (m) => {
    const { memory } = claim(m, {
      actorKey: holder,
      incidentId: `${holder}#1@0`,
      trigger: crashLoop,
      verificationWindowMs: WINDOW,
      now: 0,
    });
    return { memory, result: null };
  });
  await store.change(WEB, 'CrashLoopBackOff', (m) => ({
    memory: report(m, {
      holder,
      incident: {
        id: `${holder}#1@0`,
        openedAt: 0,
        phase: 'remediating',
        attempts: 1,
        actedAt: 1_000,
        replacesPod: true,
        verifyUntil: null,
        verificationWindowMs: WINDOW,
        announced: extra.announced ?? true,
        trigger: crashLoop,
        ...(extra.policy === undefined ? {} : { policy: extra.policy }),
      },
      remediations: [1_000],
      quietUntil: null,
      quarantinedUntil: null,
      ticket: extra.ticket ?? true,
    }),
    result: null,
  }));
  await store.change(WEB, 'CrashLoopBackOff', (m) => ({
    memory: release(m, holder, deletedAt),
    result: null,
  }));
}

interface Told {
  requests: { request: EffectRequest; policy: string | undefined }[];
  events: { target: WorkloadObject; event: RecordedEvent }[];
}

function sweeper(
  store: WorkloadStore,
  now: () => number,
  enqueue?: (r: EffectRequest) => Promise<void>,
): { sweeps: UnverifiedIncidents; told: Told; log: CapturedLogger } {
  const told: Told = { requests: [], events: [] };
  const log = captureLogger('warn');
  const sweeps = new UnverifiedIncidents({
    store,
    floorMs: FLOOR,
    now,
    logger: log.logger,
    enqueue: async (request, policy) => {
      await enqueue?.(request);
      told.requests.push({ request, policy });
    },
    record: (target, event) => {
      told.events.push({ target, event });
      return Promise.resolve();
    },
  });
  return { sweeps, told, log };
}

describe('verifications nobody holds', () => {
  let scratch: RedisForTest | undefined;
  const opened: RedisWorkloadStore[] = [];
  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function redisStore(): Promise<RedisWorkloadStore> {
    scratch = await redisForTest();
    const s = new RedisWorkloadStore(scratch.redis, scratch.prefix);
    opened.push(s);
    return s;
  }

  it.each<[string, () => Promise<WorkloadStore>]>([
    ['in Redis', redisStore],
    ['in a map (simulate)', () => Promise.resolve(new MemoryWorkloadStore())],
  ])(
    'are found once their window has ended, %s, and not while a pod holds them',
    async (_n, make) => {
      const store = await make();
      await restartedAndGone(store, 10_000);
      const ends = 10_000 + WINDOW;
      expect(await store.unheld(ends - 1, 10)).toEqual([]);
      expect(await store.unheld(ends, 10)).toEqual([{ workload: WEB, type: 'CrashLoopBackOff' }]);
      // A replacement takes it over: nothing to find any more.
      await store.change(WEB, 'CrashLoopBackOff', (m) => ({
        memory: adopt(m, 'Pod/shop/web-b', 12_000).memory,
        result: null,
      }));
      expect(await store.unheld(ends + MINUTE, 10)).toEqual([]);
    },
  );

  it('end unverified a window after their end: thread, ticket and Event told once, the rest kept', async () => {
    const store = await redisStore();
    await restartedAndGone(store, 10_000, { policy: 'shop/crash-loops' });
    let now = 10_000 + WINDOW;
    const { sweeps, told, log } = sweeper(store, () => now);
    // The verification ended, but a late replacement may still take it over.
    expect(await sweeps.sweep()).toEqual([]);
    now += WINDOW - 1;
    expect(await sweeps.sweep()).toEqual([]);
    expect(told.requests).toEqual([]);
    now += 1;
    expect(await sweeps.sweep()).toEqual(['Pod/shop/web-a#1@0']);

    expect(told.requests.map((r) => [r.request.step, r.request.effect.kind, r.policy])).toEqual([
      ['unverified', 'notify', 'shop/crash-loops'],
      ['unverified-ticket', 'updateTicket', 'shop/crash-loops'],
    ]);
    const [notice, ticket] = told.requests.map((r) => r.request);
    expect(notice).toMatchObject({
      actorKey: 'Pod/shop/web-a',
      incidentId: 'Pod/shop/web-a#1@0',
      workload: WEB,
      effect: { purpose: 'unverified', target: { kind: 'Pod', namespace: 'shop', name: 'web-a' } },
    });
    expect(notice?.effect.reason).toContain(
      'ended unverified: shop/web-a was restarted for CrashLoopBackOff, and no pod of Deployment shop/web came back',
    );
    // The ticket gets a comment and stays open: nobody knows the problem is gone.
    expect(ticket?.effect).toMatchObject({ detection: 'CrashLoopBackOff', resolve: false });
    expect(told.events).toHaveLength(1);
    expect(told.events[0]).toMatchObject({
      target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      event: { type: 'Warning', reason: 'IncidentUnverified' },
    });
    expect(told.events[0]?.event.message).toMatch(
      /^incident Pod\/shop\/web-a#1@0 ended unverified/,
    );

    expect(log.records()).toHaveLength(1);
    expect(log.records()[0]).toMatchObject({
      level: 'warn',
      workload: WEB,
      incident: 'Pod/shop/web-a#1@0',
      policy: 'shop/crash-loops',
    });
    expect(String(log.records()[0]?.['msg'])).toMatch(
      /^ended unverified: shop\/web-a was restarted/,
    );
    const after = (await store.read(WEB)).CrashLoopBackOff as WorkloadMemory;
    expect(after).toMatchObject({ incident: null, remediations: [1_000], ticket: true });
    // Ended once: the index let go, the next sweep finds nothing.
    expect(await store.unheld(now + MINUTE, 10)).toEqual([]);
    expect(await sweeps.sweep()).toEqual([]);
    expect(told.requests).toHaveLength(2);
    // The next pod to crash opens a new incident.
    const next = await store.change(WEB, 'CrashLoopBackOff', (m) => {
      const claimed = claim(m, {
        actorKey: 'Pod/shop/web-c',
        incidentId: 'Pod/shop/web-c#1@9',
        trigger: crashLoop,
        verificationWindowMs: WINDOW,
        now: now + 1,
      });
      return { memory: claimed.memory, result: claimed.answer };
    });
    expect(next).toMatchObject({ role: 'lead', continues: null, remediations: [1_000] });
  });

  it('tell nobody who never heard of it, and file nothing without a ticket', async () => {
    const store = await redisStore();
    await restartedAndGone(store, 0, { announced: false, ticket: false });
    const { sweeps, told } = sweeper(store, () => 2 * WINDOW);
    expect(await sweeps.sweep()).toEqual(['Pod/shop/web-a#1@0']);
    expect(told.requests).toEqual([]);
    expect(told.events).toHaveLength(1);
  });

  it('stay open when people cannot be told, and are told by the next sweep', async () => {
    const store = await redisStore();
    await restartedAndGone(store, 0);
    let failing = true;
    const { sweeps, told } = sweeper(
      store,
      () => 2 * WINDOW,
      () => (failing ? Promise.reject(new Error('Redis is away')) : Promise.resolve()),
    );
    await expect(sweeps.sweep()).rejects.toThrow('Redis is away');
    expect((await store.read(WEB)).CrashLoopBackOff?.incident?.phase).toBe('verifying');
    failing = false;
    expect(await sweeps.sweep()).toEqual(['Pod/shop/web-a#1@0']);
    expect(told.requests.map((r) => r.request.step)).toEqual(['unverified', 'unverified-ticket']);
  });

  it('drop an index entry whose memory moved on without it', async () => {
    const store = await redisStore();
    const s = scratch as RedisForTest;
    await s.redis.zadd(`${s.prefix}:workload-unheld`, 5, `${WEB}|OOMKilled`);
    expect(await store.unheld(10, 10)).toEqual([{ workload: WEB, type: 'OOMKilled' }]);
    const { sweeps, told } = sweeper(store, () => 10);
    expect(await sweeps.sweep()).toEqual([]);
    expect(await store.unheld(10, 10)).toEqual([]);
    expect(told.requests).toEqual([]);
  });
});
