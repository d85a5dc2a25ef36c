/**
 * The runtime side of workload memory (WorkloadKeeper over the in-memory store the simulator
 * uses): claims answered in order, a pod going away handing its incident to the pod that
 * replaces it, and pods waiting on their workload told when it is free.
 */
import { describe, expect, it } from 'vitest';
import { WorkloadKeeper } from '../../../src/actors/workload-memory.ts';
import type { MachineEvent, RuntimeFacts } from '../../../src/machines/index.ts';
import type { WorkloadClaimRequest } from '../../../src/machines/workload.ts';
import { MemoryWorkloadStore } from '../../../src/workloads/store.ts';
import { captureLogger, eventually } from '../../support/logger.ts';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const WORKLOAD = 'shop/Deployment/web';
const OWNER = 'agent-node-1';
const trigger = { type: 'CrashLoopBackOff' as const, reason: 'container "web" crash-loops' };

function keeper(policyOf?: (key: string) => string | undefined) {
  const delivered: { key: string; event: MachineEvent }[] = [];
  const told: { key: string; facts: Partial<RuntimeFacts> }[] = [];
  let now = T0;
  const store = new MemoryWorkloadStore();
  const running = new WorkloadKeeper({
    store,
    owner: OWNER,
    deliver: (key, event) => {
      delivered.push({ key, event });
      return Promise.resolve();
    },
    facts: (key, facts) => {
      told.push({ key, facts });
      return Promise.resolve();
    },
    now: () => now,
    logger: captureLogger().logger,
    ...(policyOf === undefined ? {} : { policyOf }),
  });
  return {
    keeper: running,
    store,
    delivered,
    told,
    advance: (ms: number) => (now += ms),
  };
}

function claimOf(actorKey: string, at = T0): WorkloadClaimRequest {
  return {
    actorKey,
    workload: WORKLOAD,
    incidentId: `${actorKey}#1@${at}`,
    trigger,
    verificationWindowMs: 60_000,
    requestedAt: at,
  };
}

/** What the keeper reads of a pod actor waiting (`joined`) on the workload's incident. */
function joinedSnapshot(actorKey: string): never {
  return {
    value: 'joined',
    context: {
      actorKey,
      kind: 'Pod',
      facts: { workloadMemory: true },
      incident: {
        id: `${actorKey}#1@${T0}`,
        trigger: { kind: 'detection', detection: trigger },
        claim: 'member',
        workload: WORKLOAD,
        plan: [],
        step: 0,
        awaiting: null,
      },
      remediations: [],
      deadlines: {},
      observation: null,
      policy: { verificationWindowMs: 60_000 },
    },
  } as never;
}

