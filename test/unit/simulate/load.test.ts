import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  formatProblem,
  loadPolicyFile,
  parseScenario,
  scenarioJsonSchema,
  ScenarioError,
} from '../../../src/simulate/index.ts';
import { parseRecording } from '../../../src/simulate/recording.ts';

const POLICY = `
  - apiVersion: remedy.kube-remedy.io/v1alpha1
    kind: AutoRemediationPolicy
    metadata: { name: restart, namespace: shop }
    spec:
      selector: { kinds: [Pod] }
      mode: auto
      detections:
        - { type: CrashLoopBackOff, action: restartPod }`;

const POD = `
  - kind: Pod
    metadata: { name: web-1, namespace: shop }
    spec: { containers: [{ name: web }] }`;

/** A scenario with the given sections after its name and description. */
function scenario(rest: string): string {
  return `name: test\ndescription: a test\n${rest}\n`;
}

const files: Record<string, string> = {
  'not-a-policy.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n',
};
const read = (path: string): string => {
  const name = path.split('/').pop() ?? '';
  const text = files[name];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

function problemsOf(text: string): string[] {
  try {
    parseScenario(text, 'scenario.yaml', read);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    return error.problems.map((p) => formatProblem({ ...p, file: p.file.split('/').pop() ?? '' }));
  }
  throw new Error('expected the scenario to be refused');
}

describe('bad scenario input', () => {
  it.each([
    [
      'YAML that does not parse',
      'name: x\n  description: [\n',
      'scenario.yaml:1:7: not valid YAML: Nested mappings are not allowed in compact mappings',
    ],
    ['an empty file', '', 'scenario.yaml:1:1: expected a scenario, found an empty file'],
    [
      'two documents',
      'name: a\ndescription: b\n---\nname: c\n',
      'scenario.yaml:4:1: expected one scenario document per file',
    ],
    [
      'a missing description',
      'name: test\n',
      'scenario.yaml:1:1: description: missing: expected a string',
    ],
    [
      'a name with capitals',
      'name: Crash Loop\ndescription: x\n',
      'scenario.yaml:1:7: name: expected a lower-case name such as crash-loop-restart',
    ],
    [
      'a misspelt field',
      scenario(
        `objects:${POD}\ntimeline:\n  - at: 1m\n    object: Pod/shop/web-1\n    crashloop: { restarts: 2 }`,
      ),
      'scenario.yaml:10:5: timeline[0].crashloop: unknown field (did you mean crashLoop?)',
    ],
    [
      'a time that is not a duration',
      scenario(
        `objects:${POD}\ntimeline:\n  - { at: 5 minutes, object: Pod/shop/web-1, healthy: true }`,
      ),
      'scenario.yaml:8:11: timeline[0].at: expected a duration such as 30s, 5m, 1h30m or 1d12h (days first, then h, m, s, ms)',
    ],
    [
      'a negative restart count',
      scenario(
        `objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/web-1, crashLoop: { restarts: -1 } }`,
      ),
      'scenario.yaml:8:62: timeline[0].crashLoop.restarts: Too small: expected number to be >=0',
    ],
    [
      'a step with two changes',
      scenario(
        `objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/web-1, healthy: true, delete: true }`,
      ),
      'scenario.yaml:8:5: timeline[0]: expected one change per step, got healthy and delete',
    ],
    [
      'a step with no change',
      scenario(`objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/web-1 }`),
      'scenario.yaml:8:5: timeline[0]: expected one of crashLoop, oomKilled, imagePullBackOff, healthy, condition, rolloutFailed, status, patch, create, delete, policy, approve, reject, snooze, ack, escalate, trigger, merge, close',
    ],
    [
      'a step about an object that never exists',
      scenario(`objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/web-2, healthy: true }`),
      'scenario.yaml:8:23: timeline[0].object: no object Pod/shop/web-2 in objects or created by a step',
    ],
    [
      'an object key in the wrong form',
      scenario(`timeline:\n  - { at: 1m, object: shop/web-1, healthy: true }`),
      'scenario.yaml:4:23: timeline[0].object: expected an object key: Pod/namespace/name, Deployment/namespace/name or Node/name',
    ],
    [
      'a node condition on a pod',
      scenario(
        `objects:${POD}\ntimeline:\n  - at: 1m\n    object: Pod/shop/web-1\n    condition: { type: Ready, status: 'False' }`,
      ),
      'scenario.yaml:10:16: timeline[0].condition: condition applies to Node or Deployment, not to a Pod',
    ],
    [
      'a container the pod does not have',
      scenario(
        `objects:${POD}\ntimeline:\n  - at: 1m\n    object: Pod/shop/web-1\n    crashLoop: { container: api, restarts: 1 }`,
      ),
      'scenario.yaml:10:29: timeline[0].crashLoop.container: Pod/shop/web-1 has no container "api" (it has "web")',
    ],
    [
      'a step after the end',
      scenario(
        `duration: 10m\nobjects:${POD}\ntimeline:\n  - { at: 11m, object: Pod/shop/web-1, healthy: true }`,
      ),
      'scenario.yaml:9:11: timeline[0].at: after the end of the scenario (it runs for 10m)',
    ],
    [
      'an object given twice',
      scenario(`objects:${POD}${POD}`),
      'scenario.yaml:7:5: objects[1]: Pod/shop/web-1 is given twice',
    ],
    [
      'create naming an object',
      scenario(
        `timeline:\n  - at: 1m\n    object: Pod/shop/web-1\n    create: { kind: Pod, metadata: { name: web-1, namespace: shop } }`,
      ),
      'scenario.yaml:5:13: timeline[0].object: create names its object in its manifest; leave object out',
    ],
    [
      'a snooze of no time',
      scenario(
        `objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/web-1, snooze: { by: alice, for: 0 } }`,
      ),
      'scenario.yaml:8:65: timeline[0].snooze.for: expected a duration longer than 0',
    ],
    [
      'an unsupported kind of object',
      scenario(`objects:\n  - { kind: Service, metadata: { name: web } }`),
      'scenario.yaml:4:13: objects[0].kind: Invalid option: expected one of "Pod"|"Node"|"Deployment"|"HorizontalPodAutoscaler"',
    ],
    [
      'a policy the API server would refuse',
      scenario(`policies:${POLICY.replace('action: restartPod', 'action: drain')}`),
      'scenario.yaml:11:45: policies[0].spec.detections[0].action: action drain cannot remediate CrashLoopBackOff: action drain is only valid for node detections (MemoryPressure, DiskPressure, PIDPressure, NotReady)',
    ],
    [
      'a misspelt field of a policy',
      scenario(`policies:${POLICY.replace('detections:', 'detection:')}`),
      'scenario.yaml:10:7: policies[0].spec.detection: unknown field (did you mean detections?)',
    ],
    [
      'a policy in approval mode without approvers',
      scenario(`policies:${POLICY.replace('mode: auto', 'mode: approval')}`),
      'scenario.yaml:9:13: policies[0].spec.mode: mode approval needs at least one approver: add a user to spec.approvers.users or a group to spec.approvers.groups',
    ],
    [
      'a policy without a namespace',
      scenario(`policies:${POLICY.replace('namespace: shop', 'uid: x')}`),
      'scenario.yaml:6:15: policies[0].metadata.namespace: missing: expected a string',
    ],
    [
      'a policy file that does not exist',
      scenario('policies:\n  - file: ../policies/missing.yaml'),
      'missing.yaml:1:1: cannot read it (ENOENT)',
    ],
    [
      'a policy file of something else',
      scenario('policies:\n  - file: not-a-policy.yaml'),
      'not-a-policy.yaml:2:7: kind: expected an AutoRemediationPolicy, got "ConfigMap"',
    ],
    [
      'a metric of a pod',
      scenario(
        `objects:${POD}\nmetrics:\n  - { object: Pod/shop/web-1, signal: cpu, values: [{ at: 0, value: 1 }] }`,
      ),
      'scenario.yaml:8:15: metrics[0].object: expected a Deployment: scaling signals belong to Deployments',
    ],
    [
      'an effect kind that does not exist',
      scenario('effects:\n  - { match: { kind: reboot }, result: failed }'),
      'scenario.yaml:4:22: effects[0].match.kind: expected an effect kind that reports back: restartPod, deletePod, evictPod, rolloutRestart, cordon, uncordon, drain, taint, untaint, rollback, scale, openPullRequest',
    ],
    [
      'an error on an effect that succeeds',
      scenario('effects:\n  - { match: { kind: restartPod }, error: boom }'),
      'scenario.yaml:4:43: effects[0].error: error goes with result: failed',
    ],
  ])('%s: says where and what was expected', (_name, text, expected) => {
    expect(problemsOf(text)).toContain(expected);
  });

  it('reports every problem of a file at once, in order of lines', () => {
    const problems = problemsOf(
      scenario(
        `objects:${POD}\ntimeline:\n  - { at: 1m, object: Pod/shop/nope, healthy: true }\n  - { at: 2m, object: Pod/shop/web-1, condition: { type: Ready, status: 'True' } }`,
      ),
    );
    expect(problems.map((p) => p.split(': ')[0])).toEqual([
      'scenario.yaml:8:23',
      'scenario.yaml:9:50',
    ]);
  });
});

describe('policy files given with --policy', () => {
  it('are read with the line of each problem', () => {
    files['bad-policy.yaml'] =
      `apiVersion: remedy.kube-remedy.io/v1alpha1\nkind: AutoRemediationPolicy\nmetadata: { name: p, namespace: shop }\nspec:\n  mode: sometimes\n  detections: [{ type: CrashLoopBackOff, action: restartPod }]\n`;
    expect(() => loadPolicyFile('bad-policy.yaml', read)).toThrow(
      'bad-policy.yaml:5:9: spec.mode: Invalid option: expected one of "auto"|"approval"|"dryRun"|"gitops"',
    );
  });

  it('may hold several policies', () => {
    files['two.yaml'] =
      `${POLICY.replace(/^\n {2}- /, '').replace(/\n {4}/g, '\n')}\n---\n${POLICY.replace(
        /^\n {2}- /,
        '',
      )
        .replace(/\n {4}/g, '\n')
        .replace('name: restart', 'name: other')}\n`;
    expect(loadPolicyFile('two.yaml', read).map((p) => p.ref.name)).toEqual(['restart', 'other']);
  });
});

describe('bad recordings', () => {
  it.each([
    ['an empty file', '', 'rec.jsonl:1:1: expected a kube-remedy recording, found an empty file'],
    [
      'no header',
      '{"at":1,"type":"upsert","object":{}}',
      'rec.jsonl:1:1: expected the header of a kube-remedy recording',
    ],
    [
      'another version',
      '{"recording":"kube-remedy","version":2,"startedAt":0}',
      'rec.jsonl:1:1: expected a recording of version 1, got 2',
    ],
    [
      'a line that is not JSON',
      '{"recording":"kube-remedy","version":1,"startedAt":0}\n{"at":1,',
      'rec.jsonl:2:1: not a JSON line',
    ],
    [
      'an event without its object',
      '{"recording":"kube-remedy","version":1,"startedAt":0}\n\n{"at":1,"type":"upsert"}',
      'rec.jsonl:3:1: expected an event',
    ],
  ])('%s: says which line', (_name, text, expected) => {
    expect(() => parseRecording(text, 'rec.jsonl')).toThrow(expected);
  });
});

describe('the JSON Schema of scenarios', () => {
  it('is what the zod schema generates (kube-remedy simulate --schema > schemas/scenario.schema.json)', () => {
    const committed: unknown = JSON.parse(
      readFileSync(new URL('../../../schemas/scenario.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(scenarioJsonSchema());
  });
});
