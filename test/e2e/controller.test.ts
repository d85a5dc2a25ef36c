import { afterEach, describe, expect, inject, it } from 'vitest';
import { MACHINE_TAGS } from '../../src/actors/host.ts';
import { SnapshotStore } from '../../src/actors/snapshot-store.ts';
import { adminClient, createDeployment, freshNamespace } from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from '../support/logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../support/process.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

async function metric(running: RunningKubeRemedy, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${running.base}/metrics`)).text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

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
  ): Promise<RunningKubeRemedy> {
    const running = await startKubeRemedy(
      ['--role', 'controller', '--kubeconfig', inject('kube').kubeconfig, '--namespace', namespace],
      {
        REDIS_URL: s.url,
        KUBE_REMEDY_REDIS_KEY_PREFIX: s.prefix,
        KUBE_REMEDY_IDENTITY: identity,
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
