/**
 * Finds the one place in a repository where a workload's field is declared, reading files
 * through a CodeHost at one ref. The policy's path may name a manifest, a Helm values file (with
 * `valuesKey`), a kustomization file, or a directory holding either a kustomization or manifests.
 *
 * Kustomize order: an `images` entry for an image change; then a patch of the kustomization that
 * targets the workload and already sets the field (strategic merge or JSON 6902); then a
 * strategic-merge patch that targets the workload, where the field is added (so the change stays
 * in the overlay); and only then the workload's manifest among the resources (bases included).
 */
import { posix } from 'node:path';
import { isMap, isSeq } from 'yaml';
import type { CodeHost, RepoFile } from './code-host.ts';

/** The reading half of a code host: all that finding a field needs. */
export type FileReader = Pick<CodeHost, 'readFile' | 'listDirectory'>;
import {
  findWorkloadDocs,
  imageRepository,
  isJson6902,
  isWorkloadDoc,
  json6902Operation,
  jsonPointer,
  manifestPath,
  parseKustomization,
  podSpecPath,
  targets,
  valuesPaths,
  valuesKeyPath,
  type FieldChange,
  type Kustomization,
  type WorkloadRef,
} from './manifests.ts';
import {
  hasPath,
  parseDocuments,
  readScalar,
  type ScalarValue,
  type YamlPath,
} from './yaml-edit.ts';

export type LocationStyle =
  'manifest' | 'kustomize-patch' | 'kustomize-json6902' | 'kustomize-images' | 'helm-values';

export interface Location {
  file: RepoFile;
  docIndex: number;
  /** The scalar to set (it may not exist yet: then it is added). */
  path: YamlPath;
  style: LocationStyle;
  /** What the field says there now. */
  current: ScalarValue | undefined;
  /** What the workload gets today when this file does not set the field (a base's value). */
  inherited: ScalarValue | undefined;
  /** For images: whether the field holds the whole reference or only the tag. */
  imagePart: 'reference' | 'tag';
  /** Files read on the way, for the pull request's body. */
  trail: string[];
}

/** The workload or its field is not where the policy says. Retrying will not help. */
export class ManifestNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestNotFoundError';
  }
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const YAML_FILE = /\.ya?ml$/;
const MAX_SCANNED_FILES = 200;
const MAX_DEPTH = 6;

interface Ctx {
  host: FileReader;
  repo: string;
  ref: string;
  signal: AbortSignal | undefined;
  workload: WorkloadRef;
  change: FieldChange;
  trail: string[];
  scanned: number;
}

function normalize(path: string): string | undefined {
  const joined = posix
    .normalize(path)
    .replace(/^\.\/?/, '')
    .replace(/\/$/, '');
  if (joined.startsWith('..') || posix.isAbsolute(joined)) return undefined;
  return joined === '.' ? '' : joined;
}

async function read(ctx: Ctx, path: string): Promise<RepoFile | null> {
  const file = await ctx.host.readFile(ctx.repo, ctx.ref, path, ctx.signal);
  if (file !== null) ctx.trail.push(path);
  return file;
}

function containerIndex(file: RepoFile, docIndex: number, kind: string, container: string): number {
  const doc = parseDocuments(file.content)[docIndex];
  const seq = doc?.getIn([...podSpecPath(kind), 'containers'] as string[], true);
  if (!isSeq(seq)) return -1;
  return seq.items.findIndex((item) => isMap(item) && item.get('name') === container);
}

function manifestLocation(
  file: RepoFile,
  docIndex: number,
  ctx: Ctx,
  style: LocationStyle,
  inherited: ScalarValue | undefined,
): Location {
  const path = manifestPath(ctx.workload.kind, ctx.change);
  const doc = parseDocuments(file.content)[docIndex];
  const current = doc === undefined ? undefined : readScalar(doc, path);
  return {
    file,
    docIndex,
    path,
    style,
    current,
    inherited,
    imagePart: 'reference',
    trail: [...ctx.trail],
  };
}

