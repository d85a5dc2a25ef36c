import { describe, expect, it } from 'vitest';
import { NodeSlotKeeper } from '../../../src/actors/node-slots.ts';
import {
  inhibitionFromNode,
  nodeMachine,
  nodeSlotHolder,
  type MachinePolicy,
} from '../../../src/machines/index.ts';
import {
  healthyNode,
  kinds,
  MINUTE,
  node,
  NODE_KEY,
  observed,
  policy,
  PureRun,
  T0,
} from './fixtures.ts';

const at = (minutes: number) => T0 + minutes * MINUTE;

function nodeRun(overrides: Partial<MachinePolicy> = {}, healthyNodes: number | null = 5): PureRun {
  const run = new PureRun(nodeMachine, NODE_KEY, policy(overrides));
  run.send({ type: 'FACTS', at: T0, facts: { healthyNodes } });
  return run;
}

const pressure = {
  MemoryPressure: { threshold: 1, windowMs: 5 * MINUTE, action: 'drain' },
} as const satisfies MachinePolicy['detections'];

describe('the node machine', () => {
  it('cordons, then drains when the policy allows, one step after the other', () => {
    const run = nodeRun({ detections: pressure });
    const first = run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(run.value).toBe('remediating');
    expect(first.effects).toMatchObject([
      { step: 'detected-evidence', effect: { kind: 'collectEvidence' } },
      {
        step: 'remediate-1',
        effect: { kind: 'cordon', target: { kind: 'Node', namespace: null, name: 'worker-1' } },
      },
    ]);
    const second = run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    expect(run.value).toBe('remediating');
    expect(second.effects).toMatchObject([
      { step: 'remediate-2', effect: { kind: 'drain', minHealthyNodes: 2 } },
    ]);
    expect(second.timers).toEqual({ untilEffectTimesOut: 5 * MINUTE });
    run.send({ type: 'EFFECT.DONE', at: at(8), effectId: run.awaited });
    expect(run.value).toBe('verifying');
  });

  it('only cordons when the policy does not allow drains', () => {
    const run = nodeRun({
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 2 },
    });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    expect(run.value).toBe('verifying');
    expect(run.log.effects.map((e) => e.effect.kind)).toEqual(['collectEvidence', 'cordon']);
  });

  it('uncordons a node that recovered, then resolves and cools down', () => {
    const run = nodeRun({
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 2 },
    });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(healthyNode(true), at(4)));
    const verified = run.fire('untilVerificationEnds');
    expect(run.value).toBe('uncordoning');
    expect(verified.effects).toMatchObject([{ step: 'uncordon-1', effect: { kind: 'uncordon' } }]);
    const done = run.send({ type: 'EFFECT.DONE', at: at(8), effectId: run.awaited });
    expect(run.value).toBe('coolingDown');
    expect(done.records.map((r) => r.reason)).toEqual(['Resolved']);
    expect(run.context.incident).toBeNull();
  });

  it('keeps a node that did not recover cordoned and escalates', () => {
    const run = nodeRun({
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 2 },
    });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    const out = run.fire('untilVerificationEnds');
    expect(run.matches('escalated')).toBe(true);
    expect(out.effects.some((e) => e.effect.kind === 'uncordon')).toBe(false);
    // Once people fixed it and it stays fixed, it is put back in service.
    run.send(observed(healthyNode(true), at(30)));
    run.fire('untilRecoveryHolds');
    expect(run.value).toBe('uncordoning');
  });

  it('never takes a node out if fewer than minHealthyNodes would remain', () => {
    const run = nodeRun(
      { detections: pressure, node: { drainAllowed: true, minHealthyNodes: 3 } },
      3,
    );
    const out = run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(run.matches('escalated')).toBe(true);
    expect(out.effects.some((e) => e.effect.kind === 'cordon' || e.effect.kind === 'drain')).toBe(
      false,
    );
    expect(run.context.incident?.decision?.reason).toMatch(
      /^taking Node worker-1 out of service would leave 2 healthy nodes, below the policy minimum of 3/,
    );
  });

  it('counts a NotReady node as already out of service', () => {
    const run = nodeRun(
      {
        detections: { NotReady: { threshold: 1, windowMs: MINUTE, action: 'cordon' } },
        node: { drainAllowed: true, minHealthyNodes: 3 },
      },
      3,
    );
    expect(kinds(run.send(observed(node({ Ready: 'Unknown' }), at(1))))).toEqual([
      'collectEvidence',
      'cordon',
    ]);
  });

  it('reads a floor given as a percentage of the nodes the policy selects, rounded up', () => {
    const pct: Partial<MachinePolicy> = {
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 0, minHealthyPercent: 60 },
    };
    // 60% of 5 is 3: with 3 healthy, this healthy node may not go.
    const held = nodeRun(pct, 3);
    held.send({ type: 'FACTS', at: T0, facts: { selectedNodes: 5 } });
    held.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(held.context.incident?.decision?.reason).toMatch(
      /^taking Node worker-1 out of service would leave 2 healthy nodes, below the policy minimum of 3 \(60% of the 5 nodes it selects\)/,
    );
    // With 4 healthy, it may.
    const free = nodeRun(pct, 4);
    free.send({ type: 'FACTS', at: T0, facts: { selectedNodes: 5 } });
    expect(kinds(free.send(observed(node({ MemoryPressure: 'True' }), at(1))))).toContain('cordon');
    // Without the number of selected nodes, nothing goes.
    const unknown = nodeRun(pct, 4);
    unknown.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(unknown.context.incident?.decision?.reason).toMatch(
      /^the number of healthy nodes is unknown/,
    );
  });

  it('does not act when the healthy node count is unknown', () => {
    const run = nodeRun({ detections: pressure }, null);
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(run.context.incident?.decision?.reason).toMatch(
      /^the number of healthy nodes is unknown/,
    );
  });

  it('checks the healthy node count again before draining, and stops cordoned if it dropped', () => {
    const run = nodeRun(
      { detections: pressure, node: { drainAllowed: true, minHealthyNodes: 2 } },
      4,
    );
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'FACTS', at: at(2), facts: { healthyNodes: 2 } });
    const out = run.send({ type: 'EFFECT.DONE', at: at(3), effectId: run.awaited });
    expect(run.matches('escalated')).toBe(true);
    expect(out.effects.some((e) => e.effect.kind === 'drain')).toBe(false);
    expect(run.context.incident?.nodeOutOfService).toBe(true);
  });

  it('takes a taint back off once the node recovered', () => {
    const run = nodeRun({
      detections: {
        DiskPressure: {
          threshold: 1,
          windowMs: MINUTE,
          action: 'taint',
          taint: { key: 'remedy.kube-remedy.io/disk', effect: 'NoExecute' },
        },
      },
    });
    expect(
      run.send(observed(node({ DiskPressure: 'True' }), at(1))).effects[1]?.effect,
    ).toMatchObject({
      kind: 'taint',
      taint: { key: 'remedy.kube-remedy.io/disk', effect: 'NoExecute' },
    });
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(healthyNode(), at(3)));
    expect(run.fire('untilVerificationEnds').effects[0]).toMatchObject({
      step: 'untaint-1',
      effect: { kind: 'untaint', taint: { key: 'remedy.kube-remedy.io/disk' } },
    });
  });

  it('in dryRun mode records the cordon and drain it would do', () => {
    const run = nodeRun({ detections: pressure, mode: 'dryRun' });
    const out = run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(out.effects).toEqual([]);
    expect(out.records.at(-1)?.message).toMatch(
      /^dry run: would cordon Node worker-1, then drain Node worker-1: node has MemoryPressure/,
    );
  });

  it('in gitops mode still cordons directly', () => {
    const run = nodeRun({ detections: pressure, mode: 'gitops' });
    expect(kinds(run.send(observed(node({ MemoryPressure: 'True' }), at(1))))).toEqual([
      'collectEvidence',
      'cordon',
    ]);
  });

  it('inhibits the pods on its node while it handles a problem, and lets go afterwards', () => {
    const run = nodeRun({ detections: pressure });
    expect(inhibitionFromNode(run.snapshot)).toBeNull();
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    expect(inhibitionFromNode(run.snapshot)).toEqual({
      by: NODE_KEY,
      reason: expect.stringMatching(
        /^cordon Node worker-1, then drain Node worker-1: node has MemoryPressure/,
      ) as string,
    });
    run.send({ type: 'EFFECT.FAILED', at: at(2), effectId: run.awaited, error: 'conflict' });
    run.send(observed(healthyNode(), at(3)));
    run.fire('untilRecoveryHolds');
    expect(run.value).toBe('coolingDown');
    expect(inhibitionFromNode(run.snapshot)).toBeNull();
  });
});

