import { afterEach, describe, expect, it } from 'vitest';
import {
  startLeaderElection,
  type LeaderElector,
} from '../../../src/adapters/kubernetes/leader-election.ts';
import { adminClient, freshNamespace } from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger, eventually } from '../../support/logger.ts';

interface Candidate {
  elector: LeaderElector;
  log: string[];
}

describe('leader election with a Lease', () => {
  const candidates: Candidate[] = [];
  afterEach(async () => {
    await Promise.all(candidates.splice(0).map((c) => c.elector.stop()));
  });

  function candidate(
    namespace: string,
    identity: string,
    timings = { lease: 3_000, renew: 2_000, retry: 300 },
  ): Candidate {
    const log: string[] = [];
    const elector = startLeaderElection(adminKubeConfig(), {
      name: 'kube-remedy-controller',
      namespace,
      identity,
      leaseDurationMs: timings.lease,
      renewDeadlineMs: timings.renew,
      retryPeriodMs: timings.retry,
      onStartedLeading: () => log.push('started'),
      onStoppedLeading: () => log.push('stopped'),
      logger: captureLogger().logger,
    });
    const c = { elector, log };
    candidates.push(c);
    return c;
  }

  async function holder(namespace: string): Promise<string | undefined> {
    const lease = await adminClient().get<{ spec?: { holderIdentity?: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/kube-remedy-controller`,
    );
    return lease.spec?.holderIdentity;
  }

  it('elects exactly one leader among candidates', async () => {
    const namespace = await freshNamespace(adminClient(), { prefix: 'lease' });
    const all = ['a', 'b', 'c'].map((id) => candidate(namespace, id));
    await eventually(() => expect(all.filter((c) => c.elector.isLeader())).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const leaders = all.filter((c) => c.elector.isLeader());
    expect(leaders).toHaveLength(1);
    expect(await holder(namespace)).toBe(['a', 'b', 'c'][all.indexOf(leaders[0] as Candidate)]);
  });

  it('hands over at once when the leader releases the lease', async () => {
    const namespace = await freshNamespace(adminClient(), { prefix: 'lease' });
    const first = candidate(namespace, 'first');
    await eventually(() => expect(first.elector.isLeader()).toBe(true));
    const second = candidate(namespace, 'second', { lease: 60_000, renew: 40_000, retry: 300 });
    await first.elector.stop();
    expect(first.log).toEqual(['started', 'stopped']);
    expect(await holder(namespace)).toBe('');
    await eventually(() => expect(second.elector.isLeader()).toBe(true), 5_000);
    expect(await holder(namespace)).toBe('second');
  });

  it('takes over from a leader that went silent once its lease expires, not before', async () => {
    const namespace = await freshNamespace(adminClient(), { prefix: 'lease' });
    const crashed = candidate(namespace, 'crashed');
    await eventually(() => expect(crashed.elector.isLeader()).toBe(true));
    const standby = candidate(namespace, 'standby');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(standby.elector.isLeader()).toBe(false);

    await crashed.elector.stop({ release: false });
    const silentSince = Date.now();
    await eventually(() => expect(standby.elector.isLeader()).toBe(true), 10_000);
    // The lease (3 s) must run out, measured by the standby's own clock from its last change.
    expect(Date.now() - silentSince).toBeGreaterThanOrEqual(1_500);
    expect(await holder(namespace)).toBe('standby');
  });
});
