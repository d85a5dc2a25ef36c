/**
 * Tickets through an incident's life, on pure transitions: a ticket the escalation ladder opened
 * is closed when its problem is resolved (by that incident or a later one), and commented on when
 * the incident ends without the problem being solved (a quarantine lifted by the clock, a node
 * left cordoned for people to put back).
 */
import { describe, expect, it } from 'vitest';
import {
  deploymentMachine,
  nodeMachine,
  podMachine,
  restoreActor,
  type EffectRequest,
  type MachineEvent,
  type MachinePolicy,
} from '../../../src/machines/index.ts';
import { SimulatedClock } from 'xstate';
import {
  crashLoopingPod,
  deployment,
  DEPLOYMENT_KEY,
  healthyNode,
  kinds,
  MINUTE,
  node,
  NODE_KEY,
  observed,
  policy,
  POD_KEY,
  PureRun,
  runningPod,
  T0,
} from './fixtures.ts';

const at = (minutes: number) => T0 + minutes * MINUTE;

const crashLoops = {
  CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'restartPod' },
} as const satisfies MachinePolicy['detections'];

/** Slack at once, a ticket after 15 minutes. */
const ladder: MachinePolicy['escalation'] = [
  { afterMs: 0, targets: [{ type: 'slack', channel: '#shop' }] },
  { afterMs: 15 * MINUTE, targets: [{ type: 'ticket' }] },
];

const target = {
  kind: 'Pod',
  namespace: 'shop',
  name: 'api-7d9f-x2x',
  uid: 'pod-uid-1',
  resourceVersion: '106',
};

function ticketUpdates(effects: readonly EffectRequest[]): EffectRequest[] {
  return effects.filter((e) => e.effect.kind === 'updateTicket');
}

/** A crash loop whose restart fails at minute 1: escalated, Slack told at once. */
function escalatedPod(overrides: Partial<MachinePolicy> = {}): PureRun {
  const run = new PureRun(
    podMachine,
    POD_KEY,
    policy({ detections: crashLoops, escalation: ladder, ...overrides }),
  );
  run.send(observed(crashLoopingPod(5), at(0)));
  run.send({ type: 'EFFECT.FAILED', at: at(1), effectId: run.awaited, error: 'forbidden' });
  return run;
}

describe('the ticket of an escalated incident', () => {
  it('is remembered when the ladder opens it, and closed when the incident resolves', () => {
    const run = escalatedPod();
    expect(run.context.tickets).toEqual([]);
    const opened = run.fire('untilNextEscalation');
    expect(kinds(opened)).toEqual(['openTicket']);
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);

    run.send(observed(runningPod(6), at(20)));
    const incidentId = run.incidentId;
    const resolved = run.fire('untilRecoveryHolds');
    expect(run.value).toBe('coolingDown');
    expect(kinds(resolved)).toEqual(['notify', 'updateTicket']);
    expect(ticketUpdates(resolved.effects)).toEqual([
      {
        actorKey: POD_KEY,
        incidentId,
        step: 'resolved-ticket',
        effectId: `${incidentId}/resolved-ticket`,
        requestedAt: at(25),
        effect: {
          kind: 'updateTicket',
          target,
          reason:
            'container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container=api pod=api-7d9f-x2x_shop(pod-uid-1) (restarts: 5) is gone',
          detection: 'CrashLoopBackOff',
          resolve: true,
        },
      },
    ]);
    // Closed: the next incident of the problem starts without a ticket.
    expect(run.context.tickets).toEqual([]);
  });

  it('is not asked for when the incident resolves before the ladder reached the ticket', () => {
    const run = escalatedPod();
    run.send(observed(runningPod(6), at(2)));
    const resolved = run.fire('untilRecoveryHolds');
    expect(run.value).toBe('coolingDown');
    expect(kinds(resolved)).toEqual(['notify']);
    expect(run.log.effects.map((e) => e.effect.kind)).not.toContain('openTicket');
  });

  it('is opened once per problem however often the ladder names it', () => {
    const run = escalatedPod({
      escalation: [
        { afterMs: 0, targets: [{ type: 'ticket' }] },
        { afterMs: 15 * MINUTE, targets: [{ type: 'ticket' }] },
      ],
    });
    run.fire('untilNextEscalation');
    expect(run.log.effects.map((e) => e.effect.kind)).toEqual([
      'collectEvidence',
      'restartPod',
      'collectEvidence',
      'openTicket',
      'openTicket',
    ]);
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
  });
});

