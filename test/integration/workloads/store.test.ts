import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Detection } from '../../../src/analyzers/types.ts';
import { MAX_DURATION_MS } from '../../../src/machines/policy.ts';
import {
  adopt,
  claim,
  EMPTY_MEMORY,
  release,
  report,
  type ClaimAnswer,
  type WorkloadIncident,
  type WorkloadMemory,
} from '../../../src/workloads/rules.ts';
import {
  MemoryWorkloadStore,
  RedisWorkloadStore,
  type MemoryChange,
  type WorkloadStore,
} from '../../../src/workloads/store.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const CLAIMER = fileURLToPath(new URL('../../support/workload-claim-process.ts', import.meta.url));
const MINUTE = 60_000;
const DAY = 24 * 3600_000;
const WEB = 'shop/Deployment/web';
const crashLoop: Detection = { type: 'CrashLoopBackOff', reason: 'container app keeps crashing' };

/** Pod `pod` of the workload confirms the crash loop at `now` and asks who decides. */
function claimBy(pod: string, now: number): MemoryChange<ClaimAnswer> {
  return (memory) => {
    const claimed = claim(memory, {
      actorKey: `Pod/shop/${pod}`,
      incidentId: `Pod/shop/${pod}#1@${now}`,
      trigger: crashLoop,
      verificationWindowMs: 5 * MINUTE,
      now,
    });
    return { memory: claimed.memory, result: claimed.answer };
  };
}

/** The holder `pod` says its incident is being remediated by a restart asked for at `actedAt`. */
function restartingBy(pod: string, incidentId: string, actedAt: number): MemoryChange<null> {
  return (memory) => ({
    memory: report(memory, {
      holder: `Pod/shop/${pod}`,
      incident: {
        id: incidentId,
        openedAt: 0,
        phase: 'remediating',
        attempts: 1,
        actedAt,
        replacesPod: true,
        verifyUntil: null,
        verificationWindowMs: 5 * MINUTE,
        announced: true,
        trigger: crashLoop,
      },
      remediations: [actedAt],
      quietUntil: null,
      quarantinedUntil: null,
    }),
    result: null,
  });
}

const releasedBy =
  (pod: string, at: number): MemoryChange<null> =>
  (memory) => ({ memory: release(memory, `Pod/shop/${pod}`, at), result: null });

const adoptedBy =
  (pod: string, createdAt: number): MemoryChange<WorkloadIncident | null> =>
  (memory) => {
    const { memory: after, adopted } = adopt(memory, `Pod/shop/${pod}`, createdAt);
    return { memory: after, result: adopted };
  };

function leadsAndMembers(answers: readonly { role: string | undefined }[]): [number, number] {
  return [
    answers.filter((a) => a.role === 'lead').length,
    answers.filter((a) => a.role === 'member').length,
  ];
}

