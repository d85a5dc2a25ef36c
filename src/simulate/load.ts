/**
 * Reading scenario files: YAML (or JSON) checked against the scenario schema, then given meaning:
 * durations in ms, policies through the same `parsePolicy` the agent uses, object keys checked
 * against the objects, helpers against the kinds they apply to. Every problem is reported with the
 * file, line and column it comes from, and what was expected (`ScenarioError`, exit status 2).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RemediationEffect } from '../machines/index.ts';
import {
  objectKey,
  parsePolicy,
  policySpecSchema,
  type Policy,
  type PolicyResource,
} from '../policy/index.ts';
import { parseDuration } from '../util/duration.ts';
import type {
  Change,
  EffectRule,
  KubeManifest,
  MetricSeries,
  Person,
  Scenario,
  Step,
  ThenStep,
} from './model.ts';
import {
  CHANGE_FIELDS,
  scenarioSchema,
  type ChangeField,
  type ScenarioDocument,
  type StepDocument,
  type ThenStepDocument,
} from './schema.ts';
import {
  readDocuments,
  ScenarioError,
  type Path,
  type Problem,
  type SourceDocument,
} from './source.ts';

/** When scenarios start unless they say otherwise. */
export const DEFAULT_START = Date.UTC(2026, 0, 5, 9, 0, 0);
export const DEFAULT_DURATION_MS = 60 * 60_000;

/** The effects a worker reports back on, which effect rules may shape (notifications report nothing). */
const EFFECT_KINDS: readonly RemediationEffect['kind'][] = [
  'restartPod',
  'deletePod',
  'evictPod',
  'rolloutRestart',
  'cordon',
  'uncordon',
  'drain',
  'taint',
  'untaint',
  'rollback',
  'scale',
  'openPullRequest',
];

/** Which kinds each helper applies to. */
const HELPER_KINDS: Partial<Record<ChangeField, readonly string[]>> = {
  crashLoop: ['Pod'],
  oomKilled: ['Pod'],
  imagePullBackOff: ['Pod'],
  condition: ['Node', 'Deployment'],
  rolloutFailed: ['Deployment'],
};

export type ReadFile = (path: string) => string;

const readUtf8: ReadFile = (path) => readFileSync(path, 'utf8');

function ms(value: string | 0): number {
  if (value === 0) return 0;
  const parsed = parseDuration(value);
  // The schema's pattern already accepted it; parseDuration agrees on every such string.
  return parsed.ok ? parsed.ms : 0;
}

function keyOf(object: KubeManifest): string {
  const namespace = object.kind === 'Node' ? undefined : (object.metadata.namespace ?? 'default');
  return objectKey({ kind: object.kind as 'Pod', namespace, name: object.metadata.name });
}

/** Reads AutoRemediationPolicy documents from a file (for `--policy` and `policies: [{file}]`). */
export function loadPolicyFile(file: string, read: ReadFile = readUtf8): Policy[] {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ScenarioError([
      { file, line: 1, column: 1, path: '', message: `cannot read it (${reason})` },
    ]);
  }
  const problems: Problem[] = [];
  const policies: Policy[] = [];
  for (const document of readDocuments(text, file)) {
    const value = document.value();
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (kind !== 'AutoRemediationPolicy') {
      problems.push(
        document.problem(
          ['kind'],
          `expected an AutoRemediationPolicy, got ${JSON.stringify(kind ?? null)}`,
        ),
      );
      continue;
    }
    const parsed = policyAt(document, [], value as PolicyResource, problems);
    if (parsed) policies.push(parsed);
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  if (policies.length === 0) {
    throw new ScenarioError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'expected AutoRemediationPolicy documents, found none',
      },
    ]);
  }
  return policies;
}

/** Parses one policy manifest at `path` of a document; problems are reported where they are. */
function policyAt(
  document: SourceDocument,
  path: Path,
  resource: PolicyResource,
  problems: Problem[],
): Policy | undefined {
  const metadata = resource.metadata;
  if (typeof metadata?.name !== 'string' || typeof metadata.namespace !== 'string') {
    problems.push(
      document.problem(
        [...path, 'metadata'],
        'a policy needs metadata.name and metadata.namespace',
      ),
    );
    return undefined;
  }
  const parsed = parsePolicy({ ...resource, metadata: { generation: 1, ...metadata } });
  if (parsed.ok) return parsed.policy;
  // The same schema parsePolicy uses, for the paths of its problems.
  const again = policySpecSchema.safeParse(resource.spec);
  if (!again.success) {
    problems.push(...document.issues(again.error.issues, [...path, 'spec'], policySpecSchema));
  } else {
    for (const problem of parsed.problems) problems.push(document.problem(path, problem));
  }
  return undefined;
}

