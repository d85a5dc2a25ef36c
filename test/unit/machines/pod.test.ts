import { describe, expect, it } from 'vitest';
import { podMachine, type MachinePolicy } from '../../../src/machines/index.ts';
import {
  crashLoopingPod,
  kinds,
  MINUTE,
  NODE_KEY,
  observed,
  oomKilledPod,
  policy,
  POD_KEY,
  PureRun,
  runningPod,
  T0,
} from './fixtures.ts';

const at = (minutes: number) => T0 + minutes * MINUTE;

function pod(overrides: Partial<MachinePolicy> = {}): PureRun {
  return new PureRun(podMachine, POD_KEY, policy(overrides));
}

/** Three restarts a minute apart: the default CrashLoopBackOff rule (threshold 3) confirms. */
function crashLoopUntilDetected(run: PureRun) {
  run.send(observed(crashLoopingPod(1), at(1)));
  run.send(observed(crashLoopingPod(2), at(2)));
  return run.send(observed(crashLoopingPod(3), at(3)));
}

describe('the pod machine: detection window', () => {
  it('suspects a crash loop at the first sighting and arms the rule window', () => {
    const run = pod();
    const out = run.send(observed(crashLoopingPod(1), at(1)));
    expect(run.value).toBe('suspect');
    expect(out.timers).toEqual({ untilWindowEnds: 10 * MINUTE });
    expect(run.context.deadlines.windowEnds).toBe(at(11));
    expect(out.effects).toEqual([]);
  });

  it('confirms once the restarts reach the threshold and restarts the pod with preconditions', () => {
    const run = pod();
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('remediating');
    const incidentId = `${POD_KEY}#1@${at(3)}`;
    const target = {
      kind: 'Pod',
      namespace: 'shop',
      name: 'api-7d9f-x2x',
      uid: 'pod-uid-1',
      resourceVersion: '103',
    };
    const reason =
      'container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container=api pod=api-7d9f-x2x_shop(pod-uid-1) (restarts: 3)';
    expect(out.effects).toEqual([
      // Evidence first: the restart replaces the pod and its logs.
      {
        actorKey: POD_KEY,
        incidentId,
        step: 'detected-evidence',
        effectId: `${incidentId}/detected-evidence`,
        requestedAt: at(3),
        effect: { kind: 'collectEvidence', target, reason },
      },
      {
        actorKey: POD_KEY,
        incidentId,
        step: 'remediate-1',
        effectId: `${incidentId}/remediate-1`,
        requestedAt: at(3),
        effect: { kind: 'restartPod', target, reason },
      },
    ]);
    expect(out.records.map((r) => r.reason)).toEqual(['Detected', 'Remediating']);
    expect(out.timers).toEqual({ untilEffectTimesOut: 5 * MINUTE });
  });

  it('counts restarts for crash loops, so an unchanged restart count does not add up', () => {
    const run = pod();
    for (const minute of [1, 2, 3, 4]) run.send(observed(crashLoopingPod(1), at(minute)));
    expect(run.value).toBe('suspect');
    expect(run.context.window?.seen).toBe(1);
  });

  it('honours a lower threshold', () => {
    const run = pod({
      detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
    });
    expect(kinds(run.send(observed(crashLoopingPod(1), at(1))))).toEqual([
      'collectEvidence',
      'restartPod',
    ]);
  });

  it('confirms a symptom that is still there when the window ends', () => {
    const run = pod();
    run.send(observed(crashLoopingPod(1), at(1)));
    const out = run.fire('untilWindowEnds');
    expect(run.value).toBe('remediating');
    expect(out.effects[0]?.requestedAt).toBe(at(11));
  });

  it('forgets a symptom that went away before its window ended', () => {
    const run = pod();
    run.send(observed(crashLoopingPod(1), at(1)));
    run.send(observed(runningPod(1), at(2)));
    const out = run.fire('untilWindowEnds');
    expect(run.value).toBe('healthy');
    expect(run.context.window).toBeNull();
    expect(out.effects).toEqual([]);
  });

  it('acts at once when a person triggers the policy during the window, saying who asked', () => {
    const run = pod();
    run.send(observed(crashLoopingPod(1), at(1)));
    const out = run.send({ type: 'TRIGGER', at: at(2), by: 'alice', reason: 'customers see 502s' });
    expect(run.value).toBe('remediating');
    expect(kinds(out)).toEqual(['collectEvidence', 'restartPod']);
    expect(out.records.map((r) => r.reason)).toEqual(['Detected', 'Remediating']);
    expect(run.context.history).toContainEqual(
      expect.objectContaining({
        decision: 'trigger',
        reason: 'asked by alice: customers see 502s',
      }),
    );
  });

  it('still asks for approval in approval mode when a person triggers it', () => {
    const run = pod({ mode: 'approval' });
    run.send(observed(crashLoopingPod(1), at(1)));
    const out = run.send({ type: 'TRIGGER', at: at(2), by: 'alice' });
    expect(run.value).toBe('awaitingApproval');
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    expect(out.effects[1]?.effect).toMatchObject({
      kind: 'notify',
      purpose: 'approvalRequested',
      proposes: { kind: 'restartPod' },
    });
  });

  it('keeps a trigger with nothing to act on in history, and does nothing', () => {
    const run = pod();
    run.send(observed(runningPod(1), at(1)));
    const out = run.send({ type: 'TRIGGER', at: at(2), by: 'alice' });
    expect(run.value).toBe('healthy');
    expect(out.effects).toEqual([]);
    expect(run.context.history.at(-1)).toMatchObject({
      decision: 'ignore',
      reason: 'TRIGGER from alice ignored (no open incident)',
    });
  });

  it('ignores detections the policy has no rule for', () => {
    const run = pod({ detections: {} });
    run.send(observed(crashLoopingPod(5), at(1)));
    expect(run.value).toBe('healthy');
  });
});

