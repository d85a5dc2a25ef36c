/**
 * The scenario format of `kube-remedy simulate`, in zod: what a scenario file may say, with a
 * description on every field. The JSON Schema in schemas/scenario.schema.json is generated from
 * this (`kube-remedy simulate --schema`), and a unit test fails when the committed file is stale.
 *
 * This schema checks the shape; load.ts then gives meaning to what it accepted (durations to ms,
 * policies through `parsePolicy`, object keys against the objects) and reports every problem with
 * the file and line it comes from.
 */
import { z } from 'zod';
import { DURATION_PATTERN } from '../policy/vocabulary.ts';

/** `30s`, `5m`, `1h30m`, `1d`, or 0: a time from the start of the scenario, or a span. */
const duration = z
  .union([
    z.literal(0),
    z
      .string()
      .regex(
        DURATION_PATTERN,
        'expected a duration such as 30s, 5m, 1h30m or 1d12h (days first, then h, m, s, ms)',
      ),
  ])
  .meta({
    id: 'Duration',
    description: 'A duration: 30s, 5m, 1h30m, 1d12h (days first, then h, m, s, ms), or 0.',
  });

const objectKey = z
  .string()
  .regex(
    /^(Pod|Deployment)\/[^/\s]+\/[^/\s]+$|^Node\/[^/\s]+$/,
    'expected an object key: Pod/namespace/name, Deployment/namespace/name or Node/name',
  )
  .meta({
    id: 'ObjectKey',
    description:
      'The object, as kube-remedy keys it: Pod/namespace/name, Deployment/namespace/name or Node/name.',
  });

const person = z.string().min(1).max(254).meta({
  id: 'Person',
  description:
    'Who: a handle (alice) of the people section, checked against the approvers of the governing policy as the Slack endpoint checks them (by Slack ID, handle, e-mail or group).',
});

/** A Kubernetes object as written in a manifest; only kind and metadata.name are required. */
const manifest = z
  .looseObject({
    apiVersion: z.string().optional(),
    kind: z
      .enum(['Pod', 'Node', 'Deployment', 'HorizontalPodAutoscaler'])
      .describe(
        'Pods, Nodes and Deployments are watched; a HorizontalPodAutoscaler only tells the scaler to leave its Deployment alone.',
      ),
    metadata: z.looseObject({
      name: z.string().min(1).describe('metadata.name'),
      namespace: z
        .string()
        .min(1)
        .optional()
        .describe('metadata.namespace (default: default); Nodes have none.'),
      labels: z.record(z.string(), z.string()).optional(),
    }),
  })
  .meta({
    id: 'KubernetesObject',
    description:
      'A Kubernetes object as kubectl prints it (JSON or YAML). A missing status is filled in healthy: pods Running and Ready, nodes Ready, Deployments fully rolled out.',
  });

const policyManifest = z
  .looseObject({
    apiVersion: z.string().optional(),
    kind: z.literal('AutoRemediationPolicy'),
    metadata: z.looseObject({
      name: z.string().min(1),
      namespace: z.string().min(1),
    }),
    spec: z
      .record(z.string(), z.unknown())
      .describe(
        'The AutoRemediationPolicy spec (crds/autoremediationpolicies.yaml), validated as the API server would.',
      ),
  })
  .meta({ id: 'AutoRemediationPolicy', description: 'An AutoRemediationPolicy manifest.' });

const policyEntry = z.union([
  policyManifest,
  z
    .strictObject({
      file: z
        .string()
        .min(1)
        .describe('A YAML file of AutoRemediationPolicy documents, relative to the scenario file.'),
    })
    .describe('AutoRemediationPolicy manifests read from a file.'),
]);

const container = z
  .string()
  .min(1)
  .optional()
  .describe("The container's name (default: the pod's first container).");

/** A change a step may make: named in the JSON Schema, optional in the step. */
function change<T extends z.ZodType>(id: string, schema: T, description: string) {
  return schema.meta({ id, description }).optional();
}

