import { describe, expect, it } from 'vitest';
import { exampleScenarios } from '../../../src/simulate/demo.ts';
import { formatJson, formatText } from '../../../src/simulate/index.ts';
import { actions, entriesOf, moves, notifications, runExample, safetyLines } from './support.ts';

describe('the example scenarios', () => {
  it('are the twelve the demo runs, in order', () => {
    expect(exampleScenarios().map((file) => file.split('/').pop())).toEqual([
      '01-crash-loop-restart.yaml',
      '02-oom-memory-bump-gitops.yaml',
      '03-bad-image-rollback.yaml',
      '04-node-pressure-drain.yaml',
      '05-traffic-spike-two-of-three.yaml',
      '06-fix-does-not-stick.yaml',
      '07-storm-held-by-breaker.yaml',
      '08-approval-in-slack.yaml',
      '09-bad-rollout-restarts-rollback-quarantine.yaml',
      '10-budget-spent-asks-a-person.yaml',
      '11-dead-node-judged-from-outside.yaml',
      '12-rollback-holds-on-one-pod-only.yaml',
    ]);
  });

  it('run without warnings from the runtime', async () => {
    for (const file of exampleScenarios()) {
      const result = await runExample(file.split('/').pop() ?? '');
      expect(result.warnings, file).toEqual([]);
    }
  });
});

describe('a crash loop fixed by a restart', () => {
  it('restarts the pod once the third restart confirms the crash loop, then verifies and cools down', async () => {
    const result = await runExample('01-crash-loop-restart.yaml');
    const pod = 'Pod/shop/cart-7d9f-x2x4q';
    expect(actions(result)).toEqual([['00:04:00', pod, 'remediate-1', 'restartPod', 'done']]);
    expect(result.effects[0]?.reason).toMatch(
      /container "cart" is in CrashLoopBackOff.*restarts: 3/,
    );
    expect(moves(result, pod).map((m) => [m.at, m.move])).toEqual([
      ['00:00:00', 'new → healthy'],
      ['00:01:00', 'healthy → suspect'],
      ['00:04:00', 'suspect → remediating'],
      ['00:04:05', 'remediating → verifying'],
      ['00:04:05', 'verifying → stopped'],
    ]);
    expect(moves(result, pod)[2]?.reason).toMatch(/^restart Pod shop\/cart-7d9f-x2x4q: /);
    // Its ReplicaSet replaces it under a new name; the new pod verifies the restart, resolves
    // the same incident and cools down.
    const replacement = 'Pod/shop/cart-7d9f-h92pl';
    expect(moves(result, replacement).map((m) => [m.at, m.move])).toEqual([
      ['00:04:05', 'new → verifying'],
      ['00:09:05', 'verifying → coolingDown'],
      ['00:19:05', 'coolingDown → healthy'],
    ]);
    expect(moves(result, replacement)[0]?.reason).toContain(
      'took over the verification of incident Pod/shop/cart-7d9f-x2x4q#1@',
    );
    expect(result.summary.incidents).toBe(1);
  });
});

describe('an OOM kill answered by a GitOps memory bump', () => {
  it('opens a pull request instead of touching the cluster, and verifies once alice merges it', async () => {
    const result = await runExample('02-oom-memory-bump-gitops.yaml');
    const pod = 'Pod/search/indexer-5c6f8d7b9-k2m4p';
    expect(actions(result)).toEqual([['00:12:00', pod, 'remediate-1', 'openPullRequest', 'done']]);
    const pr = result.effects.find((e) => e.kind === 'openPullRequest');
    expect(pr?.description).toBe(
      `open a pull request raising the memory limit by 25% for Pod search/indexer-5c6f8d7b9-k2m4p`,
    );
    expect(pr?.result).toBe('https://github.com/acme/search-deploy/pull/1');
    expect(moves(result, pod).map((m) => [m.at, m.move])).toEqual([
      ['00:00:00', 'new → healthy'],
      ['00:05:00', 'healthy → suspect'],
      ['00:12:00', 'suspect → remediating'],
      ['00:12:05', 'remediating → awaitingMerge'],
      ['00:20:00', 'awaitingMerge → verifying'],
      ['00:20:00', 'verifying → stopped'],
    ]);
    expect(moves(result, pod)[4]?.reason).toContain('pull request merged by alice');
    // The merged change rolls out a new pod, which verifies it.
    expect(moves(result, 'Pod/search/indexer-5c6f8d7b9-qkvpk').map((m) => [m.at, m.move])).toEqual([
      ['00:20:00', 'new → verifying'],
      ['00:25:00', 'verifying → coolingDown'],
    ]);
  });
});

