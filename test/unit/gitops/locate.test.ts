import { describe, expect, it } from 'vitest';
import type { DirectoryEntry, RepoFile } from '../../../src/gitops/code-host.ts';
import { locate, ManifestNotFoundError, type FileReader } from '../../../src/gitops/locate.ts';
import type { FieldChange, WorkloadRef } from '../../../src/gitops/manifests.ts';

/** A repository at one ref, as files in memory. */
function repo(files: Record<string, string>): FileReader {
  return {
    readFile: (_repo, _ref, path) => {
      const content = files[path];
      return Promise.resolve(
        content === undefined ? null : ({ path, content, version: `v-${path}` } satisfies RepoFile),
      );
    },
    listDirectory: (_repo, _ref, dir) => {
      const prefix = dir === '' ? '' : `${dir}/`;
      const entries = new Map<string, DirectoryEntry>();
      for (const path of Object.keys(files)) {
        if (!path.startsWith(prefix)) continue;
        const [first, ...rest] = path.slice(prefix.length).split('/');
        const full = `${prefix}${first}`;
        entries.set(full, { path: full, type: rest.length > 0 ? 'dir' : 'file' });
      }
      return Promise.resolve(entries.size === 0 ? null : [...entries.values()]);
    },
  };
}

const web: WorkloadRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const memory: FieldChange = { field: 'memoryLimit', container: 'app' };
const replicas: FieldChange = { field: 'replicas', to: 5 };

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.4.2
          resources:
            limits:
              memory: 512Mi
