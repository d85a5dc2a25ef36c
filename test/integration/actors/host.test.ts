import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost, MACHINE_TAGS, type ActorInfo } from '../../../src/actors/host.ts';
import { restoreActors } from '../../../src/actors/restore.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import {
  defaultMachinePolicy,
  type EffectRequest,
  type MachinePolicy,
  type MachineEvent,
} from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const KEY = 'Pod/shop/cart-1';
const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;
const policy = { ...defaultMachinePolicy, name: 'shop/restarts' };

function observed(restarts: number, crashLooping: boolean, at: number): MachineEvent {
  const observation = observe(podObject({ restarts, crashLooping }) as unknown as PodObject);
  return { type: 'OBSERVED', at, observation, detections: analyze(observation) };
}

interface Harness {
  host: ActorHost;
  clock: SimulatedClock;
  store: SnapshotStore;
  enqueued: EffectRequest[];
  logs: ReturnType<typeof captureLogger>;
}

describe('the actor host', () => {
  let scratch: RedisForTest | undefined;
  const hosts: ActorHost[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stopAll().catch(() => undefined);
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function harness(
    options: {
      clock?: SimulatedClock;
      onEnqueue?: (r: EffectRequest, a: ActorInfo) => Promise<void>;
      policyOf?: (ref: string) => MachinePolicy | undefined;
    } = {},
  ): Promise<Harness> {
    scratch ??= await redisForTest();
    const clock = options.clock ?? new SimulatedClock();
    if (options.clock === undefined) clock.set(START);
    const store = new SnapshotStore({
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      owner: 'agent-node-1',
    });
    const enqueued: EffectRequest[] = [];
    const logs = captureLogger();
    const host = new ActorHost({
      clock,
      store,
      effects: {
        enqueue: async (request, actor) => {
          await options.onEnqueue?.(request, actor);
          enqueued.push(request);
        },
      },
      logger: logs.logger,
      retryMs: 20,
      ...(options.policyOf === undefined ? {} : { policyOf: options.policyOf }),
    });
    hosts.push(host);
    return { host, clock, store, enqueued, logs };
  }

  async function crashLoop(h: Harness, times: number): Promise<void> {
    for (let i = 1; i <= times; i += 1) {
      await h.host.send(KEY, observed(i, true, h.clock.now()));
      h.clock.increment(MINUTE);
    }
  }

  it('persists the state that asked for an effect before the effect leaves', async () => {
    let storedWhenEnqueued: unknown;
    const h = await harness({
      onEnqueue: async () => {
        const loaded = await h.store.load(MACHINE_TAGS);
        storedWhenEnqueued = (
          loaded.snapshots.get(KEY)?.snapshot as { value?: unknown } | undefined
        )?.value;
      },
    });
    h.host.spawn(KEY, policy, 'shop/restarts');
    await crashLoop(h, 3);
    expect(h.enqueued.map((r) => [r.step, r.effect.kind])).toEqual([
      ['detected-evidence', 'collectEvidence'],
      ['remediate-1', 'restartPod'],
    ]);
    expect(storedWhenEnqueued).toBe('remediating');
  });

  it('resumes after a restart exactly as an uninterrupted actor would, deadlines included', async () => {
    const steady = await harness();
    const restarted = await harness({
      clock: (() => {
        const c = new SimulatedClock();
        c.set(START);
        return c;
      })(),
    });
    // Both see the same crash loop and the same successful restart.
    for (const h of [steady, restarted]) {
      h.host.spawn(KEY, policy, 'shop/restarts');
      await crashLoop(h, 3);
      const effect = h.enqueued[0];
      await h.host.send(KEY, {
        type: 'EFFECT.DONE',
        at: h.clock.now(),
        effectId: effect?.effectId ?? '',
        outcome: 'deleted',
      });
      await h.host.send(KEY, observed(3, false, h.clock.now()));
    }
    expect(restarted.host.snapshot(KEY)?.value).toBe(steady.host.snapshot(KEY)?.value);

    // One process dies here; a new one restores from Redis.
    await restarted.host.flushAll();
    const stored = await restarted.store.load(MACHINE_TAGS);
    await restarted.host.stopAll();
    const revived = await harness({ clock: restarted.clock });
    revived.host.restore(KEY, stored.snapshots.get(KEY)?.snapshot, undefined, 'shop/restarts');
    await revived.host.flushAll();
    expect(revived.host.snapshot(KEY)?.value).toBe(steady.host.snapshot(KEY)?.value);

    // Time passes for both: verification and cooldown deadlines fire the same way.
    const states: [unknown, unknown][] = [];
    for (let minute = 0; minute < 20; minute += 1) {
      steady.clock.increment(MINUTE);
      revived.clock.increment(MINUTE);
      await steady.host.flushAll();
      await revived.host.flushAll();
      states.push([steady.host.snapshot(KEY)?.value, revived.host.snapshot(KEY)?.value]);
    }
    for (const [a, b] of states) expect(b).toEqual(a);
    expect(new Set(states.map(([a]) => JSON.stringify(a))).size).toBeGreaterThan(1);

    // And a new crash loop afterwards leads to the same next remediation.
    await crashLoop(steady, 3);
    await crashLoop(revived, 3);
    expect(revived.enqueued.map((r) => r.step)).toEqual(
      steady.enqueued.slice(2).map((r) => r.step),
    );
  });

  it('stores the policy by reference and restores actors with the policy as it is now', async () => {
    const first = await harness({ policyOf: () => policy });
    first.host.spawn(KEY, policy, 'shop/restarts');
    await crashLoop(first, 3);
    await first.host.flushAll();
    const raw = (await scratch!.redis.hget(first.store.key, KEY)) ?? '';
    const stored = JSON.parse(raw) as { snapshot: { context: { policy: unknown } } };
    expect(stored.snapshot.context.policy).toEqual({ name: 'shop/restarts' });
    await first.host.stopAll();

    // The policy changed while the agent was down: the restored actor runs under the new one.
    const changed = { ...policy, cooldownMs: 42 * MINUTE };
    const revived = await harness({ clock: first.clock, policyOf: () => changed });
    const restored = await restoreActors(revived.host, revived.store, {
      logger: revived.logs.logger,
    });
    expect(restored).toEqual({ restored: 1, dropped: 0 });
    expect(revived.host.snapshot(KEY)?.value).toBe('remediating');
    expect(revived.host.snapshot(KEY)?.context.policy.cooldownMs).toBe(42 * MINUTE);
  });

  it('drops at restore a snapshot whose policy is gone, and restores a full-policy one without a lookup', async () => {
    const older = await harness();
    older.host.spawn(KEY, policy, 'shop/restarts');
    older.host.spawn('Pod/shop/cart-2', policy, 'shop/restarts');
    await older.host.flushAll();
    await older.host.stopAll();
    // cart-1 stored by reference, as an agent stores it now; cart-2 whole, as before.
    const byRef = await harness({ clock: older.clock, policyOf: () => policy });
    byRef.host.spawn(KEY, policy, 'shop/restarts');
    await byRef.host.flushAll();
    await byRef.host.stopAll();

    const revived = await harness({ clock: older.clock, policyOf: () => undefined });
    const restored = await restoreActors(revived.host, revived.store, {
      logger: revived.logs.logger,
    });
    expect(restored).toEqual({ restored: 1, dropped: 1 });
    expect(revived.host.has('Pod/shop/cart-2')).toBe(true);
    expect(await scratch!.redis.hexists(revived.store.key, KEY)).toBe(0);
    expect(revived.logs.records()).toContainEqual(
      expect.objectContaining({ msg: 'snapshot dropped', object: KEY }),
    );
  });

  it('holds effects while Redis refuses the snapshot and sends each exactly once when it recovers', async () => {
    const h = await harness();
    const s = scratch as RedisForTest;
    h.host.spawn(KEY, policy, 'shop/restarts');
    await h.host.flushAll();
    await s.redis.del(h.store.key);
    await s.redis.set(h.store.key, 'not a hash'); // every HSET now fails with WRONGTYPE
    const sending = crashLoop(h, 3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.enqueued).toEqual([]);
    await s.redis.del(h.store.key);
    await sending;
    await eventually(() =>
      expect(h.enqueued.map((r) => r.step)).toEqual(['detected-evidence', 'remediate-1']),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.enqueued).toHaveLength(2);
  });

  it('stops an actor with its deadlines, and takes its key again at once', async () => {
    const h = await harness();
    h.host.spawn(KEY, policy, 'shop/restarts');
    await crashLoop(h, 1); // suspect: the detection window's deadline is armed
    expect(h.host.snapshot(KEY)?.value).toBe('suspect');
    await h.host.stop(KEY, { forget: false });

    h.host.spawn(KEY, policy, 'shop/restarts'); // the same systemId, free again
    expect(h.host.snapshot(KEY)?.value).toBe('healthy');
    h.clock.increment(30 * MINUTE); // well past the stopped actor's window
    await h.host.flushAll();

    // Had the stopped actor's deadline fired, its snapshot (healthy after its window, with a
    // closed window in its history) would have overwritten the new actor's.
    const stored = (await h.store.load(MACHINE_TAGS)).snapshots.get(KEY)?.snapshot as {
      value: unknown;
      context: { detections: unknown };
    };
    expect(stored.value).toBe('healthy');
    expect(h.host.snapshot(KEY)?.context).toEqual(stored.context);
  });

  it('restores every stored actor page by page, drops other versions, and skips what it has', async () => {
    const h = await harness();
    // More than Redis keeps in a listpack (128), so HSCAN really pages.
    const keys = Array.from({ length: 150 }, (_, i) => `Pod/shop/cart-${i}`);
    for (const key of keys) h.host.spawn(key, policy, 'shop/restarts');
    // One of them in a detection window, so a deadline must come back with it.
    await h.host.send(keys[0] ?? '', observed(1, true, h.clock.now()));
    await h.host.flushAll();
    await h.host.stopAll();
    await h.store.save('Pod/shop/old', 'pod@0', { value: 'healthy' });
    await h.store.flush();

    const revived = await harness({ clock: h.clock });
    const logs = captureLogger();
    const first = await restoreActors(revived.host, h.store, { logger: logs.logger, pageSize: 4 });
    expect(first).toEqual({ restored: 150, dropped: 1 });
    expect([...revived.host.keys()].sort()).toEqual([...keys].sort());
    expect(revived.host.snapshot(keys[0] ?? '')?.value).toBe('suspect');
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ msg: 'snapshot dropped', object: 'Pod/shop/old' }),
    );
    expect((await h.store.load(MACHINE_TAGS)).snapshots.has('Pod/shop/old')).toBe(false);

    // Again (a retried start): nothing new, nothing doubled.
    expect(await restoreActors(revived.host, h.store, { logger: logs.logger })).toEqual({
      restored: 0,
      dropped: 0,
    });
    // The window's deadline was re-armed: when it ends, the suspected pod is looked at again.
    revived.clock.increment(11 * MINUTE);
    await revived.host.flushAll();
    expect(revived.host.snapshot(keys[0] ?? '')?.value).not.toBe('suspect');
  });

  it('keeps every other actor working when one fails, and says which failed', async () => {
    const h = await harness();
    h.host.spawn(KEY, policy, 'shop/restarts');
    // A record of the right version whose context is missing what the machine reads on RESUME.
    const broken = { status: 'active', value: 'suspect', context: { actorKey: 'Pod/shop/broken' } };
    h.host.restore('Pod/shop/broken', broken, undefined, 'shop/restarts');
    await eventually(() =>
      expect(h.logs.records()).toContainEqual(
        expect.objectContaining({ msg: 'actor failed', object: 'Pod/shop/broken' }),
      ),
    );

    // The others are still stopped, replaced and timed as usual.
    await crashLoop(h, 1);
    await h.host.stop(KEY, { forget: false });
    expect(h.host.spawn(KEY, policy, 'shop/restarts')).toBe(true);
    await crashLoop(h, 1);
    expect(h.host.snapshot(KEY)?.value).toBe('suspect');
    h.clock.increment(11 * MINUTE);
    await h.host.flushAll();
    expect(h.host.snapshot(KEY)?.value).not.toBe('suspect');
  });

  it('forgets the snapshot of an actor whose object was deleted', async () => {
    const h = await harness();
    h.host.spawn(KEY, policy, 'shop/restarts');
    await crashLoop(h, 1);
    await h.host.stop(KEY, { forget: true });
    expect((await h.store.load(MACHINE_TAGS)).snapshots.has(KEY)).toBe(false);
    expect(h.host.has(KEY)).toBe(false);
  });
});