describe("the node's slot", () => {
  /** Pressure confirmed, the node cordoned (no drain) and seen cordoned: now verifying. */
  function cordonedUnderPressure(): PureRun {
    const run = nodeRun({
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 2 },
    });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(node({ MemoryPressure: 'True' }, true), at(3)));
    return run;
  }

  const incidentOf = (run: PureRun) => run.context.incident?.id;

  it('is held by the incident from its cordon through its drain and verification, and let go once the node is back', () => {
    const run = nodeRun({ detections: pressure });
    expect(nodeSlotHolder(run.snapshot)).toBeNull();
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    const incident = incidentOf(run);
    expect(nodeSlotHolder(run.snapshot)).toBe(incident);
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.send(observed(node({ MemoryPressure: 'True' }, true), at(3)));
    expect(nodeSlotHolder(run.snapshot)).toBe(incident);
    run.send({ type: 'EFFECT.DONE', at: at(8), effectId: run.awaited });
    expect(run.value).toBe('verifying');
    expect(nodeSlotHolder(run.snapshot)).toBe(incident);
    run.send(observed(node({}, true), at(9)));
    run.fire('untilVerificationEnds');
    expect(run.value).toBe('uncordoning');
    expect(nodeSlotHolder(run.snapshot)).toBe(incident);
    run.send({ type: 'EFFECT.DONE', at: at(20), effectId: run.awaited });
    expect(nodeSlotHolder(run.snapshot)).toBeNull();
  });

  it('is let go when a person uncordons the node while it is being verified', () => {
    const run = cordonedUnderPressure();
    expect(nodeSlotHolder(run.snapshot)).not.toBeNull();
    run.send(observed(node({ MemoryPressure: 'True' }, false), at(4)));
    expect(run.value).toBe('verifying');
    expect(nodeSlotHolder(run.snapshot)).toBeNull();
  });

  it('is let go when the incident is handed to people, though the node stays cordoned', () => {
    const run = cordonedUnderPressure();
    run.fire('untilVerificationEnds');
    expect(run.matches('escalated')).toBe(true);
    expect(nodeSlotHolder(run.snapshot)).toBeNull();
  });

  it('is released by the runtime once, when its incident stops holding it, and after a restart what its latest incident held', () => {
    const released: [string, string | undefined][] = [];
    const keeper = new NodeSlotKeeper((node, incident) => released.push([node, incident]));
    const run = cordonedUnderPressure();
    const incident = incidentOf(run);
    keeper.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([]);
    run.fire('untilVerificationEnds');
    keeper.noteTransition(NODE_KEY, run.snapshot);
    keeper.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([['worker-1', incident]]);
    // A new process knows nothing of what was held: it lets go of what its actor's latest
    // incident may have held, and nothing the other role's actor of the node holds.
    const restarted = new NodeSlotKeeper((node, held) => released.push([node, held]));
    restarted.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([
      ['worker-1', incident],
      ['worker-1', incident],
    ]);
    const fresh = new NodeSlotKeeper((node, held) => released.push([node, held]));
    fresh.noteTransition(NODE_KEY, nodeRun().snapshot);
    expect(released).toHaveLength(2);
  });

  it('stays held when the cordon reports done before the watch shows the node cordoned', () => {
    const released: [string, string | undefined][] = [];
    const keeper = new NodeSlotKeeper((node, incident) => released.push([node, incident]));
    const run = nodeRun({
      detections: pressure,
      node: { drainAllowed: false, minHealthyNodes: 2 },
    });
    run.send(observed(node({ MemoryPressure: 'True' }), at(1)));
    keeper.noteTransition(NODE_KEY, run.snapshot);
    // The result first: verifying, while the last observation still shows the node schedulable.
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    expect(run.value).toBe('verifying');
    keeper.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([]);
    // Then the watch: cordoned. Later a person uncordons it: now the slot is let go.
    run.send(observed(node({ MemoryPressure: 'True' }, true), at(3)));
    keeper.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([]);
    run.send(observed(node({ MemoryPressure: 'True' }, false), at(4)));
    keeper.noteTransition(NODE_KEY, run.snapshot);
    expect(released).toEqual([['worker-1', incidentOf(run)]]);
  });

  it('is let go, whoever holds it, when the Node is deleted', () => {
    const released: [string, string | undefined][] = [];
    const keeper = new NodeSlotKeeper((node, incident) => released.push([node, incident]));
    const run = cordonedUnderPressure();
    keeper.noteTransition(NODE_KEY, run.snapshot);
    keeper.forget('worker-1');
    expect(released).toEqual([['worker-1', undefined]]);
  });
});