describe('the pod machine: verification and cooldown', () => {
  it('verifies for the verification window, resolves, then cools down for the cooldown', () => {
    const run = pod({ verificationWindowMs: 3 * MINUTE, cooldownMs: 20 * MINUTE });
    crashLoopUntilDetected(run);
    const done = run.send({ type: 'EFFECT.DONE', at: at(4), effectId: run.awaited });
    expect(run.value).toBe('verifying');
    expect(done.timers).toEqual({ untilVerificationEnds: 3 * MINUTE });
    run.send(observed(runningPod(0), at(5)));
    const resolved = run.fire('untilVerificationEnds');
    expect(run.value).toBe('coolingDown');
    expect(resolved.records.map((r) => r.reason)).toEqual(['Resolved']);
    // Nobody was told about this incident, so nobody is told it ended.
    expect(resolved.effects).toEqual([]);
    expect(resolved.timers).toEqual({ untilCooldownEnds: 20 * MINUTE });
    expect(run.context.deadlines.cooldownEnds).toBe(at(7) + 20 * MINUTE);
    expect(run.context.incident).toBeNull();
  });

  it('does not act on a symptom that returns during the cooldown, and looks again after it', () => {
    const run = pod();
    crashLoopUntilDetected(run);
    run.send({ type: 'EFFECT.DONE', at: at(4), effectId: run.awaited });
    run.send(observed(runningPod(0), at(5)));
    run.fire('untilVerificationEnds');
    const during = run.send(observed(crashLoopingPod(9), at(10)));
    expect(run.value).toBe('coolingDown');
    expect(during.effects).toEqual([]);
    run.fire('untilCooldownEnds');
    // The last observation still shows the crash loop: a new window opens at once.
    expect(run.value).toBe('suspect');
    expect(run.context.now).toBe(at(9) + 10 * MINUTE);
  });

  it('escalates when the symptom comes back during verification (a restart cannot be undone)', () => {
    const run = pod();
    crashLoopUntilDetected(run);
    run.send({ type: 'EFFECT.DONE', at: at(4), effectId: run.awaited });
    const out = run.send(observed(crashLoopingPod(1), at(6)));
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision?.reason).toMatch(
      /^the remediation did not hold: container "api"/,
    );
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    // What is true now, after the restart, beside what was true at detection.
    expect(out.effects[0]?.step).toBe('escalate-1-evidence');
    expect(out.effects[1]?.effect).toMatchObject({
      kind: 'notify',
      purpose: 'escalated',
      to: { type: 'slack', channel: '#oncall' },
      level: 0,
    });
  });

  it('escalates when the symptom is still there as verification ends', () => {
    const run = pod();
    crashLoopUntilDetected(run);
    run.send({ type: 'EFFECT.DONE', at: at(4), effectId: run.awaited });
    run.fire('untilVerificationEnds');
    expect(run.matches('escalated')).toBe(true);
  });
});

