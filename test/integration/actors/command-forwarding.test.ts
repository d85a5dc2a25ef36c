/**
 * A person's command that reached the agent of a pod that no longer holds its workload's
 * incident: two agents' control streams on real Redis, the workload's memory in Redis, and the
 * replacement pod's actor in an ActorHost. The command goes on to the replacement, which acts.
 */
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { controlDelivery, FORWARDED_FROM } from '../../../src/actors/command-forwarding.ts';
import { toMachineEvent } from '../../../src/actors/control-events.ts';
import { ActorHost } from '../../../src/actors/host.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import {
  controlStreamKey,
  publishControl,
  startControlConsumer,
  type ControlConsumer,
  type ControlMessage,
} from '../../../src/effects/control-stream.ts';
import { defaultMachinePolicy, type MachinePolicy } from '../../../src/machines/index.ts';
import type { WorkloadIncident } from '../../../src/workloads/rules.ts';
import { RedisWorkloadStore } from '../../../src/workloads/store.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const WORKLOAD = 'shop/Deployment/cart';
const GONE = 'Pod/shop/cart-6d4f-aaaaa';
const REPLACEMENT = 'Pod/shop/cart-6d4f-bbbbb';
const MINUTE = 60_000;
const policy: MachinePolicy = {
  ...defaultMachinePolicy,
  name: 'shop/cart',
  detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
};

describe("a person's command for a workload's incident, at an agent", () => {
  let scratch: RedisForTest | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function world() {
    scratch = await redisForTest();
    const s = scratch;
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const workloads = new RedisWorkloadStore(s.redis, s.prefix);
    closers.push(() => workloads.close());
    const incidentId = `${GONE}#1@${clock.now() - 2 * MINUTE}`;
    const incident: WorkloadIncident = {
      id: incidentId,
      openedAt: clock.now() - 2 * MINUTE,
      holder: REPLACEMENT,
      holderOwner: 'agent-node-2',
      phase: 'verifying',
      attempts: 1,
      actedAt: clock.now() - MINUTE,
      replacesPod: true,
      verifyUntil: clock.now() + 4 * MINUTE,
      verificationWindowMs: 5 * MINUTE,
      announced: true,
      trigger: { type: 'CrashLoopBackOff', reason: 'container app crash-loops' },
    };
    // The replacement took the verification over: it runs on node-2.
    await workloads.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: { ...memory, incident },
      result: null,
    }));
    const host = new ActorHost({
      clock,
      store: new SnapshotStore({ redis: s.redis, keyPrefix: s.prefix, owner: 'agent-node-2' }),
      effects: { enqueue: () => Promise.resolve() },
      logger: captureLogger().logger,
    });
    closers.push(() => host.stopAll());
    host.spawn(REPLACEMENT, policy, 'shop/cart', { workloadMemory: true });
    await host.send(REPLACEMENT, {
      type: 'ADOPT',
      at: clock.now(),
      workload: WORKLOAD,
      incident,
      remediations: [incident.actedAt ?? 0],
    });
    expect(host.snapshot(REPLACEMENT)?.value).toBe('verifying');

    /** An agent reading its stream, running the actors of `runs`. */
    function agent(owner: string, runs: ActorHost | null) {
      const logs = captureLogger();
      const deliver = controlDelivery({
        owner,
        workloads,
        deliver: (key, event) => runs?.send(key, event) ?? Promise.resolve(),
        runs: (key) => runs?.has(key) ?? false,
        publish: (to, message) => publishControl(s.redis, s.prefix, to, message),
        logger: logs.logger,
      });
      const consumer: ControlConsumer = startControlConsumer({
        redis: s.redis.duplicate(),
        keyPrefix: s.prefix,
        owner,
        blockMs: 100,
        logger: logs.logger,
        handle: async (message) => {
          const translated = toMachineEvent(message, clock.now());
          if ('event' in translated) await deliver(message, translated.event);
        },
      });
      closers.push(() => consumer.stop());
      return logs;
    }

    const escalate = (actorKey: string, id: string): ControlMessage => ({
      id,
      actorKey,
      type: 'ESCALATE',
      payload: {
        by: 'Alice (Slack U0ALICE)',
        at: clock.now(),
        incidentId,
        id,
        via: 'slack',
        reason: 'escalated from Slack',
        workload: WORKLOAD,
      },
    });
    return { s, host, agent, escalate, workloads, incidentId };
  }

  it('goes on to the replacement that holds it now, on its node, which escalates', async () => {
    const { s, host, agent, escalate } = await world();
    const node1 = agent('agent-node-1', null);
    agent('agent-node-2', host);

    // Sent while the old pod still held the incident, read by its agent after the hand-over.
    await publishControl(s.redis, s.prefix, 'agent-node-1', escalate(GONE, 'slack-1'));

    await eventually(() =>
      expect(host.snapshot(REPLACEMENT)?.value).toMatchObject({ escalated: {} }),
    );
    expect(host.snapshot(REPLACEMENT)?.context.incident?.decision?.reason).toBe(
      'escalated by Alice (Slack U0ALICE): escalated from Slack',
    );
    const onNode2 = await s.redis.xrange(controlStreamKey(s.prefix, 'agent-node-2'), '-', '+');
    const forwarded = JSON.parse(onNode2[0]?.[1][1] ?? '{}') as ControlMessage;
    expect(forwarded).toMatchObject({
      id: 'slack-1',
      actorKey: REPLACEMENT,
      payload: { [FORWARDED_FROM]: GONE },
    });
    expect(
      node1.records().find((r) => String(r['msg']).includes('goes on to the pod that holds it')),
    ).toMatchObject({ object: GONE, holder: REPLACEMENT });
  });

  it('is taken by the holder on the same node without another trip through Redis', async () => {
    const { host, agent, escalate, s } = await world();
    agent('agent-node-2', host);
    await publishControl(s.redis, s.prefix, 'agent-node-2', escalate(GONE, 'slack-2'));
    await eventually(() =>
      expect(host.snapshot(REPLACEMENT)?.value).toMatchObject({ escalated: {} }),
    );
    expect(await s.redis.xlen(controlStreamKey(s.prefix, 'agent-node-2'))).toBe(1);
  });

  it('is said in the log, not lost in silence, when nobody there runs the actor it names', async () => {
    const { s, agent, escalate, workloads } = await world();
    // The incident ended: the workload remembers none.
    await workloads.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: { ...memory, incident: null },
      result: null,
    }));
    const node1 = agent('agent-node-1', null);
    await publishControl(s.redis, s.prefix, 'agent-node-1', escalate(GONE, 'slack-3'));
    await eventually(() =>
      expect(node1.records().find((r) => String(r['msg']).includes('does not run'))).toMatchObject({
        level: 'warn',
        object: GONE,
        type: 'ESCALATE',
        id: 'slack-3',
      }),
    );
    expect(await s.redis.xlen(controlStreamKey(s.prefix, 'agent-node-2'))).toBe(0);
  });
});
