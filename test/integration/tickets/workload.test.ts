/**
 * The ticket of a Deployment's crash loop, through pods that replace each other: pod actors in
 * an ActorHost with the workload keeper on real Redis, the tickets worker on the fake Jira
 * through the real SDK. The pod that is quarantined opens the ticket; the quarantine is lifted;
 * the next incident restarts that pod, and its replacement, which verified the restart, closes
 * the ticket the first pod opened.
 */
import { Redis } from 'ioredis';
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { createJiraClient, JiraTracker } from '../../../src/adapters/jira/tracker.ts';
import { toMachineEvent } from '../../../src/actors/control-events.ts';
import { roleEffectSink } from '../../../src/actors/effect-jobs.ts';
import { ActorHost } from '../../../src/actors/host.ts';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { WorkloadKeeper } from '../../../src/actors/workload-memory.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer } from '../../../src/effects/control-stream.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { ticketProcessors } from '../../../src/effects/tickets/index.ts';
import { startEffectWorkers } from '../../../src/effects/workers.ts';
import type { MachineEvent } from '../../../src/machines/index.ts';
import { observe, podWorkloadKey, type PodObject } from '../../../src/observe/index.ts';
import { parsePolicy } from '../../../src/policy/index.ts';
import { RedisWorkloadStore } from '../../../src/workloads/store.ts';
import { FakeJira } from '../../support/fake-jira.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest } from '../../support/redis.ts';

const OWNER = 'agent-node-1';
const MINUTE = 60_000;

/** A pod of the Deployment `cart` (its ReplicaSet `cart-6d4f`). */
function cartPod(name: string, crashLooping: boolean, restarts: number): PodObject {
  const pod = podObject({ name, uid: `uid-${name}`, restarts, crashLooping }) as {
    metadata: Record<string, unknown>;
  };
  pod.metadata['labels'] = { app: 'cart', 'pod-template-hash': '6d4f' };
  return pod as unknown as PodObject;
}

function observed(pod: PodObject, at: number): MachineEvent {
  const observation = observe(pod);
  return { type: 'OBSERVED', at, observation, detections: analyze(observation) };
}

