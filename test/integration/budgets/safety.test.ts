/**
 * The safety facts of a runtime on real Redis: budgets re-read when an action is done or refused,
 * and the storm breaker summed over several runtimes (two agents), holding the policy's actors
 * and escalating once per storm however the runtimes race. Actors are real machines in a real
 * ActorHost; jobs go to real BullMQ queues; the refused job is refused by the real Kubernetes
 * workers' budget check.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { toEffectJob } from '../../../src/actors/effect-jobs.ts';
import { UnsentNotificationStore } from '../../../src/actors/unsent-notifications.ts';
import { ActorHost } from '../../../src/actors/host.ts';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { liveContexts, SafetyMonitor, type SafetySettings } from '../../../src/actors/safety.ts';
import { toMachineEvent } from '../../../src/actors/control-events.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import { Budgets } from '../../../src/budgets/budgets.ts';
import { actionScopes, policyScopes } from '../../../src/budgets/scopes.ts';
import { Storms } from '../../../src/budgets/storms.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer } from '../../../src/effects/control-stream.ts';
import { kubernetesProcessors } from '../../../src/effects/kubernetes/index.ts';
import { bullPrefix, EffectQueues } from '../../../src/effects/queues.ts';
import { startEffectWorkers } from '../../../src/effects/workers.ts';
import type {
  EffectRequest,
  MachineEvent,
  RemediationContext,
} from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import type { Policy } from '../../../src/policy/index.ts';
import { roleKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';
import { parsedPolicy } from '../../unit/budgets/support.ts';

const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Where the storm policies post, so that their group escalation is sent. */
const WITH_SLACK = { slack: { channel: '#shop' } };

function settings(overrides: Partial<SafetySettings> = {}): SafetySettings {
  return {
    limits: { namespaceMaxActions: 20, clusterMaxActions: 100, windowMs: HOUR },
    // Refreshes in these tests are the ones the events cause, or the test asks for.
    refreshIntervalMs: HOUR,
    stormMinUnhealthy: 2,
    stormQuietMs: 10 * MINUTE,
    ...overrides,
  };
}

/** A pod's controlling owner: its workload. */
type Owner = { kind: string; name: string } | null;

function observed(
  name: string,
  restarts: number,
  crashLooping: boolean,
  at: number,
  owner: Owner,
): MachineEvent {
  const object = podObject({ name, uid: `uid-${name}`, restarts, crashLooping, owner });
  const observation = observe(object as unknown as PodObject);
  return { type: 'OBSERVED', at, observation, detections: analyze(observation) };
}

interface Runtime {
  owner: string;
  host: ActorHost;
  monitor: SafetyMonitor;
  clock: SimulatedClock;
  requests: EffectRequest[];
  key: (name: string) => string;
  /**
   * Spawns the pod's actor, healthy. Its workload is a StatefulSet of its own unless `owner`
   * names another controller (or null: no controller).
   */
  pod: (name: string, owner?: Owner) => Promise<void>;
  /** The pod crash-loops with this many restarts (3 confirm the default rule). */
  crash: (name: string, restarts: number) => Promise<void>;
  /** The pod runs again, with this many restarts behind it. */
  recover: (name: string, restarts: number) => Promise<void>;
  facts: (name: string) => RemediationContext['facts'] | undefined;
  value: (name: string) => unknown;
}