describe('the ticket of a quarantined problem', () => {
  /** Two restarts that did not hold; the third crash loop is quarantined, ticket at level 1. */
  function quarantinedPod(): PureRun {
    const run = new PureRun(
      podMachine,
      POD_KEY,
      policy({
        quarantine: { maxRemediations: 2, windowMs: 60 * MINUTE },
        cooldownMs: 5 * MINUTE,
        verificationWindowMs: 5 * MINUTE,
        detections: crashLoops,
        escalation: [{ afterMs: 0, targets: [{ type: 'ticket' }] }],
      }),
    );
    for (const minute of [0, 20]) {
      run.send(observed(crashLoopingPod(minute), at(minute)));
      run.send({ type: 'EFFECT.DONE', at: at(minute + 1), effectId: run.awaited });
      run.send(observed(runningPod(minute), at(minute + 2)));
      run.fire('untilVerificationEnds');
      run.fire('untilCooldownEnds');
    }
    const out = run.send(observed(crashLoopingPod(41), at(41)));
    expect(run.value).toBe('quarantined');
    expect(kinds(out)).toEqual(['collectEvidence', 'openTicket']);
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
    return run;
  }

  it('gets a comment when the quarantine lifts with the problem still there, and stays open', () => {
    const run = quarantinedPod();
    const lifted = run.fire('untilQuarantineEnds');
    expect(ticketUpdates(lifted.effects)).toMatchObject([
      {
        step: 'quarantine-lifted-ticket',
        requestedAt: at(60),
        effect: {
          kind: 'updateTicket',
          detection: 'CrashLoopBackOff',
          resolve: false,
          reason:
            'remediations are allowed again: the quarantine window has passed; CrashLoopBackOff is still seen',
        },
      },
    ]);
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);

    // The crash loop is acted on again; when that restart holds, the problem's ticket is closed
    // by this later incident.
    expect(run.value).toBe('remediating');
    const incidentId = run.incidentId;
    run.send({ type: 'EFFECT.DONE', at: at(61), effectId: run.awaited });
    run.send(observed(runningPod(42), at(62)));
    const resolved = run.fire('untilVerificationEnds');
    expect(run.value).toBe('coolingDown');
    expect(ticketUpdates(resolved.effects)).toMatchObject([
      {
        incidentId,
        step: 'resolved-ticket',
        effect: { kind: 'updateTicket', detection: 'CrashLoopBackOff', resolve: true },
      },
    ]);
    expect(run.context.tickets).toEqual([]);
  });

  it('says the problem is not seen when the quarantine lifts after it went away', () => {
    const run = quarantinedPod();
    run.send(observed(runningPod(41), at(50)));
    const lifted = run.fire('untilQuarantineEnds');
    expect(run.value).toBe('healthy');
    expect(ticketUpdates(lifted.effects)).toMatchObject([
      {
        effect: {
          resolve: false,
          reason:
            'remediations are allowed again: the quarantine window has passed; CrashLoopBackOff is not seen now',
        },
      },
    ]);
    // Nothing verified that it stays away: the ticket stays open for people (or the next
    // incident of the problem) to close.
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
  });

  it('is left alone by an incident of another problem', () => {
    const run = quarantinedPod();
    run.send(observed(runningPod(41), at(50)));
    run.fire('untilQuarantineEnds');
    const oom = crashLoopingPod(42, {
      containerStatuses: [
        {
          name: 'api',
          ready: true,
          restartCount: 42,
          state: { running: {} },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        },
      ],
    });
    run.send({
      type: 'POLICY',
      at: at(70),
      policy: {
        ...run.context.policy,
        detections: { OOMKilled: { threshold: 1, windowMs: MINUTE, action: 'restartPod' } },
      },
    });
    run.send(observed(oom, at(70)));
    run.send({ type: 'EFFECT.DONE', at: at(71), effectId: run.awaited });
    run.send(observed(runningPod(42), at(72)));
    const resolved = run.fire('untilVerificationEnds');
    expect(run.value).toBe('coolingDown');
    expect(ticketUpdates(resolved.effects)).toEqual([]);
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
  });
});

