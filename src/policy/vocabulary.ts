/**
 * The closed vocabularies of an AutoRemediationPolicy and the messages of its cross-field rules.
 *
 * crds/autoremediationpolicies.yaml states the same enums and the same messages in its schema and
 * CEL rules; test/unit/policy/crd-schema.test.ts compares them, so the API server and the zod parse
 * (src/policy/schema.ts) reject a bad policy in the same words.
 */

export const API_GROUP = 'remedy.kube-remedy.io';
export const API_VERSION = 'v1alpha1';
export const KIND = 'AutoRemediationPolicy';
export const PLURAL = 'autoremediationpolicies';
/** The field manager of every write kube-remedy makes (server-side apply). */
export const FIELD_MANAGER = 'kube-remedy';

export const MODES = ['auto', 'approval', 'dryRun', 'gitops'] as const;
export type Mode = (typeof MODES)[number];
/** Safe by default: a policy applied without a mode reports what it would do and changes nothing. */
export const DEFAULT_MODE: Mode = 'dryRun';

export const OBJECT_KINDS = ['Pod', 'Deployment', 'Node'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];
/** Node is never implied: node remediation must be asked for, in kube-remedy's namespace. */
export const DEFAULT_KINDS: readonly ObjectKind[] = ['Pod', 'Deployment'];

export const DETECTION_TYPES = [
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'OOMKilled',
  'MemoryPressure',
  'DiskPressure',
  'PIDPressure',
  'NotReady',
  'RolloutFailed',
] as const;
export type DetectionType = (typeof DETECTION_TYPES)[number];

/**
 * The kind of object each detection is seen on, as the analyzers' tables produce them
 * (src/analyzers): a pod's containers crash-loop, fail to pull or are OOM-killed; a Node reports
 * pressure or NotReady; a Deployment's rollout fails. A policy that does not select a detection's
 * kind can never see it fire, so the CRD and the zod parse refuse it (`detectionKindMessage`).
 *
 * ImagePullBackOff is a Pod's, and a Deployment's too (ALSO_SEEN_ON): the controller hands the
 * Deployment analyzer the pods of its newest ReplicaSet (docs/adr/0015), so a rollout whose new
 * pods cannot pull their image is seen before its progress deadline passes.
 */
export const DETECTION_KIND: Readonly<Record<DetectionType, ObjectKind>> = {
  CrashLoopBackOff: 'Pod',
  ImagePullBackOff: 'Pod',
  OOMKilled: 'Pod',
  MemoryPressure: 'Node',
  DiskPressure: 'Node',
  PIDPressure: 'Node',
  NotReady: 'Node',
  RolloutFailed: 'Deployment',
};

/** Detections a second kind shows as well (the CRD's CEL rule names the same exception). */
export const ALSO_SEEN_ON: Readonly<Partial<Record<DetectionType, ObjectKind>>> = {
  ImagePullBackOff: 'Deployment',
};

export const NODE_DETECTIONS: readonly DetectionType[] = DETECTION_TYPES.filter(
  (type) => DETECTION_KIND[type] === 'Node',
);

export const ACTIONS = [
  'restartPod',
  'deletePod',
  'evictPod',
  'rolloutRestart',
  'rollback',
  'scale',
  'cordon',
  'drain',
  'taint',
  'notify',
  'increaseMemory',
] as const;
export type Action = (typeof ACTIONS)[number];

export const NODE_ACTIONS: readonly Action[] = ['cordon', 'drain', 'taint'];

/** Which actions can remediate which detection (the CEL rule on spec.detections[] holds the same table). */
export const ACTIONS_FOR_DETECTION: Readonly<Record<DetectionType, readonly Action[]>> = {
  CrashLoopBackOff: [
    'restartPod',
    'deletePod',
    'evictPod',
    'rolloutRestart',
    'rollback',
    'scale',
    'notify',
  ],
  ImagePullBackOff: ['restartPod', 'deletePod', 'rollback', 'notify'],
  OOMKilled: ['increaseMemory', 'restartPod', 'rolloutRestart', 'rollback', 'notify'],
  MemoryPressure: ['cordon', 'drain', 'taint', 'notify'],
  DiskPressure: ['cordon', 'drain', 'taint', 'notify'],
  PIDPressure: ['cordon', 'drain', 'taint', 'notify'],
  NotReady: ['cordon', 'drain', 'taint', 'notify'],
  RolloutFailed: ['rollback', 'rolloutRestart', 'scale', 'notify'],
};

export const LABEL_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelOperator = (typeof LABEL_OPERATORS)[number];

export const ESCALATION_TARGET_TYPES = ['slack', 'slackUserGroup', 'ticket', 'page'] as const;
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export const SIGNAL_PER = ['replica', 'total'] as const;
export const ON_UNAVAILABLE = ['hold', 'escalate'] as const;
export const GITOPS_PROVIDERS = ['github', 'gitlab'] as const;
export const TICKET_PROVIDERS = ['jira', 'github'] as const;
export const ACTION_OUTCOMES = [
  'Succeeded',
  'Failed',
  'Proposed',
  'DryRun',
  'AwaitingApproval',
  'Rejected',
] as const;
export type ActionOutcome = (typeof ACTION_OUTCOMES)[number];

/**
 * Kubernetes-style duration as the CRD accepts it: optional days first (CEL converts them by hand),
 * then Go units that CEL's duration() understands. Stricter than src/util/duration.ts on order only.
 */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?d)?([0-9]+(\.[0-9]+)?(ms|s|m|h))*$/;