describe('the workload keeper', () => {
  it('answers the first claim with lead and the next ones with member, each as a WORKLOAD event to its pod', async () => {
    const { keeper: k, delivered } = keeper();
    k.claim(claimOf('Pod/shop/web-a'));
    k.claim(claimOf('Pod/shop/web-b'));
    await eventually(() => expect(delivered).toHaveLength(2));
    expect(
      delivered.map(({ key, event }) => [key, event.type === 'WORKLOAD' && event.answer.role]),
    ).toEqual([
      ['Pod/shop/web-a', 'lead'],
      ['Pod/shop/web-b', 'member'],
    ]);
    const member = delivered[1]?.event;
    expect(
      member?.type === 'WORKLOAD' &&
        member.answer.role === 'member' &&
        member.answer.incident.holder,
    ).toBe('Pod/shop/web-a');
  });

  it('hands a restarted pod’s incident to the pod that replaces it, once the old pod goes', async () => {
    const { keeper: k, store, delivered, advance } = keeper();
    k.claim(claimOf('Pod/shop/web-a'));
    await eventually(() => expect(delivered).toHaveLength(1));
    // The lead asked for a restart: what its actor reports after that transition.
    await store.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: {
        ...memory,
        incident: memory.incident && {
          ...memory.incident,
          phase: 'remediating',
          attempts: 1,
          actedAt: T0 + 1_000,
          replacesPod: true,
        },
      },
      result: null,
    }));
    advance(2_000);
    // The ReplicaSet makes the new pod before the old one's deletion reaches this process.
    expect(await k.adoptFor('Pod/shop/web-c', WORKLOAD, T0 + 1_500)).toBeUndefined();
    await k.release('Pod/shop/web-a', WORKLOAD, T0 + 2_000);
    const adopt = delivered.find((d) => d.event.type === 'ADOPT');
    expect(adopt?.key).toBe('Pod/shop/web-c');
    expect(adopt?.event.type === 'ADOPT' && adopt.event.incident).toMatchObject({
      id: 'Pod/shop/web-a#1@' + T0,
      holder: 'Pod/shop/web-c',
      // The replacement's actor reads this process's control stream: commands for the
      // incident go there now.
      holderOwner: OWNER,
      phase: 'verifying',
      attempts: 1,
      // The restart's verification started when the old pod went.
      verifyUntil: T0 + 2_000 + 60_000,
    });
    // An older pod of the workload does not take it.
    expect(await k.adoptFor('Pod/shop/web-old', WORKLOAD, T0 - 60_000)).toBeUndefined();
  });

  it('tells a pod waiting on its workload when the incident it joined ends, and when a hold runs out', async () => {
    const { keeper: k, store, told, advance } = keeper();
    k.claim(claimOf('Pod/shop/web-a'));
    k.claim(claimOf('Pod/shop/web-b'));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident?.holder).toBe(
        'Pod/shop/web-a',
      ),
    );
    // The member's actor is waiting in `joined`.
    k.noteTransition('Pod/shop/web-b', joinedSnapshot('Pod/shop/web-b'));
    // The lead's incident resolves and a cooldown of a minute starts.
    await store.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: { ...memory, incident: null, quietUntil: T0 + 60_000 },
      result: null,
    }));
    await k.poll();
    expect(told.at(-1)).toEqual({
      key: 'Pod/shop/web-b',
      facts: {
        workload: {
          type: 'CrashLoopBackOff',
          incidentId: null,
          heldUntil: T0 + 60_000,
          verifyingActedAt: null,
        },
      },
    });
    // Nothing changed: nothing is told again.
    await k.poll();
    expect(told).toHaveLength(1);
    // The cooldown is over: the pod is told the workload is free.
    advance(61_000);
    await k.poll();
    expect(told.at(-1)?.facts).toEqual({
      workload: {
        type: 'CrashLoopBackOff',
        incidentId: null,
        heldUntil: null,
        verifyingActedAt: null,
      },
    });
  });

  it('hands the incident to a pod created after the remediation that shows the symptom, and tells the verifying pod to let go', async () => {
    const { keeper: k, store, delivered, told, advance } = keeper();
    const incidentId = `Pod/shop/web-a#1@${T0}`;
    // web-c replaced the restarted web-a and verifies the restart until T0 + 61 s.
    await store.change(WORKLOAD, 'CrashLoopBackOff', () => ({
      memory: {
        incident: {
          id: incidentId,
          openedAt: T0,
          holder: 'Pod/shop/web-c',
          holderOwner: OWNER,
          phase: 'verifying',
          attempts: 1,
          actedAt: T0 + 1_000,
          replacesPod: true,
          verifyUntil: T0 + 61_000,
          verificationWindowMs: 60_000,
          announced: true,
          trigger,
        },
        remediations: [T0 + 1_000],
        quietUntil: null,
        quarantinedUntil: null,
        ticket: true,
      },
      result: null,
    }));
    k.noteTransition('Pod/shop/web-c', {
      value: 'verifying',
      context: {
        actorKey: 'Pod/shop/web-c',
        kind: 'Pod',
        facts: { workloadMemory: true },
        incident: {
          id: incidentId,
          openedAt: T0,
          trigger: { kind: 'detection', detection: trigger },
          claim: 'lead',
          workload: WORKLOAD,
          plan: [{ kind: 'restartPod' }],
          step: 0,
          awaiting: null,
          attempts: 1,
          actedAt: T0 + 1_000,
          announced: true,
        },
        remediations: [T0 + 1_000],
        deadlines: { verificationEnds: T0 + 61_000 },
        observation: null,
        tickets: ['CrashLoopBackOff'],
        policy: { verificationWindowMs: 60_000 },
      },
    } as never);
    advance(10_000);
    // A pod older than the restart was not touched by it: it only waits.
    k.claim({ ...claimOf('Pod/shop/web-old', T0 + 10_000), createdAt: T0 - 60_000 });
    await eventually(() => expect(delivered).toHaveLength(1));
    expect(delivered[0]?.event.type === 'WORKLOAD' && delivered[0].event.answer.role).toBe(
      'member',
    );
    // A pod the ReplicaSet made after the restart crash-loops too: the restart did not hold.
    k.claim({ ...claimOf('Pod/shop/web-d', T0 + 10_000), createdAt: T0 + 2_000 });
    await eventually(() => expect(delivered).toHaveLength(3));
    const answer = delivered.find((d) => d.key === 'Pod/shop/web-d')?.event;
    expect(answer?.type === 'WORKLOAD' && answer.answer).toMatchObject({
      role: 'lead',
      displaced: 'Pod/shop/web-c',
      ticket: true,
      continues: { id: incidentId, attempts: 1, phase: 'deciding', holder: 'Pod/shop/web-d' },
    });
    expect(delivered.find((d) => d.key === 'Pod/shop/web-c')?.event).toEqual({
      type: 'TAKEN_OVER',
      at: T0 + 10_000,
      incidentId,
      by: 'Pod/shop/web-d',
    });
    expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident).toMatchObject({
      holder: 'Pod/shop/web-d',
      phase: 'deciding',
      verifyUntil: null,
    });
    // Told once: a later poll has nothing more to say to web-c.
    await k.poll();
    expect(delivered.filter((d) => d.key === 'Pod/shop/web-c')).toHaveLength(1);
    expect(told).toEqual([]);
  });

  it('tells a waiting pod created after the remediation that a verification is under way, and only until it ends', async () => {
    const { keeper: k, store, told, advance } = keeper();
    k.claim(claimOf('Pod/shop/web-a'));
    k.claim(claimOf('Pod/shop/web-b'));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident?.holder).toBe(
        'Pod/shop/web-a',
      ),
    );
    k.noteTransition('Pod/shop/web-b', joinedSnapshot('Pod/shop/web-b'));
    // web-a rolled the Deployment back at T0 + 1 s and verifies it for a minute.
    await store.change(WORKLOAD, 'CrashLoopBackOff', (memory) => ({
      memory: {
        ...memory,
        incident: memory.incident && {
          ...memory.incident,
          phase: 'verifying',
          attempts: 1,
          actedAt: T0 + 1_000,
          verifyUntil: T0 + 61_000,
        },
      },
      result: null,
    }));
    await k.poll();
    expect(told.at(-1)?.facts.workload).toMatchObject({ verifyingActedAt: T0 + 1_000 });
    advance(61_000);
    await k.poll();
    expect(told.at(-1)?.facts.workload).toMatchObject({ verifyingActedAt: null });
  });
});