interface Context {
  document: SourceDocument;
  scenario: ScenarioDocument;
  start: number;
  end: number;
  problems: Problem[];
  /** Every object key that exists at some time, with its kind's manifest (initial or created). */
  known: Map<string, KubeManifest>;
}

function where(context: Context, path: Path): string {
  const problem = context.document.problem(path, '');
  return `${problem.file}:${problem.line}`;
}

function changeOf(
  context: Context,
  step: StepDocument | ThenStepDocument,
  path: Path,
  allowMissingObject: boolean,
): Change | undefined {
  const present = CHANGE_FIELDS.filter((field) => step[field] !== undefined);
  const { document, problems } = context;
  if (present.length !== 1) {
    problems.push(
      document.problem(
        path,
        present.length === 0
          ? `expected one of ${CHANGE_FIELDS.join(', ')}`
          : `expected one change per step, got ${present.join(' and ')}`,
      ),
    );
    return undefined;
  }
  const field = present[0] as ChangeField;
  const names = field === 'create' || field === 'policy';
  if (names && step.object !== undefined) {
    problems.push(
      document.problem(
        [...path, 'object'],
        `${field} names its object in its manifest; leave object out`,
      ),
    );
    return undefined;
  }
  if (!names && step.object === undefined && !allowMissingObject) {
    problems.push(
      document.problem(
        path,
        `expected object: the key of the object ${field} is about, e.g. Pod/shop/web-1`,
      ),
    );
    return undefined;
  }
  if (step.object !== undefined && !names) {
    const target = context.known.get(step.object);
    if (target === undefined) {
      problems.push(
        document.problem(
          [...path, 'object'],
          `no object ${step.object} in objects or created by a step`,
        ),
      );
      return undefined;
    }
    const kinds = HELPER_KINDS[field];
    if (kinds !== undefined && !kinds.includes(target.kind)) {
      problems.push(
        document.problem(
          [...path, field],
          `${field} applies to ${kinds.join(' or ')}, not to a ${target.kind}`,
        ),
      );
      return undefined;
    }
    const container = (step[field] as { container?: string } | undefined)?.container;
    const containers = (target.spec?.['containers'] as { name?: string }[] | undefined) ?? [];
    if (
      container !== undefined &&
      containers.length > 0 &&
      !containers.some((c) => c.name === container)
    ) {
      problems.push(
        document.problem(
          [...path, field, 'container'],
          `${step.object} has no container "${container}" (it has ${containers.map((c) => `"${c.name ?? ''}"`).join(', ')})`,
        ),
      );
      return undefined;
    }
  }
  switch (field) {
    case 'crashLoop':
    case 'oomKilled':
    case 'imagePullBackOff':
    case 'rolloutFailed':
      return { type: field, ...(step[field] as object) } as Change;
    case 'healthy':
      return { type: 'healthy' };
    case 'delete':
      return { type: 'delete' };
    case 'condition':
      return { type: 'condition', condition: step.condition as NonNullable<typeof step.condition> };
    case 'status':
      return { type: 'status', status: step.status ?? {} };
    case 'patch':
      return { type: 'patch', patch: step.patch ?? {} };
    case 'create':
      return { type: 'create', object: withDefaults(step.create as KubeManifest) };
    case 'policy': {
      const policy = policyAt(
        document,
        [...path, 'policy'],
        step.policy as PolicyResource,
        problems,
      );
      return policy && { type: 'policy', policy };
    }
    case 'approve':
    case 'ack':
    case 'merge':
    case 'close':
      return { type: field, by: (step[field] as { by: string }).by };
    case 'reject':
    case 'escalate':
    case 'trigger': {
      const value = step[field] as { by: string; reason?: string };
      return { type: field, by: value.by, reason: value.reason };
    }
    case 'snooze': {
      const durationMs = ms(step.snooze?.for ?? 0);
      if (durationMs <= 0) {
        problems.push(
          document.problem([...path, 'snooze', 'for'], 'expected a duration longer than 0'),
        );
        return undefined;
      }
      return { type: 'snooze', by: step.snooze?.by ?? '', durationMs };
    }
  }
}

