/**
 * The AutoRemediationPolicy spec in zod: the same structure, bounds, defaults and cross-field rules as
 * crds/autoremediationpolicies.yaml, parsed into the typed `PolicySpec` the machines use, with
 * durations in milliseconds.
 *
 * Why parse again what the API server already validated: a policy written before a CRD upgrade, or a
 * cluster where the CRD was installed without its CEL rules, must not reach the machines half-valid;
 * and unit tests, `simulate` and the examples need the same validation without a cluster. The CRD
 * remains the contract users see; test/unit/policy/crd-schema.test.ts fails when the two drift.
 */
import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';
import {
  ACTION_OUTCOMES,
  ACTIONS,
  ACTIONS_FOR_DETECTION,
  actionMismatchMessage,
  DETECTION_TYPES,
  detectionKindMessage,
  DURATION_PATTERN,
  ESCALATION_TARGET_TYPES,
  GITOPS_PROVIDERS,
  LABEL_OPERATORS,
  MODES,
  NODE_DETECTIONS,
  OBJECT_KINDS,
  ON_UNAVAILABLE,
  RULE_MESSAGES,
  SIGNAL_PER,
  TAINT_EFFECTS,
  TICKET_PROVIDERS,
  unseenDetections,
} from './vocabulary.ts';

/** Patterns shared with the CRD (the drift test compares their source text). */
export const PATTERNS = {
  labelKey:
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
  labelValue: /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/,
  slackChannel: /^(#[a-z0-9][a-z0-9._-]*|[CG][A-Z0-9]{6,})$/,
  memoryQuantity: /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/,
  signalName: /^[a-zA-Z][a-zA-Z0-9_-]*$/,
  repository: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/,
  relativePath: /^[^/].*$/,
  absolutePath: /^\/.*$/,
  bucket: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/,
  duration: DURATION_PATTERN,
} as const;

/** `40%`: a whole percentage from 0 to 100. */
const PERCENTAGE = /^(100|[1-9]?[0-9])%$/;

/** A CRD duration string, parsed to milliseconds. */
function duration() {
  return z
    .string()
    .min(1)
    .max(32)
    .regex(
      PATTERNS.duration,
      'expected a duration such as 30s, 5m, 1h30m or 1d12h (days first, then h, m, s, ms)',
    )
    .transform((text, ctx) => {
      const parsed = parseDuration(text);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.reason });
        return z.NEVER;
      }
      return parsed.ms;
    });
}

function int(min: number, max: number) {
  return z.number().int().min(min).max(max);
}

const labelValue = z.string().max(63).regex(PATTERNS.labelValue, 'expected a label value');

const labelRequirementSchema = z
  .strictObject({
    key: z.string().min(1).max(317).regex(PATTERNS.labelKey, 'expected a label key'),
    operator: z.enum(LABEL_OPERATORS),
    values: z.array(labelValue).max(32).optional(),
  })
  .superRefine((requirement, ctx) => {
    const count = requirement.values?.length ?? 0;
    const needsValues = requirement.operator === 'In' || requirement.operator === 'NotIn';
    if (needsValues ? count === 0 : count > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: RULE_MESSAGES.requirementValues });
    }
    if (new Set(requirement.values).size !== count) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: 'Duplicate value' });
    }
  });

const selectorSchema = z
  .strictObject({
    kinds: z
      .array(z.enum(OBJECT_KINDS))
      .min(1)
      .max(3)
      .default(['Pod', 'Deployment'])
      .refine((kinds) => new Set(kinds).size === kinds.length, 'Duplicate value'),
    matchLabels: z
      .record(z.string(), labelValue)
      .refine((labels) => Object.keys(labels).length <= 16, 'must have at most 16 properties')
      .refine(
        (labels) => Object.keys(labels).every((key) => PATTERNS.labelKey.test(key)),
        RULE_MESSAGES.labelKey,
      )
      .optional(),
    matchExpressions: z.array(labelRequirementSchema).max(16).optional(),
  })
  .prefault({ kinds: ['Pod', 'Deployment'] })
  .superRefine((selector, ctx) => {
    if (selector.kinds.includes('Node') && selector.kinds.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['kinds'], message: RULE_MESSAGES.nodeKindAlone });
    }
  });