describe('the workload keeper, keeping the ticket of a symptom', () => {
  /** What the holder's actor looks like after a transition, as far as the keeper reads it. */
  function holderSnapshot(value: string, tickets: string[], incident: boolean) {
    return {
      value,
      context: {
        actorKey: 'Pod/shop/web-a',
        kind: 'Pod',
        facts: { workloadMemory: true },
        incident: incident
          ? {
              id: `Pod/shop/web-a#1@${T0}`,
              openedAt: T0,
              trigger: { kind: 'detection', detection: trigger },
              claim: 'lead',
              workload: WORKLOAD,
              plan: [],
              step: 0,
              awaiting: null,
              announced: true,
            }
          : null,
        remediations: [T0],
        deadlines: { quarantineEnds: T0 + 3_600_000 },
        // The pod of a Deployment: how the keeper knows the workload once no incident says it.
        observation: {
          kind: 'Pod',
          namespace: 'shop',
          name: 'web-a',
          owner: { kind: 'ReplicaSet', name: 'web-5d8f' },
          workload: { kind: 'Deployment', name: 'web' },
        },
        policy: { verificationWindowMs: 60_000 },
        tickets,
      },
    } as never;
  }

  it('remembers the ticket the holder asked for after its incident ends, and hands it to the next pod that leads', async () => {
    const { keeper: k, store, delivered, advance } = keeper();
    k.claim(claimOf('Pod/shop/web-a'));
    await eventually(() => expect(delivered).toHaveLength(1));
    // Quarantined, the ticket asked for; then the quarantine is lifted, the ticket still open.
    k.noteTransition('Pod/shop/web-a', holderSnapshot('quarantined', ['CrashLoopBackOff'], true));
    k.noteTransition('Pod/shop/web-a', holderSnapshot('healthy', ['CrashLoopBackOff'], false));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff).toMatchObject({
        incident: null,
        ticket: true,
      }),
    );
    // Two hours later, the quarantine over, another pod of the workload confirms the crash loop.
    advance(7_200_000);
    k.claim(claimOf('Pod/shop/web-b', T0 + 7_200_000));
    await eventually(() => expect(delivered).toHaveLength(2));
    const answer = delivered[1]?.event;
    expect(answer?.type === 'WORKLOAD' && answer.answer).toMatchObject({
      role: 'lead',
      ticket: true,
    });
    expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident).toMatchObject({
      holder: 'Pod/shop/web-b',
      holderOwner: OWNER,
    });
  });
  it("keeps the holder's governing policy with the incident, for whoever ends it with no pod left", async () => {
    const {
      keeper: k,
      store,
      delivered,
    } = keeper((key) => (key === 'Pod/shop/web-a' ? 'shop/crash-loops' : undefined));
    k.claim(claimOf('Pod/shop/web-a'));
    await eventually(() => expect(delivered).toHaveLength(1));
    k.noteTransition('Pod/shop/web-a', holderSnapshot('quarantined', [], true));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident).toMatchObject({
        phase: 'quarantined',
        policy: 'shop/crash-loops',
      }),
    );
  });
});

