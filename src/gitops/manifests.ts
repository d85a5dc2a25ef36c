/**
 * Where a field of a workload lives in the files of a GitOps repository, as pure functions of the
 * files' text: plain manifests (one or many documents per file), Kustomize (the kustomization's
 * `images`, patches that target the workload, then its resources) and Helm values (under the
 * policy's `valuesKey`). Reading the files is locate.ts's job.
 */
import { isMap, isScalar, isSeq, type Document } from 'yaml';
import { parseDocuments, readScalar, type YamlPath } from './yaml-edit.ts';

/** The object whose desired state is changed: a workload, never a Pod. */
export interface WorkloadRef {
  kind: string;
  name: string;
  /** null for cluster-scoped objects; a document without a namespace matches any. */
  namespace: string | null;
}

/** What a proposal changes, in terms of the workload. */
export type FieldChange =
  | { field: 'replicas'; to: number }
  | { field: 'memoryLimit'; container: string }
  | { field: 'image'; container: string; to: string };

export function describeField(change: FieldChange): string {
  switch (change.field) {
    case 'replicas':
      return 'replicas';
    case 'memoryLimit':
      return `memory limit of container ${change.container}`;
    case 'image':
      return `image of container ${change.container}`;
  }
}

/** Where the pod template's spec sits in each workload kind. */
export function podSpecPath(kind: string): YamlPath {
  switch (kind) {
    case 'Pod':
      return ['spec'];
    case 'CronJob':
      return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
    default:
      return ['spec', 'template', 'spec'];
  }
}

/** The path of the changed field in a manifest (or strategic-merge patch) of the workload. */
export function manifestPath(kind: string, change: FieldChange): YamlPath {
  if (change.field === 'replicas') return ['spec', 'replicas'];
  const container: YamlPath = [
    ...podSpecPath(kind),
    'containers',
    { where: { name: change.container } },
  ];
  return change.field === 'image'
    ? [...container, 'image']
    : [...container, 'resources', 'limits', 'memory'];
}

function scalarText(doc: Document.Parsed, path: YamlPath): string | undefined {
  const value = readScalar(doc, path);
  return value === undefined ? undefined : String(value);
}

/** Whether a document is the workload: same kind and name, and no other namespace. */
export function isWorkloadDoc(
  doc: Document.Parsed,
  workload: WorkloadRef,
  inheritedNamespace?: string,
): boolean {
  if (scalarText(doc, ['kind']) !== workload.kind) return false;
  if (scalarText(doc, ['metadata', 'name']) !== workload.name) return false;
  const namespace = scalarText(doc, ['metadata', 'namespace']) ?? inheritedNamespace;
  return namespace === undefined || workload.namespace === null || namespace === workload.namespace;
}

/** Indexes of the documents of `source` that are the workload. */
export function findWorkloadDocs(
  source: string,
  workload: WorkloadRef,
  inheritedNamespace?: string,
): number[] {
  return parseDocuments(source).flatMap((doc, i) =>
    isWorkloadDoc(doc, workload, inheritedNamespace) ? [i] : [],
  );
}

// ---------------------------------------------------------------------------------------------
// Kustomize