describe('the pod machine: effects that fail', () => {
  it("escalates with the worker's error when the restart fails", () => {
    const run = pod();
    crashLoopUntilDetected(run);
    run.send({
      type: 'EFFECT.FAILED',
      at: at(4),
      effectId: run.awaited,
      error: 'pods "api-7d9f-x2x" is forbidden',
    });
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision).toEqual({
      decision: 'escalate',
      reason: 'restartPod failed: pods "api-7d9f-x2x" is forbidden',
    });
  });

  it('escalates when no result arrives within the effect time-out', () => {
    const run = pod({ effectTimeoutMs: 2 * MINUTE });
    crashLoopUntilDetected(run);
    run.fire('untilEffectTimesOut');
    expect(run.context.incident?.decision?.reason).toBe('restartPod did not report back within 2m');
    expect(run.context.now).toBe(at(5));
  });

  it('ignores a result for another effect, keeping it in history', () => {
    const run = pod();
    crashLoopUntilDetected(run);
    run.send({ type: 'EFFECT.DONE', at: at(4), effectId: 'Pod/shop/old#7@1/remediate-1' });
    expect(run.value).toBe('remediating');
    expect(run.context.history.at(-1)).toMatchObject({ decision: 'ignore' });
  });
});

describe('the pod machine: modes', () => {
  it('in approval mode asks first, with what it would do and until when', () => {
    const run = pod({ mode: 'approval', approvalTimeoutMs: 30 * MINUTE });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('awaitingApproval');
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    expect(out.effects[1]).toMatchObject({
      step: 'approval',
      effect: {
        kind: 'notify',
        purpose: 'approvalRequested',
        proposes: { kind: 'restartPod' },
        expiresAt: at(33),
      },
    });
    expect(out.timers).toEqual({ untilApprovalExpires: 30 * MINUTE });
  });

  it('remediates once approved, recording who approved', () => {
    const run = pod({ mode: 'approval' });
    crashLoopUntilDetected(run);
    const out = run.send({ type: 'APPROVE', at: at(5), by: 'alice', incidentId: run.incidentId });
    expect(run.value).toBe('remediating');
    expect(kinds(out)).toEqual(['restartPod']);
    expect(out.records[0]).toEqual({
      type: 'Normal',
      reason: 'Approved',
      message: 'approved by alice',
    });
    expect(run.context.incident?.approvedBy).toBe('alice');
  });

  it('stands down when the symptom cleared before the approval came', () => {
    const run = pod({ mode: 'approval' });
    crashLoopUntilDetected(run);
    run.send(observed(runningPod(3), at(4)));
    const out = run.send({ type: 'APPROVE', at: at(5), by: 'alice', incidentId: run.incidentId });
    expect(run.value).toBe('healthy');
    expect(out.effects).toEqual([]);
    expect(out.records.map((r) => r.reason)).toEqual(['Approved', 'StoodDown']);
  });

  it('cools down when rejected, saying who rejected and why', () => {
    const run = pod({ mode: 'approval' });
    crashLoopUntilDetected(run);
    const out = run.send({
      type: 'REJECT',
      at: at(5),
      by: 'bob',
      incidentId: run.incidentId,
      reason: 'deploy in progress',
    });
    expect(run.value).toBe('coolingDown');
    expect(out.records).toEqual([
      { type: 'Normal', reason: 'Rejected', message: 'rejected by bob: deploy in progress' },
    ]);
  });

  it('escalates when nobody approves in time, and a snooze extends the wait', () => {
    const run = pod({ mode: 'approval', approvalTimeoutMs: 30 * MINUTE });
    crashLoopUntilDetected(run);
    const snoozed = run.send({
      type: 'SNOOZE',
      at: at(10),
      by: 'carol',
      incidentId: run.incidentId,
      durationMs: 60 * MINUTE,
    });
    expect(run.context.deadlines.approvalExpires).toBe(at(70));
    expect(snoozed.timers).toEqual({ untilApprovalExpires: 60 * MINUTE });
    run.fire('untilApprovalExpires');
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision?.reason).toBe('nobody approved within 30m');
  });

  it('ignores approvals for another incident and repeated commands', () => {
    const run = pod({ mode: 'approval' });
    crashLoopUntilDetected(run);
    run.send({ type: 'APPROVE', at: at(4), by: 'mallory', incidentId: `${POD_KEY}#0@1` });
    expect(run.value).toBe('awaitingApproval');
    const snooze = {
      type: 'SNOOZE',
      by: 'carol',
      incidentId: run.incidentId,
      durationMs: 90 * MINUTE,
      id: 'slack-1',
    } as const;
    run.send({ ...snooze, at: at(5) });
    const firstExtension = run.context.deadlines.approvalExpires;
    run.send({ ...snooze, at: at(6) });
    expect(run.context.deadlines.approvalExpires).toBe(firstExtension);
  });

  it('in dryRun mode records what it would do and asks for no effect', () => {
    const run = pod({ mode: 'dryRun' });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('coolingDown');
    expect(out.effects).toEqual([]);
    expect(out.records.at(-1)).toEqual({
      type: 'Normal',
      reason: 'DryRun',
      message: expect.stringMatching(
        /^dry run: would restart Pod shop\/api-7d9f-x2x: container "api"/,
      ) as string,
    });
  });

  it('in gitops mode still restarts a pod directly, since that changes no desired state', () => {
    const run = pod({ mode: 'gitops' });
    expect(kinds(crashLoopUntilDetected(run))).toEqual(['collectEvidence', 'restartPod']);
  });

  it('proposes a memory increase as a pull request and verifies once it is merged', () => {
    const run = pod({
      detections: {
        OOMKilled: {
          threshold: 1,
          windowMs: MINUTE,
          action: 'increaseMemory',
          memory: { increasePercent: 25, max: '2Gi' },
        },
      },
    });
    const out = run.send(observed(oomKilledPod(1), at(1)));
    expect(kinds(out)).toEqual(['collectEvidence', 'openPullRequest']);
    expect(out.effects[1]?.effect).toMatchObject({
      kind: 'openPullRequest',
      proposes: { kind: 'increaseMemory', containers: ['api'], increasePercent: 25, max: '2Gi' },
    });
    const effectId = run.awaited;
    run.send({
      type: 'EFFECT.DONE',
      at: at(2),
      effectId,
      outcome: 'https://github.com/shop/deploy/pull/7',
    });
    expect(run.value).toBe('awaitingMerge');
    run.send({ type: 'PROPOSAL.MERGED', at: at(30), effectId, by: 'dana' });
    expect(run.value).toBe('verifying');
    expect(run.context.remediations).toEqual([at(30)]);
  });
});

