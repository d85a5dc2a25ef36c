import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  analyzeText,
  formatJson,
  formatTable,
  readObjects,
} from '../../../src/cli/commands/analyze.ts';
import { cleanEnv, runCli, startCli } from '../../support/cli.ts';

const crashLoopingPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'api-1', namespace: 'shop' },
  spec: { containers: [{ name: 'api' }] },
  status: {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'api',
        restartCount: 12,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: 'back-off 5m0s restarting failed container',
          },
        },
      },
    ],
  },
};

const readyNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'worker-1' },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
};

const stuckDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 2}
status:
  observedGeneration: 2
  conditions:
    - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: 'ReplicaSet "web-6b7c9" has timed out progressing.'}
`;

async function inTempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-remedy-analyze-'));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('reading objects for analysis', () => {
  it('reads a List as kubectl writes it, and typed lists whose items leave out their kind', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [crashLoopingPod, readyNode] };
    expect(readObjects(JSON.stringify(list), 'in.json').map((o) => o.kind)).toEqual([
      'Pod',
      'Node',
    ]);
    const { kind: _kind, ...untyped } = readyNode;
    const nodeList = { apiVersion: 'v1', kind: 'NodeList', items: [untyped] };
    expect(readObjects(JSON.stringify(nodeList), 'in.json').map((o) => o.kind)).toEqual(['Node']);
  });

  it('reads every document of multi-document YAML, skipping empty ones', () => {
    const text = `${JSON.stringify(crashLoopingPod)}\n---\n${stuckDeployment}\n---\n`;
    expect(readObjects(text, 'in.yaml').map((o) => o.kind)).toEqual(['Pod', 'Deployment']);
  });

  it.each([
    [
      'kind: Service\nmetadata: {name: x}',
      'in.yaml: expected a Pod, Node or Deployment (or a List of them), got kind "Service"',
    ],
    [
      '- 1\n- 2',
      'in.yaml: expected a Pod, Node or Deployment (or a List of them), got a YAML sequence',
    ],
    ['kind: Pod\nmetadata: {}', 'in.yaml: a Pod needs metadata.name'],
    ['', 'in.yaml: expected a Pod, Node or Deployment (or a List of them), found nothing'],
    [
      'kind: List\nitems: [{kind: ConfigMap, metadata: {name: c}}]',
      'in.yaml, items[0]: expected a Pod, Node or Deployment (or a List of them), got kind "ConfigMap"',
    ],
    ['a: [', 'in.yaml: not valid YAML or JSON:'],
  ])('rejects %j, saying where and what was expected', (text, message) => {
    expect(() => readObjects(text, 'in.yaml')).toThrow(message);
  });

  it('says which document and item is wrong', () => {
    const text = `${JSON.stringify(readyNode)}\n---\nkind: List\nitems: [{kind: Pod, metadata: {name: ok}}, {kind: Job}]`;
    expect(() => readObjects(text, 'in.yaml')).toThrow(
      'in.yaml: document 2, items[1]: expected a Pod, Node or Deployment (or a List of them), got kind "Job"',
    );
  });
});

describe('printing what the analyzers found', () => {
  const results = analyzeText(
    `${JSON.stringify({ kind: 'List', items: [crashLoopingPod, readyNode] })}\n---\n${stuckDeployment}`,
    'in.yaml',
  );

  it('prints one aligned row per detection, with a summary', () => {
    expect(formatTable(results)).toBe(
      [
        'KIND        NAMESPACE  NAME      DETECTION         REASON',
        'Pod         shop       api-1     CrashLoopBackOff  container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container (restarts: 12)',
        'Node        -          worker-1  -                 no problems found',
        'Deployment  shop       web       RolloutFailed     rollout failed: condition Progressing is False (ProgressDeadlineExceeded): ReplicaSet "web-6b7c9" has timed out progressing.',
        '',
        '3 objects, 2 with problems',
        '',
      ].join('\n'),
    );
  });

  it('prints one JSON array with a null namespace for nodes', () => {
    expect(JSON.parse(formatJson(results))).toEqual([
      {
        kind: 'Pod',
        namespace: 'shop',
        name: 'api-1',
        detections: [
          {
            type: 'CrashLoopBackOff',
            reason:
              'container "api" is in CrashLoopBackOff: back-off 5m0s restarting failed container (restarts: 12)',
          },
        ],
      },
      { kind: 'Node', namespace: null, name: 'worker-1', detections: [] },
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        detections: [expect.objectContaining({ type: 'RolloutFailed' })],
      },
    ]);
  });
});

describe('kube-remedy analyze', () => {
  it('analyzes a file and prints a table', async () => {
    const file = await inTempFile('pods.json', JSON.stringify(crashLoopingPod));
    const result = await runCli(['analyze', '-f', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^KIND {2}NAMESPACE {2}NAME/);
    expect(result.stdout).toContain('CrashLoopBackOff');
  });

  it('reads standard input with -f - and prints JSON with -o json', async () => {
    const child = startCli(['analyze', '-f', '-', '-o', 'json'], cleanEnv());
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.end(stuckDeployment);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: 'web' }),
    ]);
  });

  it('exits 2 naming the file and what was expected', async () => {
    const file = await inTempFile('service.yaml', 'kind: Service\nmetadata: {name: web}\n');
    const result = await runCli(['analyze', '-f', file]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `error: ${file}: expected a Pod, Node or Deployment (or a List of them), got kind "Service"\n`,
    );
  });

  it('exits 2 when the file cannot be read', async () => {
    const result = await runCli(['analyze', '-f', '/nonexistent/pods.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('/nonexistent/pods.yaml: cannot read it (ENOENT)');
  });
});
