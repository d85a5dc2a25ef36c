import { describe, expect, it } from 'vitest';
import {
  deploymentMachine,
  type MachineEvent,
  type MachinePolicy,
} from '../../../src/machines/index.ts';
import {
  deployment,
  DEPLOYMENT_KEY,
  kinds,
  MINUTE,
  observed,
  policy,
  PureRun,
  T0,
} from './fixtures.ts';

const at = (minutes: number) => T0 + minutes * MINUTE;

function deploymentRun(overrides: Partial<MachinePolicy> = {}): PureRun {
  const run = new PureRun(deploymentMachine, DEPLOYMENT_KEY, policy(overrides));
  run.send(observed(deployment(), T0));
  return run;
}

const scaleProposed = (minutes: number): MachineEvent => ({
  type: 'SCALE.PROPOSED',
  at: at(minutes),
  from: 3,
  to: 5,
  reason: 'queue depth 2400 above 1000 for 3m',
});

describe('the deployment machine: failed rollouts', () => {
  it('rolls back a rollout that exceeded its progress deadline, from the current revision', () => {
    const run = deploymentRun();
    const out = run.send(observed(deployment({ failed: true }), at(1)));
    expect(run.value).toBe('remediating');
    expect(out.effects).toMatchObject([
      { step: 'detected-evidence', effect: { kind: 'collectEvidence' } },
      {
        step: 'remediate-1',
        effect: {
          kind: 'rollback',
          fromRevision: '12',
          target: { kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'deploy-uid-1' },
        },
      },
    ]);
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(deployment({ generation: 8 }), at(3)));
    run.fire('untilVerificationEnds');
    expect(run.value).toBe('coolingDown');
  });

  it('escalates instead when the policy does not allow rollbacks', () => {
    const run = deploymentRun({ deployment: { rollbackOnFailedRollout: false } });
    const out = run.send(observed(deployment({ failed: true }), at(1)));
    expect(run.matches('escalated')).toBe(true);
    expect(out.effects.some((e) => e.effect.kind === 'rollback')).toBe(false);
    expect(run.context.incident?.decision?.reason).toMatch(
      /^the policy does not allow rollbacks \(deployment.rollbackOnFailedRollout\)/,
    );
  });

  it('escalates when the rollback does not hold (there is nothing to undo)', () => {
    const run = deploymentRun();
    run.send(observed(deployment({ failed: true }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(deployment({ failed: true }), at(4)));
    expect(run.matches('escalated')).toBe(true);
    expect(run.log.effects.some((e) => e.step === 'undo')).toBe(false);
  });

  it('in gitops mode proposes the rollback as a pull request and waits for it', () => {
    const run = deploymentRun({ mode: 'gitops', approvalTimeoutMs: 60 * MINUTE });
    const out = run.send(observed(deployment({ failed: true }), at(1)));
    expect(out.effects).toMatchObject([
      { effect: { kind: 'collectEvidence' } },
      { effect: { kind: 'openPullRequest', proposes: { kind: 'rollback', fromRevision: '12' } } },
    ]);
    const effectId = run.awaited;
    const opened = run.send({ type: 'EFFECT.DONE', at: at(2), effectId });
    expect(run.value).toBe('awaitingMerge');
    expect(opened.timers).toEqual({ untilApprovalExpires: 60 * MINUTE });
    run.send({ type: 'PROPOSAL.MERGED', at: at(20), effectId, by: 'erin' });
    expect(run.value).toBe('verifying');
  });

  it('cools down when the pull request is closed unmerged', () => {
    const run = deploymentRun({ mode: 'gitops' });
    run.send(observed(deployment({ failed: true }), at(1)));
    const effectId = run.awaited;
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId });
    const out = run.send({ type: 'PROPOSAL.CLOSED', at: at(9), effectId, by: 'erin' });
    expect(run.value).toBe('coolingDown');
    expect(out.records[0]?.message).toBe('pull request closed unmerged by erin');
  });

  it('escalates a pull request nobody merges or closes in time', () => {
    const run = deploymentRun({ mode: 'gitops', approvalTimeoutMs: 60 * MINUTE });
    run.send(observed(deployment({ failed: true }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.fire('untilApprovalExpires');
    expect(run.context.incident?.decision?.reason).toBe(
      'the pull request was neither merged nor closed within 1h',
    );
  });
});

describe('the deployment machine: scaling', () => {
  it('scales as the scaler proposes and resolves as soon as the replicas are available', () => {
    const run = deploymentRun();
    const out = run.send(scaleProposed(1));
    expect(out.effects).toMatchObject([
      {
        step: 'remediate-1',
        effect: { kind: 'scale', from: 3, to: 5, reason: 'queue depth 2400 above 1000 for 3m' },
      },
    ]);
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(deployment({ desired: 5, available: 4 }), at(3)));
    expect(run.value).toBe('verifying');
    run.send(observed(deployment({ desired: 5, available: 5 }), at(4)));
    expect(run.value).toBe('coolingDown');
  });

  it('leaves replicas to an HPA that targets the same Deployment, and says so', () => {
    const run = deploymentRun();
    run.send({ type: 'FACTS', at: at(0), facts: { hpa: { name: 'web-hpa' } } });
    const out = run.send(scaleProposed(1));
    expect(run.value).toBe('healthy');
    expect(out.effects).toEqual([]);
    expect(out.records).toEqual([
      {
        type: 'Normal',
        reason: 'ScaleSkipped',
        message:
          'HorizontalPodAutoscaler web-hpa owns the replica count, so the proposed scale from 3 to 5 is not applied (queue depth 2400 above 1000 for 3m)',
      },
    ]);
  });

  it('puts the replica count back when the scale does not hold, then escalates', () => {
    const run = deploymentRun({ verificationWindowMs: 5 * MINUTE });
    run.send(scaleProposed(1));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(deployment({ desired: 5, available: 3 }), at(3)));
    const failed = run.fire('untilVerificationEnds');
    expect(run.value).toBe('rollingBack');
    expect(failed.effects).toMatchObject([
      { step: 'undo', effect: { kind: 'scale', from: 5, to: 3 } },
    ]);
    run.send({ type: 'EFFECT.DONE', at: at(8), effectId: run.awaited });
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision?.reason).toBe(
      'the remediation did not hold and was undone (scale Deployment shop/web from 5 to 3 replicas)',
    );
  });

  it('escalates when putting the replica count back fails too', () => {
    const run = deploymentRun();
    run.send(scaleProposed(1));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(deployment({ failed: true, desired: 5 }), at(3)));
    expect(run.value).toBe('rollingBack');
    run.send({ type: 'EFFECT.FAILED', at: at(4), effectId: run.awaited, error: 'conflict' });
    expect(run.context.incident?.decision?.reason).toMatch(/undoing it failed: conflict/);
  });

  it('proposes the scale as a pull request in gitops mode', () => {
    const run = deploymentRun({ mode: 'gitops' });
    expect(run.send(scaleProposed(1)).effects[0]?.effect).toMatchObject({
      kind: 'openPullRequest',
      proposes: { kind: 'scale', from: 3, to: 5 },
    });
  });

  it('asks before scaling in approval mode and records a dry run in dryRun mode', () => {
    const approval = deploymentRun({ mode: 'approval' });
    approval.send(scaleProposed(1));
    expect(approval.value).toBe('awaitingApproval');
    const dry = deploymentRun({ mode: 'dryRun' });
    const out = dry.send(scaleProposed(1));
    expect(out.effects).toEqual([]);
    expect(out.records.at(-1)?.message).toBe(
      'dry run: would scale Deployment shop/web from 3 to 5 replicas: queue depth 2400 above 1000 for 3m',
    );
  });

  it('ignores a scaling proposal while an incident is open', () => {
    const run = deploymentRun();
    run.send(observed(deployment({ failed: true }), at(1)));
    expect(kinds(run.send(scaleProposed(2)))).toEqual([]);
    expect(run.value).toBe('remediating');
  });
});
