/**
 * The safety monitor on the memory stores `simulate` gives it, its refreshes on a schedule the
 * caller drives: the budget fact read again when the schedule says (never on the wall clock),
 * and the storm breaker holding a policy's actors, escalating once and letting go. The same
 * monitor on Redis is tested in test/integration/budgets/safety.test.ts.
 */
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost } from '../../../src/actors/host.ts';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import {
  liveContexts,
  SafetyMonitor,
  type SafetyFlip,
  type SafetySettings,
} from '../../../src/actors/safety.ts';
import { MemorySnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import { MemoryBudgets } from '../../../src/budgets/memory.ts';
import { actionScopes } from '../../../src/budgets/scopes.ts';
import { MemoryStorms } from '../../../src/budgets/storms.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import type { MachineEvent } from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import type { Policy } from '../../../src/policy/index.ts';
import { captureLogger } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { parsedPolicy } from '../budgets/support.ts';

const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const SETTINGS: SafetySettings = {
  limits: { namespaceMaxActions: 20, clusterMaxActions: 100, windowMs: HOUR },
  refreshIntervalMs: 15_000,
  stormMinUnhealthy: 2,
  stormQuietMs: 10 * MINUTE,
};

function observed(name: string, restarts: number, crashLooping: boolean, at: number): MachineEvent {
  const object = podObject({
    name,
    uid: `uid-${name}`,
    restarts,
    crashLooping,
    owner: { kind: 'StatefulSet', name: `sts-${name}` },
  });
  const observation = observe(object as unknown as PodObject);
  return { type: 'OBSERVED', at, observation, detections: analyze(observation) };
}

/** A monitor over one policy's pods, each its own StatefulSet, with a schedule the test runs. */
function scene(policy: Policy) {
  const clock = new SimulatedClock();
  clock.set(START);
  const budgets = new MemoryBudgets();
  const flips: SafetyFlip[] = [];
  const jobs: EffectJob[] = [];
  const stormEvents: string[] = [];
  const schedule: { intervalMs: number; run: () => void; cancelled: boolean }[] = [];
  const ref = `${policy.ref.namespace}/${policy.ref.name}`;
  const monitorRef: { current?: SafetyMonitor } = {};
  const host = new ActorHost({
    clock,
    store: new MemorySnapshotStore(),
    logger: captureLogger().logger,
    effects: { enqueue: () => Promise.resolve() },
    onTransition: (key, snapshot) => monitorRef.current?.noteTransition(key, snapshot.context),
  });
  const monitor = new SafetyMonitor({
    owner: 'simulation',
    settings: SETTINGS,
    budgets: { usage: (scopes) => Promise.resolve(budgets.usage(scopes, clock.now())) },
    storms: new MemoryStorms(() => clock.now()),
    policies: () => [policy],
    actors: () => liveContexts(host),
    sendFacts: (key, facts) => host.send(key, { type: 'FACTS', at: clock.now(), facts }),
    enqueue: (job) => {
      jobs.push(job);
      return Promise.resolve();
    },
    recordStorm: (_policy, message) => stormEvents.push(message),
    onFlip: (flip) => flips.push(flip),
    every: (intervalMs, run) => {
      const entry = { intervalMs, run, cancelled: false };
      schedule.push(entry);
      return () => {
        entry.cancelled = true;
      };
    },
    now: () => clock.now(),
    logger: captureLogger().logger,
  });
  monitorRef.current = monitor;
  const key = (name: string) => `Pod/shop/${name}`;
  return {
    clock,
    budgets,
    flips,
    jobs,
    stormEvents,
    schedule,
    host,
    monitor,
    key,
    pod: async (name: string) => {
      host.spawn(key(name), toMachinePolicy(policy), ref, monitor.factsFor(ref));
      await host.send(key(name), observed(name, 0, false, clock.now()));
      await monitor.idle();
    },
    observe: async (name: string, restarts: number, crashLooping: boolean) => {
      await host.send(key(name), observed(name, restarts, crashLooping, clock.now()));
      await monitor.idle();
    },
    /** Runs what the schedule would run now. */
    tick: async () => {
      for (const entry of schedule) if (!entry.cancelled) entry.run();
      await monitor.idle();
    },
  };
}

describe('the safety monitor on memory stores', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('reads budgets again on the schedule it is given, and stops it when stopped', async () => {
    const policy = parsedPolicy('shop', 'web', { budget: { maxActions: 1, window: '1h' } });
    const s = scene(policy);
    stops.push(() => s.host.stopAll());
    await s.monitor.start();
    expect(s.schedule.map((e) => e.intervalMs)).toEqual([15_000]);
    await s.pod('web-1');
    expect(s.host.snapshot(s.key('web-1'))?.context.facts.budgetAvailable).toBe(true);

    // A token taken elsewhere shows at the next scheduled read, not before.
    s.budgets.take('other-1', actionScopes(policy, 'shop', SETTINGS.limits), s.clock.now());
    expect(s.monitor.factsFor('shop/web').budgetAvailable).toBe(true);
    await s.tick();
    expect(s.monitor.factsFor('shop/web').budgetAvailable).toBe(false);
    expect(s.host.snapshot(s.key('web-1'))?.context.facts.budgetAvailable).toBe(false);

    // Its window slides on the caller's clock: the token ages out, automation resumes.
    s.clock.increment(HOUR);
    await s.tick();
    expect(s.monitor.factsFor('shop/web').budgetAvailable).toBe(true);
    expect(s.flips.filter((f) => f.fact === 'budgetAvailable')).toEqual([
      { policy: 'shop/web', fact: 'budgetAvailable', available: true, spent: [] },
      {
        policy: 'shop/web',
        fact: 'budgetAvailable',
        available: false,
        spent: ['policy/shop/web'],
      },
      { policy: 'shop/web', fact: 'budgetAvailable', available: true, spent: [] },
    ]);

    await s.monitor.stop();
    expect(s.schedule[0]?.cancelled).toBe(true);
  });

  it("holds a policy's actors in a storm, escalates it once, and lets go when it is over", async () => {
    const policy = parsedPolicy('shop', 'web', { slack: { channel: '#shop' } });
    const s = scene(policy);
    stops.push(() => s.host.stopAll());
    await s.monitor.start();
    for (const name of ['web-1', 'web-2', 'web-3']) await s.pod(name);

    await s.observe('web-1', 1, true);
    expect(s.monitor.factsFor('shop/web').storm).toBeNull();
    // Two of three workloads unhealthy: more than 50%, and the two a storm needs.
    await s.observe('web-2', 1, true);
    const storm = { unhealthy: 2, targets: 3, maxUnhealthyPercent: 50 };
    expect(s.monitor.factsFor('shop/web').storm).toEqual(storm);
    expect(s.host.snapshot(s.key('web-3'))?.context.facts.storm).toEqual(storm);
    expect(s.jobs.map((j) => [j.actorKey, j.step, j.effect.kind])).toEqual([
      ['AutoRemediationPolicy/shop/web', 'storm-escalation', 'escalate'],
    ]);
    expect(s.stormEvents).toHaveLength(1);

    // The scheduled reads keep the storm without telling anyone again.
    s.clock.increment(15_000);
    await s.tick();
    expect(s.jobs).toHaveLength(1);

    // Both run again; once their detection windows close, they are healthy.
    await s.observe('web-1', 1, false);
    await s.observe('web-2', 1, false);
    s.clock.increment(HOUR);
    await s.host.flushAll();
    await s.monitor.idle();
    // Over, but automation holds for the policy's stormCooldown (5m by default) after it.
    const cooling = { ...storm, resumesAt: s.clock.now() + 5 * MINUTE };
    expect(s.monitor.factsFor('shop/web').storm).toEqual(cooling);
    expect(s.host.snapshot(s.key('web-3'))?.context.facts.storm).toEqual(cooling);
    s.clock.increment(5 * MINUTE);
    await s.tick();
    expect(s.monitor.factsFor('shop/web').storm).toBeNull();
    expect(s.host.snapshot(s.key('web-3'))?.context.facts.storm).toBeNull();
    expect(s.flips.filter((f) => f.fact === 'storm')).toEqual([
      {
        policy: 'shop/web',
        fact: 'storm',
        storm,
        reason: "2 of 3 workloads unhealthy at once, more than the policy's 50%",
      },
      {
        policy: 'shop/web',
        fact: 'storm',
        storm: cooling,
        reason: `1 of 3 workloads unhealthy: fewer than the 2 a storm needs; automation resumes at ${new Date(cooling.resumesAt).toISOString()}, after the policy's stormCooldown`,
      },
      {
        policy: 'shop/web',
        fact: 'storm',
        storm: null,
        reason:
          'the cooldown after the storm is over; 0 of 3 workloads unhealthy: fewer than the 2 a storm needs',
      },
    ]);
    expect(s.jobs).toHaveLength(1);
    await s.monitor.stop();
  });

  it('holds as a storm again, not a cooldown, when the storm returns while it cools down', async () => {
    const policy = parsedPolicy('shop', 'web', { slack: { channel: '#shop' } });
    const s = scene(policy);
    stops.push(() => s.host.stopAll());
    await s.monitor.start();
    for (const name of ['web-1', 'web-2', 'web-3']) await s.pod(name);
    await s.observe('web-1', 1, true);
    await s.observe('web-2', 1, true);
    await s.observe('web-1', 1, false);
    await s.observe('web-2', 1, false);
    s.clock.increment(HOUR);
    await s.host.flushAll();
    await s.monitor.idle();
    expect(s.monitor.factsFor('shop/web').storm?.resumesAt).toBeDefined();
    // Two fail again within the cooldown: a storm in its own right.
    await s.observe('web-1', 2, true);
    await s.observe('web-3', 2, true);
    expect(s.monitor.factsFor('shop/web').storm).toEqual({
      unhealthy: 2,
      targets: 3,
      maxUnhealthyPercent: 50,
    });
    // When it is over, its own cooldown starts from then.
    await s.observe('web-1', 2, false);
    await s.observe('web-3', 2, false);
    s.clock.increment(HOUR);
    await s.host.flushAll();
    await s.monitor.idle();
    expect(s.monitor.factsFor('shop/web').storm?.resumesAt).toBe(s.clock.now() + 5 * MINUTE);
    await s.monitor.stop();
  });

  it('resumes at once after a storm under a policy whose stormCooldown is 0s', async () => {
    const policy = parsedPolicy('shop', 'web', { budget: { stormCooldown: '0s' } });
    const s = scene(policy);
    stops.push(() => s.host.stopAll());
    await s.monitor.start();
    for (const name of ['web-1', 'web-2', 'web-3']) await s.pod(name);
    await s.observe('web-1', 1, true);
    await s.observe('web-2', 1, true);
    expect(s.monitor.factsFor('shop/web').storm).not.toBeNull();
    await s.observe('web-1', 1, false);
    await s.observe('web-2', 1, false);
    s.clock.increment(HOUR);
    await s.host.flushAll();
    await s.monitor.idle();
    expect(s.monitor.factsFor('shop/web').storm).toBeNull();
    await s.monitor.stop();
  });
});