/**
 * An object as the simulation keeps it: uid and resourceVersion filled in, namespaced kinds in
 * `default` unless they say otherwise. Missing statuses are filled by the world (world.ts).
 */
function withDefaults(object: KubeManifest): KubeManifest {
  const namespaced = object.kind !== 'Node';
  const namespace = namespaced ? (object.metadata.namespace ?? 'default') : undefined;
  return {
    ...object,
    metadata: {
      ...object.metadata,
      ...(namespace === undefined ? {} : { namespace }),
    },
  };
}

function loadPolicies(context: Context, baseDir: string, read: ReadFile): Policy[] {
  const { document, scenario, problems } = context;
  const policies: Policy[] = [];
  scenario.policies.forEach((entry, i) => {
    if ('file' in entry && typeof entry.file === 'string') {
      const file = resolve(baseDir, entry.file);
      try {
        policies.push(...loadPolicyFile(file, read));
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        problems.push(...error.problems);
      }
      return;
    }
    const policy = policyAt(document, ['policies', i], entry as PolicyResource, problems);
    if (policy) policies.push(policy);
  });
  const seen = new Set<string>();
  policies.forEach((policy) => {
    const key = `${policy.ref.namespace}/${policy.ref.name}`;
    if (seen.has(key))
      problems.push(document.problem(['policies'], `policy ${key} is given twice`));
    seen.add(key);
  });
  return policies;
}

function loadSteps(context: Context): Step[] {
  const { document, scenario, start, end, problems } = context;
  const steps: (Step & { index: number })[] = [];
  scenario.timeline.forEach((step, index) => {
    const path = ['timeline', index];
    const at = start + ms(step.at);
    if (at > end) {
      problems.push(
        document.problem(
          [...path, 'at'],
          `after the end of the scenario (it runs for ${String(scenario.duration ?? '1h')})`,
        ),
      );
      return;
    }
    const change = changeOf(context, step, path, false);
    if (change === undefined) return;
    const object = change.type === 'create' ? null : (step.object ?? null);
    steps.push({ at, object, change, source: where(context, path), index });
  });
  // In order of time; steps at the same time in the order they were written.
  return steps
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ index: _index, ...step }) => step);
}

function loadEffects(context: Context): EffectRule[] {
  const { document, scenario, problems } = context;
  return scenario.effects.map((rule, i) => {
    const path = ['effects', i];
    const { match } = rule;
    if (match.kind !== undefined && !(EFFECT_KINDS as readonly string[]).includes(match.kind)) {
      problems.push(
        document.problem(
          [...path, 'match', 'kind'],
          `expected an effect kind that reports back: ${EFFECT_KINDS.join(', ')}`,
        ),
      );
    }
    if (match.object !== undefined && !context.known.has(match.object)) {
      problems.push(
        document.problem(
          [...path, 'match', 'object'],
          `no object ${match.object} in objects or created by a step`,
        ),
      );
    }
    if (rule.result !== 'failed' && rule.error !== undefined) {
      problems.push(document.problem([...path, 'error'], 'error goes with result: failed'));
    }
    const then: ThenStep[] = [];
    rule.then.forEach((step, j) => {
      const stepPath = [...path, 'then', j];
      const change = changeOf(context, step, stepPath, true);
      if (change === undefined) return;
      then.push({
        afterMs: ms(step.after),
        object: change.type === 'create' ? null : (step.object ?? null),
        change,
        source: where(context, stepPath),
      });
    });
    return {
      object: match.object,
      kind: match.kind,
      nth: match.nth,
      result: rule.result,
      error: rule.error,
      outcome: rule.outcome,
      afterMs: rule.after === undefined ? undefined : ms(rule.after),
      applies: rule.applies,
      then,
      source: where(context, path),
    };
  });
}