describe('the pod machine: safety', () => {
  it("waits instead of acting while the pod's node is being remediated, then looks again", () => {
    const run = pod();
    run.send({
      type: 'FACTS',
      at: at(0),
      facts: { inhibited: { by: NODE_KEY, reason: 'node has MemoryPressure' } },
    });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('inhibited');
    // Only evidence: the pod is not touched while its node is remediated.
    expect(kinds(out)).toEqual(['collectEvidence']);
    expect(out.records.at(-1)).toEqual({
      type: 'Normal',
      reason: 'Waiting',
      message: 'Node/worker-1 is handling it: node has MemoryPressure',
    });
    run.send({ type: 'FACTS', at: at(20), facts: { inhibited: null } });
    expect(run.value).toBe('suspect');
  });

  it('asks a person instead of acting when the disruption budget is spent, and acts once approved', () => {
    const run = pod();
    run.send({ type: 'FACTS', at: at(0), facts: { budgetAvailable: false } });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('awaitingApproval');
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    const reason = run.context.incident?.decision?.reason;
    expect(reason).toMatch(
      /^the disruption budget for kube-remedy\/default is spent, so a person decides whether to restart Pod shop\/api-7d9f-x2x: container "api" is in CrashLoopBackOff/,
    );
    expect(out.effects[1]?.effect).toMatchObject({ purpose: 'approvalRequested', reason });
    expect(out.records.at(-1)).toEqual({
      type: 'Normal',
      reason: 'ApprovalRequested',
      message: reason,
    });

    // A spent budget limits automation, not people: the approved restart goes ahead.
    const incidentId = run.context.incident?.id ?? '';
    const approved = run.send({ type: 'APPROVE', at: at(5), by: 'alice', incidentId });
    expect(run.value).toBe('remediating');
    expect(kinds(approved)).toEqual(['restartPod']);
    expect(run.context.incident?.approvedBy).toBe('alice');
  });

  it('asks a person while the storm breaker holds the policy, whatever the budget', () => {
    const run = pod();
    run.send({
      type: 'FACTS',
      at: at(0),
      facts: { storm: { unhealthy: 5, targets: 6, maxUnhealthyPercent: 50 } },
    });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('awaitingApproval');
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    expect(run.context.incident?.decision?.reason).toMatch(
      /^the storm breaker holds kube-remedy\/default: 5 of its 6 workloads are unhealthy at once \(more than 50%\), so a person decides whether to restart Pod/,
    );
  });

  it('acts again once the storm has passed', () => {
    const run = pod();
    const storm = { unhealthy: 5, targets: 6, maxUnhealthyPercent: 50 };
    run.send({ type: 'FACTS', at: at(0), facts: { storm } });
    run.send({ type: 'FACTS', at: at(0), facts: { storm: null } });
    const out = crashLoopUntilDetected(run);
    expect(run.value).toBe('remediating');
    expect(kinds(out)).toEqual(['collectEvidence', 'restartPod']);
  });

  it('escalates, changing nothing, when the action only tells people', () => {
    const run = pod({
      detections: { ImagePullBackOff: { threshold: 1, windowMs: MINUTE, action: 'notify' } },
    });
    const imagePull = crashLoopingPod(0, {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'api',
          restartCount: 0,
          state: { waiting: { reason: 'ErrImagePull', message: 'manifest unknown' } },
        },
      ],
    });
    const out = run.send(observed(imagePull, at(1)));
    expect(run.matches('escalated')).toBe(true);
    // Escalated as it was detected: the detection's evidence is all there is to collect.
    expect(out.effects.map((e) => e.step)).toEqual(['detected-evidence', 'escalate-1-level-1-0']);
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    expect(run.context.incident?.decision?.reason).toBe(
      'the policy asks to tell people about ImagePullBackOff, not to act: container "api" is in ErrImagePull: manifest unknown',
    );
  });

  it('quarantines when remediations do not hold, tells the first level once and lifts it later', () => {
    const run = pod({
      quarantine: { maxRemediations: 2, windowMs: 60 * MINUTE },
      cooldownMs: 5 * MINUTE,
      verificationWindowMs: 5 * MINUTE,
      detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
    });
    const cycle = (minute: number) => {
      run.send(observed(crashLoopingPod(minute), at(minute)));
      run.send({ type: 'EFFECT.DONE', at: at(minute + 1), effectId: run.awaited });
      run.send(observed(runningPod(minute), at(minute + 2)));
      run.fire('untilVerificationEnds');
      run.fire('untilCooldownEnds');
    };
    cycle(0);
    cycle(20);
    expect(run.context.remediations).toEqual([at(0), at(20)]);
    const out = run.send(observed(crashLoopingPod(41), at(41)));
    expect(run.value).toBe('quarantined');
    expect(kinds(out)).toEqual(['collectEvidence', 'notify']);
    expect(out.effects[1]?.effect).toMatchObject({ purpose: 'quarantined', to: { type: 'slack' } });
    expect(run.context.incident?.decision?.reason).toMatch(
      /^2 remediations within 1h did not hold \(the policy allows 2\)/,
    );
    // The first remediation leaves the window at 0 + 60 minutes.
    expect(run.context.deadlines.quarantineEnds).toBe(at(60));
    expect(run.send(observed(crashLoopingPod(50), at(50))).effects).toEqual([]);
    // Level-triggered: the crash loop is still there when the quarantine lifts, so it is acted on.
    const lifted = run.fire('untilQuarantineEnds');
    expect(lifted.records.map((r) => r.reason)).toContain('QuarantineLifted');
    expect(kinds(lifted)).toEqual(['collectEvidence', 'restartPod']);
    expect(lifted.effects[1]?.requestedAt).toBe(at(60));
  });

  it('numbers incidents and keeps a bounded history', () => {
    const run = pod({
      detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
    });
    for (let i = 0; i < 10; i++) {
      const minute = i * 30;
      run.send(observed(crashLoopingPod(i + 1), at(minute)));
      run.send({ type: 'EFFECT.FAILED', at: at(minute + 1), effectId: run.awaited, error: 'nope' });
      run.send(observed(runningPod(i + 1), at(minute + 2)));
      run.fire('untilRecoveryHolds');
      run.fire('untilCooldownEnds');
    }
    expect(run.context.incidentCount).toBe(10);
    expect(run.context.history.length).toBeLessThanOrEqual(12);
    expect(run.log.effects.at(-1)?.incidentId).toBe(`${POD_KEY}#10@${at(270)}`);
  });
});