describe('a bad image rolled back', () => {
  it("rolls the Deployment back as soon as the new ReplicaSet's pod cannot pull its image, not ten minutes later", async () => {
    const result = await runExample('03-bad-image-rollback.yaml');
    const deployment = 'Deployment/payments/payments-api';
    expect(actions(result)).toEqual([['00:02:00', deployment, 'remediate-1', 'rollback', 'done']]);
    expect(result.effects[0]?.reason).toMatch(
      /^rollout failed: new ReplicaSet "payments-api-7f9c5d" cannot pull its images: pod "payments-api-7f9c5d-4hzqp": container "api" is in ImagePullBackOff/,
    );
    expect(moves(result, deployment).map((m) => [m.at, m.move])).toEqual([
      ['00:00:00', 'new → healthy'],
      ['00:02:00', 'healthy → remediating'],
      ['00:02:05', 'remediating → verifying'],
      ['00:12:05', 'verifying → coolingDown'],
      ['00:42:05', 'coolingDown → healthy'],
    ]);
  });
});

describe('node pressure', () => {
  it('cordons and drains the first node, and escalates rather than go below minHealthyNodes', async () => {
    const result = await runExample('04-node-pressure-drain.yaml');
    expect(actions(result)).toEqual([
      ['00:07:00', 'Node/worker-1', 'remediate-1', 'cordon', 'done'],
      ['00:07:05', 'Node/worker-1', 'remediate-2', 'drain', 'done'],
      ['00:17:10', 'Node/worker-1', 'uncordon-1', 'uncordon', 'done'],
    ]);
    const second = moves(result, 'Node/worker-2');
    expect(second.find((m) => m.move.startsWith('suspect →'))).toEqual({
      at: '00:17:00',
      move: 'suspect → escalated (paging, symptomPresent)',
      reason: expect.stringMatching(
        /^taking Node worker-2 out of service would leave 2 healthy nodes, below the policy minimum of 3: /,
      ) as string,
    });
    expect(notifications(result)).toContainEqual([
      '00:17:00',
      'Node/worker-2',
      'escalate-1-level-1-0',
      'notify Slack #platform-nodes (escalated)',
    ]);
  });

  it("holds the pods of the node being handled: their crash loop is the node's problem", async () => {
    const result = await runExample('04-node-pressure-drain.yaml');
    const pod = moves(result, 'Pod/batch/batch-worker-0');
    expect(pod.find((m) => m.move === 'suspect → inhibited')).toEqual({
      at: '00:05:00',
      move: 'suspect → inhibited',
      reason: expect.stringMatching(
        /^Node\/worker-1 is handling it: node has MemoryPressure/,
      ) as string,
    });
    expect(actions(result).filter((a) => a[1]?.startsWith('Pod/'))).toEqual([]);
  });
});

describe('a traffic spike', () => {
  it('scales out only when two of the three signals agree, by at most one step', async () => {
    const result = await runExample('05-traffic-spike-two-of-three.yaml');
    const deployment = 'Deployment/shop/checkout-api';
    expect(actions(result)).toEqual([['00:17:00', deployment, 'remediate-1', 'scale', 'done']]);
    expect(result.effects[0]?.description).toBe(
      'scale Deployment shop/checkout-api from 3 to 5 replicas',
    );
    const scaler = entriesOf(result, 'scaler').map((e) => e.type === 'scaler' && e.text);
    expect(scaler[0]).toBe(
      'hold at 3 replicas: only 1 of 3 signals (latency) has been above the up threshold for 2m, and 2 must agree',
    );
    expect(scaler).toContain(
      'scale out from 3 to 5 replicas: 2 of 3 signals have been above their up threshold for at least 2m (cpu 1.1 per replica > 0.8, latency 0.9 > 0.5) and 2 must agree; step 2 limits this decision (6 wanted)',
    );
  });
});