const detectionSchema = z
  .strictObject({
    type: z.enum(DETECTION_TYPES),
    threshold: int(1, 1000).default(3),
    window: duration().prefault('10m'),
    action: z.enum(ACTIONS),
    replicas: int(0, 10_000).optional(),
    taint: z
      .strictObject({
        key: z
          .string()
          .min(1)
          .max(317)
          .regex(PATTERNS.labelKey, 'expected a taint key')
          .default('remedy.kube-remedy.io/unhealthy'),
        value: labelValue.optional(),
        effect: z.enum(TAINT_EFFECTS).default('NoSchedule'),
      })
      .optional(),
    memory: z
      .strictObject({
        increasePercent: int(1, 400).default(50),
        max: z
          .string()
          .max(32)
          .regex(PATTERNS.memoryQuantity, 'expected a memory quantity such as 4Gi')
          .optional(),
      })
      .optional(),
    deleteBarePods: z.boolean().optional(),
    outOfServiceWhenFenced: z.boolean().optional(),
    attempts: int(1, 10).optional(),
    then: z.enum(['rollback', 'escalate']).optional(),
  })
  .superRefine((detection, ctx) => {
    if (!ACTIONS_FOR_DETECTION[detection.type].includes(detection.action)) {
      ctx.addIssue({
        code: 'custom',
        path: ['action'],
        message: actionMismatchMessage(detection.type, detection.action),
      });
    }
    if (detection.action === 'scale' && detection.replicas === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['replicas'],
        message: RULE_MESSAGES.scaleNeedsReplicas,
      });
    }
    if (detection.replicas !== undefined && detection.action !== 'scale') {
      ctx.addIssue({
        code: 'custom',
        path: ['replicas'],
        message: RULE_MESSAGES.replicasOnlyForScale,
      });
    }
    if (detection.taint !== undefined && detection.action !== 'taint') {
      ctx.addIssue({ code: 'custom', path: ['taint'], message: RULE_MESSAGES.taintOnlyForTaint });
    }
    if (detection.memory !== undefined && detection.action !== 'increaseMemory') {
      ctx.addIssue({
        code: 'custom',
        path: ['memory'],
        message: RULE_MESSAGES.memoryOnlyForIncreaseMemory,
      });
    }
    if (
      detection.deleteBarePods !== undefined &&
      !POD_DELETING_ACTIONS.includes(detection.action)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['deleteBarePods'],
        message: RULE_MESSAGES.deleteBarePodsOnlyForPodActions,
      });
    }
    if (
      detection.outOfServiceWhenFenced !== undefined &&
      (detection.type !== 'NotReady' || !['cordon', 'drain'].includes(detection.action))
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['outOfServiceWhenFenced'],
        message: RULE_MESSAGES.outOfServiceOnlyForNotReady,
      });
    }
    for (const field of ['attempts', 'then'] as const) {
      if (detection[field] !== undefined && !LADDER_ACTIONS.includes(detection.action)) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: RULE_MESSAGES.ladderOnlyForPodActions,
        });
      }
    }
  });

/** Actions tried again on the replacement pods, whose ladder may end in a rollback. */
const LADDER_ACTIONS: readonly string[] = ['restartPod', 'deletePod', 'evictPod', 'rolloutRestart'];

/** Actions that delete the pod: a pod no controller recreates is gone for good after them. */
const POD_DELETING_ACTIONS: readonly string[] = ['restartPod', 'deletePod', 'evictPod'];