describe('the pod machine: what its workload allows', () => {
  /** The crash-looping pod, with no controller that would recreate it. */
  const bare = (restarts: number) => {
    const object = crashLoopingPod(restarts);
    return { ...object, metadata: { ...object.metadata, ownerReferences: [] } };
  };

  it('hands a pod no controller recreates to people instead of deleting it for good', () => {
    const run = pod();
    run.send(observed(bare(1), at(1)));
    run.send(observed(bare(2), at(2)));
    const out = run.send(observed(bare(3), at(3)));
    expect(run.matches('escalated')).toBe(true);
    expect(out.effects.map((e) => e.effect.kind)).not.toContain('restartPod');
    expect(run.context.incident?.decision?.reason).toMatch(
      /^Pod shop\/api-7d9f-x2x has no controller that would recreate it, so restartPod would delete it for good; people decide \(deleteBarePods on the detection allows it\): container "api" is in CrashLoopBackOff/,
    );
  });

  it('restarts such a pod when the detection allows deleting bare pods, and says so in the effect', () => {
    const run = pod({
      detections: {
        CrashLoopBackOff: {
          threshold: 3,
          windowMs: 10 * MINUTE,
          action: 'restartPod',
          deleteBarePods: true,
        },
      },
    });
    run.send(observed(bare(1), at(1)));
    run.send(observed(bare(2), at(2)));
    const out = run.send(observed(bare(3), at(3)));
    expect(run.value).toBe('remediating');
    expect(out.effects.at(-1)?.effect).toMatchObject({ kind: 'restartPod', deleteBarePod: true });
  });

  it("rolls back the pod's Deployment, not the pod, when its rule says rollback", () => {
    const run = pod({
      detections: { CrashLoopBackOff: { threshold: 3, windowMs: 10 * MINUTE, action: 'rollback' } },
    });
    const object = (restarts: number) => {
      const p = crashLoopingPod(restarts);
      return {
        ...p,
        metadata: { ...p.metadata, labels: { app: 'api', 'pod-template-hash': '7d9f' } },
      };
    };
    run.send(observed(object(1), at(1)));
    run.send(observed(object(2), at(2)));
    const out = run.send(observed(object(3), at(3)));
    // Held to the ReplicaSet of the failing pod: once the Deployment moved on, it is not redone.
    expect(out.effects.at(-1)?.effect).toMatchObject({
      kind: 'rollback',
      target: { kind: 'Deployment', namespace: 'shop', name: 'api' },
      fromReplicaSet: 'api-7d9f',
    });
  });

  it('leaves a workload action on a pod of another kind of workload to people', () => {
    const run = pod({
      detections: {
        CrashLoopBackOff: { threshold: 3, windowMs: 10 * MINUTE, action: 'rolloutRestart' },
      },
    });
    // The fixture's ReplicaSet carries no pod-template-hash: a ReplicaSet of its own.
    crashLoopUntilDetected(run);
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision?.reason).toMatch(
      /^action rolloutRestart acts on a Deployment and Pod shop\/api-7d9f-x2x belongs to ReplicaSet api-7d9f, so people decide/,
    );
  });
});