describe('the ticket of a pod’s workload', () => {
  /** The workload of the fixture pod (a ReplicaSet's pod with no Deployment hash label). */
  const WORKLOAD = 'shop/ReplicaSet/api-7d9f';
  const REPLACEMENT = 'Pod/shop/api-7d9f-r3p';
  const quarantinedAt = at(0);

  function podOfWorkload(key = POD_KEY, overrides: Partial<MachinePolicy> = {}): PureRun {
    const run = new PureRun(
      podMachine,
      key,
      policy({ detections: crashLoops, escalation: ladder, ...overrides }),
    );
    run.send({ type: 'FACTS', at: T0, facts: { workloadMemory: true } });
    return run;
  }

  /** The workload's incident whose restart removed the first pod, now verified on a new pod. */
  function adoption(ticket: boolean | undefined): MachineEvent {
    return {
      type: 'ADOPT',
      at: at(2),
      workload: WORKLOAD,
      incident: {
        id: `${POD_KEY}#1@${quarantinedAt}`,
        openedAt: quarantinedAt,
        holder: REPLACEMENT,
        holderOwner: 'agent-worker-2',
        phase: 'verifying',
        attempts: 1,
        actedAt: at(1),
        replacesPod: true,
        verifyUntil: at(7),
        verificationWindowMs: 5 * MINUTE,
        announced: true,
        trigger: { type: 'CrashLoopBackOff', reason: 'container "api" is in CrashLoopBackOff' },
      },
      remediations: [at(1)],
      ...(ticket === undefined ? {} : { ticket }),
    };
  }

  it('is asked for under the workload, so every pod of it files the same ticket', () => {
    const run = podOfWorkload();
    run.send(observed(crashLoopingPod(5), at(0)));
    expect(run.value).toBe('claiming');
    run.send({
      type: 'WORKLOAD',
      at: at(0),
      incidentId: run.incidentId,
      answer: { role: 'lead', continues: null, remediations: [], ticket: false },
    });
    run.send({ type: 'EFFECT.FAILED', at: at(1), effectId: run.awaited, error: 'forbidden' });
    const opened = run.fire('untilNextEscalation');
    expect(kinds(opened)).toEqual(['openTicket']);
    expect(opened.effects[0]).toMatchObject({ actorKey: POD_KEY, workload: WORKLOAD });
  });

  it('is closed by the replacement that verified the restart, when the workload says it is open', () => {
    const run = podOfWorkload(REPLACEMENT);
    run.send(adoption(true));
    expect(run.value).toBe('verifying');
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
    run.send(observed(runningPod(0), at(3)));
    const resolved = run.fire('untilVerificationEnds');
    expect(run.value).toBe('coolingDown');
    expect(ticketUpdates(resolved.effects)).toMatchObject([
      {
        actorKey: REPLACEMENT,
        workload: WORKLOAD,
        incidentId: `${POD_KEY}#1@${quarantinedAt}`,
        step: 'resolved-ticket',
        effect: { kind: 'updateTicket', detection: 'CrashLoopBackOff', resolve: true },
      },
    ]);
    expect(run.context.tickets).toEqual([]);
  });

  it.each([
    ['says it has none', false],
    ['was written before it said', undefined],
  ])('is not touched by a replacement whose workload %s', (_what, ticket) => {
    const run = podOfWorkload(REPLACEMENT);
    run.send(adoption(ticket));
    run.send(observed(runningPod(0), at(3)));
    expect(ticketUpdates(run.fire('untilVerificationEnds').effects)).toEqual([]);
  });

  it('is closed by a later pod that leads the next incident of the problem and resolves it', () => {
    const run = podOfWorkload(REPLACEMENT);
    run.send(observed(crashLoopingPod(5), at(90)));
    run.send({
      type: 'WORKLOAD',
      at: at(90),
      incidentId: run.incidentId,
      answer: { role: 'lead', continues: null, remediations: [], ticket: true },
    });
    expect(run.context.tickets).toEqual(['CrashLoopBackOff']);
    expect(run.value).toBe('remediating');
    run.send({ type: 'EFFECT.DONE', at: at(91), effectId: run.awaited });
    run.send(observed(runningPod(6), at(92)));
    const resolved = run.fire('untilVerificationEnds');
    expect(ticketUpdates(resolved.effects)).toMatchObject([
      { workload: WORKLOAD, effect: { kind: 'updateTicket', resolve: true } },
    ]);
  });
});

