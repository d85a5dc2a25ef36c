import { afterEach, describe, expect, inject, it } from 'vitest';
import { MACHINE_TAGS } from '../../src/actors/host.ts';
import { SnapshotStore } from '../../src/actors/snapshot-store.ts';
import { adminClient, createDeployment, freshNamespace } from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import {
  metricValue as metric,
  startKubeRemedy,
  waitReady,
  type RunningKubeRemedy,
} from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';
import { claim, release, report } from '../../src/workloads/rules.ts';
import { RedisWorkloadStore } from '../../src/workloads/store.ts';

describe('the controller on a live cluster', () => {
  let scratch: RedisForTest | undefined;
  const processes: RunningKubeRemedy[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function controller(
    identity: string,
    s: RedisForTest,
    namespace: string,
    env: Record<string, string> = {},
  ): Promise<RunningKubeRemedy> {
    const running = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', namespace],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: identity,
        ...env,
      },
    );
    processes.push(running);
    await waitReady(running);
    return running;
  }

  it('hands the deployment actors to the standby when the leader is killed', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    // A namespace of its own for the Lease, so parallel runs do not elect each other.
    const home = await freshNamespace(client, { prefix: 'ctl-home' });
    const ns = await freshNamespace(client, { prefix: 'ctl' });
    await createPolicy(client, ns, 'rollouts', {
      selector: { kinds: ['Deployment'], matchLabels: { app: 'shop' } },
      mode: 'dryRun',
      detections: [{ type: 'RolloutFailed', threshold: 1, window: '1m', action: 'rollback' }],
    });
    await createDeployment(client, ns, { name: 'shop', replicas: 1 });

    const first = await controller('controller-a', s, home);
    await eventually(
      async () => expect(await metric(first, /^kube_remedy_leader\{/)).toBe(1),
      20_000,
    );
    const second = await controller('controller-b', s, home);
    expect(await metric(second, /^kube_remedy_leader\{/)).not.toBe(1);

    const store = new SnapshotStore({ redis: s.redis, keyPrefix: s.prefix, owner: 'controller' });
    await eventually(
      async () =>
        expect((await store.load(MACHINE_TAGS)).snapshots.has(`Deployment/${ns}/shop`)).toBe(true),
      30_000,
    );
    await eventually(
      async () =>
        expect(
          await metric(first, /^kube_remedy_actors\{machine="Deployment",state="healthy"\}/),
        ).toBe(1),
      20_000,
    );

    await first.kill();
    const killedAt = Date.now();
    await eventually(
      async () => {
        expect(await metric(second, /^kube_remedy_leader\{/)).toBe(1);
        expect(
          await metric(second, /^kube_remedy_actors\{machine="Deployment",state="healthy"\}/),
        ).toBe(1);
      },
      25_000,
      250,
    );
    const handover = Date.now() - killedAt;
    process.stdout.write(`controller handover after SIGKILL of the leader: ${handover} ms\n`);
    // Lease 15 s + retry 2 s: the standby leads no later than the lease allows (plus jitter).
    expect(handover).toBeLessThanOrEqual(17_000 + 2_000 * 0.2 + 1_000);
  });

  it('ends a restart whose pod went away unverified when no replacement took it over', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const client = adminClient();
    await installCrd(client);
    const home = await freshNamespace(client, { prefix: 'ctl-home' });
    const ns = await freshNamespace(client, { prefix: 'ctl-unverified' });
    await createDeployment(client, ns, { name: 'web', replicas: 0 });
    // What an agent wrote: web-a led the crash loop, was restarted, and went away; the
    // Deployment was scaled to zero, so no replacement ever came to verify the restart.
    const workload = `${ns}/Deployment/web`;
    const holder = `Pod/${ns}/web-a`;
    const trigger = { type: 'CrashLoopBackOff' as const, reason: 'container app keeps crashing' };
    const memory = new RedisWorkloadStore(s.redis, s.prefix);
    const gone = Date.now() - 120_000;
    await memory.change(workload, 'CrashLoopBackOff', (m) => {
      let next = claim(m, {
        actorKey: holder,
        incidentId: `${holder}#1@0`,
        trigger,
        verificationWindowMs: 30_000,
        now: gone - 5_000,
      }).memory;
      next = report(next, {
        holder,
        incident: {
          id: `${holder}#1@0`,
          openedAt: gone - 5_000,
          phase: 'remediating',
          attempts: 1,
          actedAt: gone - 1_000,
          replacesPod: true,
          verifyUntil: null,
          verificationWindowMs: 30_000,
          announced: false,
          trigger,
        },
        remediations: [gone - 1_000],
        quietUntil: null,
        quarantinedUntil: null,
      });
      return { memory: release(next, holder, gone), result: null };
    });

    await controller('controller-sweeper', s, home, { KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s' });
    const events = await eventually(async () => {
      const list = await client.get<{
        items: {
          reason?: string;
          message?: string;
          involvedObject?: { kind?: string; name?: string };
        }[];
      }>(`/api/v1/namespaces/${ns}/events`);
      const found = list.items.filter((e) => e.reason === 'IncidentUnverified');
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(events[0]?.involvedObject).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(events[0]?.message).toContain(`incident ${holder}#1@0 ended unverified: ${ns}/web-a`);
    // Told first, then let go (a sweep that cannot tell leaves it for the next one).
    await eventually(async () => {
      const after = (await memory.read(workload)).CrashLoopBackOff;
      expect(after).toMatchObject({ incident: null, remediations: [gone - 1_000] });
    }, 10_000);
    await memory.close();
  });

  it('stops cleanly on SIGTERM, releasing the lease', async () => {
    scratch = await redisForTest();
    const client = adminClient();
    await installCrd(client);
    const home = await freshNamespace(client, { prefix: 'ctl-home' });
    const only = await controller('controller-solo', scratch, home);
    await eventually(
      async () => expect(await metric(only, /^kube_remedy_leader\{/)).toBe(1),
      20_000,
    );
    expect(await only.stop()).toBe(0);
    const lease = await client.get<{ spec?: { holderIdentity?: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${home}/leases/kube-remedy-controller`,
    );
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});