describe('the pod machine: the ladder of a workload', () => {
  /** A pod of Deployment api (its ReplicaSet api-7d9f), crash-looping. */
  const deploymentPod = (restarts: number) => {
    const p = crashLoopingPod(restarts);
    return {
      ...p,
      metadata: { ...p.metadata, labels: { app: 'api', 'pod-template-hash': '7d9f' } },
    };
  };
  const ladder: Partial<MachinePolicy> = {
    detections: {
      CrashLoopBackOff: {
        threshold: 3,
        windowMs: 10 * MINUTE,
        action: 'restartPod',
        attempts: 2,
        then: 'rollback',
      },
    },
    quarantine: { maxRemediations: 5, windowMs: 60 * MINUTE },
  };

  it('restarts again when the symptom is back during verification, then rolls back, judged on the pods the rollback brings', () => {
    const run = pod(ladder);
    run.send(observed(deploymentPod(1), at(1)));
    run.send(observed(deploymentPod(2), at(2)));
    const first = run.send(observed(deploymentPod(3), at(3)));
    expect(first.effects.at(-1)?.effect.kind).toBe('restartPod');
    const done = (effectId: string | undefined, minutes: number) =>
      run.send({ type: 'EFFECT.DONE', at: at(minutes), effectId: effectId ?? '' });
    done(run.context.incident?.awaiting?.effectId, 3.1);
    expect(run.value).toBe('verifying');
    // Back during verification: the second try of the rule's action.
    const second = run.send(observed(deploymentPod(4), at(4)));
    expect(second.effects.at(-1)).toMatchObject({
      step: 'try-2-remediate-1',
      effect: { kind: 'restartPod' },
    });
    done(run.context.incident?.awaiting?.effectId, 4.1);
    // Back again: the rule's `then`, a rollback held to the failing ReplicaSet.
    const third = run.send(observed(deploymentPod(5), at(5)));
    expect(third.effects.at(-1)).toMatchObject({
      step: 'try-3-remediate-1',
      effect: { kind: 'rollback', fromReplicaSet: 'api-7d9f' },
    });
    done(run.context.incident?.awaiting?.effectId, 5.1);
    expect(run.value).toBe('verifying');
    // This pod belongs to the ReplicaSet the rollback moves away from: its crash loop until it
    // is removed says nothing of the rollback.
    run.send(observed(deploymentPod(6), at(6)));
    expect(run.value).toBe('verifying');
    // All three tries counted in one incident.
    expect(run.context.incident?.attempts).toBe(3);
    expect(run.context.remediations).toHaveLength(3);
  });
});

