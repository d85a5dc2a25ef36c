import { describe, expect, it } from 'vitest';
import {
  detectStyle,
  parseDocuments,
  readScalar,
  setScalar,
  YamlEditError,
} from '../../../src/gitops/yaml-edit.ts';

/** The lines that differ between two texts of the same length in lines, as [line, before, after]. */
function changedLines(before: string, after: string): [number, string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) =>
    line === b[i] ? [] : [[i + 1, line, b[i] as string] as [number, string, string]],
  );
}

/** The lines of `after` that are not in `before`, assuming `after` only inserted lines. */
function insertedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const out: string[] = [];
  let i = 0;
  for (const line of b) {
    if (line === a[i]) i += 1;
    else out.push(line);
  }
  expect(i).toBe(a.length);
  return out;
}

const MULTI = `# Service and Deployment of the web app.
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web    # keep the name
  namespace: shop
spec:
  replicas: 3  # tuned by hand in March
  template:
    spec:
      containers:
      - name: app
        image: "registry.example.com/shop/web:1.4.2"
        resources:
          limits:
            memory: 512Mi   # OOM at 400Mi in load tests
            cpu: '1'
      - name: sidecar
        image: 'envoy:1.30'
---
# trailing document
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  LOG_LEVEL: info
`;

const containers = ['spec', 'template', 'spec', 'containers'] as const;

describe('setScalar changes one value and nothing else', () => {
  it('changes only the replicas line of the second document, keeping its comment', () => {
    const edit = setScalar(MULTI, 1, ['spec', 'replicas'], 5);
    expect(changedLines(MULTI, edit.text)).toEqual([
      [14, '  replicas: 3  # tuned by hand in March', '  replicas: 5  # tuned by hand in March'],
    ]);
    expect(edit).toMatchObject({ before: 3, after: 5, line: 14 });
  });

  it('changes only the memory line, inside a list item found by name', () => {
    const edit = setScalar(
      MULTI,
      1,
      [...containers, { where: { name: 'app' } }, 'resources', 'limits', 'memory'],
      '768Mi',
    );
    expect(changedLines(MULTI, edit.text)).toEqual([
      [
        22,
        '            memory: 512Mi   # OOM at 400Mi in load tests',
        '            memory: 768Mi   # OOM at 400Mi in load tests',
      ],
    ]);
  });

  it('keeps the quoting style of the value it replaces', () => {
    const double = setScalar(
      MULTI,
      1,
      [...containers, { where: { name: 'app' } }, 'image'],
      'registry.example.com/shop/web:1.4.1',
    );
    expect(changedLines(MULTI, double.text)).toEqual([
      [
        19,
        '        image: "registry.example.com/shop/web:1.4.2"',
        '        image: "registry.example.com/shop/web:1.4.1"',
      ],
    ]);
    const single = setScalar(
      MULTI,
      1,
      [...containers, { where: { name: 'sidecar' } }, 'image'],
      'envoy:1.29',
    );
    expect(changedLines(MULTI, single.text)).toEqual([
      [25, "        image: 'envoy:1.30'", "        image: 'envoy:1.29'"],
    ]);
  });

  it('quotes a plain string that would otherwise read as a number', () => {
    const edit = setScalar(MULTI, 2, ['data', 'LOG_LEVEL'], '10');
    expect(changedLines(MULTI, edit.text)).toEqual([
      [33, '  LOG_LEVEL: info', '  LOG_LEVEL: "10"'],
    ]);
    expect(readScalar(parseDocuments(edit.text)[2]!, ['data', 'LOG_LEVEL'])).toBe('10');
  });

  it('adds a missing field under its closest parent, indented like its siblings', () => {
    const edit = setScalar(
      MULTI,
      1,
      [...containers, { where: { name: 'sidecar' } }, 'resources', 'limits', 'memory'],
      '256Mi',
    );
    expect(insertedLines(MULTI, edit.text)).toEqual([
      '        resources:',
      '          limits:',
      '            memory: 256Mi',
    ]);
    const doc = parseDocuments(edit.text)[1]!;
    expect(
      readScalar(doc, [
        ...containers,
        { where: { name: 'sidecar' } },
        'resources',
        'limits',
        'memory',
      ]),
    ).toBe('256Mi');
    expect(readScalar(doc, [...containers, { where: { name: 'sidecar' } }, 'image'])).toBe(
      'envoy:1.30',
    );
  });

  it('adds a missing list item with the key it was looked up by', () => {
    const edit = setScalar(
      MULTI,
      1,
      [...containers, { where: { name: 'migrate' } }, 'image'],
      'tool:2',
    );
    expect(insertedLines(MULTI, edit.text)).toEqual([
      '      - name: migrate',
      '        image: tool:2',
    ]);
  });

  it('adds a key at the end of a mapping whose last value is a nested block', () => {
    const source = 'spec:\n  template:\n    spec: {}\n  selector:\n    app: web\n';
    const edit = setScalar(source, 0, ['spec', 'replicas'], 2);
    expect(edit.text).toBe(
      'spec:\n  template:\n    spec: {}\n  selector:\n    app: web\n  replicas: 2\n',
    );
  });

  it('refuses inline collections and block scalars rather than rewriting them', () => {
    expect(() => setScalar(MULTI, 0, ['metadata', 'labels'], 'x')).toThrow(YamlEditError);
    const block = 'data:\n  script: |\n    echo hi\n';
    expect(() => setScalar(block, 0, ['data', 'script'], 'echo bye')).toThrow(/block scalar/);
  });

  it('refuses a path that ends at a mapping', () => {
    expect(() => setScalar(MULTI, 1, ['spec', 'template'], 'x')).toThrow(/not a single value/);
  });
});

describe('added lines follow the file’s own indentation', () => {
  it.each([
    ['key:\n  - a\n', { indent: 2, indentSeq: true }],
    ['key:\n- a\n', { indent: 2, indentSeq: false }],
    [
      'spec:\n    template:\n        x: 1\n    list:\n        - a\n',
      { indent: 4, indentSeq: true },
    ],
    ['a: 1\n', { indent: 2, indentSeq: true }],
  ])('%j', (source, style) => {
    expect(detectStyle(source)).toEqual(style);
  });

  it('adds nested blocks four spaces deep in a four-space file', () => {
    const source =
      'spec:\n    template:\n        spec:\n            containers:\n                - name: app\n                  image: x\n';
    const edit = setScalar(
      source,
      0,
      [
        'spec',
        'template',
        'spec',
        'containers',
        { where: { name: 'app' } },
        'resources',
        'limits',
        'memory',
      ],
      '1Gi',
    );
    expect(edit.text).toBe(
      `${source}                  resources:\n                      limits:\n                          memory: 1Gi\n`,
    );
  });
});
