/**
 * The words of a proposal: the deterministic branch name, the title, the body that explains the
 * reason and links the evidence, and the comment left when the symptom recurs. Pure, so the same
 * incident always yields the same branch and a retried job the same text.
 */
import { createHash } from 'node:crypto';
import type { WorkloadRef } from './manifests.ts';

export const PROPOSAL_LABEL = 'kube-remedy';

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function refPart(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/\.{2,}/g, '.')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 63) || 'x'
  );
}

/**
 * `kube-remedy/<kind>/<namespace>/<name>-<hash of the incident>`: one branch per incident, so a
 * rerun or a recurrence within the incident lands on the same branch and request.
 */
export function branchName(workload: WorkloadRef, incidentId: string): string {
  const parts = ['kube-remedy', refPart(workload.kind)];
  if (workload.namespace !== null) parts.push(refPart(workload.namespace));
  parts.push(`${refPart(workload.name)}-${shortHash(incidentId)}`);
  return parts.join('/');
}

export function workloadName(workload: WorkloadRef): string {
  return workload.namespace === null
    ? `${workload.kind} ${workload.name}`
    : `${workload.kind} ${workload.namespace}/${workload.name}`;
}

/** One line changed in one file. */
export interface AppliedEdit {
  file: string;
  /** 1-based line in the new file. */
  line: number;
  /** e.g. "memory limit of container app". */
  field: string;
  before: string | null;
  after: string;
  /** How the file declares the workload: manifest, kustomize-patch, helm-values… */
  style: string;
  note?: string;
}

export interface ProposalText {
  workload: WorkloadRef;
  /** "raise the memory limit", "scale to 5 replicas", "roll back the image". */
  summary: string;
  reason: string;
  incidentId: string;
  actorKey: string;
  policy?: string | undefined;
  edits: readonly AppliedEdit[];
  links: { evidence?: string | undefined; ticket?: string | undefined };
  /** Files read to find the field, in order. */
  trail: readonly string[];
  /** The job that opened the request (kept when later jobs update the body). */
  openedBy: string;
}

export function proposalTitle(text: ProposalText): string {
  return `kube-remedy: ${text.summary} of ${workloadName(text.workload)}`;
}

function code(value: string | null): string {
  return value === null ? '_(not set)_' : `\`${value.replaceAll('`', "'")}\``;
}

/** A marker only kube-remedy writes, so its own words can be recognised on a rerun. */
export function marker(kind: 'incident' | 'job' | 'opened-by', id: string): string {
  return `<!-- kube-remedy:${kind}=${id.replaceAll('--', '- -')} -->`;
}

/** The job that opened a request, from the marker in its body. */
export function openedByOf(body: string): string | undefined {
  return /<!-- kube-remedy:opened-by=(\S+) -->/.exec(body)?.[1];
}

export function proposalBody(text: ProposalText): string {
  const rows = text.edits.map(
    (e) =>
      `| ${e.field} | \`${e.file}\` line ${e.line} (${e.style}) | ${code(e.before)} | ${code(e.after)} |${e.note === undefined ? '' : ` ${e.note} |`}`,
  );
  const hasNotes = text.edits.some((e) => e.note !== undefined);
  const links = [
    `- Incident: \`${text.incidentId}\` on \`${text.actorKey}\``,
    ...(text.policy === undefined ? [] : [`- Policy: \`${text.policy}\``]),
    `- Evidence: ${text.links.evidence ?? '_not collected for this incident_'}`,
    ...(text.links.ticket === undefined ? [] : [`- Ticket: ${text.links.ticket}`]),
  ];
  return [
    `kube-remedy proposes to **${text.summary}** of **${workloadName(text.workload)}**.`,
    '',
    `**Why:** ${text.reason}`,
    '',
    `| field | where | now | proposed |${hasNotes ? ' note |' : ''}`,
    `| --- | --- | --- | --- |${hasNotes ? ' --- |' : ''}`,
    ...rows,
    '',
    ...links,
    ...(text.trail.length > 1
      ? ['', `Found by reading: ${text.trail.map((f) => `\`${f}\``).join(' → ')}`]
      : []),
    '',
    'Merging this lets your GitOps tool apply the change; kube-remedy then checks that the workload recovers. ' +
      'Closing it without merging tells kube-remedy the change was declined, and the incident escalates to people.',
    '',
    marker('incident', text.incidentId),
    marker('opened-by', text.openedBy),
  ].join('\n');
}

export function recurrenceComment(input: {
  reason: string;
  step: string;
  jobId: string;
  committed: string | null;
  edits: readonly AppliedEdit[];
}): string {
  const change = input.edits
    .map((e) => `${e.field}: ${code(e.before)} → ${code(e.after)}`)
    .join('; ');
  const commit =
    input.committed === null
      ? 'The branch already proposes this; no new commit.'
      : `New commit ${input.committed.slice(0, 12)} updates the proposal: ${change}.`;
  return [
    `The symptom recurred (step \`${input.step}\`): ${input.reason}`,
    '',
    commit,
    '',
    marker('job', input.jobId),
  ].join('\n');
}
