/**
 * Held automation: a spent disruption budget or a tripped storm breaker lowers autonomy. The
 * decision is handed to a person (an approval request) whatever the mode; an approved incident
 * goes ahead; only when nobody can be asked does the machine escalate.
 */
import { describe, expect, it } from 'vitest';
import { analyzeObject } from '../../../src/analyzers/index.ts';
import {
  decide,
  deploymentMachine,
  initialContext,
  podMachine,
  type Decision,
  type MachinePolicy,
  type RemediationContext,
  type RuntimeFacts,
  type StormFact,
} from '../../../src/machines/index.ts';
import type { ObservableObject } from '../../../src/observe/index.ts';
import {
  crashLoopingPod,
  deployment,
  DEPLOYMENT_KEY,
  kinds,
  MINUTE,
  node,
  NODE_KEY,
  observed,
  policy,
  POD_KEY,
  PureRun,
  T0,
} from './fixtures.ts';

const STORM: StormFact = { unhealthy: 5, targets: 6, maxUnhealthyPercent: 50 };
const SPENT =
  /^the disruption budget for kube-remedy\/default is spent, so a person decides whether to /;
const STORMY =
  /^the storm breaker holds kube-remedy\/default: 5 of its 6 workloads are unhealthy at once \(more than 50%\), so a person decides whether to /;

/** A context as `detected` sees it: an incident open on the object's latest observation. */
function confirmed(
  actorKey: string,
  object: ObservableObject,
  overrides: Partial<MachinePolicy> = {},
  facts: Partial<RuntimeFacts> = {},
  approvedBy: string | null = null,
): RemediationContext {
  const { observation, detections } = analyzeObject(object);
  const base = initialContext({ actorKey, policy: policy(overrides), at: T0, facts });
  const detection = detections[0];
  if (!detection) throw new Error('the fixture shows no problem');
  return {
    ...base,
    observation,
    detections,
    incident: {
      id: `${actorKey}#1@${T0}`,
      seq: 1,
      openedAt: T0,
      trigger: { kind: 'detection', detection },
      decision: null,
      plan: [],
      step: 0,
      awaiting: null,
      approvedBy,
      escalations: 0,
      escalation: null,
      uncordons: 0,
      nodeOutOfService: false,
      announced: false,
      commands: [],
    },
  };
}

const crashLoop = crashLoopingPod(4);
const failedRollout = deployment({ failed: true });
const spent = { budgetAvailable: false };
const storm = { storm: STORM };