export interface PatchTarget {
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface KustomizePatch {
  /** File of the patch, relative to the kustomization. Inline patches have none. */
  path?: string;
  /** A `patches` entry's target, or none for strategic-merge patches that name their object. */
  target?: PatchTarget;
  /** `json6902` when the file is a list of JSON Patch operations. */
  style: 'strategicMerge' | 'json6902' | 'unknown';
  inline: boolean;
}

export interface KustomizeImage {
  /** Position of the entry in `images`. */
  index: number;
  name: string;
  newName?: string;
  newTag?: string;
}

export interface Kustomization {
  resources: string[];
  patches: KustomizePatch[];
  images: KustomizeImage[];
  namespace?: string;
}

function strings(node: unknown): string[] {
  if (!isSeq(node)) return [];
  return node.items.flatMap((item) =>
    isScalar(item) && typeof item.value === 'string' ? [item.value] : [],
  );
}

function field(node: unknown, key: string): string | undefined {
  if (!isMap(node)) return undefined;
  const value: unknown = node.get(key, true);
  if (!isScalar(value)) return undefined;
  const scalar = value.value;
  return typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean'
    ? String(scalar)
    : undefined;
}

function target(node: unknown): PatchTarget | undefined {
  if (!isMap(node)) return undefined;
  const t = node.get('target', true);
  if (!isMap(t)) return undefined;
  const out: PatchTarget = {};
  const kind = field(t, 'kind');
  const name = field(t, 'name');
  const namespace = field(t, 'namespace');
  if (kind !== undefined) out.kind = kind;
  if (name !== undefined) out.name = name;
  if (namespace !== undefined) out.namespace = namespace;
  return out;
}

export function parseKustomization(source: string): Kustomization {
  const doc = parseDocuments(source)[0];
  const root = doc?.contents;
  if (!isMap(root)) return { resources: [], patches: [], images: [] };
  const patches: KustomizePatch[] = [];
  const patchesNode = root.get('patches', true);
  if (isSeq(patchesNode)) {
    for (const item of patchesNode.items) {
      const path = field(item, 'path');
      const inline = field(item, 'patch') !== undefined;
      const patch: KustomizePatch = { style: 'unknown', inline };
      if (path !== undefined) patch.path = path;
      const t = target(item);
      if (t !== undefined) patch.target = t;
      patches.push(patch);
    }
  }
  for (const path of strings(root.get('patchesStrategicMerge', true))) {
    patches.push({ path, style: 'strategicMerge', inline: false });
  }
  const json6902 = root.get('patchesJson6902', true);
  if (isSeq(json6902)) {
    for (const item of json6902.items) {
      const path = field(item, 'path');
      const t = target(item);
      const patch: KustomizePatch = { style: 'json6902', inline: path === undefined };
      if (path !== undefined) patch.path = path;
      if (t !== undefined) patch.target = t;
      patches.push(patch);
    }
  }
  const images: KustomizeImage[] = [];
  const imagesNode = root.get('images', true);
  if (isSeq(imagesNode)) {
    imagesNode.items.forEach((item, index) => {
      const name = field(item, 'name');
      if (name === undefined) return;
      const image: KustomizeImage = { index, name };
      const newName = field(item, 'newName');
      const newTag = field(item, 'newTag');
      if (newName !== undefined) image.newName = newName;
      if (newTag !== undefined) image.newTag = newTag;
      images.push(image);
    });
  }
  const kustomization: Kustomization = {
    resources: [...strings(root.get('resources', true)), ...strings(root.get('bases', true))],
    patches,
    images,
  };
  const namespace = field(root, 'namespace');
  if (namespace !== undefined) kustomization.namespace = namespace;
  return kustomization;
}

/** Whether a `patches` target selects the workload (name patterns and selectors are not followed). */
export function targets(t: PatchTarget | undefined, workload: WorkloadRef): boolean {
  if (t === undefined) return false;
  if (t.kind !== undefined && t.kind !== workload.kind) return false;
  if (t.name !== workload.name) return false;
  return (
    t.namespace === undefined || workload.namespace === null || t.namespace === workload.namespace
  );
}

/** Whether a patch file's text is a list of JSON Patch operations (rather than an object). */
export function isJson6902(source: string): boolean {
  const doc = parseDocuments(source)[0];
  return isSeq(doc?.contents);
}

/** `/spec/template/spec/containers/0/image` for a field, given the container's index in the base. */
export function jsonPointer(kind: string, change: FieldChange, containerIndex: number): string {
  const path = manifestPath(kind, change).map((segment) =>
    typeof segment === 'string' ? segment : String(containerIndex),
  );
  return '/' + path.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
}

/** Index in a JSON6902 patch of the `replace`/`add` operation on `pointer`, if any. */
export function json6902Operation(source: string, pointer: string): number | undefined {
  const root = parseDocuments(source)[0]?.contents;
  if (!isSeq(root)) return undefined;
  const index = root.items.findIndex(
    (item) =>
      field(item, 'path') === pointer && ['replace', 'add'].includes(field(item, 'op') ?? ''),
  );
  return index < 0 ? undefined : index;
}

/** The repository part of an image reference (`reg:5000/team/app:1.2@sha256:…` → `reg:5000/team/app`). */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** The tag of an image reference, or undefined when it has none. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Helm values

/** Splits a dotted values key (`apps.web`) into path segments. */
export function valuesKeyPath(valuesKey: string): string[] {
  return valuesKey.split('.').filter((s) => s.length > 0);
}

/**
 * Paths of a field in a values file under `valuesKey`, most conventional chart layout first:
 * `replicaCount` (or `replicas`), `resources.limits.memory`, `image.tag` (or `image` as one string).
 */
export function valuesPaths(valuesKey: string, change: FieldChange): YamlPath[] {
  const base = valuesKeyPath(valuesKey);
  switch (change.field) {
    case 'replicas':
      return [
        [...base, 'replicaCount'],
        [...base, 'replicas'],
      ];
    case 'memoryLimit':
      return [[...base, 'resources', 'limits', 'memory']];
    case 'image':
      return [
        [...base, 'image', 'tag'],
        [...base, 'image'],
      ];
  }
}