describe('a fix that does not stick', () => {
  it('restarts twice, quarantines on the third return, and takes a person escalating and acknowledging', async () => {
    const result = await runExample('06-fix-does-not-stick.yaml');
    const pod = 'Pod/ledger/ledger-worker-0';
    expect(actions(result)).toEqual([
      ['00:03:00', pod, 'remediate-1', 'restartPod', 'done'],
      ['00:14:05', pod, 'remediate-1', 'restartPod', 'done'],
    ]);
    const quarantine = moves(result, pod).find((m) => m.move === 'suspect → quarantined');
    expect(quarantine).toEqual({
      at: '00:25:10',
      move: 'suspect → quarantined',
      reason:
        '2 remediations within 1h did not hold (the policy allows 2): no more automatic remediation of CrashLoopBackOff',
    });
    expect(notifications(result).map((n) => n.slice(0, 3))).toEqual([
      ['00:03:00', pod, 'detected-evidence'],
      ['00:14:05', pod, 'detected-evidence'],
      // Quarantined as the symptom was confirmed: the detection's evidence is the bundle; the
      // person escalating later gets what is true then.
      ['00:25:10', pod, 'detected-evidence'],
      ['00:25:10', pod, 'quarantine-0'],
      ['00:40:00', pod, 'escalate-1-evidence'],
      ['00:40:00', pod, 'escalate-1-level-1-0'],
    ]);
    // Where each collection goes follows from the policy and the incident alone.
    expect(notifications(result)[0]?.[3]).toBe(
      `collect evidence of Pod ledger/ledger-worker-0 into s3://ledger-evidence/incidents/ledger/Pod/ledger-worker-0/1-${result.scenario.start + 3 * 60_000}/detected/`,
    );
    expect(
      moves(result, pod)
        .slice(-2)
        .map((m) => [m.at, m.move]),
    ).toEqual([
      ['00:40:00', 'quarantined → escalated (paging, symptomPresent)'],
      ['00:44:00', 'escalated (paging, symptomPresent) → escalated (acknowledged, symptomPresent)'],
    ]);
  });
});

