import { SimulatedClock, createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  decide,
  defaultMachinePolicy,
  initialContext,
  machinePolicyProblems,
  MAX_DURATION_MS,
  pendingDeadlines,
  podMachine,
  restoreActor,
  type Decision,
  type MachinePolicy,
  type RemediationContext,
  type RuntimeFacts,
} from '../../../src/machines/index.ts';
import { analyzeObject } from '../../../src/analyzers/index.ts';
import {
  crashLoopingPod,
  deployment,
  DEPLOYMENT_KEY,
  MINUTE,
  node,
  NODE_KEY,
  observed,
  policy,
  POD_KEY,
  T0,
} from './fixtures.ts';
import type { ObservableObject } from '../../../src/observe/index.ts';

describe('the machine policy', () => {
  it('accepts the default policy', () => {
    expect(machinePolicyProblems(defaultMachinePolicy)).toEqual([]);
  });

  it.each<[string, Partial<MachinePolicy>, string]>([
    ['a negative cooldown', { cooldownMs: -1 }, 'cooldownMs: expected a duration >= 0 ms, got -1'],
    [
      'a snooze-proof timer',
      { verificationWindowMs: MAX_DURATION_MS + 1 },
      `verificationWindowMs: ${MAX_DURATION_MS + 1} ms is longer than timers can wait`,
    ],
    [
      'a threshold of zero',
      { detections: { OOMKilled: { threshold: 0, windowMs: MINUTE, action: 'notify' } } },
      'detections.OOMKilled.threshold: expected an integer >= 1',
    ],
    [
      'a scale without replicas',
      { detections: { RolloutFailed: { threshold: 1, windowMs: MINUTE, action: 'scale' } } },
      'detections.RolloutFailed.replicas: action scale needs replicas',
    ],
    [
      'a ladder out of order',
      {
        escalation: [
          { afterMs: 10 * MINUTE, targets: [{ type: 'ticket' }] },
          { afterMs: MINUTE, targets: [{ type: 'ticket' }] },
        ],
      },
      'escalation[1].afterMs: levels must come in increasing order',
    ],
    [
      'no remediation allowed before quarantine',
      { quarantine: { maxRemediations: 0, windowMs: MINUTE } },
      'quarantine.maxRemediations: expected at least 1',
    ],
  ])('rejects %s', (_name, overrides, problem) => {
    expect(machinePolicyProblems(policy(overrides)).join('\n')).toContain(problem);
  });
});

/** A context as it is when `detected` decides: an incident open on the latest observation. */
function confirmed(
  actorKey: string,
  object: ObservableObject,
  overrides: Partial<MachinePolicy> = {},
  facts: Partial<RuntimeFacts> = {},
  remediations: number[] = [],
): RemediationContext {
  const { observation, detections } = analyzeObject(object);
  const base = initialContext({ actorKey, policy: policy(overrides), at: T0, facts });
  const detection = detections[0];
  if (!detection) throw new Error('the fixture shows no problem');
  return {
    ...base,
    observation,
    detections,
    remediations,
    incident: {
      id: `${actorKey}#1@${T0}`,
      seq: 1,
      openedAt: T0,
      trigger: { kind: 'detection', detection },
      decision: null,
      plan: [],
      step: 0,
      awaiting: null,
      approvedBy: null,
      escalations: 0,
      escalation: null,
      uncordons: 0,
      nodeOutOfService: false,
      announced: false,
      commands: [],
    },
  };
}

const pressure = node({ MemoryPressure: 'True' });