const slackChannel = z
  .string()
  .max(81)
  .regex(PATTERNS.slackChannel, 'expected a Slack channel: #name or an ID such as C0123456');

const escalationTargetSchema = z
  .strictObject({
    type: z.enum(ESCALATION_TARGET_TYPES),
    channel: slackChannel.optional(),
    userGroup: z.string().min(1).max(80).optional(),
    service: z.string().min(1).max(128).optional(),
  })
  .superRefine((target, ctx) => {
    const required = { slack: 'channel', slackUserGroup: 'userGroup', page: 'service' } as const;
    const messages = {
      slack: RULE_MESSAGES.slackTargetNeedsChannel,
      slackUserGroup: RULE_MESSAGES.userGroupTargetNeedsUserGroup,
      page: RULE_MESSAGES.pageTargetNeedsService,
    } as const;
    if (target.type !== 'ticket' && target[required[target.type]] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [required[target.type]],
        message: messages[target.type],
      });
    }
    const given = [target.channel, target.userGroup, target.service].filter(
      (value) => value !== undefined,
    ).length;
    if (given > (target.type === 'ticket' ? 0 : 1)) {
      ctx.addIssue({ code: 'custom', message: RULE_MESSAGES.targetOnlyItsField });
    }
  })
  .transform((target): EscalationTarget => {
    switch (target.type) {
      case 'slack':
        return { type: 'slack', channel: target.channel ?? '' };
      case 'slackUserGroup':
        return { type: 'slackUserGroup', userGroup: target.userGroup ?? '' };
      case 'page':
        return { type: 'page', service: target.service ?? '' };
      case 'ticket':
        return { type: 'ticket' };
    }
  });

/** Whom an escalation level tells. */
export type EscalationTarget =
  | { type: 'slack'; channel: string }
  | { type: 'slackUserGroup'; userGroup: string }
  | { type: 'ticket' }
  | { type: 'page'; service: string };

const escalationSchema = z
  .strictObject({
    levels: z
      .array(
        z
          .strictObject({
            after: duration(),
            targets: z.array(escalationTargetSchema).min(1).max(8),
          })
          .transform(({ after, targets }) => ({ afterMs: after, targets })),
      )
      .min(1)
      .max(8),
  })
  .superRefine((escalation, ctx) => {
    const ordered = escalation.levels.every(
      (level, i) => i === 0 || (escalation.levels[i - 1]?.afterMs ?? 0) < level.afterMs,
    );
    if (!ordered) {
      ctx.addIssue({ code: 'custom', path: ['levels'], message: RULE_MESSAGES.escalationOrder });
    }
  });

const uniqueStrings = (items: readonly string[]) => new Set(items).size === items.length;

const approversSchema = z.strictObject({
  users: z
    .array(z.string().min(1).max(254))
    .max(64)
    .default([])
    .refine(uniqueStrings, 'Duplicate value'),
  groups: z
    .array(z.string().min(1).max(80))
    .max(16)
    .default([])
    .refine(uniqueStrings, 'Duplicate value'),
});

const budgetSchema = z
  .strictObject({
    maxActions: int(1, 10_000).default(10),
    window: duration().prefault('1h'),
    minHealthyNodes: z
      .union([
        int(0, 100_000),
        z.string().regex(PERCENTAGE, 'expected a count such as 3 or a percentage such as 60%'),
      ])
      .default(1),
    maxUnhealthyPercent: int(1, 100).default(50),
    maxUnhealthy: z
      .union([
        int(0, 100_000),
        z.string().regex(PERCENTAGE, 'expected a count such as 2 or a percentage such as 40%'),
      ])
      .optional(),
    stormCooldown: duration().prefault('5m'),
  })
  .prefault({})
  .transform(({ window, stormCooldown, ...rest }) => ({
    ...rest,
    windowMs: window,
    stormCooldownMs: stormCooldown,
  }));

