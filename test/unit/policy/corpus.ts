/**
 * Policies for agreement tests: the examples (valid), and invalid specs each with the words the
 * API server must answer with. The unit tests run the corpus through the zod parse, the integration
 * tests through the real API server, so both must reject every entry, in the same words where the
 * rule is ours (CEL) rather than the API server's built-in schema checks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { detectionKindMessage, RULE_MESSAGES } from '../../../src/policy/vocabulary.ts';

export const CRD_FILE = fileURLToPath(
  new URL('../../../crds/autoremediationpolicies.yaml', import.meta.url),
);
const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
}

export interface Example {
  file: string;
  manifest: Manifest;
}

export function loadExamples(): Example[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({
      file,
      manifest: parse(readFileSync(EXAMPLES_DIR + file, 'utf8')) as Manifest,
    }));
}

export function loadCrd(): unknown {
  return parse(readFileSync(CRD_FILE, 'utf8'));
}

/** The smallest valid policy: restart crash-looping pods, automatically. */
export function minimalSpec(): Record<string, unknown> {
  return {
    selector: { kinds: ['Pod'] },
    mode: 'auto',
    detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
  };
}

export interface InvalidPolicy {
  /** Reads as the reason the policy is invalid. */
  name: string;
  spec: Record<string, unknown>;
  /** Text the API server's answer must contain. */
  serverMessage: string;
  /**
   * Text one of the zod issues must contain; the same as `serverMessage` for our CEL rules, the
   * zod wording for the API server's built-in checks (patterns, bounds, unknown fields).
   */
  parseMessage: string;
}

const spec = (changes: Record<string, unknown>) => ({ ...minimalSpec(), ...changes });
/** A valid policy for Deployments only: roll back failed rollouts. */
const deploymentSpec = (changes: Record<string, unknown>) =>
  spec({
    selector: { kinds: ['Deployment'] },
    detections: [{ type: 'RolloutFailed', action: 'rollback' }],
    ...changes,
  });
const nodeSpec = (changes: Record<string, unknown>) =>
  spec({
    selector: { kinds: ['Node'] },
    detections: [{ type: 'NotReady', action: 'cordon' }],
    ...changes,
  });
const scaling = (changes: Record<string, unknown>) => ({
  maxReplicas: 10,
  signals: [{ name: 'cpu', query: 'sum(rate(cpu[1m]))', thresholds: { up: 0.8, down: 0.3 } }],
  ...changes,
});
const same = (message: string) => ({ serverMessage: message, parseMessage: message });