async function inHelmValues(ctx: Ctx, path: string, valuesKey: string): Promise<Location> {
  const file = await read(ctx, path);
  if (file === null) throw new ManifestNotFoundError(`no values file at ${path}`);
  const doc = parseDocuments(file.content)[0];
  if (doc === undefined || !hasPath(doc, valuesKeyPath(valuesKey))) {
    throw new ManifestNotFoundError(`${path} has no values under ${valuesKey}`);
  }
  const candidates = valuesPaths(valuesKey, ctx.change);
  const existing = candidates.find((p) => readScalar(doc, p) !== undefined);
  const chosen: YamlPath = existing ?? candidates[0] ?? [];
  const imagePart =
    ctx.change.field === 'image' && chosen[chosen.length - 1] === 'tag' ? 'tag' : 'reference';
  return {
    file,
    docIndex: 0,
    path: chosen,
    style: 'helm-values',
    current: readScalar(doc, chosen),
    inherited: undefined,
    imagePart,
    trail: [...ctx.trail],
  };
}

interface Found {
  file: RepoFile;
  docIndex: number;
}

/** The workload's manifest among plain files and directories (no kustomization), depth first. */
async function scanDirectory(ctx: Ctx, dir: string, depth: number): Promise<Found | undefined> {
  const entries = await ctx.host.listDirectory(ctx.repo, ctx.ref, dir, ctx.signal);
  if (entries === null) return undefined;
  const sorted = [...entries].sort((a, b) => a.path.localeCompare(b.path));
  for (const entry of sorted) {
    if (entry.type !== 'file' || !YAML_FILE.test(entry.path)) continue;
    if (ctx.scanned >= MAX_SCANNED_FILES) return undefined;
    ctx.scanned += 1;
    const file = await ctx.host.readFile(ctx.repo, ctx.ref, entry.path, ctx.signal);
    if (file === null) continue;
    const docs = safeFind(file.content, ctx.workload);
    if (docs[0] !== undefined) {
      ctx.trail.push(entry.path);
      return { file, docIndex: docs[0] };
    }
  }
  if (depth >= MAX_DEPTH) return undefined;
  for (const entry of sorted) {
    if (entry.type !== 'dir') continue;
    const found = await scanDirectory(ctx, entry.path, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Documents of a file that are the workload; a file that is not YAML holds none. */
function safeFind(source: string, workload: WorkloadRef, namespace?: string): number[] {
  try {
    return findWorkloadDocs(source, workload, namespace);
  } catch {
    return [];
  }
}

interface KustomizationFile {
  file: RepoFile;
  kustomization: Kustomization;
}

async function kustomizationIn(ctx: Ctx, dir: string): Promise<KustomizationFile | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = await read(ctx, dir === '' ? name : `${dir}/${name}`);
    if (file !== null) return { file, kustomization: parseKustomization(file.content) };
  }
  return undefined;
}

/** The workload's manifest reachable from a kustomization's resources. */
async function baseManifest(
  ctx: Ctx,
  dir: string,
  kustomization: Kustomization,
  namespace: string | undefined,
  depth: number,
): Promise<Found | undefined> {
  for (const resource of kustomization.resources) {
    if (/^[a-z]+:\/\//.test(resource) || resource.includes('?ref=')) continue; // remote bases
    const path = normalize(posix.join(dir, resource));
    if (path === undefined) continue;
    const file = YAML_FILE.test(path) ? await read(ctx, path) : null;
    if (file !== null) {
      const docs = safeFind(file.content, ctx.workload, namespace);
      if (docs[0] !== undefined) return { file, docIndex: docs[0] };
      continue;
    }
    if (depth >= MAX_DEPTH) continue;
    const nested = (await kustomizationIn(ctx, path))?.kustomization;
    if (nested === undefined) continue;
    const found = await baseManifest(ctx, path, nested, nested.namespace ?? namespace, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function inKustomization(ctx: Ctx, dir: string, own: KustomizationFile): Promise<Location> {
  const { kustomization } = own;
  const namespace = kustomization.namespace;
  const { workload, change } = ctx;
  const base = await baseManifest(ctx, dir, kustomization, namespace, 0);
  const baseValue =
    base === undefined
      ? undefined
      : manifestLocation(base.file, base.docIndex, ctx, 'manifest', undefined).current;

  if (change.field === 'image' && typeof baseValue === 'string') {
    const repository = imageRepository(baseValue);
    const entry = kustomization.images.find(
      (image) =>
        image.name === repository && (image.newName ?? image.name) === imageRepository(change.to),
    );
    if (entry !== undefined) {
      return {
        file: own.file,
        docIndex: 0,
        path: ['images', { where: { name: entry.name } }, 'newTag'],
        style: 'kustomize-images',
        current: entry.newTag,
        inherited: baseValue,
        imagePart: 'tag',
        trail: [...ctx.trail],
      };
    }
  }

  const strategic: Found[] = [];
  for (const patch of kustomization.patches) {
    if (patch.inline || patch.path === undefined) continue;
    const path = normalize(posix.join(dir, patch.path));
    if (path === undefined) continue;
    const file = await read(ctx, path);
    if (file === null) continue;
    if (patch.style === 'json6902' || isJson6902(file.content)) {
      if (!targets(patch.target, workload) || base === undefined) continue;
      const index =
        change.field === 'replicas'
          ? 0
          : containerIndex(base.file, base.docIndex, workload.kind, change.container);
      if (index < 0) continue;
      const op = json6902Operation(file.content, jsonPointer(workload.kind, change, index));
      if (op === undefined) continue;
      const path6902: YamlPath = [
        { where: { path: jsonPointer(workload.kind, change, index) } },
        'value',
      ];
      const doc = parseDocuments(file.content)[0];
      return {
        file,
        docIndex: 0,
        path: path6902,
        style: 'kustomize-json6902',
        current: doc === undefined ? undefined : readScalar(doc, path6902),
        inherited: baseValue,
        imagePart: 'reference',
        trail: [...ctx.trail],
      };
    }
    const docs = parseDocuments(file.content);
    const index = docs.findIndex(
      (doc, i) =>
        isWorkloadDoc(doc, workload, namespace) ||
        (i === 0 && docs.length === 1 && targets(patch.target, workload)),
    );
    if (index < 0) continue;
    const location = manifestLocation(file, index, ctx, 'kustomize-patch', baseValue);
    if (location.current !== undefined) return location;
    strategic.push({ file, docIndex: index });
  }
  const patch = strategic[0];
  if (patch !== undefined)
    return manifestLocation(patch.file, patch.docIndex, ctx, 'kustomize-patch', baseValue);
  if (base !== undefined)
    return manifestLocation(base.file, base.docIndex, ctx, 'manifest', undefined);
  throw new ManifestNotFoundError(
    `${workload.kind} ${workload.name} is in none of the kustomization's resources or patches in ${dir || '/'}`,
  );
}

export interface LocateInput {
  host: FileReader;
  repo: string;
  ref: string;
  /** The policy's path: a file or a directory. */
  path: string;
  valuesKey?: string | undefined;
  workload: WorkloadRef;
  change: FieldChange;
  signal?: AbortSignal | undefined;
}

export async function locate(input: LocateInput): Promise<Location> {
  const ctx: Ctx = {
    host: input.host,
    repo: input.repo,
    ref: input.ref,
    signal: input.signal,
    workload: input.workload,
    change: input.change,
    trail: [],
    scanned: 0,
  };
  const path = normalize(input.path);
  if (path === undefined)
    throw new ManifestNotFoundError(`path ${input.path} leaves the repository`);
  if (input.valuesKey !== undefined) return inHelmValues(ctx, path, input.valuesKey);
  const name = posix.basename(path);
  if (KUSTOMIZATION_FILES.includes(name)) {
    const file = await read(ctx, path);
    if (file === null) throw new ManifestNotFoundError(`no file at ${path}`);
    const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    return inKustomization(ctx, dir, { file, kustomization: parseKustomization(file.content) });
  }
  const file = YAML_FILE.test(path) ? await read(ctx, path) : null;
  if (file !== null) {
    const docs = findWorkloadDocs(file.content, input.workload);
    if (docs[0] === undefined) {
      throw new ManifestNotFoundError(
        `${path} has no ${input.workload.kind} named ${input.workload.name}`,
      );
    }
    return manifestLocation(file, docs[0], ctx, 'manifest', undefined);
  }
  const kustomization = await kustomizationIn(ctx, path);
  if (kustomization !== undefined) return inKustomization(ctx, path, kustomization);
  const found = await scanDirectory(ctx, path, 0);
  if (found === undefined) {
    throw new ManifestNotFoundError(
      `no manifest of ${input.workload.kind} ${input.workload.name} under ${path || '/'}`,
    );
  }
  return manifestLocation(found.file, found.docIndex, ctx, 'manifest', undefined);
}