/** The taints a step asked for (the ladder may tell its next level meanwhile). */
const taints = (out: ReturnType<PureRun['send']>) =>
  out.effects.filter((e) => e.effect.kind === 'taint');

describe('a dead node that is fenced', () => {
  const failsOver: Partial<MachinePolicy> = {
    detections: {
      NotReady: { threshold: 1, windowMs: MINUTE, action: 'cordon', outOfServiceWhenFenced: true },
    },
    node: { drainAllowed: false, minHealthyNodes: 1 },
  };
  /** The node gone Unknown at minute 0, and annotated fenced with `fenced` when given. */
  const gone = (fenced?: string) => {
    const n = node({ Ready: 'Unknown' });
    const conditions = (n.status?.conditions ?? []).map((c) =>
      c.type === 'Ready' ? { ...c, lastTransitionTime: new Date(at(0)).toISOString() } : c,
    );
    return {
      ...n,
      metadata: {
        ...n.metadata,
        ...(fenced === undefined
          ? {}
          : { annotations: { 'remedy.kube-remedy.io/fenced': fenced } }),
      },
      status: { conditions },
    };
  };

  function escalatedRun(): PureRun {
    const run = nodeRun(failsOver);
    run.send(observed(gone(), at(1)));
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.fire('untilVerificationEnds');
    expect(run.matches('escalated')).toBe(true);
    return run;
  }

  it('is escalated saying how long it has been gone and how to let its pods fail over', () => {
    const run = escalatedRun();
    const escalated = run.log.records.find((r) => r.reason === 'Escalated');
    expect(escalated?.message).toContain(
      `worker-1 has not been Ready since ${new Date(at(0)).toISOString()} (`,
    );
    expect(escalated?.message).toContain(
      'once it is fenced (powered off or cut off), annotate it remedy.kube-remedy.io/fenced and kube-remedy taints it node.kubernetes.io/out-of-service so its stateful pods fail over',
    );
  });

  it('names what the node holds in its escalation, once the runtime has said', () => {
    const run = nodeRun(failsOver);
    run.send(observed(gone(), at(1)));
    run.send({
      type: 'FACTS',
      at: at(1),
      facts: { nodePods: { total: 3, statefulSet: ['shop/db-0'], localData: ['ops/cache-x'] } },
    });
    run.send({ type: 'EFFECT.DONE', at: at(2), effectId: run.awaited });
    run.fire('untilVerificationEnds');
    expect(run.log.records.find((r) => r.reason === 'Escalated')?.message).toContain(
      '; it holds 3 pods: StatefulSet pods shop/db-0; with data on the node ops/cache-x; once it is fenced',
    );
  });

  it('is tainted out of service once fenced, once, and the taint comes off before the cordon when it returns', () => {
    const run = escalatedRun();
    const asked = run.send(observed(gone('powered off via IPMI by alice'), at(20)));
    expect(asked.effects.map((e) => [e.step, e.effect])).toEqual([
      [
        'out-of-service',
        expect.objectContaining({
          kind: 'taint',
          taint: {
            key: 'node.kubernetes.io/out-of-service',
            value: 'nodeshutdown',
            effect: 'NoExecute',
          },
        }),
      ],
    ]);
    expect(asked.effects[0]?.effect.reason).toContain('fenced ("powered off via IPMI by alice")');
    const done = run.send({ type: 'EFFECT.DONE', at: at(21), effectId: run.awaited });
    expect(done.records.map((r) => r.reason)).toEqual(['OutOfService']);
    // Seen again, still fenced: nothing more is asked.
    expect(taints(run.send(observed(gone('powered off'), at(22))))).toEqual([]);
    // Back: once it has held Ready for the verification window, the taint, then the cordon.
    run.send(observed(healthyNode(true), at(40)));
    const first = run.fire('untilRecoveryHolds');
    expect(first.effects.map((e) => [e.step, e.effect.kind])).toEqual([['untaint-1', 'untaint']]);
    expect(first.effects[0]?.effect).toMatchObject({
      taint: { key: 'node.kubernetes.io/out-of-service' },
    });
    const second = run.send({ type: 'EFFECT.DONE', at: at(46), effectId: run.awaited });
    expect(second.effects.map((e) => [e.step, e.effect.kind])).toEqual([
      ['uncordon-1', 'uncordon'],
    ]);
    run.send({ type: 'EFFECT.DONE', at: at(47), effectId: run.awaited });
    expect(run.value).toBe('coolingDown');
  });

  it('is not tainted while not fenced, nor under a rule that does not fail over', () => {
    const run = escalatedRun();
    expect(taints(run.send(observed(gone(), at(20))))).toEqual([]);
    expect(taints(run.send(observed(gone('false'), at(21))))).toEqual([]);
    const plain = nodeRun({
      ...failsOver,
      detections: { NotReady: { threshold: 1, windowMs: MINUTE, action: 'cordon' } },
    });
    plain.send(observed(gone(), at(1)));
    plain.send({ type: 'EFFECT.DONE', at: at(2), effectId: plain.awaited });
    plain.fire('untilVerificationEnds');
    expect(taints(plain.send(observed(gone('powered off'), at(20))))).toEqual([]);
  });

  it('says so, and asks no more, when the taint cannot be put', () => {
    const run = escalatedRun();
    run.send(observed(gone('powered off'), at(20)));
    const failed = run.send({
      type: 'EFFECT.FAILED',
      at: at(21),
      effectId: run.awaited,
      error: 'forbidden',
    });
    expect(failed.records.map((r) => [r.type, r.reason])).toEqual([
      ['Warning', 'OutOfServiceFailed'],
    ]);
    expect(taints(run.send(observed(gone('powered off, really'), at(22))))).toEqual([]);
  });
});