describe('safety facts on real Redis', () => {
  let scratch: RedisForTest | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function redis(): Promise<RedisForTest> {
    scratch ??= await redisForTest();
    return scratch;
  }

  async function queues(): Promise<EffectQueues> {
    const s = await redis();
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    const q = new EffectQueues({ connection, keyPrefix: s.prefix, attempts: 1 });
    closers.push(
      () => connection.quit(),
      () => q.close(),
    );
    return q;
  }

  /** The jobs of a queue, whatever their state. */
  async function jobsIn(name: string): Promise<EffectJob[]> {
    const s = await redis();
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection, prefix: bullPrefix(s.prefix) });
    try {
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
      return jobs.map((j) => j.data as EffectJob);
    } finally {
      await queue.close();
      await connection.quit();
    }
  }

  async function runtime(options: {
    owner: string;
    policies: Policy[];
    queues: EffectQueues;
    settings?: SafetySettings;
    opened?: string[];
    unsent?: UnsentNotificationStore;
  }): Promise<Runtime> {
    const s = await redis();
    const { owner } = options;
    const clock = new SimulatedClock();
    clock.set(START);
    const logger = captureLogger().logger;
    const requests: EffectRequest[] = [];
    const policyOf = (ref: string) =>
      options.policies.find((p) => `${p.ref.namespace}/${p.ref.name}` === ref);
    const config = options.settings ?? settings();
    // The host tells the monitor of transitions; the monitor is made once the host exists.
    const monitorRef: { current?: SafetyMonitor } = {};
    const host = new ActorHost({
      clock,
      store: new SnapshotStore({ redis: s.redis, keyPrefix: s.prefix, owner }),
      logger,
      retryMs: 20,
      effects: {
        enqueue: async (request, actor, context) => {
          requests.push(request);
          const job = toEffectJob(request, {
            owner,
            policyRef: actor.policyRef,
            policy: policyOf(actor.policyRef),
            actor: context,
            limits: config.limits,
          });
          if (job !== undefined) await options.queues.enqueue(job);
        },
      },
      onTransition: (key, snapshot) => monitorRef.current?.noteTransition(key, snapshot.context),
    });
    const m = new SafetyMonitor({
      owner,
      settings: config,
      budgets: new Budgets(s.redis, s.prefix),
      storms: new Storms(s.redis, s.prefix),
      policies: () => options.policies,
      actors: () => liveContexts(host),
      sendFacts: (key, facts) => host.send(key, { type: 'FACTS', at: clock.now(), facts }),
      enqueue: async (job) => {
        await options.queues.enqueue(job);
      },
      recordStorm: () => options.opened?.push(owner),
      ...(options.unsent === undefined
        ? {}
        : { onUnsent: options.unsent.record.bind(options.unsent) }),
      now: () => clock.now(),
      logger,
    });
    monitorRef.current = m;
    closers.push(
      () => host.stopAll(),
      () => m.stop(),
    );
    await m.start();
    const policy = options.policies[0] as Policy;
    const ref = `${policy.ref.namespace}/${policy.ref.name}`;
    const key = (name: string) => `Pod/shop/${name}`;
    const owners = new Map<string, Owner>();
    const ownerOf = (name: string): Owner =>
      owners.get(name) ?? { kind: 'StatefulSet', name: `sts-${name}` };
    return {
      owner,
      host,
      monitor: m,
      clock,
      requests,
      key,
      pod: async (name, owner) => {
        if (owner !== undefined) owners.set(name, owner);
        host.spawn(key(name), toMachinePolicy(policy), ref, m.factsFor(ref));
        await host.send(key(name), observed(name, 0, false, clock.now(), ownerOf(name)));
      },
      crash: async (name, restarts) => {
        await host.send(key(name), observed(name, restarts, true, clock.now(), ownerOf(name)));
        clock.increment(1_000);
      },
      recover: async (name, restarts) => {
        await host.send(key(name), observed(name, restarts, false, clock.now(), ownerOf(name)));
      },
      facts: (name) => host.snapshot(key(name))?.context.facts,
      value: (name) => host.snapshot(key(name))?.value,
    };
  }

  describe('budgets', () => {
    it("tells a policy's actors when its budget is spent, and when it has tokens again", async () => {
      const s = await redis();
      const policy = parsedPolicy('shop', 'web', { budget: { maxActions: 2 } });
      const a = await runtime({ owner: 'agent-a', policies: [policy], queues: await queues() });
      await a.pod('web-1');
      await a.pod('web-2');
      expect(a.facts('web-1')?.budgetAvailable).toBe(true);

      // Two actions elsewhere spend the policy's budget, as the workers would take it.
      const budgets = new Budgets(s.redis, s.prefix);
      const scopes = actionScopes(policy, 'shop', settings().limits);
      for (const id of ['other-1', 'other-2'])
        expect((await budgets.take(id, scopes)).decision).toBe('allowed');
      // A result of something that disrupts nothing does not make the runtime look again.
      await a.monitor.effectResult({
        id: 'n-done',
        actorKey: a.key('web-2'),
        type: 'EFFECT.DONE',
        payload: { kind: 'notify' },
      });
      expect(a.facts('web-1')?.budgetAvailable).toBe(true);
      // A disruptive action done does.
      await a.monitor.effectResult({
        id: 'r-done',
        actorKey: a.key('web-2'),
        type: 'EFFECT.DONE',
        payload: { kind: 'restartPod' },
      });
      expect(a.facts('web-1')?.budgetAvailable).toBe(false);
      expect(a.facts('web-2')?.budgetAvailable).toBe(false);
      expect(a.monitor.factsFor('shop/web')).toEqual({ budgetAvailable: false, storm: null });

      // The next crash loop is handed to a person instead of being acted on.
      for (const restarts of [1, 2, 3]) await a.crash('web-1', restarts);
      expect(a.value('web-1')).toBe('awaitingApproval');
      expect(a.requests.map((r) => [r.step, r.effect.kind])).toEqual([
        ['detected-evidence', 'collectEvidence'],
        ['approval', 'notify'],
      ]);
      expect(a.requests[1]?.effect.reason).toMatch(
        /^the disruption budget for shop\/web is spent, so a person decides whether to restart Pod shop\/web-1/,
      );

      // Tokens come back (the window slid, or an action gave its token back): automation resumes.
      await budgets.giveBack('other-1', scopes);
      await a.monitor.refresh();
      expect(a.facts('web-2')?.budgetAvailable).toBe(true);
    });

    it("holds a policy when its namespace's budget is spent, but not a node policy", async () => {
      const s = await redis();
      const web = parsedPolicy('shop', 'web');
      const nodes = parsedPolicy('kube-remedy-system', 'nodes', {
        selector: { kinds: ['Node'] },
        detections: [{ type: 'NotReady', action: 'cordon' }],
      });
      const tight = settings({
        limits: { namespaceMaxActions: 1, clusterMaxActions: 100, windowMs: HOUR },
      });
      const a = await runtime({
        owner: 'agent-a',
        policies: [web, nodes],
        queues: await queues(),
        settings: tight,
      });
      // Another policy of the namespace spent the namespace's one action.
      const db = parsedPolicy('shop', 'db');
      await new Budgets(s.redis, s.prefix).take('db-1', actionScopes(db, 'shop', tight.limits));
      await a.monitor.refresh();
      expect(a.monitor.factsFor('shop/web').budgetAvailable).toBe(false);
      expect(a.monitor.factsFor('kube-remedy-system/nodes').budgetAvailable).toBe(true);
      expect(policyScopes(nodes, tight.limits).map((x) => x.scope)).not.toContain('namespace/shop');
    });

    it('looks again at once when a worker refuses an action for a spent budget', async () => {
      const s = await redis();
      const policy = parsedPolicy('shop', 'web', { budget: { maxActions: 1 } });
      const q = await queues();
      const a = await runtime({ owner: 'agent-a', policies: [policy], queues: q });
      await a.pod('web-1');
      await a.pod('web-2');

      // The real Kubernetes workers of this agent, and its control stream back to the actors.
      const publisher = new Redis(s.url);
      const connection = new Redis(s.url, { maxRetriesPerRequest: null });
      const reader = new Redis(s.url);
      const logger = captureLogger().logger;
      const workers = startEffectWorkers({
        connection,
        redis: publisher,
        keyPrefix: s.prefix,
        integrations: ['kubernetes'],
        owner: 'agent-a',
        processors: kubernetesProcessors({
          kc: roleKubeConfig('agent'),
          budgets: new Budgets(s.redis, s.prefix),
        }),
        logger,
      });
      const consumer = startControlConsumer({
        redis: reader,
        keyPrefix: s.prefix,
        owner: 'agent-a',
        logger,
        blockMs: 100,
        handle: async (message) => {
          void a.monitor.effectResult(message);
          const translated = toMachineEvent(message, a.clock.now());
          if ('event' in translated) await a.host.send(message.actorKey, translated.event);
        },
      });
      closers.push(
        () => consumer.stop(),
        () => workers.close(),
        () => publisher.quit(),
        () => connection.quit(),
        () => reader.quit(),
      );

      // Another agent took the policy's only token a moment ago; this runtime has not looked yet.
      const budgets = new Budgets(s.redis, s.prefix);
      await budgets.take('elsewhere', actionScopes(policy, 'shop', settings().limits));
      expect(a.facts('web-1')?.budgetAvailable).toBe(true);

      // So web-1's restart is asked for, and refused by the worker's atomic budget check.
      for (const restarts of [1, 2, 3]) await a.crash('web-1', restarts);
      expect(a.requests.map((r) => r.effect.kind)).toEqual(['collectEvidence', 'restartPod']);
      await eventually(() => expect(a.value('web-1')).toMatchObject({ escalated: {} }), 20_000);
      expect(a.host.snapshot(a.key('web-1'))?.context.incident?.decision?.reason).toMatch(
        /^restartPod failed: budget policy\/shop\/web spent/,
      );
      // The refusal made the runtime look again: web-2 now knows before it decides.
      await eventually(() => expect(a.facts('web-2')?.budgetAvailable).toBe(false));
      for (const restarts of [1, 2, 3]) await a.crash('web-2', restarts);
      expect(a.value('web-2')).toBe('awaitingApproval');
      expect(
        a.requests.filter((r) => r.actorKey === a.key('web-2')).map((r) => r.effect.kind),
      ).toEqual(['collectEvidence', 'notify']);
    });
  });

  describe('the storm breaker', () => {
    async function twoAgents(
      options: {
        quietMs?: number;
        /** The policy's stormCooldown; none unless a test is about it. */
        cooldown?: string;
        pods?: number;
        spec?: Record<string, unknown>;
        unsent?: UnsentNotificationStore;
      } = {},
    ): Promise<{ a: Runtime; b: Runtime; opened: string[]; policy: Policy }> {
      const policy = parsedPolicy('shop', 'web', {
        budget: { maxUnhealthyPercent: 50, stormCooldown: options.cooldown ?? '0s' },
        ...(options.spec ?? WITH_SLACK),
      });
      const q = await queues();
      const opened: string[] = [];
      const unsent = options.unsent === undefined ? {} : { unsent: options.unsent };
      const config = settings(
        options.quietMs === undefined ? {} : { stormQuietMs: options.quietMs },
      );
      const a = await runtime({
        owner: 'agent-a',
        policies: [policy],
        queues: q,
        opened,
        settings: config,
        ...unsent,
      });
      const b = await runtime({
        owner: 'agent-b',
        policies: [policy],
        queues: q,
        opened,
        settings: config,
        ...unsent,
      });
      for (let i = 1; i <= (options.pods ?? 3); i += 1) {
        await a.pod(`a-${i}`);
        await b.pod(`b-${i}`);
      }
      // Both have reported their targets: 6 workloads in all.
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      return { a, b, opened, policy };
    }

    async function storm(
      a: Runtime,
      b: Runtime,
      restarts = 1,
      names = ['a-1', 'a-2', 'b-1', 'b-2'],
    ): Promise<void> {
      // Both agents see their pods fail at the same time, and check while the other reports.
      await Promise.all(names.map((name) => (name.startsWith('a-') ? a : b).crash(name, restarts)));
      await Promise.all([a.monitor.idle(), b.monitor.idle()]);
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
    }

    const escalations = async () =>
      (await jobsIn('effects-slack')).filter((j) => j.effect.kind === 'escalate');

    it('is not tripped by half the workloads failing', async () => {
      const { a, b } = await twoAgents();
      await storm(a, b, 1, ['a-1', 'a-2', 'b-1']);
      expect(a.facts('a-3')?.storm).toBeNull();
      expect(b.facts('b-3')?.storm).toBeNull();
      expect(await escalations()).toEqual([]);
    });

    it('holds every target of the policy on both agents and escalates once, however they race', async () => {
      const { a, b, opened } = await twoAgents();
      await storm(a, b);
      // Many more checks from both at once, and from a third agent that just started (it has
      // escalated nothing yet, as an agent restarted after opening the storm would).
      const c = await runtime({
        owner: 'agent-c',
        policies: [
          parsedPolicy('shop', 'web', { budget: { maxUnhealthyPercent: 50 }, ...WITH_SLACK }),
        ],
        queues: await queues(),
        opened,
      });
      await c.pod('c-1');
      await c.crash('c-1', 1);
      const runtimes = [a, b, c];
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => (runtimes[i % 3] as Runtime).monitor.refresh()),
      );
      // Its pod was held from its first sighting of the storm: 4 of the 7 workloads then.
      expect(c.facts('c-1')?.storm).toEqual({ unhealthy: 4, targets: 7, maxUnhealthyPercent: 50 });

      const fact = { unhealthy: 4, targets: 6, maxUnhealthyPercent: 50 };
      for (const [runtime, name] of [
        [a, 'a-1'],
        [a, 'a-3'],
        [b, 'b-2'],
        [b, 'b-3'],
      ] as const) {
        expect(runtime.facts(name)?.storm, name).toEqual(fact);
      }
      const jobs = await escalations();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({
        actorKey: 'AutoRemediationPolicy/shop/web',
        step: 'storm-escalation',
        policy: 'shop/web',
      });
      expect(jobs[0]?.effect['reason']).toMatch(
        /^storm under policy shop\/web: 4 of its 6 workloads are unhealthy at once \(more than 50%\)/,
      );
      expect(opened).toHaveLength(1);

      // A held target that is confirmed asks a person; nothing is acted on.
      for (const restarts of [2, 3]) await b.crash('b-1', restarts);
      expect(b.value('b-1')).toBe('awaitingApproval');
      expect(b.host.snapshot(b.key('b-1'))?.context.incident?.decision?.reason).toMatch(
        /^the storm breaker holds shop\/web: 4 of its 6 workloads are unhealthy at once \(more than 50%\), so a person decides whether to restart Pod shop\/b-1/,
      );
      expect([...a.requests, ...b.requests].map((r) => r.effect.kind)).toEqual([
        'collectEvidence',
        'notify',
      ]);
      expect(await jobsIn('effects-kubernetes-agent-b')).toEqual([]);
    });

    it('escalates nothing when nothing configures Slack, and counts the storm once for the status', async () => {
      const s = await redis();
      const logs = captureLogger('debug');
      const unsent = new UnsentNotificationStore({
        redis: s.redis,
        keyPrefix: s.prefix,
        logger: logs.logger,
      });
      const { a, b, opened } = await twoAgents({ spec: {}, unsent });
      await storm(a, b);
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).monitor.refresh()),
      );
      // Held all the same, and the storm is recorded on the policy (its Event) by the opener.
      expect(a.facts('a-3')?.storm).toEqual({ unhealthy: 4, targets: 6, maxUnhealthyPercent: 50 });
      expect(opened).toHaveLength(1);
      expect(await jobsIn('effects-slack')).toEqual([]);
      const recorded = (await unsent.read(['shop/web'])).get('shop/web');
      expect(recorded).toMatchObject({
        count: 1,
        latest: { object: 'AutoRemediationPolicy/shop/web', what: 'escalated' },
      });
      expect(recorded?.latest.reason).toMatch(
        /^storm under policy shop\/web: 4 of its 6 workloads/,
      );
    });

    it('lets go when the storm passes, and does not escalate a storm that returns within the quiet time', async () => {
      const { a, b } = await twoAgents();
      await storm(a, b);
      expect(a.facts('a-1')?.storm).not.toBeNull();

      // The symptoms clear and the detection windows close (10 minutes later).
      for (const [runtime, name] of [
        [a, 'a-1'],
        [a, 'a-2'],
        [b, 'b-1'],
        [b, 'b-2'],
      ] as const) {
        await runtime.recover(name, 1);
      }
      for (const runtime of [a, b]) {
        runtime.clock.increment(11 * MINUTE);
        await runtime.host.flushAll();
        await runtime.monitor.idle();
      }
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      expect(a.value('a-1')).toBe('healthy');
      expect(a.facts('a-1')?.storm).toBeNull();
      expect(b.facts('b-3')?.storm).toBeNull();

      // Back again: held again, but it is the same storm.
      await storm(a, b, 2);
      expect(b.facts('b-1')?.storm).not.toBeNull();
      expect(await escalations()).toHaveLength(1);
    });

    it('holds both agents for the cooldown after the storm, until the time the first to see its end named, and an agent started meanwhile too', async () => {
      const { a, b, opened } = await twoAgents({ cooldown: '5m' });
      await storm(a, b);
      for (const [runtime, name] of [
        [a, 'a-1'],
        [a, 'a-2'],
        [b, 'b-1'],
        [b, 'b-2'],
      ] as const) {
        await runtime.recover(name, 1);
      }
      // Agent a sees the end first; agent b a minute later by its clock.
      a.clock.increment(11 * MINUTE);
      await a.host.flushAll();
      await a.monitor.idle();
      await a.monitor.refresh();
      const resumesAt = a.clock.now() + 5 * MINUTE;
      const cooling = { unhealthy: 4, targets: 6, maxUnhealthyPercent: 50, resumesAt };
      expect(a.facts('a-3')?.storm).toEqual(cooling);
      b.clock.increment(12 * MINUTE);
      await b.host.flushAll();
      await b.monitor.idle();
      await b.monitor.refresh();
      expect(b.facts('b-3')?.storm).toEqual(cooling);
      // A held pod that is confirmed now asks a person, saying when automation resumes.
      for (const restarts of [2, 3, 4]) await b.crash('b-3', restarts);
      expect(b.value('b-3')).toBe('awaitingApproval');
      expect(b.host.snapshot(b.key('b-3'))?.context.incident?.decision?.reason).toMatch(
        new RegExp(
          `^shop/web is cooling down after a storm \\(4 of its 6 workloads were unhealthy at once\\); automation resumes at ${new Date(resumesAt).toISOString()}, so a person decides whether to restart Pod shop/b-3`,
        ),
      );
      // An agent that starts during the cooldown holds as well.
      const c = await runtime({
        owner: 'agent-c',
        policies: [
          parsedPolicy('shop', 'web', {
            budget: { maxUnhealthyPercent: 50, stormCooldown: '5m' },
            ...WITH_SLACK,
          }),
        ],
        queues: await queues(),
        opened,
      });
      c.clock.set(a.clock.now());
      await c.pod('c-1');
      await c.monitor.refresh();
      expect(c.facts('c-1')?.storm).toEqual(cooling);
      // Once the time comes, automation resumes everywhere.
      for (const runtime of [a, c]) {
        runtime.clock.set(resumesAt);
        await runtime.monitor.refresh();
      }
      expect(a.facts('a-3')?.storm).toBeNull();
      expect(c.facts('c-1')?.storm).toBeNull();
      expect(await escalations()).toHaveLength(1);
    });

    it('escalates a storm that comes after the quiet time as a new one', async () => {
      const s = await redis();
      const { a, b } = await twoAgents({ quietMs: 500 });
      await storm(a, b);
      expect(await escalations()).toHaveLength(1);
      for (const [runtime, name] of [
        [a, 'a-1'],
        [a, 'a-2'],
        [b, 'b-1'],
        [b, 'b-2'],
      ] as const) {
        await runtime.recover(name, 1);
      }
      for (const runtime of [a, b]) {
        runtime.clock.increment(11 * MINUTE);
        await runtime.host.flushAll();
        await runtime.monitor.idle();
      }
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      expect(a.facts('a-1')?.storm).toBeNull();
      // The quiet time passes (Redis expires the storm).
      await eventually(async () =>
        expect(await new Storms(s.redis, s.prefix).openSince('shop/web')).toBeNull(),
      );
      a.clock.increment(MINUTE);
      b.clock.increment(MINUTE);
      await storm(a, b, 2);
      const jobs = await escalations();
      expect(jobs.map((j) => j.incidentId)).toHaveLength(2);
      expect(new Set(jobs.map((j) => j.incidentId)).size).toBe(2);
    });

    it("counts a Deployment's replicas on both agents as one workload: all of them failing under a one-Deployment policy is no storm", async () => {
      const web = { kind: 'ReplicaSet', name: 'web-6d5f7c9b8' };
      const policy = parsedPolicy('shop', 'web', {
        budget: { maxUnhealthyPercent: 50 },
        ...WITH_SLACK,
      });
      const q = await queues();
      const a = await runtime({ owner: 'agent-a', policies: [policy], queues: q });
      const b = await runtime({ owner: 'agent-b', policies: [policy], queues: q });
      for (const name of ['a-1', 'a-2', 'a-3']) await a.pod(name, web);
      for (const name of ['b-1', 'b-2', 'b-3']) await b.pod(name, web);
      await storm(a, b, 1, ['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 'b-3']);
      for (const [runtime, name] of [
        [a, 'a-1'],
        [b, 'b-3'],
      ] as const) {
        expect(runtime.value(name), name).toBe('suspect');
        expect(runtime.facts(name)?.storm, name).toBeNull();
      }
      expect(await escalations()).toEqual([]);
      // Confirmed, it is acted on: one broken workload, not a storm.
      for (const restarts of [2, 3]) await a.crash('a-1', restarts);
      expect(a.requests.map((r) => r.effect.kind)).toContain('restartPod');
    });

    it('holds while any pod of an unhealthy workload fails, on either agent, and lets go once none does', async () => {
      const web = { kind: 'ReplicaSet', name: 'web-6d5f7c9b8' };
      const policy = parsedPolicy('shop', 'web', {
        budget: { maxUnhealthyPercent: 50, stormCooldown: '0s' },
        ...WITH_SLACK,
      });
      const q = await queues();
      const a = await runtime({ owner: 'agent-a', policies: [policy], queues: q });
      const b = await runtime({ owner: 'agent-b', policies: [policy], queues: q });
      // Three workloads: Deployment web (a pod under each agent) and two StatefulSets.
      await a.pod('web-a', web);
      await b.pod('web-b', web);
      await a.pod('db-0');
      await b.pod('cache-0');
      // web fails under both agents, and db too: 2 of the 3 workloads.
      await Promise.all([a.crash('web-a', 1), b.crash('web-b', 1), a.crash('db-0', 1)]);
      await Promise.all([a.monitor.idle(), b.monitor.idle()]);
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      const held = { unhealthy: 2, targets: 3, maxUnhealthyPercent: 50 };
      expect(b.facts('cache-0')?.storm).toEqual(held);
      // db is confirmed and handed to a person: its incident stays open while this test goes on.
      for (const restarts of [2, 3]) await a.crash('db-0', restarts);
      expect(a.value('db-0')).toBe('awaitingApproval');

      // web's pod under agent a runs again; its pod under agent b still fails: still 2 of 3.
      await a.recover('web-a', 1);
      a.clock.increment(11 * MINUTE);
      await a.host.flushAll();
      await Promise.all([a.monitor.idle(), b.monitor.idle()]);
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      expect(a.value('web-a')).toBe('healthy');
      expect(a.facts('web-a')?.storm).toEqual(held);
      expect(b.facts('cache-0')?.storm).toEqual(held);

      // Its pod under agent b runs again too: 1 of 3, the storm is over.
      await b.recover('web-b', 1);
      b.clock.increment(11 * MINUTE);
      await b.host.flushAll();
      await Promise.all([a.monitor.idle(), b.monitor.idle()]);
      await Promise.all([a.monitor.refresh(), b.monitor.refresh()]);
      expect(b.value('web-b')).toBe('healthy');
      expect(a.facts('db-0')?.storm).toBeNull();
      expect(b.facts('cache-0')?.storm).toBeNull();
    });
  });
});