describe('the workload keeper, letting go', () => {
  it('lets go of a terminating pod’s incident once, however often the pod is seen going', async () => {
    const captured = captureLogger();
    const store = new MemoryWorkloadStore();
    const k = new WorkloadKeeper({
      store,
      owner: OWNER,
      deliver: () => Promise.resolve(),
      facts: () => Promise.resolve(),
      now: () => T0,
      logger: captured.logger,
    });
    k.claim(claimOf('Pod/shop/web-a'));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident?.holder).toBe(
        'Pod/shop/web-a',
      ),
    );
    const goingAway = () =>
      captured.records().filter((r) => String(r['msg']).startsWith('the pod holding')).length;
    await k.release('Pod/shop/web-a', WORKLOAD, T0 + 1_000);
    await k.release('Pod/shop/web-a', WORKLOAD, T0 + 2_000);
    expect(goingAway()).toBe(1);
    expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident?.holder).toBeNull();
    // Deleted, then made again under its name (a StatefulSet), the pod takes the incident over
    // and can be let go of again.
    k.forget('Pod/shop/web-a');
    k.claim(claimOf('Pod/shop/web-a'));
    await eventually(async () =>
      expect((await store.read(WORKLOAD)).CrashLoopBackOff?.incident?.holder).toBe(
        'Pod/shop/web-a',
      ),
    );
    await k.release('Pod/shop/web-a', WORKLOAD, T0 + 3_000);
    expect(goingAway()).toBe(2);
  });
});
