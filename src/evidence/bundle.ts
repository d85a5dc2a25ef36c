/**
 * An evidence bundle as files: the whole bundle as JSON, plus the same content as people read it
 * (manifests as YAML, Events as lines, one file per log) and an index. Everything is redacted
 * once, as one value, before any file is rendered from it: no file can hold what redaction
 * removed.
 */
import { stringify } from 'yaml';
import { redactValue, type RedactionFinding } from '../redaction/index.ts';
import type { Collected, EvidenceObjectRef, LogCapture } from './collect.ts';
import type { BundleFile } from './store.ts';

export const BUNDLE_SCHEMA = 'kube-remedy.evidence/v1';

export interface BundleContext {
  incidentId: string;
  actorKey: string;
  step: string;
  reason: string;
  policy?: string | undefined;
  detection?: string | undefined;
  target: EvidenceObjectRef;
  requestedAt: number;
  collectedAt: number;
  /** The actor's decision trail, as the job carries it. */
  history?: unknown;
  /** The LLM's suggestion, as the job carries it. */
  suggestion?: unknown;
}

export interface Bundle extends Omit<BundleContext, 'requestedAt' | 'collectedAt'> {
  schema: typeof BUNDLE_SCHEMA;
  requestedAt: string;
  collectedAt: string;
  evidence: Collected;
}

export interface RenderedBundle {
  files: BundleFile[];
  findings: RedactionFinding[];
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || '_';
}

function logText(capture: LogCapture): string {
  if (capture.unavailable !== undefined) return `${capture.unavailable}\n`;
  const note = capture.truncated
    ? `# kube-remedy: showing the last ${capture.lines} lines (${capture.bytes} bytes); ${capture.droppedLines} earlier lines (${capture.droppedBytes} bytes) left out\n`
    : '';
  return note + capture.text + (capture.text.endsWith('\n') || capture.text === '' ? '' : '\n');
}

function manifests(evidence: Collected): string {
  const docs: string[] = [];
  if (evidence.object !== null) docs.push(stringify(evidence.object));
  else if (evidence.objectUnavailable !== undefined) docs.push(`# ${evidence.objectUnavailable}\n`);
  for (const owner of evidence.owners) {
    docs.push(
      owner.object === null
        ? `# ${owner.kind} ${owner.name}: ${owner.unavailable ?? 'unavailable'}\n`
        : stringify(owner.object),
    );
  }
  return docs.join('---\n');
}

function events(evidence: Collected): string {
  if (evidence.eventsUnavailable !== undefined) return `${evidence.eventsUnavailable}\n`;
  if (evidence.events.length === 0) return 'no events\n';
  return (
    evidence.events
      .map(
        (e) =>
          `${e.lastSeen ?? '-'}\t${e.type}\t${e.reason}\t${e.object}\t(x${e.count}, ${e.source})\t${e.message}`,
      )
      .join('\n') + '\n'
  );
}

/** Builds, redacts and renders a bundle. */
export function renderBundle(context: BundleContext, evidence: Collected): RenderedBundle {
  const raw: Bundle = {
    schema: BUNDLE_SCHEMA,
    incidentId: context.incidentId,
    actorKey: context.actorKey,
    step: context.step,
    reason: context.reason,
    policy: context.policy,
    detection: context.detection,
    target: context.target,
    requestedAt: new Date(context.requestedAt).toISOString(),
    collectedAt: new Date(context.collectedAt).toISOString(),
    history: context.history ?? null,
    suggestion: context.suggestion ?? null,
    evidence,
  };
  const { value: bundle, findings } = redactValue(raw);
  const files: BundleFile[] = [
    {
      name: 'bundle.json',
      body: JSON.stringify({ ...bundle, redaction: findings }, null, 2) + '\n',
      contentType: 'application/json',
    },
    { name: 'manifests.yaml', body: manifests(bundle.evidence), contentType: 'application/yaml' },
    { name: 'events.txt', body: events(bundle.evidence), contentType: 'text/plain; charset=utf-8' },
  ];
  for (const log of bundle.evidence.logs) {
    const base = `logs/${safeName(log.pod)}/${safeName(log.container)}`;
    files.push({
      name: `${base}.log`,
      body: logText(log.current),
      contentType: 'text/plain; charset=utf-8',
    });
    files.push({
      name: `${base}.previous.log`,
      body: logText(log.previous),
      contentType: 'text/plain; charset=utf-8',
    });
  }
  const index = {
    schema: BUNDLE_SCHEMA,
    incidentId: bundle.incidentId,
    actorKey: bundle.actorKey,
    target: bundle.target,
    reason: bundle.reason,
    collectedAt: bundle.collectedAt,
    redaction: findings,
    files: files.map((f) => ({
      name: f.name,
      bytes: Buffer.byteLength(f.body, 'utf8'),
      contentType: f.contentType,
    })),
  };
  // Written last, so a folder with an index holds a whole bundle.
  files.push({
    name: 'index.json',
    body: JSON.stringify(index, null, 2) + '\n',
    contentType: 'application/json',
  });
  return { files, findings };
}
