/** Which ended jobs a policy's status shows as actions, and in what words. */
import { describe, expect, it } from 'vitest';
import { actionEntry } from '../../../src/effects/action-log.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';

const AT = Date.parse('2026-12-08T03:00:00.250Z');

function job(effect: EffectJob['effect'], more: Partial<EffectJob> = {}): EffectJob {
  return {
    owner: 'controller',
    actorKey: 'Node/worker-2',
    incidentId: 'Node/worker-2#1@1796698834685',
    step: 'remediate-1',
    effect,
    policy: 'kube-remedy-system/dead-nodes',
    detection: 'NotReady',
    requestedAt: AT - 1_000,
    ...more,
  };
}

describe('the actions a policy status shows', () => {
  it('names what was done, to what, why, and which process decided it', () => {
    expect(
      actionEntry(job({ kind: 'cordon', node: 'worker-2' }), {
        done: true,
        at: AT,
        message: 'cordoned node worker-2',
      }),
    ).toEqual({
      time: '2026-12-08T03:00:00Z',
      object: 'Node/worker-2',
      detection: 'NotReady',
      action: 'cordon',
      outcome: 'Succeeded',
      incident: 'Node/worker-2#1@1796698834685',
      message: 'cordoned node worker-2',
      decidedBy: 'controller',
    });
  });

  it('records a failure with its error, and an agent as the one that decided', () => {
    expect(
      actionEntry(
        job(
          { kind: 'restartPod', namespace: 'shop', name: 'web-1' },
          { owner: 'agent-worker-1', actorKey: 'Pod/shop/web-1', detection: 'CrashLoopBackOff' },
        ),
        { done: false, at: AT, message: 'forbidden' },
      ),
    ).toMatchObject({ outcome: 'Failed', message: 'forbidden', decidedBy: 'agent-worker-1' });
  });

  it('records a pull request as the change it proposes', () => {
    expect(
      actionEntry(
        job({ kind: 'openPullRequest', change: { kind: 'increaseMemory' } }, { owner: 'agent-w1' }),
        { done: true, at: AT, message: 'opened pull request #12' },
      ),
    ).toMatchObject({ action: 'increaseMemory', outcome: 'Proposed' });
  });

  it('leaves out what changes nothing in the cluster: notifications, evidence, tickets', () => {
    for (const kind of ['notify', 'collectEvidence', 'openTicket', 'suggestCause']) {
      expect(actionEntry(job({ kind }), { done: true, at: AT, message: 'sent' }), kind).toBeNull();
    }
  });

  it('says nothing of the detection of a job from before it was kept, and bounds long words', () => {
    const { detection: _none, ...older } = job({ kind: 'uncordon', node: 'worker-2' });
    const entry = actionEntry(older, { done: true, at: AT, message: 'x'.repeat(5_000) });
    expect(entry?.detection).toBe('');
    expect(entry?.message).toHaveLength(1024);
  });
});