export const INVALID_POLICIES: InvalidPolicy[] = [
  {
    name: 'mode gitops without spec.gitops',
    spec: spec({ mode: 'gitops' }),
    ...same(RULE_MESSAGES.gitopsModeNeedsGitops),
  },
  {
    name: 'mode approval without approvers',
    spec: spec({ mode: 'approval', slack: { channel: '#ops' } }),
    ...same(RULE_MESSAGES.approvalNeedsApprovers),
  },
  {
    name: 'mode approval with an empty approver list',
    spec: spec({ mode: 'approval', slack: { channel: '#ops' }, approvers: { users: [] } }),
    ...same(RULE_MESSAGES.approvalNeedsApprovers),
  },
  {
    name: 'mode approval without a Slack channel to ask in',
    spec: spec({ mode: 'approval', approvers: { users: ['U123456'] } }),
    ...same(RULE_MESSAGES.approvalNeedsSlack),
  },
  {
    name: 'increaseMemory without a repository to propose it in',
    spec: spec({ detections: [{ type: 'OOMKilled', action: 'increaseMemory' }] }),
    ...same(RULE_MESSAGES.increaseMemoryNeedsGitops),
  },
  {
    name: 'drain for a crash-looping pod',
    spec: spec({ detections: [{ type: 'CrashLoopBackOff', action: 'drain' }] }),
    ...same('action drain is only valid for node detections'),
  },
  {
    name: 'rollback for a node under memory pressure',
    spec: nodeSpec({ detections: [{ type: 'MemoryPressure', action: 'rollback' }] }),
    ...same(
      'action rollback cannot remediate MemoryPressure: use one of cordon, drain, taint, notify',
    ),
  },
  {
    name: 'Node selected together with Pods',
    spec: nodeSpec({ selector: { kinds: ['Node', 'Pod'] } }),
    ...same(RULE_MESSAGES.nodeKindAlone),
  },
  {
    name: 'a node detection in a policy selecting Pods',
    spec: spec({ detections: [{ type: 'DiskPressure', action: 'cordon' }] }),
    ...same(RULE_MESSAGES.nodeDetectionsNeedNodeKind),
  },
  {
    name: 'a workload detection in a policy selecting Nodes',
    spec: nodeSpec({
      detections: [
        { type: 'NotReady', action: 'cordon' },
        { type: 'CrashLoopBackOff', action: 'notify' },
      ],
    }),
    ...same(RULE_MESSAGES.nodePolicyOnlyNodeDetections),
  },
  {
    name: 'RolloutFailed in a policy selecting only Pods',
    spec: spec({ detections: [{ type: 'RolloutFailed', action: 'rollback' }] }),
    ...same(detectionKindMessage(['RolloutFailed'], ['Pod'])),
  },
  {
    name: 'a crash-loop detection in a policy selecting only Deployments',
    spec: deploymentSpec({ detections: [{ type: 'CrashLoopBackOff', action: 'rolloutRestart' }] }),
    ...same(
      'detection CrashLoopBackOff is seen on Pods, but spec.selector.kinds [Deployment] selects no Pods, so it can never fire: add Pod to spec.selector.kinds',
    ),
  },
  {
    name: 'two Pod detections beside RolloutFailed in a policy selecting only Deployments',
    spec: deploymentSpec({
      detections: [
        { type: 'CrashLoopBackOff', action: 'rollback' },
        { type: 'RolloutFailed', action: 'rollback' },
        { type: 'OOMKilled', action: 'notify' },
      ],
    }),
    ...same(detectionKindMessage(['CrashLoopBackOff', 'OOMKilled'], ['Deployment'])),
  },
  {
    name: 'scaling a policy that selects no Deployments',
    spec: spec({ scaling: scaling({}) }),
    ...same(RULE_MESSAGES.scalingNeedsDeployment),
  },
  {
    name: 'minReplicas above maxReplicas',
    spec: deploymentSpec({ scaling: scaling({ minReplicas: 5, maxReplicas: 3 }) }),
    ...same(RULE_MESSAGES.minReplicasAboveMax),
  },
  {
    name: 'require more signals than there are',
    spec: deploymentSpec({ scaling: scaling({ require: 2 }) }),
    ...same(RULE_MESSAGES.requireAboveSignals),
  },
  {
    name: 'a signal whose down threshold is above its up threshold',
    spec: deploymentSpec({
      scaling: scaling({
        signals: [{ name: 'cpu', query: 'up', thresholds: { up: 0.3, down: 0.8 } }],
      }),
    }),
    ...same(RULE_MESSAGES.thresholdsOrder),
  },
  {
    name: 'escalation levels out of order',
    spec: spec({
      escalation: {
        levels: [
          { after: '30m', targets: [{ type: 'slack', channel: '#ops' }] },
          { after: '15m', targets: [{ type: 'slack', channel: '#ops' }] },
        ],
      },
    }),
    ...same(RULE_MESSAGES.escalationOrder),
  },
  {
    name: 'escalation levels out of order once days are counted (1d before 12h)',
    spec: spec({
      escalation: {
        levels: [
          { after: '1d', targets: [{ type: 'page', service: 'ops' }] },
          { after: '12h', targets: [{ type: 'page', service: 'ops' }] },
        ],
      },
    }),
    ...same(RULE_MESSAGES.escalationOrder),
  },
  {
    name: 'two escalation levels at the same time written differently (60m, 1h)',
    spec: spec({
      escalation: {
        levels: [
          { after: '60m', targets: [{ type: 'page', service: 'ops' }] },
          { after: '1h', targets: [{ type: 'page', service: 'ops' }] },
        ],
      },
    }),
    ...same(RULE_MESSAGES.escalationOrder),
  },
  {
    name: 'a ticket escalation without spec.ticket',
    spec: spec({ escalation: { levels: [{ after: '1h', targets: [{ type: 'ticket' }] }] } }),
    ...same(RULE_MESSAGES.ticketTargetNeedsTicket),
  },
  {
    name: 'a slack escalation target without a channel',
    spec: spec({ escalation: { levels: [{ after: '1h', targets: [{ type: 'slack' }] }] } }),
    ...same(RULE_MESSAGES.slackTargetNeedsChannel),
  },
  {
    name: 'evidence in both S3 and EFS',
    spec: spec({ evidence: { s3: { bucket: 'evidence' }, efs: { path: '/evidence' } } }),
    ...same(RULE_MESSAGES.evidenceExactlyOne),
  },
  {
    name: 'an In requirement without values',
    spec: spec({
      selector: { kinds: ['Pod'], matchExpressions: [{ key: 'app', operator: 'In' }] },
    }),
    ...same(RULE_MESSAGES.requirementValues),
  },
  {
    name: 'a matchLabels key that is not a label key',
    spec: spec({ selector: { kinds: ['Pod'], matchLabels: { 'not a key': 'web' } } }),
    ...same(RULE_MESSAGES.labelKey),
  },
  {
    name: 'action scale without replicas',
    spec: spec({ detections: [{ type: 'CrashLoopBackOff', action: 'scale' }] }),
    ...same(RULE_MESSAGES.scaleNeedsReplicas),
  },
  {
    name: 'taint settings on a cordon',
    spec: nodeSpec({
      detections: [{ type: 'NotReady', action: 'cordon', taint: { key: 'broken' } }],
    }),
    ...same(RULE_MESSAGES.taintOnlyForTaint),
  },
  {
    name: 'a floor of healthy nodes that is neither a count nor a percentage',
    spec: nodeSpec({ budget: { minHealthyNodes: 'most' } }),
    ...same('expected a count such as 3 or a percentage such as 60%'),
  },
  {
    name: 'a storm limit that is neither a count nor a percentage',
    spec: spec({ budget: { maxUnhealthy: '150%' } }),
    ...same('expected a count such as 2 or a percentage such as 40%'),
  },
  {
    name: 'out-of-service failover on a pressure rule',
    spec: nodeSpec({
      detections: [{ type: 'MemoryPressure', action: 'cordon', outOfServiceWhenFenced: true }],
    }),
    ...same(RULE_MESSAGES.outOfServiceOnlyForNotReady),
  },
  {
    name: 'out-of-service failover on a NotReady rule that only taints',
    spec: nodeSpec({
      detections: [{ type: 'NotReady', action: 'taint', outOfServiceWhenFenced: true }],
    }),
    ...same(RULE_MESSAGES.outOfServiceOnlyForNotReady),
  },
  {
    name: 'deleteBarePods on an action that deletes no pod',
    spec: spec({
      detections: [{ type: 'CrashLoopBackOff', action: 'notify', deleteBarePods: true }],
    }),
    ...same(RULE_MESSAGES.deleteBarePodsOnlyForPodActions),
  },
  {
    name: 'a duration written in words',
    spec: spec({ cooldown: '5 minutes' }),
    serverMessage: 'spec.cooldown in body should match',
    parseMessage: 'expected a duration such as 30s, 5m',
  },
  {
    name: 'days after hours in a duration',
    spec: spec({ cooldown: '12h1d' }),
    serverMessage: 'spec.cooldown in body should match',
    parseMessage: 'expected a duration such as 30s, 5m',
  },
  {
    name: 'an unknown mode',
    spec: spec({ mode: 'yolo' }),
    serverMessage: 'Unsupported value: "yolo"',
    parseMessage: 'Invalid option',
  },
  {
    name: 'two detections of the same type',
    spec: spec({
      detections: [
        { type: 'CrashLoopBackOff', action: 'restartPod' },
        { type: 'CrashLoopBackOff', action: 'notify' },
      ],
    }),
    serverMessage: 'Duplicate value',
    parseMessage: 'Duplicate value',
  },
  {
    name: 'no detections',
    spec: spec({ detections: [] }),
    serverMessage: 'spec.detections in body should have at least 1 items',
    parseMessage: 'Too small',
  },
  {
    name: 'a threshold of zero',
    spec: spec({ detections: [{ type: 'CrashLoopBackOff', action: 'restartPod', threshold: 0 }] }),
    serverMessage: 'should be greater than or equal to 1',
    parseMessage: 'Too small',
  },
  {
    name: 'a selector reaching into other namespaces',
    spec: spec({ selector: { kinds: ['Pod'], namespaces: ['payments'] } }),
    serverMessage: 'unknown field "spec.selector.namespaces"',
    parseMessage: 'Unrecognized key: "namespaces"',
  },
];