`;

const OTHER = DEPLOYMENT.replace('name: web', 'name: api');

function find(
  files: Record<string, string>,
  path: string,
  change: FieldChange,
  valuesKey?: string,
) {
  return locate({
    host: repo(files),
    repo: 'o/r',
    ref: 'main',
    path,
    valuesKey,
    workload: web,
    change,
  });
}

describe('finding the field of a workload', () => {
  it('finds the workload among the documents of a file', async () => {
    const location = await find(
      { 'apps/shop.yaml': `${OTHER}---\n${DEPLOYMENT}` },
      'apps/shop.yaml',
      memory,
    );
    expect(location).toMatchObject({
      style: 'manifest',
      docIndex: 1,
      current: '512Mi',
      imagePart: 'reference',
    });
    expect(location.file.path).toBe('apps/shop.yaml');
  });

  it('scans a directory of manifests when the path is a directory', async () => {
    const location = await find(
      { 'apps/api.yaml': OTHER, 'apps/nested/web.yaml': DEPLOYMENT, 'README.md': '# x' },
      'apps',
      replicas,
    );
    expect(location).toMatchObject({ style: 'manifest', current: 2 });
    expect(location.file.path).toBe('apps/nested/web.yaml');
  });

  it('says which file lacks the workload', async () => {
    await expect(find({ 'apps/api.yaml': OTHER }, 'apps/api.yaml', replicas)).rejects.toThrow(
      new ManifestNotFoundError('apps/api.yaml has no Deployment named web'),
    );
  });

  it('ignores a document of the same name in another namespace', async () => {
    const elsewhere = DEPLOYMENT.replace('  name: web\n', '  name: web\n  namespace: staging\n');
    await expect(find({ 'a.yaml': elsewhere }, 'a.yaml', replicas)).rejects.toThrow(
      ManifestNotFoundError,
    );
  });
});

describe('Kustomize', () => {
  const base = {
    'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
    'base/deployment.yaml': DEPLOYMENT,
  };

  it('edits the overlay patch that targets the workload and sets the field', async () => {
    const files = {
      ...base,
      'overlays/prod/kustomization.yaml':
        'namespace: shop\nresources:\n  - ../../base\npatches:\n  - path: memory.yaml\n',
      'overlays/prod/memory.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 1Gi\n',
    };
    const location = await find(files, 'overlays/prod', memory);
    expect(location).toMatchObject({
      style: 'kustomize-patch',
      current: '1Gi',
      inherited: '512Mi',
    });
    expect(location.file.path).toBe('overlays/prod/memory.yaml');
    expect(location.trail).toContain('base/deployment.yaml');
  });

  it('adds the field to a patch that targets the workload without setting it, rather than touch the base', async () => {
    const files = {
      ...base,
      'overlays/prod/kustomization.yaml':
        'resources:\n  - ../../base\npatchesStrategicMerge:\n  - replicas.yaml\n',
      'overlays/prod/replicas.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 4\n',
    };
    const location = await find(files, 'overlays/prod/kustomization.yaml', memory);
    expect(location).toMatchObject({
      style: 'kustomize-patch',
      current: undefined,
      inherited: '512Mi',
    });
    expect(location.file.path).toBe('overlays/prod/replicas.yaml');
  });

  it('edits the value of a JSON 6902 operation on the field', async () => {
    const files = {
      ...base,
      'overlays/prod/kustomization.yaml':
        'resources:\n  - ../../base\npatches:\n  - path: scale.yaml\n    target:\n      kind: Deployment\n      name: web\n',
      'overlays/prod/scale.yaml': '- op: replace\n  path: /spec/replicas\n  value: 6\n',
    };
    const location = await find(files, 'overlays/prod', replicas);
    expect(location).toMatchObject({ style: 'kustomize-json6902', current: 6, inherited: 2 });
    expect(location.path).toEqual([{ where: { path: '/spec/replicas' } }, 'value']);
  });

  it('changes the tag in the kustomization images entry for an image rollback', async () => {
    const files = {
      ...base,
      'overlays/prod/kustomization.yaml':
        'resources:\n  - ../../base\nimages:\n  - name: registry.example.com/shop/web\n    newTag: 1.5.0\n',
    };
    const location = await find(files, 'overlays/prod', {
      field: 'image',
      container: 'app',
      to: 'registry.example.com/shop/web:1.4.2',
    });
    expect(location).toMatchObject({
      style: 'kustomize-images',
      current: '1.5.0',
      imagePart: 'tag',
    });
    expect(location.file.path).toBe('overlays/prod/kustomization.yaml');
  });

  it('falls back to the base manifest when no patch targets the workload', async () => {
    const files = { ...base, 'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\n' };
    const location = await find(files, 'overlays/prod', replicas);
    expect(location).toMatchObject({ style: 'manifest', current: 2 });
    expect(location.file.path).toBe('base/deployment.yaml');
  });

  it('never follows a resource out of the repository', async () => {
    const files = { 'k/kustomization.yaml': 'resources:\n  - ../../../etc\n' };
    await expect(find(files, 'k', replicas)).rejects.toThrow(ManifestNotFoundError);
  });
});

describe('Helm values', () => {
  const values = `# values for the shop
web:
  replicaCount: 2
  image:
    repository: registry.example.com/shop/web
    tag: "1.5.0"
  resources:
    limits:
      memory: 512Mi
worker:
  replicas: 1
  image: registry.example.com/shop/worker:2.0.0
`;

  it.each([
    ['web', replicas, ['web', 'replicaCount'], 2, 'reference'],
    ['web', memory, ['web', 'resources', 'limits', 'memory'], '512Mi', 'reference'],
    [
      'web',
      { field: 'image', container: 'app', to: 'x:1.4.2' },
      ['web', 'image', 'tag'],
      '1.5.0',
      'tag',
    ],
    ['worker', replicas, ['worker', 'replicas'], 1, 'reference'],
    [
      'worker',
      { field: 'image', container: 'app', to: 'x:1.9' },
      ['worker', 'image'],
      'registry.example.com/shop/worker:2.0.0',
      'reference',
    ],
  ] as const)('under %s finds %j', async (key, change, path, current, imagePart) => {
    const location = await find({ 'values.yaml': values }, 'values.yaml', change, key);
    expect(location).toMatchObject({ style: 'helm-values', path, current, imagePart });
  });

  it('refuses a values key that is not in the file', async () => {
    await expect(
      find({ 'values.yaml': values }, 'values.yaml', replicas, 'apps.web'),
    ).rejects.toThrow('values.yaml has no values under apps.web');
  });
});