describe('workload memory in Redis', () => {
  let scratch: RedisForTest | undefined;
  const opened: { close: () => Promise<unknown> }[] = [];
  const children: ChildProcessByStdio<Writable, Readable, null>[] = [];
  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const each of opened.splice(0)) await each.close();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function store(): Promise<RedisWorkloadStore> {
    scratch = await redisForTest();
    const s = new RedisWorkloadStore(scratch.redis, scratch.prefix);
    opened.push(s);
    return s;
  }

  /** Another agent's view of the same memory: its own connections. */
  function elsewhere(s: RedisForTest): RedisWorkloadStore {
    const redis = new Redis(s.url, { lazyConnect: true });
    const other = new RedisWorkloadStore(redis, s.prefix);
    opened.push({ close: () => other.close().then(() => redis.quit()) });
    return other;
  }

  it('makes the first pod to claim the lead and the next one a member naming it', async () => {
    const workloads = await store();
    const first = await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    expect(first).toEqual({ role: 'lead', continues: null, remediations: [], ticket: false });
    const second = await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-b', 2_000));
    expect(second).toMatchObject({
      role: 'member',
      incident: { id: 'Pod/shop/web-a#1@1000', holder: 'Pod/shop/web-a' },
    });
    // Another symptom, or another workload, is another incident.
    const oom = await workloads.change(WEB, 'OOMKilled', claimBy('web-b', 3_000));
    expect(oom.role).toBe('lead');
    const api = await workloads.change('shop/Deployment/api', 'CrashLoopBackOff', claimBy('a', 4));
    expect(api.role).toBe('lead');
  });

  it('keeps one hash per workload, one field per symptom', async () => {
    const workloads = await store();
    const s = scratch as RedisForTest;
    await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    await workloads.change(WEB, 'OOMKilled', claimBy('web-a', 2_000));
    const key = `${s.prefix}:workload:{${WEB}}`;
    expect(workloads.key(WEB)).toBe(key);
    expect((await s.redis.hkeys(key)).sort()).toEqual(['CrashLoopBackOff', 'OOMKilled']);
    const read = await workloads.read(WEB);
    expect(Object.keys(read).sort()).toEqual(['CrashLoopBackOff', 'OOMKilled']);
    expect(read.OOMKilled?.incident?.id).toBe('Pod/shop/web-a#1@2000');
    expect(await workloads.read('shop/Deployment/none')).toEqual({});
  });

  it('lets the hash expire only after any deadline a policy can set, renewed by each write', async () => {
    const workloads = await store();
    const s = scratch as RedisForTest;
    const key = workloads.key(WEB);
    await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    const ttl = await s.redis.pttl(key);
    expect(ttl).toBeGreaterThan(MAX_DURATION_MS);
    expect(ttl).toBeLessThanOrEqual(MAX_DURATION_MS + DAY);
    // Close to expiring, the next write gives it the whole time again.
    await s.redis.pexpire(key, 5_000);
    await workloads.change(WEB, 'CrashLoopBackOff', restartingBy('web-a', 'x', 2_000));
    expect(await s.redis.pttl(key)).toBeGreaterThan(MAX_DURATION_MS);
  });

  it('writes nothing for a change that changes nothing', async () => {
    const workloads = await store();
    const s = scratch as RedisForTest;
    const nothing = await workloads.change(WEB, 'CrashLoopBackOff', releasedBy('web-a', 1_000));
    expect(nothing).toBeNull();
    expect(await s.redis.exists(workloads.key(WEB))).toBe(0);
    // A member's claim leaves the stored memory as it was: the TTL is not renewed either.
    await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    const stored = await s.redis.hget(workloads.key(WEB), 'CrashLoopBackOff');
    await s.redis.pexpire(workloads.key(WEB), 60_000);
    expect((await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-b', 2_000))).role).toBe(
      'member',
    );
    expect(await s.redis.hget(workloads.key(WEB), 'CrashLoopBackOff')).toBe(stored);
    expect(await s.redis.pttl(workloads.key(WEB))).toBeLessThanOrEqual(60_000);
  });

  it('writes nothing when a change throws, and goes on serving the next one', async () => {
    const workloads = await store();
    const s = scratch as RedisForTest;
    await expect(
      workloads.change(WEB, 'CrashLoopBackOff', () => {
        throw new Error('no decision');
      }),
    ).rejects.toThrow('no decision');
    expect(await s.redis.exists(workloads.key(WEB))).toBe(0);
    expect((await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1))).role).toBe(
      'lead',
    );
  });

  it('shows another agent what was written, so a pod it watches joins or takes over', async () => {
    const here = await store();
    const s = scratch as RedisForTest;
    await here.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    await here.change(WEB, 'CrashLoopBackOff', restartingBy('web-a', 'Pod/shop/web-a#1@1000', 5));
    await here.close();
    opened.splice(opened.indexOf(here), 1);

    // What the same changes make of an empty memory, by the rules alone.
    let expected: WorkloadMemory = claimBy('web-a', 1_000)(EMPTY_MEMORY).memory;
    expected = restartingBy('web-a', 'Pod/shop/web-a#1@1000', 5)(expected).memory;

    const there = elsewhere(s);
    expect(await there.read(WEB)).toEqual({ CrashLoopBackOff: expected });
    const member = await there.change(WEB, 'CrashLoopBackOff', claimBy('web-b', 2_000));
    expect(member).toMatchObject({
      role: 'member',
      incident: { holder: 'Pod/shop/web-a', phase: 'remediating', attempts: 1 },
      remediations: [5],
    });

    // The restart deletes web-a; on a third agent its replacement takes the verification over.
    await there.change(WEB, 'CrashLoopBackOff', releasedBy('web-a', 10));
    const third = elsewhere(s);
    const adopted = await third.change(WEB, 'CrashLoopBackOff', adoptedBy('web-a2', 8));
    expect(adopted).toMatchObject({
      id: 'Pod/shop/web-a#1@1000',
      holder: 'Pod/shop/web-a2',
      phase: 'verifying',
      verifyUntil: 10 + 5 * MINUTE,
    });
    expect((await elsewhere(s).read(WEB)).CrashLoopBackOff?.incident?.holder).toBe(
      'Pod/shop/web-a2',
    );
  });

  it('reads a field it cannot make sense of as no memory, which a claim then replaces', async () => {
    const workloads = await store();
    const s = scratch as RedisForTest;
    const key = workloads.key(WEB);
    await s.redis.hset(key, {
      CrashLoopBackOff: '{"incident":{"holder":"Pod/shop/gone"}}',
      OOMKilled: 'not json',
    });
    expect(await workloads.read(WEB)).toEqual({
      CrashLoopBackOff: EMPTY_MEMORY,
      OOMKilled: EMPTY_MEMORY,
    });
    const answer = await workloads.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 1_000));
    expect(answer.role).toBe('lead');
    expect((await workloads.read(WEB)).CrashLoopBackOff?.incident?.holder).toBe('Pod/shop/web-a');
  });

  it('makes exactly one of many pods racing from many connections the lead', async () => {
    const first = await store();
    const s = scratch as RedisForTest;
    const agents = [first, elsewhere(s), elsewhere(s), elsewhere(s)];
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (agents[i % agents.length] as RedisWorkloadStore).change(
          WEB,
          'CrashLoopBackOff',
          claimBy(`web-${i}`, 1_000 + i),
        ),
      ),
    );
    expect(leadsAndMembers(answers)).toEqual([1, 23]);
    const lead = answers.findIndex((a) => a.role === 'lead');
    const holder = `Pod/shop/web-${lead}`;
    for (const answer of answers)
      if (answer.role === 'member') expect(answer.incident.holder).toBe(holder);
    const stored = (await first.read(WEB)).CrashLoopBackOff?.incident;
    expect(stored).toMatchObject({ holder, id: `Pod/shop/web-${lead}#1@${1_000 + lead}` });
  });

  it('makes exactly one of many pods racing from many processes the lead', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const pods = (p: number) => Array.from({ length: 6 }, (_, i) => `shop/web-${p}-${i}`);
    const processes = [0, 1, 2, 3].map((p) => {
      const child = spawn(process.execPath, [CLAIMER], {
        env: {
          PATH: process.env['PATH'] ?? '',
          REDIS_URL: s.url,
          KEY_PREFIX: s.prefix,
          WORKLOAD: WEB,
          PODS: pods(p).join(','),
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      return { child, exited, lines };
    });
    // Every process connected before any claims: they start together.
    for (const { lines } of processes) expect((await lines.next()).value).toBe('ready');
    for (const { child } of processes) child.stdin.end('go\n');
    const answers: { pod: string; role: string; holder: string | null }[] = [];
    for (const { exited, lines } of processes) {
      answers.push(...(JSON.parse((await lines.next()).value as string) as typeof answers));
      expect(await exited).toEqual([0, null]);
    }
    expect(answers).toHaveLength(24);
    expect(leadsAndMembers(answers)).toEqual([1, 23]);
    const holder = answers.find((a) => a.role === 'lead')?.pod;
    expect(answers.filter((a) => a.role === 'member').map((a) => a.holder)).toEqual(
      Array.from({ length: 23 }, () => holder),
    );
    const stored = new RedisWorkloadStore(s.redis, s.prefix);
    opened.push(stored);
    expect((await stored.read(WEB)).CrashLoopBackOff?.incident?.holder).toBe(holder);
  });
});