describe("the ticket of a Deployment's crash loop", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('is opened by the quarantined pod and closed by the replacement that verified the fix', async () => {
    const jira = new FakeJira();
    await jira.start();
    closers.push(async () => {
      await jira.stop();
      expect(jira.violations).toEqual([]);
    });
    const scratch = await redisForTest();
    closers.push(() => scratch.cleanup());
    const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
    const reader = new Redis(scratch.url);
    closers.push(
      () => connection.quit(),
      () => reader.quit(),
    );
    const logger = captureLogger().logger;

    const parsed = parsePolicy({
      apiVersion: 'remedy.kube-remedy.io/v1alpha1',
      kind: 'AutoRemediationPolicy',
      metadata: { namespace: 'shop', name: 'cart', generation: 1 },
      spec: {
        selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
        mode: 'auto',
        detections: [
          { type: 'CrashLoopBackOff', threshold: 1, window: '1m', action: 'restartPod' },
        ],
        verification: { window: '5m' },
        cooldown: '1m',
        // One restart an hour; a crash loop beyond that is quarantined, and a ticket opened.
        quarantine: { maxRemediations: 1, window: '1h' },
        ticket: { provider: 'jira', project: 'OPS' },
        escalation: { levels: [{ after: '0s', targets: [{ type: 'ticket' }] }] },
      },
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const policy = parsed.policy;
    const machinePolicy = toMachinePolicy(policy);

    const queues = new EffectQueues({
      connection,
      keyPrefix: scratch.prefix,
      attempts: 3,
      backoffMs: 10,
    });
    closers.push(() => queues.close());
    const client = createJiraClient({
      baseUrl: jira.url,
      email: jira.email,
      apiToken: jira.apiToken,
      onSchemaMismatch: 'throw',
    });
    const workers = startEffectWorkers({
      connection,
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      integrations: ['tickets'],
      owner: OWNER,
      processors: ticketProcessors({
        trackers: { jira: new JiraTracker({ client, baseUrl: jira.url, issueType: 'Incident' }) },
      }),
      logger,
    });
    closers.push(() => workers.close());

    // From now on: the workers stamp the results they send back with the time they finished.
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const enqueued: EffectJob[] = [];
    const workloadStore = new RedisWorkloadStore(scratch.redis, scratch.prefix);
    closers.push(() => workloadStore.close());
    const keeper: WorkloadKeeper = new WorkloadKeeper({
      store: workloadStore,
      owner: OWNER,
      // The host is created below, before any actor exists.
      deliver: (key, event) => host.send(key, event),
      facts: (key, facts) => host.send(key, { type: 'FACTS', at: clock.now(), facts }),
      now: () => clock.now(),
      logger,
    });
    const host: ActorHost = new ActorHost({
      clock,
      store: new SnapshotStore({ redis: scratch.redis, keyPrefix: scratch.prefix, owner: OWNER }),
      effects: {
        enqueue: roleEffectSink({
          owner: OWNER,
          queues,
          policyOf: () => policy,
          limits: undefined,
          logger,
          onEnqueued: (job) => enqueued.push(job),
        }),
      },
      workloads: { claim: (request) => keeper.claim(request) },
      onTransition: (key, snapshot) => keeper.noteTransition(key, snapshot),
      logger,
      retryMs: 20,
    });
    closers.push(() => host.stopAll());
    const consumer = startControlConsumer({
      redis: reader,
      keyPrefix: scratch.prefix,
      owner: OWNER,
      logger,
      blockMs: 100,
      handle: async (message) => {
        const translated = toMachineEvent(message, clock.now());
        if ('event' in translated) await host.send(message.actorKey, translated.event);
      },
    });
    closers.push(() => consumer.stop());

    const workload = podWorkloadKey(cartPod('cart-6d4f-a', false, 0)) as string;
    expect(workload).toBe('shop/Deployment/cart');
    const stateOf = (key: string) => host.snapshot(key)?.value;
    const awaited = (key: string) => host.snapshot(key)?.context.incident?.awaiting?.effectId ?? '';
    const memory = async () => (await workloadStore.read(workload)).CrashLoopBackOff;

    /** As the agent does when a pod appears: its actor, told first of a verification it takes over. */
    async function podAppears(name: string, crashLooping: boolean, restarts: number) {
      const key = `Pod/shop/${name}`;
      const adoption = await keeper.adoptFor(key, workload, clock.now());
      host.spawn(key, machinePolicy, 'shop/cart', { workloadMemory: true });
      if (adoption !== undefined) await host.send(key, adoption);
      await host.send(key, observed(cartPod(name, crashLooping, restarts), clock.now()));
      return key;
    }

    /** The restart asked for by `key` is done and its pod deleted, as the agent sees it. */
    async function restarted(key: string) {
      await host.send(key, { type: 'EFFECT.DONE', at: clock.now(), effectId: awaited(key) });
      expect(stateOf(key)).toBe('verifying');
      await eventually(async () => expect((await memory())?.incident?.phase).toBe('verifying'));
      clock.increment(10_000);
      await keeper.release(key, workload, clock.now());
      await host.stop(key, { forget: true });
      keeper.forget(key);
    }

    // 1. Pod a crash-loops and is restarted; its replacement b verifies the restart.
    const a = await podAppears('cart-6d4f-a', true, 4);
    await eventually(() => expect(stateOf(a)).toBe('remediating'));
    const incident = host.snapshot(a)?.context.incident?.id;
    await restarted(a);
    const b = await podAppears('cart-6d4f-b', false, 0);
    expect(stateOf(b)).toBe('verifying');
    expect(host.snapshot(b)?.context.incident?.id).toBe(incident);
    clock.increment(5 * MINUTE);
    await host.flushAll();
    expect(stateOf(b)).toBe('coolingDown');

    // 2. Ten minutes later b crash-loops: a second restart within the hour is one too many.
    clock.increment(10 * MINUTE);
    await host.send(b, observed(cartPod('cart-6d4f-b', true, 5), clock.now()));
    await eventually(() => expect(stateOf(b)).toBe('quarantined'));
    await eventually(() => expect(jira.issues).toHaveLength(1));
    expect(jira.issue('OPS-1')).toMatchObject({
      summary: '[kube-remedy] CrashLoopBackOff: Deployment shop/cart',
      status: 'todo',
    });
    await eventually(async () => expect((await memory())?.ticket).toBe(true));

    // 3. The quarantine is lifted: the ticket hears of it and stays open. b, still
    //    crash-looping, is restarted; its replacement c takes the verification over.
    clock.increment(50 * MINUTE);
    await host.flushAll();
    await eventually(() => expect(stateOf(b)).toBe('remediating'));
    await eventually(() => expect(jira.commentTexts('OPS-1')).toHaveLength(1));
    expect(jira.commentTexts('OPS-1')[0]).toContain('remediations are allowed again');
    await restarted(b);
    const c = await podAppears('cart-6d4f-c', false, 0);
    expect(stateOf(c)).toBe('verifying');
    expect(host.snapshot(c)?.context.tickets).toEqual(['CrashLoopBackOff']);

    // 4. The restart holds on c: c resolves the problem and closes the ticket b opened.
    clock.increment(5 * MINUTE);
    await host.flushAll();
    expect(stateOf(c)).toBe('coolingDown');
    await eventually(() => expect(jira.issue('OPS-1').status).toBe('done'));
    expect(jira.issues).toHaveLength(1);
    expect(jira.commentTexts('OPS-1').at(-1)).toContain('Resolved:');
    expect(jira.commentTexts('OPS-1').at(-1)).toContain('Pod: Pod shop/cart-6d4f-c');
    expect(
      enqueued
        .filter((j) => j.effect.kind === 'openTicket' || j.effect.kind === 'updateTicket')
        .map((j) => [j.actorKey, j.workload, j.effect.kind, j.effect['resolve'] ?? null]),
    ).toEqual([
      [b, workload, 'openTicket', null],
      [b, workload, 'updateTicket', false],
      [c, workload, 'updateTicket', true],
    ]);
    await eventually(async () => expect((await memory())?.ticket).toBe(false));
  });
});