describe('a storm held by the storm breaker', () => {
  const policy = 'AutoRemediationPolicy/orders/restart-orders';
  const shards = [0, 1, 2, 3, 4].map((i) => `Pod/orders/orders-shard-${i}-0`);

  it('trips on the third of five workloads, tells people once, and restarts nothing', async () => {
    const result = await runExample('07-storm-held-by-breaker.yaml');
    expect(actions(result)).toEqual([]);
    const storm = "3 of 5 workloads unhealthy at once, more than the policy's 50%";
    expect(safetyLines(result)[0]).toEqual([
      '00:01:00',
      policy,
      `storm: automation held, each incident asks a person (${storm})`,
    ]);
    // Tripped while the third shard's detection window opened, before any incident.
    const at = result.timeline.findIndex((e) => e.type === 'safety');
    expect(result.timeline[at - 1]).toMatchObject({ object: shards[2], to: 'suspect' });
    // One group escalation, where the policy's first escalation level goes, and one Event.
    const start = result.scenario.start;
    expect(result.effects.filter((e) => e.kind === 'escalate')).toEqual([
      expect.objectContaining({
        object: policy,
        incidentId: `${policy}#storm@${start + 60_000}`,
        step: 'storm-escalation',
        description: 'notify Slack #orders-oncall (storm)',
        outcome: 'sent',
        reason: expect.stringMatching(
          /^storm under policy orders\/restart-orders: 3 of its 5 workloads are unhealthy at once/,
        ) as string,
      }),
    ]);
    expect(result.timeline[at]).toMatchObject({
      events: [{ type: 'Warning', reason: 'StormDetected' }],
    });
    expect(formatText(result)).toContain('↳ records a Warning Event StormDetected on the policy');
    // Each confirmed incident asks a person instead of restarting.
    for (const shard of shards) {
      expect(moves(result, shard)).toContainEqual({
        at: '00:02:00',
        move: 'suspect → awaitingApproval',
        reason: expect.stringMatching(
          /^the storm breaker holds orders\/restart-orders: 3 of its 5 workloads are unhealthy at once \(more than 50%\), so a person decides whether to restart Pod orders\/orders-shard-\d-0: /,
        ) as string,
      });
    }
    expect(notifications(result).map((n) => n.slice(0, 3))).toEqual([
      ['00:01:00', policy, 'storm-escalation'],
      ...shards.map((shard) => ['00:02:00', shard, 'approval']),
    ]);
    expect(result.summary).toMatchObject({ incidents: 5, escalations: 1, notifications: 6 });
  });

  it('is over once no more than half of the workloads are unhealthy, and automation resumes after its cooldown', async () => {
    const result = await runExample('07-storm-held-by-breaker.yaml');
    expect(safetyLines(result).slice(1)).toEqual([
      [
        '00:12:00',
        policy,
        "storm over: automation still held while it settles (2 of 5 workloads unhealthy: within the policy's 50%; automation resumes at 2026-01-05T09:17:00.000Z, after the policy's stormCooldown)",
      ],
      // The policy's stormCooldown (5m by default) later.
      [
        '00:17:00',
        policy,
        'storm over: automation resumes (the cooldown after the storm is over; 0 of 5 workloads unhealthy: fewer than the 2 a storm needs)',
      ],
    ]);
    // The third turned-down restart brings it to 2 of 5.
    const over = result.timeline.findIndex(
      (e) => e.type === 'safety' && e.text.startsWith('storm over'),
    );
    expect(result.timeline[over - 1]).toMatchObject({
      object: shards[2],
      from: 'awaitingApproval',
      to: 'coolingDown',
    });
    expect(result.summary.objects.map((o) => [o.object, o.state])).toEqual(
      shards.map((shard) => [shard, 'healthy']),
    );
  });
});

describe('a spent budget', () => {
  const policy = 'AutoRemediationPolicy/reports/restart-reports';

  it('hands the next incident to a person instead of trying and being refused', async () => {
    const result = await runExample('10-budget-spent-asks-a-person.yaml');
    expect(actions(result)).toEqual([
      ['00:02:00', 'Pod/reports/reports-a-0', 'remediate-1', 'restartPod', 'done'],
      ['00:11:00', 'Pod/reports/reports-b-0', 'remediate-1', 'restartPod', 'done'],
      // Approved: people are not limited by budgets, so it takes no token and is not refused.
      ['00:24:00', 'Pod/reports/reports-c-0', 'remediate-1', 'restartPod', 'done'],
    ]);
    expect(safetyLines(result)).toEqual([
      [
        '00:11:00',
        policy,
        'budget spent (policy/reports/restart-reports): automation hands decisions to people',
      ],
      // Thirty minutes after the first restart took its token.
      ['00:32:00', policy, 'budget available again: automation resumes'],
    ]);
    const third = moves(result, 'Pod/reports/reports-c-0');
    expect(third).toContainEqual({
      at: '00:21:00',
      move: 'suspect → awaitingApproval',
      reason: expect.stringMatching(
        /^the disruption budget for reports\/restart-reports is spent, so a person decides whether to restart Pod reports\/reports-c-0: /,
      ) as string,
    });
    expect(third).toContainEqual(
      expect.objectContaining({ at: '00:24:00', move: 'awaitingApproval → remediating' }),
    );
    expect(notifications(result)[0]).toEqual([
      '00:21:00',
      'Pod/reports/reports-c-0',
      'approval',
      'notify Slack #reports-oncall (approvalRequested)',
    ]);
    // One at a time is no storm, and nothing was refused or escalated.
    expect(result.effects.filter((e) => e.kind === 'escalate')).toEqual([]);
    expect(result.summary.actions).toEqual({
      requested: 3,
      done: 3,
      failed: 0,
      refusedByBudget: 0,
      unanswered: 0,
    });
    expect(result.summary.escalations).toBe(0);
  });
});