describe.each([
  ['Redis', 'redis'],
  ['memory (simulate)', 'memory'],
] as const)('the same story in the %s store', (_name, kind) => {
  let scratch: RedisForTest | undefined;
  let workloads: WorkloadStore | undefined;
  afterEach(async () => {
    await workloads?.close();
    await scratch?.cleanup();
    scratch = workloads = undefined;
  });

  async function open(): Promise<WorkloadStore> {
    if (kind === 'memory') return (workloads = new MemoryWorkloadStore());
    scratch = await redisForTest();
    return (workloads = new RedisWorkloadStore(scratch.redis, scratch.prefix));
  }

  it('leaves the workload verifying the restart on the replacement', async () => {
    const w = await open();
    expect((await w.change(WEB, 'CrashLoopBackOff', claimBy('web-a', 0))).role).toBe('lead');
    expect((await w.change(WEB, 'CrashLoopBackOff', claimBy('web-b', 1))).role).toBe('member');
    await w.change(WEB, 'CrashLoopBackOff', restartingBy('web-a', 'Pod/shop/web-a#1@0', 100));
    await w.change(WEB, 'CrashLoopBackOff', releasedBy('web-a', 200));
    expect(await w.change(WEB, 'CrashLoopBackOff', adoptedBy('web-old', -1_000))).toBeNull();
    expect(await w.change(WEB, 'CrashLoopBackOff', adoptedBy('web-a2', 150))).not.toBeNull();
    expect(await w.read(WEB)).toEqual({
      CrashLoopBackOff: {
        incident: {
          id: 'Pod/shop/web-a#1@0',
          openedAt: 0,
          holder: 'Pod/shop/web-a2',
          holderOwner: null,
          phase: 'verifying',
          attempts: 1,
          actedAt: 100,
          replacesPod: true,
          verifyUntil: 200 + 5 * MINUTE,
          verificationWindowMs: 5 * MINUTE,
          announced: true,
          trigger: crashLoop,
        },
        remediations: [100],
        quietUntil: null,
        quarantinedUntil: null,
        ticket: false,
      },
    });
  });
});