function loadMetrics(context: Context): MetricSeries[] {
  const { document, scenario, start, problems } = context;
  return scenario.metrics.map((metric, i) => {
    const path = ['metrics', i];
    if (!metric.object.startsWith('Deployment/')) {
      problems.push(
        document.problem(
          [...path, 'object'],
          'expected a Deployment: scaling signals belong to Deployments',
        ),
      );
    } else if (!context.known.has(metric.object)) {
      problems.push(
        document.problem(
          [...path, 'object'],
          `no object ${metric.object} in objects or created by a step`,
        ),
      );
    }
    let previous = -1;
    const values = metric.values.map((point, j) => {
      const at = start + ms(point.at);
      if (at <= previous) {
        problems.push(
          document.problem(
            [...path, 'values', j, 'at'],
            'expected values in increasing order of time',
          ),
        );
      }
      previous = at;
      return { at, value: point.value };
    });
    return { object: metric.object, signal: metric.signal, values };
  });
}

function loadPeople(scenario: ScenarioDocument): Map<string, Person> {
  const people = new Map<string, Person>();
  for (const [handle, person] of Object.entries(scenario.people)) {
    people.set(handle, {
      handle,
      slackId: person.slackId ?? `U${handle.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
      email: person.email,
      groups: person.groups,
    });
  }
  return people;
}

/** A scenario from its text; `file` names it in messages and anchors relative policy files. */
export function parseScenario(text: string, file: string, read: ReadFile = readUtf8): Scenario {
  const documents = readDocuments(text, file);
  const [document, extra] = documents;
  if (document === undefined) {
    throw new ScenarioError([
      { file, line: 1, column: 1, path: '', message: 'expected a scenario, found an empty file' },
    ]);
  }
  if (extra !== undefined) {
    throw new ScenarioError([extra.problem([], 'expected one scenario document per file')]);
  }
  const parsed = scenarioSchema.safeParse(document.value());
  if (!parsed.success)
    throw new ScenarioError(document.issues(parsed.error.issues, [], scenarioSchema));
  const scenario = parsed.data;
  const start = scenario.start === undefined ? DEFAULT_START : Date.parse(scenario.start);
  const durationMs = scenario.duration === undefined ? DEFAULT_DURATION_MS : ms(scenario.duration);
  const problems: Problem[] = [];
  if (!Number.isFinite(start))
    problems.push(document.problem(['start'], 'expected a valid UTC time'));
  if (durationMs <= 0)
    problems.push(document.problem(['duration'], 'expected a duration longer than 0'));

  const known = new Map<string, KubeManifest>();
  const objects: KubeManifest[] = [];
  scenario.objects.forEach((raw, i) => {
    const object = withDefaults(raw);
    const key = keyOf(object);
    if (known.has(key)) problems.push(document.problem(['objects', i], `${key} is given twice`));
    known.set(key, object);
    objects.push(object);
  });
  scenario.timeline.forEach((step) => {
    if (step.create !== undefined) {
      const object = withDefaults(step.create);
      if (!known.has(keyOf(object))) known.set(keyOf(object), object);
    }
  });

  const context: Context = { document, scenario, start, end: start + durationMs, problems, known };
  const policies = loadPolicies(context, dirname(resolve(file)), read);
  const steps = loadSteps(context);
  const scalerIntervalMs = ms(scenario.settings.scalerInterval);
  if (scalerIntervalMs <= 0) {
    problems.push(
      document.problem(['settings', 'scalerInterval'], 'expected a duration longer than 0'),
    );
  }
  const metrics = loadMetrics(context);
  const effects = loadEffects(context);
  if (problems.length > 0) {
    throw new ScenarioError(
      [...problems].sort(
        (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
      ),
    );
  }
  return {
    name: scenario.name,
    description: scenario.description.trim(),
    source: file,
    offCluster: scenario.offCluster ?? null,
    start,
    end: start + durationMs,
    namespace: scenario.settings.namespace,
    effectDelayMs: ms(scenario.settings.effectDelay),
    scalerIntervalMs,
    policies,
    objects,
    people: loadPeople(scenario),
    steps,
    metrics,
    effects,
    replay: false,
  };
}

export function loadScenarioFile(file: string, read: ReadFile = readUtf8): Scenario {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ScenarioError([
      { file, line: 1, column: 1, path: '', message: `cannot read it (${reason})` },
    ]);
  }
  return parseScenario(text, file, read);
}