describe('the decision once an incident is confirmed', () => {
  it.each<[string, RemediationContext, Decision['decision'], RegExp]>([
    [
      'a crash loop in auto mode',
      confirmed(POD_KEY, crashLoopingPod(4)),
      'remediate',
      /^restart Pod shop\/api-7d9f-x2x: container "api"/,
    ],
    [
      'the same in approval mode',
      confirmed(POD_KEY, crashLoopingPod(4), { mode: 'approval' }),
      'askApproval',
      /^approval needed to restart Pod/,
    ],
    [
      'the same in dryRun mode',
      confirmed(POD_KEY, crashLoopingPod(4), { mode: 'dryRun' }),
      'dryRun',
      /^dry run: would restart Pod/,
    ],
    [
      'a pod whose node is being handled',
      confirmed(
        POD_KEY,
        crashLoopingPod(4),
        {},
        { inhibited: { by: NODE_KEY, reason: 'node has DiskPressure' } },
      ),
      'wait',
      /^Node\/worker-1 is handling it: node has DiskPressure$/,
    ],
    [
      'a pod restarted too often within the quarantine window',
      confirmed(POD_KEY, crashLoopingPod(4), {}, {}, [
        T0 - 30 * MINUTE,
        T0 - 20 * MINUTE,
        T0 - 10 * MINUTE,
      ]),
      'quarantine',
      /^3 remediations within 1h did not hold/,
    ],
    [
      'remediations older than the quarantine window',
      confirmed(POD_KEY, crashLoopingPod(4), {}, {}, [
        T0 - 90 * MINUTE,
        T0 - 80 * MINUTE,
        T0 - 70 * MINUTE,
      ]),
      'remediate',
      /^restart/,
    ],
    [
      'a pod policy asking to cordon',
      confirmed(POD_KEY, crashLoopingPod(4), {
        detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'cordon' } },
      }),
      'escalate',
      /^action cordon does not apply to a Pod, so people decide/,
    ],
    [
      'node pressure with room to spare',
      confirmed(NODE_KEY, pressure, {}, { healthyNodes: 5 }),
      'remediate',
      /^cordon Node worker-1, then drain Node worker-1/,
    ],
    [
      'node pressure without room',
      confirmed(NODE_KEY, pressure, {}, { healthyNodes: 2 }),
      'escalate',
      /below the policy minimum of 2/,
    ],
    [
      'node pressure with the budget spent',
      confirmed(NODE_KEY, pressure, {}, { healthyNodes: 5, budgetAvailable: false }),
      'askApproval',
      /^the disruption budget for kube-remedy\/default is spent, so a person decides whether to cordon Node worker-1/,
    ],
    [
      'node pressure with the budget spent and too few healthy nodes',
      confirmed(NODE_KEY, pressure, {}, { healthyNodes: 2, budgetAvailable: false }),
      'escalate',
      /below the policy minimum of 2/,
    ],
    [
      'a failed rollout in gitops mode',
      confirmed(DEPLOYMENT_KEY, deployment({ failed: true }), { mode: 'gitops' }),
      'propose',
      /^open a pull request rolling back from revision 12/,
    ],
    [
      'a failed rollout in auto mode',
      confirmed(DEPLOYMENT_KEY, deployment({ failed: true })),
      'remediate',
      /^roll back Deployment shop\/web/,
    ],
  ])('decides for %s', (_name, context, expected, reason) => {
    const decision = decide(context, T0);
    expect(decision.decision).toBe(expected);
    expect(decision.reason).toMatch(reason);
  });

  it('stands down when the symptom is gone by the time it decides', () => {
    const context = { ...confirmed(POD_KEY, crashLoopingPod(4)), detections: [] };
    expect(decide(context, T0)).toEqual({
      decision: 'standDown',
      reason: expect.stringMatching(/^the symptom cleared before anything was done/) as string,
    });
  });
});

describe('restoring an actor', () => {
  it('re-arms the deadline of the state it was in, from the clock it is given', () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const machine = podMachine.provide({
      actions: { enqueueEffect: () => {}, recordEvent: () => {} },
    });
    const actor = createActor(machine, {
      clock,
      input: {
        actorKey: POD_KEY,
        policy: policy({ mode: 'approval', approvalTimeoutMs: 30 * MINUTE }),
        at: T0,
      },
    }).start();
    actor.send(observed(crashLoopingPod(1), T0));
    actor.send(observed(crashLoopingPod(2), T0 + MINUTE));
    actor.send(observed(crashLoopingPod(3), T0 + 2 * MINUTE));
    expect(pendingDeadlines(actor.getSnapshot())).toEqual([
      { delay: 'untilApprovalExpires', deadline: 'approvalExpires', at: T0 + 32 * MINUTE },
    ]);
    const persisted = actor.getPersistedSnapshot();
    actor.stop();

    const later = new SimulatedClock();
    later.set(T0 + 20 * MINUTE);
    const shared = policy({
      mode: 'approval',
      approvalTimeoutMs: 30 * MINUTE,
      name: 'shop/updated',
    });
    const restored = restoreActor(machine, persisted, { clock: later, policy: shared });
    expect(restored.getSnapshot().value).toBe('awaitingApproval');
    expect(restored.getSnapshot().context.policy).toBe(shared);
    later.set(T0 + 32 * MINUTE - 1);
    expect(restored.getSnapshot().value).toBe('awaitingApproval');
    later.set(T0 + 32 * MINUTE);
    expect(restored.getSnapshot().matches('escalated')).toBe(true);
  });
});
