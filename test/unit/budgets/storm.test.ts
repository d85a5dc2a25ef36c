import { describe, expect, it } from 'vitest';
import { SLACK_NOT_CONFIGURED, stormEscalationJob } from '../../../src/actors/effect-jobs.ts';
import {
  isUnhealthy,
  stormVerdict,
  tallyByPolicy,
  type StormTally,
} from '../../../src/budgets/storm.ts';
import { effectJobId } from '../../../src/effects/catalogue.ts';
import {
  defaultMachinePolicy,
  initialContext,
  type Incident,
  type RemediationContext,
} from '../../../src/machines/index.ts';
import { parsedPolicy } from './support.ts';

describe('the storm verdict', () => {
  const rule = { maxUnhealthyPercent: 50, minUnhealthy: 2 };
  it.each<[StormTally, typeof rule, boolean, string]>([
    [
      { targets: 1, unhealthy: 1 },
      rule,
      false,
      '1 of 1 targets unhealthy: fewer than the 2 a storm needs',
    ],
    [
      { targets: 4, unhealthy: 2 },
      rule,
      false,
      "2 of 4 targets unhealthy: within the policy's 50%",
    ],
    [
      { targets: 5, unhealthy: 3 },
      rule,
      true,
      "3 of 5 targets unhealthy at once, more than the policy's 50%",
    ],
    [
      { targets: 2, unhealthy: 2 },
      rule,
      true,
      "2 of 2 targets unhealthy at once, more than the policy's 50%",
    ],
    [
      { targets: 3, unhealthy: 3 },
      { ...rule, minUnhealthy: 4 },
      false,
      '3 of 3 targets unhealthy: fewer than the 4 a storm needs',
    ],
    [
      { targets: 10, unhealthy: 10 },
      { ...rule, maxUnhealthyPercent: 100 },
      false,
      "10 of 10 targets unhealthy: within the policy's 100%",
    ],
    [
      { targets: 100, unhealthy: 2 },
      { ...rule, maxUnhealthyPercent: 1 },
      true,
      "2 of 100 targets unhealthy at once, more than the policy's 1%",
    ],
    [
      { targets: 0, unhealthy: 0 },
      rule,
      false,
      '0 of 0 targets unhealthy: fewer than the 2 a storm needs',
    ],
  ])('%j under %j is a storm: %s', (tally, r, storm, reason) => {
    expect(stormVerdict(tally, r)).toEqual({ storm, reason });
  });
});

describe('unhealthy targets', () => {
  const base = initialContext({ actorKey: 'Pod/shop/a', policy: defaultMachinePolicy, at: 0 });
  const incident = { id: 'Pod/shop/a#1@0' } as Incident;
  const window = { type: 'CrashLoopBackOff', openedAt: 0, seen: 1, restartsAtOpen: 0 } as const;

  it.each<[string, Partial<RemediationContext>, boolean]>([
    ['healthy, cooling down or resolved: no window, no incident', {}, false],
    ['suspect: a detection window is open', { window }, true],
    ['any state with an open incident', { incident }, true],
  ])('%s', (_name, patch, unhealthy) => {
    expect(isUnhealthy({ ...base, ...patch })).toBe(unhealthy);
  });

  it('counts targets and unhealthy targets per policy', () => {
    const of = (name: string, patch: Partial<RemediationContext> = {}) => ({
      ...base,
      policy: { ...defaultMachinePolicy, name },
      ...patch,
    });
    const tallies = tallyByPolicy([
      of('shop/web', { window }),
      of('shop/web'),
      of('shop/web', { incident }),
      of('shop/db'),
    ]);
    expect(Object.fromEntries(tallies)).toEqual({
      'shop/web': { targets: 3, unhealthy: 2 },
      'shop/db': { targets: 1, unhealthy: 0 },
    });
  });
});