describe('decisions while automation is held', () => {
  it.each<[string, RemediationContext, Decision['decision'], RegExp]>([
    ['auto, within budget', confirmed(POD_KEY, crashLoop), 'remediate', /^restart Pod/],
    [
      'auto, budget spent',
      confirmed(POD_KEY, crashLoop, {}, spent),
      'askApproval',
      new RegExp(`${SPENT.source}restart Pod shop/api-7d9f-x2x: container "api"`),
    ],
    [
      'approval, budget spent: still asks, saying why',
      confirmed(POD_KEY, crashLoop, { mode: 'approval' }, spent),
      'askApproval',
      SPENT,
    ],
    [
      'dryRun, budget spent: records what it would do',
      confirmed(POD_KEY, crashLoop, { mode: 'dryRun' }, spent),
      'dryRun',
      /^dry run: would hand it to a person: the disruption budget for kube-remedy\/default is spent/,
    ],
    [
      'gitops, budget spent, an imperative restart',
      confirmed(POD_KEY, crashLoop, { mode: 'gitops' }, spent),
      'askApproval',
      SPENT,
    ],
    [
      'gitops, budget spent, a rollback proposed as a pull request',
      confirmed(DEPLOYMENT_KEY, failedRollout, { mode: 'gitops' }, spent),
      'propose',
      /^open a pull request rolling back/,
    ],
    [
      'auto, storm',
      confirmed(POD_KEY, crashLoop, {}, storm),
      'askApproval',
      new RegExp(`${STORMY.source}restart Pod`),
    ],
    [
      'auto, storm and budget spent: the storm is named',
      confirmed(POD_KEY, crashLoop, {}, { ...storm, ...spent }),
      'askApproval',
      STORMY,
    ],
    [
      'approval, storm',
      confirmed(POD_KEY, crashLoop, { mode: 'approval' }, storm),
      'askApproval',
      STORMY,
    ],
    [
      'dryRun, storm',
      confirmed(POD_KEY, crashLoop, { mode: 'dryRun' }, storm),
      'dryRun',
      /^dry run: would hand it to a person: the storm breaker holds/,
    ],
    [
      'auto, storm, a Deployment rollback',
      confirmed(DEPLOYMENT_KEY, failedRollout, {}, storm),
      'askApproval',
      new RegExp(`${STORMY.source}roll back Deployment shop/web`),
    ],
    [
      'auto, paused by a person: the annotation is quoted',
      confirmed(POD_KEY, crashLoop, { paused: 'db migration, alice' }),
      'askApproval',
      /^kube-remedy\/default is paused \(annotation remedy\.kube-remedy\.io\/paused: "db migration, alice"\), so a person decides whether to restart Pod/,
    ],
    [
      'paused with nothing said, a storm as well: the pause is named',
      confirmed(NODE_KEY, node({ Ready: 'False' }), { paused: '' }, { ...storm, healthyNodes: 10 }),
      'askApproval',
      /^kube-remedy\/default is paused \(annotation remedy\.kube-remedy\.io\/paused\), so a person decides whether to cordon/,
    ],
    [
      'paused, dryRun',
      confirmed(POD_KEY, crashLoop, { mode: 'dryRun', paused: 'x' }),
      'dryRun',
      /^dry run: would hand it to a person: kube-remedy\/default is paused/,
    ],
    [
      'approved by a person, paused',
      confirmed(POD_KEY, crashLoop, { paused: 'x' }, {}, 'alice'),
      'remediate',
      /^restart Pod/,
    ],
    [
      'approved by a person, budget spent',
      confirmed(POD_KEY, crashLoop, {}, spent, 'alice'),
      'remediate',
      /^restart Pod/,
    ],
    [
      'approved by a person, storm',
      confirmed(POD_KEY, crashLoop, { mode: 'approval' }, storm, 'alice'),
      'remediate',
      /^restart Pod/,
    ],
    [
      'a node policy, storm: the nodes are counted',
      confirmed(NODE_KEY, node({ Ready: 'False' }), {}, { ...storm, healthyNodes: 10 }),
      'askApproval',
      /^the storm breaker holds kube-remedy\/default: 5 of its 6 nodes are unhealthy at once \(more than 50%\), so a person decides whether to /,
    ],
    [
      'a node policy whose storm limit is a count',
      confirmed(
        NODE_KEY,
        node({ Ready: 'False' }),
        {},
        { storm: { ...STORM, maxUnhealthy: 2 }, healthyNodes: 10 },
      ),
      'askApproval',
      /^the storm breaker holds kube-remedy\/default: 5 of its 6 nodes are unhealthy at once \(more than 2\), so a person decides whether to /,
    ],
    [
      'budget spent and no time to approve',
      confirmed(POD_KEY, crashLoop, { approvalTimeoutMs: 0 }, spent),
      'escalate',
      /^the disruption budget for kube-remedy\/default is spent and the policy leaves no time to approve: container "api"/,
    ],
    [
      'a storm, an action that only tells people',
      confirmed(
        POD_KEY,
        crashLoop,
        { detections: { CrashLoopBackOff: { threshold: 1, windowMs: MINUTE, action: 'notify' } } },
        storm,
      ),
      'escalate',
      /^the policy asks to tell people about CrashLoopBackOff, not to act/,
    ],
  ])('%s', (_name, context, expected, reason) => {
    const decision = decide(context, T0);
    expect(decision.decision).toBe(expected);
    expect(decision.reason).toMatch(reason);
  });

  it('reads a snapshot from before the storm fact as no storm', () => {
    const context = confirmed(POD_KEY, crashLoop);
    const { storm: _absent, ...legacyFacts } = context.facts;
    expect(decide({ ...context, facts: legacyFacts }, T0).decision).toBe('remediate');
  });
});

describe('a held machine over time', () => {
  const at = (minutes: number) => T0 + minutes * MINUTE;

  function heldPod(overrides: Partial<MachinePolicy> = {}): PureRun {
    const run = new PureRun(podMachine, POD_KEY, policy(overrides));
    run.send({ type: 'FACTS', at: at(0), facts: { budgetAvailable: false } });
    run.send(observed(crashLoopingPod(1), at(1)));
    run.send(observed(crashLoopingPod(2), at(2)));
    run.send(observed(crashLoopingPod(3), at(3)));
    return run;
  }

  it('escalates when nobody approves in time', () => {
    const run = heldPod();
    expect(run.value).toBe('awaitingApproval');
    const out = run.fire('untilApprovalExpires');
    expect(run.matches('escalated')).toBe(true);
    expect(run.context.incident?.decision?.reason).toBe('nobody approved within 30m');
    expect(kinds(out)).not.toContain('restartPod');
  });

  it('does nothing and cools down when a person refuses', () => {
    const run = heldPod();
    const out = run.send({ type: 'REJECT', at: at(4), by: 'alice', incidentId: run.incidentId });
    expect(run.value).toBe('coolingDown');
    expect(kinds(out)).toEqual([]);
  });

  it('decides again with the facts of the moment of approval', () => {
    const run = new PureRun(deploymentMachine, DEPLOYMENT_KEY, policy({ mode: 'approval' }));
    run.send(observed(failedRollout, at(1)));
    expect(run.value).toBe('awaitingApproval');
    // The breaker trips while people decide; their approval still goes ahead.
    run.send({ type: 'FACTS', at: at(2), facts: { storm: STORM } });
    const out = run.send({ type: 'APPROVE', at: at(3), by: 'alice', incidentId: run.incidentId });
    expect(run.value).toBe('remediating');
    expect(kinds(out)).toEqual(['rollback']);
  });
});