describe('an approval given in Slack', () => {
  it('asks first, refuses a click from someone who is not an approver, and acts on an approver group member', async () => {
    const result = await runExample('08-approval-in-slack.yaml');
    const pod = 'Pod/shop/web-6d5f7c9b8-qx7kt';
    // The policy keeps no evidence, so none is asked for.
    expect(notifications(result)[0]).toEqual([
      '00:05:00',
      pod,
      'approval',
      'notify Slack #shop-oncall (approvalRequested)',
    ]);
    expect(
      entriesOf(result, 'person').map((e) => e.type === 'person' && [e.text, e.accepted]),
    ).toEqual([
      [
        'mallory approves in Slack: refused, mallory is not an approver under policy shop/crashloop-restart-with-approval',
        false,
      ],
      ['carol approves in Slack', true],
    ]);
    expect(actions(result)).toEqual([['00:09:00', pod, 'remediate-1', 'restartPod', 'done']]);
    expect(moves(result, pod)).toContainEqual(
      expect.objectContaining({ at: '00:09:00', move: 'awaitingApproval → remediating' }),
    );
    // The pod that replaced the restarted one tells the same thread that it is resolved.
    expect(notifications(result).at(-1)).toEqual([
      '00:14:05',
      'Pod/shop/web-6d5f7c9b8-nmcx5',
      'resolved',
      'notify Slack #shop-oncall (resolved)',
    ]);
  });
});