describe("a storm's group escalation", () => {
  const storm = { unhealthy: 4, targets: 6, maxUnhealthyPercent: 50 };
  /** The job, which these policies configure Slack for. */
  const jobOf = (options: Parameters<typeof stormEscalationJob>[0]) => {
    const planned = stormEscalationJob(options);
    if (!('job' in planned)) throw new Error(`no job: ${planned.skipped.why}`);
    return planned.job;
  };
  const withSlack = { slack: { channel: '#shop' } };

  it('tells the first level of the ladder once, in words naming how many targets are unhealthy', () => {
    const policy = parsedPolicy('shop', 'web', {
      slack: { channel: '#shop' },
      ticket: { provider: 'github', project: 'acme/ops' },
      escalation: {
        levels: [
          { after: '0s', targets: [{ type: 'ticket' }, { type: 'slack', channel: '#oncall' }] },
          { after: '15m', targets: [{ type: 'page', service: 'primary' }] },
        ],
      },
    });
    const job = jobOf({ owner: 'agent-n1', policy, startedAt: 1_000, storm });
    expect(job).toMatchObject({
      owner: 'agent-n1',
      actorKey: 'AutoRemediationPolicy/shop/web',
      incidentId: 'AutoRemediationPolicy/shop/web#storm@1000',
      step: 'storm-escalation',
      policy: 'shop/web',
      requestedAt: 1_000,
      effect: {
        kind: 'escalate',
        purpose: 'escalated',
        to: { type: 'slack', channel: '#oncall' },
        level: 0,
        target: { kind: 'AutoRemediationPolicy', namespace: 'shop', name: 'web', uid: 'uid-web' },
        chatops: { channel: '#shop' },
      },
    });
    expect(job.effect['reason']).toMatch(
      /^storm under policy shop\/web: 4 of its 6 targets are unhealthy at once \(more than 50%\)/,
    );
  });

  it("goes to the policy's own channel without a ladder", () => {
    const job = jobOf({
      owner: 'controller',
      policy: parsedPolicy('shop', 'web', withSlack),
      startedAt: 1_000,
      storm,
    });
    expect(job.effect).toMatchObject({ to: null, level: null });
  });

  it("goes to the installation's channel when the policy names none", () => {
    const policy = parsedPolicy('shop', 'web');
    const job = jobOf({
      owner: 'controller',
      policy,
      startedAt: 1_000,
      storm,
      slackChannel: '#ops',
    });
    expect(job.effect).toMatchObject({ kind: 'escalate', to: null });
  });

  it("goes to the ladder's Slack channel when neither the policy nor the installation names one", () => {
    const policy = parsedPolicy('shop', 'web', {
      escalation: { levels: [{ after: '0s', targets: [{ type: 'slack', channel: '#oncall' }] }] },
    });
    const job = jobOf({ owner: 'controller', policy, startedAt: 1_000, storm });
    expect(job.effect).toMatchObject({ to: { type: 'slack', channel: '#oncall' }, level: 0 });
  });

  it('is not enqueued when nothing configures Slack, and says what it would have told', () => {
    const policy = parsedPolicy('shop', 'web', {
      escalation: { levels: [{ after: '0s', targets: [{ type: 'page', service: 'primary' }] }] },
    });
    const planned = stormEscalationJob({ owner: 'agent-n1', policy, startedAt: 1_000, storm });
    expect(planned).toEqual({
      skipped: { integration: 'slack', why: SLACK_NOT_CONFIGURED },
      notice: {
        at: 1_000,
        object: 'AutoRemediationPolicy/shop/web',
        what: 'escalated',
        reason: expect.stringMatching(
          /^storm under policy shop\/web: 4 of its 6 targets/,
        ) as unknown,
      },
    });
  });

  it('is the same job whoever enqueues it, and another job for another storm', () => {
    const policy = parsedPolicy('shop', 'web', withSlack);
    const id = (owner: string, startedAt: number) =>
      effectJobId(jobOf({ owner, policy, startedAt, storm }));
    expect(id('agent-a', 1_000)).toBe(id('agent-b', 1_000));
    expect(id('agent-a', 1_000)).not.toBe(id('agent-a', 2_000));
  });
});