const quarantineSchema = z
  .strictObject({
    maxRemediations: int(1, 100).default(3),
    window: duration().prefault('1h'),
  })
  .prefault({})
  .transform(({ window, ...rest }) => ({ ...rest, windowMs: window }));

const signalSchema = z.strictObject({
  name: z.string().min(1).max(63).regex(PATTERNS.signalName, 'expected a signal name'),
  query: z.string().min(1).max(4096),
  per: z.enum(SIGNAL_PER).default('total'),
  thresholds: z
    .strictObject({ up: z.number(), down: z.number() })
    .refine((thresholds) => thresholds.down < thresholds.up, RULE_MESSAGES.thresholdsOrder),
});

const scalingSchema = z
  .strictObject({
    minReplicas: int(0, 10_000).default(1),
    maxReplicas: int(1, 10_000),
    step: int(1, 1000).default(1),
    require: int(1, 8).default(1),
    cooldown: duration().prefault('3m'),
    stabilization: z
      .strictObject({
        scaleUp: duration().prefault('1m'),
        scaleDown: duration().prefault('5m'),
      })
      .prefault({}),
    onUnavailable: z.enum(ON_UNAVAILABLE).default('hold'),
    signals: z
      .array(signalSchema)
      .min(1)
      .max(8)
      .refine(
        (signals) => uniqueStrings(signals.map((signal) => signal.name)),
        'Duplicate value: signal names must be unique',
      ),
  })
  .superRefine((scaling, ctx) => {
    if (scaling.minReplicas > scaling.maxReplicas) {
      ctx.addIssue({
        code: 'custom',
        path: ['minReplicas'],
        message: RULE_MESSAGES.minReplicasAboveMax,
      });
    }
    if (scaling.require > scaling.signals.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['require'],
        message: RULE_MESSAGES.requireAboveSignals,
      });
    }
  })
  .transform(({ cooldown, stabilization, ...rest }) => ({
    ...rest,
    cooldownMs: cooldown,
    stabilization: { scaleUpMs: stabilization.scaleUp, scaleDownMs: stabilization.scaleDown },
  }));

const gitopsSchema = z.strictObject({
  provider: z.enum(GITOPS_PROVIDERS),
  repository: z
    .string()
    .min(3)
    .max(255)
    .regex(PATTERNS.repository, 'expected owner/name (GitLab groups may nest)'),
  branch: z.string().min(1).max(255).default('main'),
  path: z
    .string()
    .min(1)
    .max(1024)
    .regex(PATTERNS.relativePath, 'expected a path relative to the repository root'),
  valuesKey: z.string().min(1).max(253).optional(),
});

const evidenceSchema = z
  .strictObject({
    s3: z
      .strictObject({
        bucket: z.string().min(3).max(63).regex(PATTERNS.bucket, 'expected an S3 bucket name'),
        prefix: z.string().max(512).default(''),
      })
      .optional(),
    efs: z
      .strictObject({
        path: z.string().min(1).max(1024).regex(PATTERNS.absolutePath, 'expected an absolute path'),
      })
      .optional(),
  })
  .refine((evidence) => (evidence.s3 === undefined) !== (evidence.efs === undefined), {
    message: RULE_MESSAGES.evidenceExactlyOne,
  });

