import { describe, expect, it } from 'vitest';
import {
  NODE_CONDITION_RULES,
  ROLLOUT_CONDITION_RULES,
  TERMINATED_REASONS,
  WAITING_REASONS,
} from '../../../src/analyzers/index.ts';
import { parsePolicy, type Policy, type PolicyResource } from '../../../src/policy/policy.ts';
import {
  DETECTION_KIND,
  DETECTION_TYPES,
  detectionKindMessage,
  RULE_MESSAGES,
  unseenDetections,
  type DetectionType,
  type ObjectKind,
} from '../../../src/policy/vocabulary.ts';
import { INVALID_POLICIES, loadExamples, minimalSpec, VALID_EDGE_CASES } from './corpus.ts';

const resource = (spec: unknown, generation = 1) => ({
  apiVersion: 'remedy.kube-remedy.io/v1alpha1',
  kind: 'AutoRemediationPolicy',
  metadata: { name: 'p', namespace: 'shop', generation, uid: 'u-1' },
  spec,
});

function parsed(manifest: PolicyResource): Policy {
  const result = parsePolicy(manifest);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.policy;
}

describe('parsePolicy', () => {
  it('fills every default of the CRD and converts durations to milliseconds', () => {
    expect(parsed(resource(minimalSpec()))).toEqual({
      ref: { namespace: 'shop', name: 'p' },
      generation: 1,
      uid: 'u-1',
      selector: { kinds: ['Pod'] },
      mode: 'auto',
      detections: [
        { type: 'CrashLoopBackOff', action: 'restartPod', threshold: 3, windowMs: 600_000 },
      ],
      cooldownMs: 600_000,
      verification: { windowMs: 300_000 },
      approvers: { users: [], groups: [] },
      budget: {
        maxActions: 10,
        windowMs: 3_600_000,
        minHealthyNodes: 1,
        maxUnhealthyPercent: 50,
        stormCooldownMs: 300_000,
      },
      quarantine: { maxRemediations: 3, windowMs: 3_600_000 },
      llm: { enabled: false },
    });
  });

  it('defaults to dryRun over Pods and Deployments when mode and selector are left out', () => {
    const policy = parsed(resource({ detections: [{ type: 'OOMKilled', action: 'notify' }] }));
    expect(policy.mode).toBe('dryRun');
    expect(policy.selector.kinds).toEqual(['Pod', 'Deployment']);
  });

  it('turns escalation targets into a union the machines can switch on', () => {
    const policy = parsed(resource(VALID_EDGE_CASES[0]!.spec));
    expect(policy.escalation?.levels.map((level) => level.afterMs)).toEqual([
      90_000, 2_700_000, 43_200_000, 86_400_000, 129_600_000, 216_000_000,
    ]);
    expect(policy.escalation?.levels.map((level) => level.targets[0])).toEqual([
      { type: 'slack', channel: 'C0123456' },
      { type: 'slackUserGroup', userGroup: 'sre' },
      { type: 'ticket' },
      { type: 'page', service: 'ops' },
      { type: 'page', service: 'ops' },
      { type: 'page', service: 'ops' },
    ]);
  });

  it('parses scaling with windows in milliseconds', () => {
    const example = loadExamples().find((e) => e.file === 'multi-signal-scaling.yaml')!;
    expect(parsed(example.manifest).scaling).toEqual({
      minReplicas: 3,
      maxReplicas: 30,
      step: 2,
      require: 2,
      cooldownMs: 180_000,
      stabilization: { scaleUpMs: 120_000, scaleDownMs: 600_000 },
      onUnavailable: 'escalate',
      signals: [
        expect.objectContaining({
          name: 'cpu',
          per: 'replica',
          thresholds: { up: 0.8, down: 0.3 },
        }),
        expect.objectContaining({ name: 'latency', per: 'total' }),
        expect.objectContaining({ name: 'queueDepth', thresholds: { up: 1000, down: 50 } }),
      ],
    });
  });

  it.each(loadExamples().map((example) => [example.file, example.manifest] as const))(
    'accepts the example %s',
    (_file, manifest) => {
      const result = parsePolicy(manifest);
      expect(result.ok ? [] : result.problems).toEqual([]);
    },
  );

  it.each(VALID_EDGE_CASES.map((c) => [c.name, c.spec] as const))('accepts %s', (_name, spec) => {
    const result = parsePolicy(resource(spec));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it.each(INVALID_POLICIES.map((c) => [c.name, c] as const))(
    'rejects %s, saying why',
    (_name, invalid) => {
      const result = parsePolicy(resource(invalid.spec));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problems.join('\n')).toContain(invalid.parseMessage);
      expect(result.generation).toBe(1);
      expect(result.ref).toEqual({ namespace: 'shop', name: 'p' });
    },
  );

  it('names the field of each problem as kubectl would', () => {
    const result = parsePolicy(
      resource({ ...minimalSpec(), detections: [{ type: 'CrashLoopBackOff', action: 'drain' }] }),
    );
    expect(result.ok ? [] : result.problems).toEqual([
      'spec.detections[0].action: action drain cannot remediate CrashLoopBackOff: action drain is only valid for node detections (MemoryPressure, DiskPressure, PIDPressure, NotReady)',
    ]);
  });

  it.each([
    ['no spec', undefined],
    ['a spec that is not an object', 'restart everything'],
  ])('rejects a resource with %s', (_name, spec) => {
    expect(parsePolicy(resource(spec)).ok).toBe(false);
  });

  it('rejects more than 16 matchLabels, as the CRD bounds the map', () => {
    const matchLabels = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'x']));
    const result = parsePolicy(
      resource({ ...minimalSpec(), selector: { kinds: ['Pod'], matchLabels } }),
    );
    expect(result.ok).toBe(false);
  });
});

