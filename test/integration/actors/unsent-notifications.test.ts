/**
 * Notifications under a policy without Slack, on real Redis, BullMQ and API server: the actor's
 * effects go through the roles' effect sink and its Events through the roles' Event sink, as in
 * the agent. Nothing lands on the Slack queue (nor the LLM's), the Events on the pod still tell
 * the story, and the policy's status says once how many notifications were not sent.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SimulatedClock } from 'xstate';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost } from '../../../src/actors/host.ts';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { actorEventSink, countedEffectSink } from '../../../src/actors/role-wiring.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import {
  UnsentNotificationStore,
  unsentProblems,
} from '../../../src/actors/unsent-notifications.ts';
import { EventRecorder } from '../../../src/adapters/kubernetes/events.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { bullPrefix, EffectQueues } from '../../../src/effects/queues.ts';
import type { MachineEvent } from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import {
  parsePolicy,
  PolicyController,
  PolicyIndex,
  type Policy,
  type PolicyRef,
  type PolicyStatus,
  type PolicyStatusWriter,
  type UnsentNotifications,
} from '../../../src/policy/index.ts';
import { KubernetesPolicyStatusWriter } from '../../../src/policy/kubernetes.ts';
import { createMetricsRegistry } from '../../../src/telemetry/metrics.ts';
import { createRuntimeMetrics } from '../../../src/telemetry/runtime-metrics.ts';
import { adminClient, createPod, freshNamespace, type List } from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';
import { createPolicy, installCrd, policiesPath, type StoredPolicy } from '../policy/support.ts';

const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;

/** Crash loops are told to people (action notify): detection escalates at once. */
const TELL_PEOPLE = {
  selector: { kinds: ['Pod'] },
  mode: 'auto',
  detections: [{ type: 'CrashLoopBackOff', threshold: 3, window: '10m', action: 'notify' }],
  llm: { enabled: true, model: 'small-model' },
};

function parsed(namespace: string, spec: Record<string, unknown>): Policy {
  const result = parsePolicy({ metadata: { namespace, name: 'tell-people', generation: 1 }, spec });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.policy;
}

describe('notifications under a policy without Slack', () => {
  const admin = adminClient();
  let scratch: RedisForTest | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  /** The jobs of a queue, whatever their state. */
  async function jobsIn(s: RedisForTest, name: string): Promise<EffectJob[]> {
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

  async function eventsOn(namespace: string, name: string): Promise<CoreV1Event[]> {
    const list = await admin.get<List<CoreV1Event>>(
      `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`,
    );
    return list.items.filter((e) => e.reportingComponent?.startsWith('kube-remedy.io/'));
  }

  /** A pod that crash-loops under `spec`, its actor in a host wired as the agent wires it. */
  async function crashLoopUnder(spec: Record<string, unknown>) {
    scratch = await redisForTest();
    const s = scratch;
    const namespace = await freshNamespace(admin, { prefix: 'unsent' });
    const pod = await createPod(admin, namespace, { name: 'cart' });
    const policy = parsed(namespace, spec);
    const policyRef = `${namespace}/tell-people`;
    const logs = captureLogger('debug');
    const connection = new Redis(s.url, { maxRetriesPerRequest: null });
    const queues = new EffectQueues({ connection, keyPrefix: s.prefix, attempts: 1 });
    closers.push(
      () => connection.quit(),
      () => queues.close(),
    );
    const metrics = createRuntimeMetrics(createMetricsRegistry({ version: 'test', role: 'all' }));
    const unsent = new UnsentNotificationStore({
      redis: s.redis,
      keyPrefix: s.prefix,
      logger: logs.logger,
    });
    const recorder = new EventRecorder(adminKubeConfig(), {
      component: 'kube-remedy-agent',
      instance: 'agent-n1',
      logger: logs.logger,
    });
    const clock = new SimulatedClock();
    clock.set(START);
    const host = new ActorHost({
      clock,
      store: new SnapshotStore({ redis: s.redis, keyPrefix: s.prefix, owner: 'agent-n1' }),
      effects: countedEffectSink({
        owner: 'agent-n1',
        queues,
        policyOf: () => policy,
        limits: undefined,
        evidenceWaitMs: 0,
        slackChannel: undefined,
        onUnsent: (ref, notice) => unsent.record(ref, notice),
        logger: logs.logger,
        metrics,
      }),
      events: actorEventSink(recorder, metrics),
      logger: logs.logger,
      retryMs: 20,
    });
    closers.push(() => host.stopAll());
    const key = `Pod/${namespace}/cart`;
    const observed = (restarts: number): MachineEvent => {
      const object = podObject({
        namespace,
        name: 'cart',
        uid: pod.metadata.uid ?? '',
        restarts,
        crashLooping: true,
      });
      const observation = observe(object as unknown as PodObject);
      return { type: 'OBSERVED', at: clock.now(), observation, detections: analyze(observation) };
    };
    host.spawn(key, toMachinePolicy(policy), policyRef);
    for (const restarts of [1, 2, 3]) {
      await host.send(key, observed(restarts));
      clock.increment(MINUTE);
    }
    await host.flushAll();
    return { s, namespace, policyRef, key, host, unsent, logs };
  }

  it('enqueues no Slack or LLM job, while the Event on the pod tells that people should look', async () => {
    const { s, namespace, policyRef, key, host, unsent, logs } = await crashLoopUnder(TELL_PEOPLE);
    expect(host.snapshot(key)?.value).toMatchObject({ escalated: {} });

    expect(await jobsIn(s, 'effects-slack')).toEqual([]);
    expect(await jobsIn(s, 'effects-llm')).toEqual([]);
    await eventually(async () =>
      expect(await eventsOn(namespace, 'cart')).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'Escalated',
          message: expect.stringContaining('is in CrashLoopBackOff') as unknown,
        }),
      ),
    );
    expect((await unsent.read([policyRef])).get(policyRef)).toEqual({
      count: 1,
      since: START + 2 * MINUTE,
      latest: {
        at: START + 2 * MINUTE,
        object: key,
        what: 'escalated',
        reason: expect.stringContaining('is in CrashLoopBackOff') as unknown,
      },
    });
    expect(
      logs.records().filter((r) => String(r['msg']).startsWith('notification not sent')),
    ).toEqual([
      expect.objectContaining({ level: 'info', policy: policyRef, notification: 'escalated' }),
    ]);
  });

  it('sends the same notification, and its LLM companion, once the policy names a channel', async () => {
    const { s, policyRef, unsent } = await crashLoopUnder({
      ...TELL_PEOPLE,
      slack: { channel: '#shop' },
    });
    expect(
      (await jobsIn(s, 'effects-slack')).map((j) => [j.effect.kind, j.effect['purpose']]),
    ).toEqual([['notify', 'escalated']]);
    expect((await jobsIn(s, 'effects-llm')).map((j) => j.effect.kind)).toEqual(['suggestCause']);
    expect(await unsent.read([policyRef])).toEqual(new Map());
  });
});