/** What one step does: exactly one of these fields. */
const changes = {
  crashLoop: change(
    'CrashLoop',
    z.strictObject({
      container,
      restarts: z.number().int().min(0).describe('The restart count the kubelet reports.'),
      message: z
        .string()
        .optional()
        .describe('The waiting message (default: the kubelet back-off text).'),
    }),
    'The container is in CrashLoopBackOff with this many restarts.',
  ),
  oomKilled: change(
    'OomKilled',
    z.strictObject({
      container,
      restarts: z.number().int().min(0).describe('The restart count the kubelet reports.'),
    }),
    'The container was OOMKilled (exit code 137) and runs again.',
  ),
  imagePullBackOff: change(
    'ImagePullBackOff',
    z.strictObject({
      container,
      image: z.string().optional().describe('The image that cannot be pulled.'),
      message: z.string().optional(),
    }),
    'The container cannot pull its image (ImagePullBackOff).',
  ),
  healthy: change(
    'Healthy',
    z.literal(true),
    'Back to health: containers running and ready (restart counts kept, last terminations cleared), node conditions clear, the rollout complete.',
  ),
  condition: change(
    'Condition',
    z.strictObject({
      type: z
        .string()
        .min(1)
        .describe('MemoryPressure, DiskPressure, PIDPressure, Ready, Progressing…'),
      status: z.enum(['True', 'False', 'Unknown']),
      reason: z.string().optional(),
      message: z.string().optional(),
    }),
    'Sets one condition of a Node or Deployment (the others stay).',
  ),
  rolloutFailed: change(
    'RolloutFailed',
    z.strictObject({ message: z.string().optional() }),
    'The Deployment gave up its rollout: Progressing=False, ProgressDeadlineExceeded.',
  ),
  status: change(
    'Status',
    z.record(z.string(), z.unknown()),
    'Replaces the whole status of the object.',
  ),
  patch: change(
    'Patch',
    z.record(z.string(), z.unknown()),
    'A JSON merge patch (RFC 7386) applied to the whole object: null removes a field.',
  ),
  create: manifest.optional().describe('A new object appears.'),
  delete: change('Delete', z.literal(true), 'The object is deleted.'),
  policy: policyManifest
    .optional()
    .describe('An AutoRemediationPolicy is applied (added, or replaced by name).'),
  approve: change(
    'Approve',
    z.strictObject({ by: person }),
    'A person approves the open incident (the Slack button).',
  ),
  reject: change(
    'Reject',
    z.strictObject({ by: person, reason: z.string().optional() }),
    'A person rejects the remediation waiting for approval.',
  ),
  snooze: change(
    'Snooze',
    z.strictObject({ by: person, for: duration }),
    'A person snoozes the escalation (or extends an approval request) for a while.',
  ),
  ack: change(
    'Ack',
    z.strictObject({ by: person }),
    'A person acknowledges the escalation: the ladder stops.',
  ),
  escalate: change(
    'Escalate',
    z.strictObject({ by: person, reason: z.string().optional() }),
    'A person escalates now.',
  ),
  trigger: change(
    'Trigger',
    z.strictObject({ by: person, reason: z.string().optional() }),
    'A person runs `/kube-remedy trigger` on the object: a symptom still in its detection window is acted on now, without waiting for its threshold (the mode still applies).',
  ),
  merge: change(
    'Merge',
    z.strictObject({ by: person }),
    'A person merges the pull request the incident opened.',
  ),
  close: change(
    'Close',
    z.strictObject({ by: person }),
    'A person closes the pull request the incident opened, unmerged.',
  ),
};

export const CHANGE_FIELDS = Object.keys(changes) as (keyof typeof changes)[];
export type ChangeField = (typeof CHANGE_FIELDS)[number];

const stepSchema = z
  .strictObject({
    at: duration.describe('When, counted from the start of the scenario.'),
    object: objectKey
      .optional()
      .describe('The object the step is about (not for create and policy).'),
    ...changes,
  })
  .describe('One thing that happens at a time: exactly one change or person action.');

const thenStepSchema = z
  .strictObject({
    after: duration.describe('When, counted from the moment the effect reported back.'),
    object: objectKey
      .optional()
      .describe("The object the step is about (default: the effect's target)."),
    ...changes,
  })
  .describe('A step that follows an effect.');

