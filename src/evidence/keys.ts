/**
 * Where an incident's evidence lives, computed from the policy's evidence settings, the object
 * and the incident alone, so that Slack messages, tickets and pull requests can link to it
 * without waiting for it: `<prefix>/<namespace>/<Kind>/<name>/<incident>/`, with one folder per
 * moment of collection (`detected/`, `escalate-1/`, `quarantine/`) holding `index.json`,
 * `bundle.json`, `manifests.yaml`, `events.txt` and `logs/<pod>/<container>[.previous].log`. A
 * later collection never overwrites what was true at detection. Cluster-scoped objects (nodes)
 * use `_cluster` for the namespace.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

/** The policy's `spec.evidence`: exactly one of the two. */
export type EvidenceTarget =
  | { s3: { bucket: string; prefix?: string | undefined }; efs?: undefined }
  | { efs: { path: string }; s3?: undefined };

export interface EvidenceObject {
  kind: string;
  namespace: string | null;
  name: string;
}

export interface EvidenceLocation {
  /**
   * The incident's folder, e.g. `s3://bucket/prefix/shop/Pod/web-1/7-1732000000000/` or
   * `/evidence/…/`.
   */
  folder: string;
  /** What to show people: `linkTemplate` filled in, or the folder URI. */
  link: string;
  /** The storage key or path of the folder (no scheme, ends with `/`). */
  key: string;
}

/** One collection within the incident's folder. */
export interface CollectionLocation {
  /** e.g. `…/7-1732000000000/detected/`. */
  folder: string;
  /** The storage key or path of that folder (no scheme, ends with `/`). */
  key: string;
  /** The full bundle. */
  bundle: string;
  /** The index people open first. */
  index: string;
}

/** The moment a collection step stands for: `detected-evidence` → `detected`. */
export function momentOf(step: string): string {
  return safeSegment(step.replace(/-evidence$/, '') || 'evidence');
}

/**
 * Where the collection made at `step` of the incident goes. A retry (`attempt` > 1) writes a
 * folder of its own, `<moment>-try-<attempt>/`: it may run after the action it preceded, and must
 * not overwrite what an earlier try wrote of the moment before it.
 */
export function collectionLocation(
  location: EvidenceLocation,
  step: string,
  attempt = 1,
): CollectionLocation {
  const moment = attempt > 1 ? `${momentOf(step)}-try-${attempt}` : momentOf(step);
  const folder = `${location.folder}${moment}/`;
  return {
    folder,
    key: `${location.key}${moment}/`,
    bundle: `${folder}bundle.json`,
    index: `${folder}index.json`,
  };
}

/** A path segment safe in S3 keys and file names, readable, and unique per input. */
export function safeSegment(text: string, max = 80): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, max);
  if (cleaned === text && cleaned.length > 0) return cleaned;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${cleaned || 'x'}-${hash}`;
}

/**
 * The incident's own part of its id: incident ids are `<actorKey>#<seq>@<ms>`, and the object
 * already names the folder, so the folder is `<seq>-<ms>`. Other ids are kept whole (made safe).
 */
export function incidentSegment(incidentId: string, object: EvidenceObject): string {
  const match = /#(\d+)@(\d+)$/.exec(incidentId);
  const actorKey =
    object.namespace === null
      ? `${object.kind}/${object.name}`
      : `${object.kind}/${object.namespace}/${object.name}`;
  if (match !== null && incidentId === `${actorKey}#${match[1]}@${match[2]}`)
    return `${match[1]}-${match[2]}`;
  return safeSegment(incidentId);
}

export function folderKey(prefix: string, object: EvidenceObject, incidentId: string): string {
  const parts = [
    ...prefix
      .split('/')
      .filter((p) => p.length > 0)
      .map((p) => safeSegment(p)),
    safeSegment(object.namespace ?? '_cluster'),
    safeSegment(object.kind),
    safeSegment(object.name),
    incidentSegment(incidentId, object),
  ];
  return `${parts.join('/')}/`;
}

export interface LinkOptions {
  /**
   * How links to bundles are written: `{bucket}`, `{key}` (the folder key) and `{uri}` are
   * replaced. Unset: the s3:// URI or the file path.
   */
  linkTemplate?: string | undefined;
}

export function evidenceLocation(
  target: EvidenceTarget,
  object: EvidenceObject,
  incidentId: string,
  options: LinkOptions = {},
): EvidenceLocation {
  if (target.s3 !== undefined) {
    const key = folderKey(target.s3.prefix ?? '', object, incidentId);
    const folder = `s3://${target.s3.bucket}/${key}`;
    const link =
      options.linkTemplate === undefined
        ? folder
        : options.linkTemplate
            .replaceAll('{bucket}', target.s3.bucket)
            .replaceAll('{key}', key)
            .replaceAll('{uri}', folder);
    return { folder, link, key };
  }
  const key = folderKey('', object, incidentId);
  const folder = posix.join(target.efs.path, key).replace(/\/?$/, '/');
  const link =
    options.linkTemplate === undefined
      ? folder
      : options.linkTemplate
          .replaceAll('{bucket}', '')
          .replaceAll('{key}', key)
          .replaceAll('{uri}', folder);
  return { folder, link, key };
}