/** The real writer, counting its calls. */
class CountingWriter implements PolicyStatusWriter {
  readonly inner = new KubernetesPolicyStatusWriter(adminKubeConfig());
  writes = 0;

  async applyStatus(ref: PolicyRef, status: PolicyStatus, signal?: AbortSignal): Promise<void> {
    this.writes += 1;
    await this.inner.applyStatus(ref, status, signal);
  }
}

describe('the status of a policy whose notifications were not sent', () => {
  const admin = adminClient();
  let scratch: RedisForTest | undefined;
  beforeAll(() => installCrd(admin));
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('says once how many, and the latest, however many there were', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const namespace = await freshNamespace(admin, { prefix: 'unsent-status' });
    const stored = await createPolicy(admin, namespace, 'tell-people', TELL_PEOPLE);
    const policyRef = `${namespace}/tell-people`;
    const unsent = new UnsentNotificationStore({
      redis: s.redis,
      keyPrefix: s.prefix,
      logger: captureLogger().logger,
    });
    const notice = (minute: number, object: string) => ({
      at: START + minute * MINUTE,
      object,
      what: 'escalated',
      reason: `the policy asks to tell people about CrashLoopBackOff, not to act: ${object}`,
    });
    // What the controller role wires: read the counts once per flush, report them as a problem.
    const index = new PolicyIndex({ agentNamespace: 'kube-remedy-system' });
    let counts = new Map<string, UnsentNotifications>();
    const writer = new CountingWriter();
    const controller = new PolicyController({
      index,
      writer,
      beforeFlush: async () => {
        counts = await unsent.read([policyRef]);
      },
      reports: (r) => ({
        problems: unsentProblems(index.policy(r), undefined, counts.get(policyRef)),
      }),
    });
    controller.handle({ type: 'upsert', resource: stored });
    const degraded = async () =>
      (
        await admin.get<StoredPolicy>(policiesPath(namespace, 'tell-people'))
      ).status?.conditions?.find((c) => c.type === 'Degraded');

    await controller.flush();
    expect(await degraded()).toMatchObject({ status: 'False', reason: 'AsExpected' });

    await unsent.record(policyRef, notice(0, `Pod/${namespace}/cart-1`));
    await unsent.record(policyRef, notice(5, `Pod/${namespace}/cart-2`));
    await unsent.record(policyRef, notice(7, `Pod/${namespace}/cart-3`));
    const before = writer.writes;
    await controller.flush();
    await controller.flush();
    expect(writer.writes - before).toBe(1);
    expect(await degraded()).toMatchObject({
      status: 'True',
      reason: 'SlackNotConfigured',
      message:
        'Slack is not configured: 3 notifications not sent since 2026-11-28T10:00:00Z (latest: ' +
        `escalated Pod/${namespace}/cart-3 at 2026-11-28T10:07:00Z: the policy asks to tell ` +
        `people about CrashLoopBackOff, not to act: Pod/${namespace}/cart-3). The Kubernetes ` +
        "Events of the objects tell what happened; set spec.slack.channel, or the installation's " +
        'slack.channel, to have notifications posted',
    });

    // A channel in the policy: what is sent from now on reaches Slack; the status says no more.
    const withSlack = await admin.patch<StoredPolicy>(
      policiesPath(namespace, 'tell-people'),
      { spec: { slack: { channel: '#shop' } } },
      'merge',
    );
    controller.handle({ type: 'upsert', resource: withSlack });
    await controller.flush();
    expect(await degraded()).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });
});