describe('a detection the selected kinds can never show', () => {
  const withKinds = (kinds: string[], types: string[]) =>
    parsePolicy(
      resource({
        selector: { kinds },
        detections: types.map((type) => ({ type, action: 'notify' })),
      }),
    );

  it.each([
    ['CrashLoopBackOff on Deployments only', ['Deployment'], ['CrashLoopBackOff']],
    ['CrashLoopBackOff on Deployments only', ['Deployment'], ['CrashLoopBackOff']],
    ['OOMKilled on Deployments only', ['Deployment'], ['OOMKilled']],
    ['RolloutFailed on Pods only', ['Pod'], ['RolloutFailed']],
  ])('is refused: %s', (_name, kinds, types) => {
    const result = withKinds(kinds, types);
    expect(result.ok ? [] : result.problems).toEqual([
      `spec.detections: ${detectionKindMessage(types as DetectionType[], kinds as ObjectKind[])}`,
    ]);
  });

  it.each([
    ['Pod detections on Pods', ['Pod'], ['CrashLoopBackOff', 'ImagePullBackOff', 'OOMKilled']],
    ['RolloutFailed on Deployments', ['Deployment'], ['RolloutFailed']],
    [
      "ImagePullBackOff on Deployments (from their newest ReplicaSet's pods)",
      ['Deployment'],
      ['ImagePullBackOff'],
    ],
    [
      'every workload detection on Pods and Deployments',
      ['Pod', 'Deployment'],
      ['OOMKilled', 'RolloutFailed'],
    ],
    ['node detections on Nodes', ['Node'], ['NotReady', 'DiskPressure']],
  ])('is not in the way: %s', (_name, kinds, types) => {
    const result = withKinds(kinds, types);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('names the detection, the kind it is seen on, the kinds selected and the fix', () => {
    expect(detectionKindMessage(['CrashLoopBackOff'], ['Deployment'])).toBe(
      'detection CrashLoopBackOff is seen on Pods, but spec.selector.kinds [Deployment] selects no Pods, ' +
        "so it can never fire: add Pod to spec.selector.kinds (the selector must then match the Pods' own labels) " +
        'or remove the detection',
    );
  });

  it('names every such detection at once, in the order written', () => {
    const result = withKinds(['Deployment'], ['OOMKilled', 'RolloutFailed', 'CrashLoopBackOff']);
    expect(result.ok ? [] : result.problems).toEqual([
      'spec.detections: detections OOMKilled, CrashLoopBackOff are seen on Pods, but ' +
        'spec.selector.kinds [Deployment] selects no Pods, so they can never fire: add Pod to ' +
        "spec.selector.kinds (the selector must then match the Pods' own labels) or remove the detections",
    ]);
  });

  it('leaves node detections to the node rules, which already say what to do', () => {
    expect(unseenDetections(['DiskPressure', 'RolloutFailed'], ['Pod'])).toEqual(['RolloutFailed']);
    expect(unseenDetections(['CrashLoopBackOff'], ['Node'])).toEqual([]);
    const result = withKinds(['Pod'], ['DiskPressure']);
    expect(result.ok ? [] : result.problems).toEqual([
      `spec.detections: ${RULE_MESSAGES.nodeDetectionsNeedNodeKind}`,
    ]);
  });
});

describe('the kinds detections are seen on', () => {
  // The analyzers' tables are the source: what each kind's analyzer names is of that kind.
  it.each([
    ['Pod', [...Object.values(WAITING_REASONS), ...Object.values(TERMINATED_REASONS)]],
    ['Node', NODE_CONDITION_RULES.map((rule) => rule.type)],
    ['Deployment', ROLLOUT_CONDITION_RULES.map((rule) => rule.type)],
  ])('agree with what the %s analyzer names', (kind, types) => {
    for (const type of types) expect([type, DETECTION_KIND[type]]).toEqual([type, kind]);
  });

  it('cover every detection type', () => {
    expect(Object.keys(DETECTION_KIND).sort()).toEqual([...DETECTION_TYPES].sort());
  });
});