describe('the ticket of a node left out of service', () => {
  it('gets a comment saying people must put the node back, and stays open', () => {
    const run = new PureRun(
      nodeMachine,
      NODE_KEY,
      policy({
        detections: { MemoryPressure: { threshold: 1, windowMs: 5 * MINUTE, action: 'cordon' } },
        node: { drainAllowed: false, minHealthyNodes: 2 },
        escalation: [{ afterMs: 0, targets: [{ type: 'ticket' }] }],
      }),
    );
    run.send({ type: 'FACTS', at: T0, facts: { healthyNodes: 5 } });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(healthyNode(true), at(3)));
    run.fire('untilVerificationEnds');
    // Putting it back fails twice; each time people are told (the ticket opened once).
    for (const minute of [10, 30]) {
      expect(run.value).toBe('uncordoning');
      run.send({ type: 'EFFECT.FAILED', at: at(minute), effectId: run.awaited, error: 'nope' });
      expect(run.matches('escalated')).toBe(true);
      run.send(observed(healthyNode(true), at(minute + 1)));
      if (minute === 10) run.fire('untilRecoveryHolds');
    }
    expect(run.context.tickets).toEqual(['MemoryPressure']);
    const left = run.fire('untilRecoveryHolds');
    expect(run.value).toBe('coolingDown');
    expect(left.records.map((r) => r.reason)).toEqual(['LeftOutOfService']);
    expect(ticketUpdates(left.effects)).toMatchObject([
      {
        step: 'left-out-of-service-ticket',
        effect: {
          kind: 'updateTicket',
          detection: 'MemoryPressure',
          resolve: false,
          reason:
            'Node worker-1 recovered but is still out of service: putting it back failed 2 times; uncordon it by hand',
        },
      },
    ]);
    expect(run.context.tickets).toEqual(['MemoryPressure']);
  });
});

describe('tickets and scale incidents', () => {
  it('remembers none: a scale has no problem to fingerprint', () => {
    const run = new PureRun(
      deploymentMachine,
      DEPLOYMENT_KEY,
      policy({ mode: 'approval', escalation: [{ afterMs: 0, targets: [{ type: 'ticket' }] }] }),
    );
    run.send(observed(deployment(), at(0)));
    run.send({ type: 'SCALE.PROPOSED', at: at(1), from: 3, to: 5, reason: 'cpu above 80%' });
    expect(run.value).toBe('awaitingApproval');
    run.fire('untilApprovalExpires');
    expect(run.matches('escalated')).toBe(true);
    expect(run.log.effects.map((e) => e.effect.kind)).toContain('openTicket');
    expect(run.context.tickets).toEqual([]);
  });
});

describe('tickets in snapshots', () => {
  it('reads a snapshot from before tickets were remembered as none open', () => {
    const live = escalatedPod();
    live.fire('untilNextEscalation');
    live.send(observed(runningPod(6), at(20)));
    const persisted = JSON.parse(JSON.stringify(live.snapshot)) as {
      context: Record<string, unknown>;
    };
    delete persisted.context['tickets'];
    const clock = new SimulatedClock();
    clock.set(at(20));
    const effects: EffectRequest[] = [];
    const machine = podMachine.provide({
      actions: {
        enqueueEffect: (_, request: EffectRequest) => void effects.push(request),
        recordEvent: () => undefined,
      },
    });
    const actor = restoreActor(machine, persisted as never, { clock });
    clock.set(at(26));
    expect(actor.getSnapshot().value).toBe('coolingDown');
    expect(effects.map((e) => e.effect.kind)).toEqual(['notify']);
    actor.stop();
  });
});