/** Valid specs near the edges of the rules, which both the API server and the parse must accept. */
export const VALID_EDGE_CASES: { name: string; spec: Record<string, unknown> }[] = [
  {
    name: 'escalation in increasing order across units and days',
    spec: spec({
      ticket: { provider: 'github', project: 'acme/ops' },
      escalation: {
        levels: [
          { after: '90s', targets: [{ type: 'slack', channel: 'C0123456' }] },
          { after: '45m', targets: [{ type: 'slackUserGroup', userGroup: 'sre' }] },
          { after: '12h', targets: [{ type: 'ticket' }] },
          { after: '1d', targets: [{ type: 'page', service: 'ops' }] },
          { after: '1d12h', targets: [{ type: 'page', service: 'ops' }] },
          { after: '2.5d', targets: [{ type: 'page', service: 'ops' }] },
        ],
      },
    }),
  },
  {
    name: 'no selector at all (Pods and Deployments of the namespace)',
    spec: { detections: [{ type: 'OOMKilled', action: 'notify' }] },
  },
  {
    name: 'Exists and DoesNotExist without values, NotIn with values',
    spec: spec({
      selector: {
        kinds: ['Pod'],
        matchExpressions: [
          { key: 'app', operator: 'Exists' },
          { key: 'example.com/skip', operator: 'DoesNotExist' },
          { key: 'tier', operator: 'NotIn', values: ['batch', 'test'] },
        ],
      },
    }),
  },
  {
    name: 'require equal to the number of signals, scale to zero on a failed rollout',
    spec: spec({
      selector: { kinds: ['Deployment'] },
      detections: [{ type: 'RolloutFailed', action: 'scale', replicas: 0 }],
      scaling: scaling({
        require: 2,
        signals: [
          { name: 'cpu', query: 'a', thresholds: { up: 1, down: 0 } },
          { name: 'errors', query: 'b', per: 'replica', thresholds: { up: -1, down: -2.5 } },
        ],
      }),
    }),
  },
  {
    name: 'Pod detections and RolloutFailed in a policy selecting Pods and Deployments',
    spec: spec({
      selector: { kinds: ['Deployment', 'Pod'] },
      detections: [
        { type: 'ImagePullBackOff', action: 'rollback' },
        { type: 'RolloutFailed', action: 'rollback' },
      ],
    }),
  },
  {
    name: 'durations in milliseconds and decimals',
    spec: spec({ cooldown: '1500ms', verification: { window: '0.5h' } }),
  },
  {
    name: 'a dead node cordoned, and failed over once fenced',
    spec: nodeSpec({
      detections: [{ type: 'NotReady', action: 'cordon', outOfServiceWhenFenced: true }],
    }),
  },
  {
    name: 'a floor of healthy nodes as a percentage of those selected',
    spec: nodeSpec({ budget: { minHealthyNodes: '60%' } }),
  },
  {
    name: 'a storm limit as a count of nodes, as NodeHealthCheck writes it',
    spec: nodeSpec({ budget: { maxUnhealthy: 2 } }),
  },
  {
    name: 'a storm limit as a percentage',
    spec: spec({ budget: { maxUnhealthy: '40%' } }),
  },
  {
    name: 'a storm cooldown of zero: automation resumes as soon as a storm is over',
    spec: spec({ budget: { stormCooldown: '0s' } }),
  },
  {
    name: 'a restart that may delete pods no controller recreates',
    spec: spec({
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod', deleteBarePods: true }],
    }),
  },
  {
    name: "image pulls watched on Deployments only (their newest ReplicaSet's pods)",
    spec: deploymentSpec({ detections: [{ type: 'ImagePullBackOff', action: 'rollback' }] }),
  },
];