describe('a bad rollout on five replicas', () => {
  it('is one incident: restarts twice on the replacements, rolls back, then quarantines once', async () => {
    const result = await runExample('09-bad-rollout-restarts-rollback-quarantine.yaml');
    const lead = 'Pod/shop/api-6c8d94f7b-4kq2x';
    // Every action of the incident, in order, each by the pod that held it then.
    expect(actions(result).map(([at, , step, kind, outcome]) => [at, step, kind, outcome])).toEqual(
      [
        ['00:02:00', 'remediate-1', 'restartPod', 'done'],
        ['00:03:05', 'try-2-remediate-1', 'restartPod', 'done'],
        ['00:04:05', 'try-3-remediate-1', 'rollback', 'done'],
      ],
    );
    const incidents = new Set(result.effects.map((e) => e.incidentId));
    expect([...incidents]).toHaveLength(1);
    expect([...incidents][0]).toMatch(/^Pod\/shop\/api-6c8d94f7b-4kq2x#1@/);
    expect(result.summary.incidents).toBe(1);
    // The other four replicas waited on the incident instead of restarting themselves.
    for (const pod of ['7bm9t', 'c2wpl', 'h8sdz', 'x5rnv'])
      expect(moves(result, `Pod/shop/api-6c8d94f7b-${pod}`).map((m) => m.move)).toContain(
        'suspect → joined',
      );
    expect(moves(result, lead)[2]?.move).toBe('suspect → remediating');
    // The rollback names the failing ReplicaSet, and the quarantine tells people once.
    const rollback = result.effects.find((e) => e.kind === 'rollback');
    expect(rollback?.description).toBe('roll back Deployment shop/api');
    const told = notifications(result);
    expect(told).toHaveLength(1);
    expect(told[0]?.[2]).toBe('quarantine-0');
    expect(formatText(result)).toContain(
      '3 remediations within 1h did not hold (the policy allows 3)',
    );
    expect(formatText(result)).toContain('is quarantined: its remediations did not hold');
  });
});

describe('determinism', () => {
  it('gives byte-identical text and JSON on two runs of every example', async () => {
    for (const file of exampleScenarios()) {
      const name = file.split('/').pop() ?? '';
      const [first, second] = [await runExample(name), await runExample(name)];
      expect(formatText(second), name).toBe(formatText(first));
      expect(formatJson(second), name).toBe(formatJson(first));
    }
  });
});

describe('a dead node', () => {
  it('is cordoned once it has been gone for the rule, handed to people, failed over once fenced, and put back when it returns', async () => {
    const result = await runExample('11-dead-node-judged-from-outside.yaml');
    const node = 'Node/worker-2';
    expect(actions(result)).toEqual([
      ['00:07:00', node, 'remediate-1', 'cordon', 'done'],
      // Fenced at 20m: its stateful pods may run elsewhere.
      ['00:20:00', node, 'out-of-service', 'taint', 'done'],
      // Ready again: the taint comes off, then the cordon.
      ['00:45:00', node, 'untaint-1', 'untaint', 'done'],
      ['00:45:05', node, 'uncordon-1', 'uncordon', 'done'],
    ]);
    const escalated = moves(result, node).find((m) => m.move.includes('→ escalated'));
    expect(escalated?.reason).toContain(
      'worker-2 has not been Ready since 2026-01-05T09:02:00.000Z (15m5s); it holds no pods; once it is fenced',
    );
    expect(moves(result, node).map((m) => [m.at, m.move])).toEqual([
      ['00:00:00', 'new → healthy'],
      ['00:02:00', 'healthy → suspect'],
      ['00:07:00', 'suspect → remediating'],
      ['00:07:05', 'remediating → verifying'],
      // It did not come back within the verification window: people take over, the node cordoned.
      ['00:17:05', 'verifying → escalated (exhausted, symptomPresent)'],
      // Fenced: the out-of-service taint asked for, then in place, while people own the node.
      ['00:20:00', 'escalated (exhausted, symptomPresent) → escalated (exhausted, symptomPresent)'],
      ['00:20:05', 'escalated (exhausted, symptomPresent) → escalated (exhausted, symptomPresent)'],
      // Back and Ready: held for the verification window, then put back in service.
      ['00:35:00', 'escalated (exhausted, symptomPresent) → escalated (exhausted, holding)'],
      ['00:45:00', 'escalated (exhausted, holding) → uncordoning'],
      // The taint is off; the cordon next.
      ['00:45:05', 'uncordoning → uncordoning'],
      ['00:45:10', 'uncordoning → coolingDown'],
    ]);
    // The other workers are never touched.
    expect(result.summary.objects.filter((o) => o.actions.length > 0).map((o) => o.object)).toEqual(
      [node],
    );
  });
});

describe('a rollback that holds on one pod of the workload only', () => {
  it('is judged on every pod the rollback brought: the first to crash goes on with the incident and tells people, the verifying pod says nothing', async () => {
    const result = await runExample('12-rollback-holds-on-one-pod-only.yaml');
    const first = 'Pod/shop/checkout-5d7b8c9f4-2mfx8';
    expect(actions(result)).toEqual([['00:02:00', first, 'remediate-1', 'rollback', 'done']]);
    // The restored release's pods, by the role each took.
    const restored = result.summary.objects
      .map((o) => o.object)
      .filter((key) => key.startsWith('Pod/shop/checkout-') && !key.includes('5d7b8c9f4'));
    expect(restored).toHaveLength(3);
    const verifier = restored.find((key) =>
      moves(result, key).some((m) => m.move === 'new → verifying'),
    );
    const crashed = restored.filter((key) => key !== verifier);
    expect(moves(result, verifier ?? '').map((m) => [m.at, m.move])).toEqual([
      ['00:02:05', 'new → verifying'],
      // At the second crash of a pod made by the rollback, not at the end of its window.
      ['00:04:05', 'verifying → healthy'],
    ]);
    const lead = crashed.find((key) =>
      moves(result, key).some((m) => m.move.startsWith('suspect → escalated')),
    );
    expect(lead).toBeDefined();
    expect(moves(result, lead ?? '').at(-1)?.reason).toMatch(/^rollback did not hold/);
    // One incident, one word to people: the escalation, in the thread of the incident.
    expect(result.summary.incidents).toBe(1);
    expect(notifications(result)).toEqual([
      ['00:04:05', lead, 'escalate-1-level-1-0', 'notify Slack #shop-oncall (escalated)'],
    ]);
    const other = crashed.find((key) => key !== lead) ?? '';
    expect(moves(result, other).at(-1)?.move).toBe('suspect → joined');
  });
});