/** The messages of the CRD's CEL rules, word for word. */
export const RULE_MESSAGES = {
  gitopsModeNeedsGitops:
    'mode gitops needs spec.gitops: the repository, branch and path where changes are proposed as pull requests',
  approvalNeedsApprovers:
    'mode approval needs at least one approver: add a user to spec.approvers.users or a group to spec.approvers.groups',
  approvalNeedsSlack:
    'mode approval needs spec.slack.channel: approval requests are posted there with Approve and Reject buttons',
  increaseMemoryNeedsGitops:
    "action increaseMemory changes the workload's manifest through a pull request: set spec.gitops",
  nodeDetectionsNeedNodeKind:
    "node detections (MemoryPressure, DiskPressure, PIDPressure, NotReady) need spec.selector.kinds [Node]: node policies select nodes only and live in kube-remedy's namespace",
  nodePolicyOnlyNodeDetections:
    'a policy selecting Nodes can only have node detections (MemoryPressure, DiskPressure, PIDPressure, NotReady); put workload detections in a policy selecting Pods or Deployments',
  scalingNeedsDeployment:
    'spec.scaling changes Deployment replicas: add Deployment to spec.selector.kinds',
  ticketTargetNeedsTicket:
    'an escalation target of type ticket needs spec.ticket (the provider and project where tickets are opened)',
  nodeKindAlone:
    'spec.selector.kinds: Node cannot be combined with Pod or Deployment, since node labels and workload labels are unrelated; write a separate policy for nodes',
  labelKey:
    "spec.selector.matchLabels: every key must be a label key: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",
  requirementValues:
    'matchExpressions: operators In and NotIn need at least one value; Exists and DoesNotExist take no values',
  scaleNeedsReplicas: 'action scale needs replicas: the replica count the Deployment is scaled to',
  replicasOnlyForScale: 'replicas is only used by action scale; remove it or use action scale',
  taintOnlyForTaint: 'taint is only used by action taint; remove it or use action taint',
  memoryOnlyForIncreaseMemory:
    'memory is only used by action increaseMemory; remove it or use action increaseMemory',
  deleteBarePodsOnlyForPodActions:
    'deleteBarePods is only used by actions restartPod, deletePod and evictPod; remove it or use one of them',
  outOfServiceOnlyForNotReady:
    'outOfServiceWhenFenced is only used by detection NotReady with action cordon or drain; remove it or use those',
  ladderOnlyForPodActions:
    'attempts and then are only used by actions restartPod, deletePod, evictPod and rolloutRestart, whose pods are replaced; remove them or use one of those actions',
  escalationOrder:
    "escalation levels must be in increasing 'after' order: each level's after must be longer than the previous level's",
  slackTargetNeedsChannel: 'an escalation target of type slack needs channel',
  userGroupTargetNeedsUserGroup: 'an escalation target of type slackUserGroup needs userGroup',
  pageTargetNeedsService:
    'an escalation target of type page needs service (the on-call service to page)',
  targetOnlyItsField:
    'an escalation target takes only the field of its type: channel for slack, userGroup for slackUserGroup, service for page, none for ticket',
  minReplicasAboveMax: 'spec.scaling: minReplicas must be <= maxReplicas',
  requireAboveSignals: 'spec.scaling: require cannot exceed the number of signals',
  thresholdsOrder: 'thresholds.down must be lower than thresholds.up, or scaling would flap',
  evidenceExactlyOne: 'spec.evidence: set exactly one of s3 or efs',
} as const;

/** The message of the action-fits-detection rule, as the CRD's messageExpression builds it. */
export function actionMismatchMessage(type: DetectionType, action: Action): string {
  const why = NODE_ACTIONS.includes(action)
    ? `action ${action} is only valid for node detections (MemoryPressure, DiskPressure, PIDPressure, NotReady)`
    : `use one of ${ACTIONS_FOR_DETECTION[type].join(', ')}`;
  return `action ${action} cannot remediate ${type}: ${why}`;
}

/**
 * The workload detections of a policy selecting no Nodes that can never fire, because the policy
 * does not select the kind they are seen on (`DETECTION_KIND`), in the order written. Node
 * detections and policies selecting Nodes have rules of their own (nodeDetectionsNeedNodeKind,
 * nodePolicyOnlyNodeDetections).
 */
export function unseenDetections(
  types: readonly DetectionType[],
  kinds: readonly ObjectKind[],
): DetectionType[] {
  if (kinds.includes('Node')) return [];
  return types.filter((type) => {
    const kind = DETECTION_KIND[type];
    const also = ALSO_SEEN_ON[type];
    return (
      kind !== 'Node' && !kinds.includes(kind) && (also === undefined || !kinds.includes(also))
    );
  });
}

/**
 * The message of the detections-fit-the-kinds rule, as the CRD's messageExpression builds it, for
 * the non-empty result of `unseenDetections` (which all want the one workload kind not selected).
 */
export function detectionKindMessage(
  unseen: readonly DetectionType[],
  kinds: readonly ObjectKind[],
): string {
  const kind = DETECTION_KIND[unseen[0] ?? 'CrashLoopBackOff'];
  const one = unseen.length === 1;
  return (
    `${one ? 'detection' : 'detections'} ${unseen.join(', ')} ${one ? 'is' : 'are'} seen on ` +
    `${kind}s, but spec.selector.kinds [${kinds.join(', ')}] selects no ${kind}s, so ` +
    `${one ? 'it' : 'they'} can never fire: add ${kind} to spec.selector.kinds (the selector ` +
    `must then match the ${kind}s' own labels) or remove the ${one ? 'detection' : 'detections'}`
  );
}