/** The spec as written (CRD field names, duration strings): the input of `policySpecSchema`. */
export const policySpecSchema = z
  .strictObject({
    selector: selectorSchema,
    mode: z.enum(MODES).default('dryRun'),
    detections: z
      .array(detectionSchema)
      .min(1)
      .max(8)
      .refine(
        (detections) => uniqueStrings(detections.map((detection) => detection.type)),
        'Duplicate value: at most one detection per type',
      ),
    cooldown: duration().prefault('10m'),
    verification: z.strictObject({ window: duration().prefault('5m') }).prefault({}),
    escalation: escalationSchema.optional(),
    approvers: approversSchema.optional(),
    budget: budgetSchema,
    quarantine: quarantineSchema,
    scaling: scalingSchema.optional(),
    slack: z.strictObject({ channel: slackChannel }).optional(),
    gitops: gitopsSchema.optional(),
    ticket: z
      .strictObject({ provider: z.enum(TICKET_PROVIDERS), project: z.string().min(1).max(255) })
      .optional(),
    evidence: evidenceSchema.optional(),
    llm: z
      .strictObject({
        enabled: z.boolean().default(false),
        model: z.string().min(1).max(128).optional(),
      })
      .prefault({}),
  })
  .superRefine((spec, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    const kinds = spec.selector.kinds;
    const isNodeDetection = (type: (typeof DETECTION_TYPES)[number]) =>
      NODE_DETECTIONS.includes(type);
    if (spec.mode === 'gitops' && spec.gitops === undefined) {
      issue('mode', RULE_MESSAGES.gitopsModeNeedsGitops);
    }
    if (spec.mode === 'approval') {
      const approvers = (spec.approvers?.users.length ?? 0) + (spec.approvers?.groups.length ?? 0);
      if (approvers === 0) issue('mode', RULE_MESSAGES.approvalNeedsApprovers);
      if (spec.slack === undefined) issue('mode', RULE_MESSAGES.approvalNeedsSlack);
    }
    if (spec.detections.some((d) => d.action === 'increaseMemory') && spec.gitops === undefined) {
      issue('detections', RULE_MESSAGES.increaseMemoryNeedsGitops);
    }
    if (spec.detections.some((d) => isNodeDetection(d.type)) && !kinds.includes('Node')) {
      issue('detections', RULE_MESSAGES.nodeDetectionsNeedNodeKind);
    }
    if (kinds.includes('Node') && spec.detections.some((d) => !isNodeDetection(d.type))) {
      issue('detections', RULE_MESSAGES.nodePolicyOnlyNodeDetections);
    }
    const unseen = unseenDetections(
      spec.detections.map((d) => d.type),
      kinds,
    );
    if (unseen.length > 0) issue('detections', detectionKindMessage(unseen, kinds));
    if (spec.scaling !== undefined && !kinds.includes('Deployment')) {
      issue('scaling', RULE_MESSAGES.scalingNeedsDeployment);
    }
    const ticketTarget = spec.escalation?.levels.some((level) =>
      level.targets.some((target) => target.type === 'ticket'),
    );
    if (ticketTarget === true && spec.ticket === undefined) {
      issue('escalation', RULE_MESSAGES.ticketTargetNeedsTicket);
    }
  })
  .transform(({ cooldown, verification, approvers, detections, ...rest }) => ({
    ...rest,
    detections: detections.map(({ window, ...detection }) => ({ ...detection, windowMs: window })),
    cooldownMs: cooldown,
    verification: { windowMs: verification.window },
    approvers: approvers ?? { users: [], groups: [] },
  }));

/** The spec of a policy as the machines read it: defaults applied, durations in milliseconds. */
export type PolicySpec = z.output<typeof policySpecSchema>;
export type PolicySpecInput = z.input<typeof policySpecSchema>;
export type Detection = PolicySpec['detections'][number];
export type PolicySelector = PolicySpec['selector'];
export type LabelRequirement = NonNullable<PolicySelector['matchExpressions']>[number];
export type Scaling = NonNullable<PolicySpec['scaling']>;

/** One entry of status.recentActions (written by whoever records actions; bounded to 20). */
export const recentActionSchema = z.strictObject({
  time: z.string(),
  object: z.string().max(512),
  detection: z.string().max(64),
  action: z.string().max(64),
  outcome: z.enum(ACTION_OUTCOMES),
  incident: z.string().max(128).optional(),
  message: z.string().max(1024).optional(),
  decidedBy: z.string().max(128).optional(),
});
export type RecentAction = z.output<typeof recentActionSchema>;