const effectRuleSchema = z
  .strictObject({
    match: z
      .strictObject({
        object: objectKey.optional().describe('Only effects asked for by this object.'),
        kind: z
          .string()
          .min(1)
          .optional()
          .describe('Only effects of this kind: restartPod, rollback, scale, cordon, drain…'),
        nth: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe(
            'Only the nth effect matching the rest (1 = the first); every one when absent.',
          ),
      })
      .prefault({})
      .describe('Which effects the rule is about; the first rule that matches applies.'),
    result: z
      .enum(['done', 'failed', 'none'])
      .default('done')
      .describe(
        'done: it succeeds; failed: the worker reports an error; none: nothing ever comes back.',
      ),
    error: z.string().optional().describe('What the worker says when it fails.'),
    outcome: z.string().optional().describe('What the worker says when it succeeds.'),
    after: duration
      .optional()
      .describe('How long the worker takes (default: settings.effectDelay).'),
    applies: z
      .boolean()
      .default(true)
      .describe(
        'Whether a successful effect changes the objects as the real action would (restart: a fresh pod; cordon: unschedulable; drain: its pods evicted; rollback: the rollout completes; scale: the replicas). Turn off to script what happens with then.',
      ),
    then: z
      .array(thenStepSchema)
      .default([])
      .describe('What happens next, relative to the result.'),
  })
  .describe('How the effects a scenario asks for turn out.');

const metricSchema = z
  .strictObject({
    object: objectKey.describe('The Deployment whose signal this is.'),
    signal: z
      .string()
      .min(1)
      .describe("The signal's name in the governing policy's spec.scaling.signals."),
    values: z
      .array(
        z.strictObject({
          at: duration.describe('From when (counted from the start of the scenario).'),
          value: z
            .number()
            .nullable()
            .describe(
              'The raw query value from then on (before any per-replica division); null: no data.',
            ),
        }),
      )
      .min(1)
      .describe('The value over time: each holds until the next.'),
  })
  .describe("What one scaling signal's query returns over time.");

const personSchema = z
  .strictObject({
    slackId: z
      .string()
      .min(1)
      .optional()
      .describe('The Slack user ID (default: U + the handle, upper-cased).'),
    email: z.string().min(3).optional(),
    groups: z
      .array(z.string().min(1))
      .default([])
      .describe('Slack user groups (handles or S… IDs) the person belongs to.'),
  })
  .describe('A person of the scenario, as Slack knows them.');

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional().describe('The JSON Schema of this file, for editors.'),
    name: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        'expected a lower-case name such as crash-loop-restart',
      )
      .describe('A short name, lower case with dashes.'),
    description: z.string().min(1).describe('What the scenario shows, in a sentence or two.'),
    start: z
      .string()
      .regex(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
        'expected a UTC time such as 2026-01-05T09:00:00Z',
      )
      .optional()
      .describe('When the scenario starts, UTC (default: 2026-01-05T09:00:00Z).'),
    duration: duration.optional().describe('How long the scenario runs (default: 1h).'),
    offCluster: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Why this scenario cannot be played on a real cluster, where the scenario-parity tests play every other example and compare what happens with what simulate says.',
      ),
    settings: z
      .strictObject({
        namespace: z
          .string()
          .min(1)
          .default('kube-remedy-system')
          .describe("kube-remedy's namespace: only its policies may govern Nodes."),
        effectDelay: duration
          .default('5s')
          .describe('How long an effect takes to report back, unless a rule says otherwise.'),
        scalerInterval: duration.default('15s').describe('Time between two rounds of the scaler.'),
      })
      .prefault({}),
    policies: z
      .array(policyEntry)
      .default([])
      .describe('The AutoRemediationPolicies in force at the start.'),
    objects: z.array(manifest).default([]).describe('The objects that exist at the start.'),
    people: z
      .record(z.string(), personSchema)
      .default({})
      .describe('The people who act, by handle, with their Slack identity and groups.'),
    timeline: z.array(stepSchema).default([]).describe('What happens, in order of time.'),
    metrics: z.array(metricSchema).default([]).describe('Scaling signals over time.'),
    effects: z
      .array(effectRuleSchema)
      .default([])
      .describe(
        'How effects turn out; every effect not matched succeeds after settings.effectDelay.',
      ),
  })
  .describe(
    'A kube-remedy simulation scenario: policies, objects, and what happens to them over time.',
  );

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioDocument = z.output<typeof scenarioSchema>;
export type StepDocument = z.output<typeof stepSchema>;
export type ThenStepDocument = z.output<typeof thenStepSchema>;

/** The JSON Schema of scenario files (schemas/scenario.schema.json). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    ...schema,
    $id: 'https://kube-remedy.io/schemas/scenario.schema.json',
    title: 'kube-remedy simulation scenario',
  };
}