describe('the pod machine: a verification is the workload’s', () => {
  const WORKLOAD = 'shop/ReplicaSet/api-7d9f';
  const HOLDER = 'Pod/shop/api-7d9f-r3p';
  const restartAt = at(1);
  const rules: Partial<MachinePolicy> = {
    detections: {
      CrashLoopBackOff: {
        threshold: 1,
        windowMs: 10 * MINUTE,
        action: 'restartPod',
        attempts: 2,
        then: 'rollback',
      },
    },
    quarantine: { maxRemediations: 5, windowMs: 60 * MINUTE },
  };
  const incidentId = `Pod/shop/api-7d9f-old#1@${at(0)}`;
  const open = {
    id: incidentId,
    openedAt: at(0),
    holder: HOLDER,
    holderOwner: 'agent-worker-2',
    phase: 'verifying' as const,
    attempts: 1,
    actedAt: restartAt,
    replacesPod: true,
    verifyUntil: at(7),
    verificationWindowMs: 5 * MINUTE,
    announced: true,
    trigger: {
      type: 'CrashLoopBackOff' as const,
      reason: 'container "api" is in CrashLoopBackOff',
    },
  };
  /** A pod of the workload, created `createdAt`, crash-looping. */
  const podMadeAt = (createdAt: number, restarts = 5) => {
    const p = crashLoopingPod(restarts);
    return {
      ...p,
      metadata: { ...p.metadata, creationTimestamp: new Date(createdAt).toISOString() },
    };
  };
  function ofWorkload(key: string): PureRun {
    const run = new PureRun(podMachine, key, policy(rules));
    run.send({ type: 'FACTS', at: T0, facts: { workloadMemory: true } });
    return run;
  }

  it('claims with its creation time, and goes on with the incident when its claim shows the restart did not hold', () => {
    const run = ofWorkload(POD_KEY);
    const claimed = run.send(observed(podMadeAt(at(1.5)), at(2)));
    expect(run.value).toBe('claiming');
    expect(claimed.claims[0]).toMatchObject({ workload: WORKLOAD, createdAt: at(1.5) });
    const out = run.send({
      type: 'WORKLOAD',
      at: at(2),
      incidentId: run.incidentId,
      answer: {
        role: 'lead',
        continues: { ...open, holder: POD_KEY, phase: 'deciding', verifyUntil: null },
        remediations: [restartAt],
        ticket: false,
        displaced: HOLDER,
      },
    });
    // The ladder's second step, on this pod, in the same incident.
    expect(out.effects.at(-1)).toMatchObject({
      step: 'try-2-remediate-1',
      effect: { kind: 'restartPod' },
    });
    expect(run.context.incident).toMatchObject({ id: incidentId, attempts: 2 });
    const notHeld = out.records.find((r) => r.reason === 'NotHeld');
    expect(notHeld?.type).toBe('Warning');
    expect(notHeld?.message).toContain(`verified on ${HOLDER} did not hold`);
  });

  it('waits when it came before the remediation, and claims again once a verification it contradicts is under way', () => {
    const joinedAs = (createdAt: number) => {
      const run = ofWorkload(POD_KEY);
      run.send(observed(podMadeAt(createdAt), at(2)));
      run.send({
        type: 'WORKLOAD',
        at: at(2),
        incidentId: run.incidentId,
        answer: {
          role: 'member',
          incident: { ...open, phase: 'remediating', verifyUntil: null },
          remediations: [restartAt],
        },
      });
      expect(run.value).toBe('joined');
      return run;
    };
    const verifying = {
      workload: {
        type: 'CrashLoopBackOff' as const,
        incidentId,
        heldUntil: null,
        verifyingActedAt: restartAt,
      },
    };
    // Older than the restart: the restart never touched it; it keeps waiting.
    const older = joinedAs(at(-30));
    older.send({ type: 'FACTS', at: at(3), facts: verifying });
    expect(older.value).toBe('joined');
    // Made since: its crash loop says the restart did not hold, so it asks the workload again.
    const newer = joinedAs(at(1.5));
    const again = newer.send({ type: 'FACTS', at: at(3), facts: verifying });
    expect(newer.value).toBe('claiming');
    expect(again.claims[0]).toMatchObject({ workload: WORKLOAD, createdAt: at(1.5) });
  });

  it('lets go of a verification another pod took over, telling nobody it resolved', () => {
    const run = ofWorkload(HOLDER);
    run.send({
      type: 'ADOPT',
      at: at(2),
      workload: WORKLOAD,
      incident: open,
      remediations: [restartAt],
      ticket: true,
    });
    expect(run.value).toBe('verifying');
    // Another pod's incident id changes nothing.
    run.send({ type: 'TAKEN_OVER', at: at(3), incidentId: 'other#1@0', by: POD_KEY });
    expect(run.value).toBe('verifying');
    const out = run.send({ type: 'TAKEN_OVER', at: at(3), incidentId, by: POD_KEY });
    expect(run.value).toBe('healthy');
    expect(run.context.incident).toBeNull();
    expect(out.effects).toEqual([]);
    expect(out.records.map((r) => r.reason)).toEqual(['HandedOver']);
    expect(out.records[0]?.message).toContain(`${POD_KEY} goes on with incident ${incidentId}`);
  });
});
