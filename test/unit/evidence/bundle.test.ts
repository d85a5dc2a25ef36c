import { describe, expect, it } from 'vitest';
import { renderBundle } from '../../../src/evidence/bundle.ts';
import type { Collected } from '../../../src/evidence/collect.ts';
import {
  collectionLocation,
  evidenceLocation,
  folderKey,
  incidentSegment,
  safeSegment,
} from '../../../src/evidence/keys.ts';

const pod = { kind: 'Pod', namespace: 'shop', name: 'web-1' };

describe('where evidence lives', () => {
  it.each([
    [{ s3: { bucket: 'ev', prefix: 'prod' } }, 's3://ev/prod/shop/Pod/web-1/3-1732000000000/'],
    [{ s3: { bucket: 'ev', prefix: '' } }, 's3://ev/shop/Pod/web-1/3-1732000000000/'],
    [{ s3: { bucket: 'ev', prefix: '/a//b/' } }, 's3://ev/a/b/shop/Pod/web-1/3-1732000000000/'],
    [{ efs: { path: '/evidence/team' } }, '/evidence/team/shop/Pod/web-1/3-1732000000000/'],
  ] as const)('%j → %s', (target, folder) => {
    const location = evidenceLocation(target, pod, 'Pod/shop/web-1#3@1732000000000');
    expect(location).toMatchObject({ folder, link: folder });
    // Each moment of the incident has its own folder: escalating never overwrites detection.
    expect(collectionLocation(location, 'detected-evidence')).toMatchObject({
      folder: `${folder}detected/`,
      bundle: `${folder}detected/bundle.json`,
      index: `${folder}detected/index.json`,
    });
    expect(collectionLocation(location, 'escalate-2-evidence').folder).toBe(`${folder}escalate-2/`);
    // A retry may run after the action: it never overwrites what the first try wrote.
    expect(collectionLocation(location, 'detected-evidence', 2).folder).toBe(
      `${folder}detected-try-2/`,
    );
  });

  it('puts nodes under _cluster and keeps odd incident ids safe and distinct', () => {
    expect(folderKey('', { kind: 'Node', namespace: null, name: 'n1' }, 'Node/n1#1@5')).toBe(
      '_cluster/Node/n1/1-5/',
    );
    const odd = incidentSegment('manual: disk full?', pod);
    expect(odd).toMatch(/^manual-disk-full-[0-9a-f]{8}$/);
    expect(incidentSegment('manual: disk full!', pod)).not.toBe(odd);
    expect(safeSegment('../..')).not.toContain('..');
  });

  it('fills in a link template', () => {
    const location = evidenceLocation({ s3: { bucket: 'ev' } }, pod, 'Pod/shop/web-1#3@1', {
      linkTemplate: 'https://s3.console.aws.amazon.com/s3/buckets/{bucket}?prefix={key}',
    });
    expect(location.link).toBe(
      'https://s3.console.aws.amazon.com/s3/buckets/ev?prefix=shop/Pod/web-1/3-1/',
    );
  });
});

describe('rendering a bundle', () => {
  const collected: Collected = {
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop' },
      spec: {
        containers: [{ name: 'app', env: [{ name: 'API_TOKEN', value: 'tok-8f2b9c1d7e' }] }],
      },
    },
    owners: [
      { kind: 'ReplicaSet', name: 'web-6d4', object: null, unavailable: 'forbidden (HTTP 403)' },
    ],
    events: [
      {
        type: 'Warning',
        reason: 'BackOff',
        message: 'pulling with Authorization: Bearer abcdef0123456789abcdef',
        count: 3,
        firstSeen: null,
        lastSeen: '2026-11-01T00:00:00Z',
        source: 'kubelet',
        object: 'Pod/web-1',
      },
    ],
    logs: [
      {
        pod: 'web-1',
        container: 'app',
        restarts: 2,
        current: {
          text: 'ok\nDB password=p4ssw0rd-xyz\n',
          truncated: true,
          lines: 2,
          bytes: 28,
          droppedLines: 10,
          droppedBytes: 120,
        },
        previous: {
          unavailable: 'logs unavailable: previous terminated container "app" not found (HTTP 400)',
        },
      },
    ],
    pods: [],
  };

  const rendered = renderBundle(
    {
      incidentId: 'Pod/shop/web-1#3@1',
      actorKey: 'Pod/shop/web-1',
      step: 'evidence',
      reason: 'CrashLoopBackOff',
      target: { kind: 'Pod', namespace: 'shop', name: 'web-1' },
      requestedAt: 1,
      collectedAt: 2,
      suggestion: 'rotate the key AKIAIOSFODNN7EXAMPLE',
    },
    collected,
  );
  const file = (name: string) => rendered.files.find((f) => f.name === name)?.body ?? '';

  it('leaves no secret in any file', () => {
    for (const f of rendered.files) {
      for (const secret of [
        'tok-8f2b9c1d7e',
        'abcdef0123456789abcdef',
        'p4ssw0rd-xyz',
        'AKIAIOSFODNN7EXAMPLE',
      ]) {
        expect(f.body, f.name).not.toContain(secret);
      }
    }
    expect(rendered.findings.reduce((n, f) => n + f.count, 0)).toBe(4);
  });

  it('says what was left out of a log and why a log is missing', () => {
    expect(file('logs/web-1/app.log')).toBe(
      '# kube-remedy: showing the last 2 lines (28 bytes); 10 earlier lines (120 bytes) left out\nok\nDB password=[REDACTED:secret]\n',
    );
    expect(file('logs/web-1/app.previous.log')).toBe(
      'logs unavailable: previous terminated container "app" not found (HTTP 400)\n',
    );
  });

  it('writes manifests as YAML documents and the index last', () => {
    expect(file('manifests.yaml')).toContain('kind: Pod\n');
    expect(file('manifests.yaml')).toContain('---\n# ReplicaSet web-6d4: forbidden (HTTP 403)\n');
    expect(rendered.files.at(-1)?.name).toBe('index.json');
    const index = JSON.parse(file('index.json')) as { files: { name: string; bytes: number }[] };
    expect(index.files.map((f) => f.name)).toEqual(rendered.files.slice(0, -1).map((f) => f.name));
  });
});
