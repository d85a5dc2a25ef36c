/**
 * One proposal, end to end and safe to repeat: find the field at the target branch, compute the
 * new file text with only that line changed, keep one branch per incident with that text on it,
 * and one open change request from it. A rerun finds everything in place and changes nothing; a
 * recurrence (a later step of the same incident) commits only if the text differs, updates the
 * body and leaves one comment per step.
 */
import type { Logger } from '../telemetry/index.ts';
import type { ChangeRequest, CodeHost, RepoFile } from './code-host.ts';
import { locate, ManifestNotFoundError, type FileReader, type Location } from './locate.ts';
import { describeField, imageTag, type FieldChange, type WorkloadRef } from './manifests.ts';
import { raiseMemory } from './quantity.ts';
import {
  branchName,
  marker,
  PROPOSAL_LABEL,
  proposalBody,
  proposalTitle,
  openedByOf,
  recurrenceComment,
  type AppliedEdit,
} from './text.ts';
import { parseDocuments, readScalar, setScalar, type ScalarValue } from './yaml-edit.ts';

/** What is proposed, with everything needed to compute the new values. */
export type Proposal =
  | { kind: 'scale'; from: number | null; to: number }
  | {
      kind: 'increaseMemory';
      containers: readonly string[];
      increasePercent: number;
      max: string | null;
      /** The limits the containers run with now, for manifests that do not declare one. */
      live?: Readonly<Record<string, string>>;
    }
  | {
      kind: 'rollback';
      fromRevision: string | null;
      /** The image each changed container goes back to. */
      images: readonly { container: string; image: string }[];
    };

/** The repository already says what would be proposed: there is nothing to change. */
export class NothingToChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NothingToChangeError';
  }
}

export function summaryOf(proposal: Proposal): string {
  switch (proposal.kind) {
    case 'scale':
      return `scale to ${proposal.to} replicas`;
    case 'increaseMemory':
      return `raise the memory limit by ${proposal.increasePercent}%`;
    case 'rollback':
      return proposal.fromRevision === null
        ? 'roll back the image'
        : `roll back the image from revision ${proposal.fromRevision}`;
  }
}

function changesOf(proposal: Proposal): FieldChange[] {
  switch (proposal.kind) {
    case 'scale':
      return [{ field: 'replicas', to: proposal.to }];
    case 'increaseMemory':
      return proposal.containers.map((container) => ({ field: 'memoryLimit', container }));
    case 'rollback':
      return proposal.images.map(({ container, image }) => ({
        field: 'image',
        container,
        to: image,
      }));
  }
}

interface Planned {
  value: ScalarValue;
  note?: string;
}

function plan(location: Location, change: FieldChange, proposal: Proposal): Planned {
  switch (change.field) {
    case 'replicas':
      return { value: change.to };
    case 'image': {
      if (location.imagePart === 'reference') return { value: change.to };
      const tag = imageTag(change.to);
      if (tag === undefined) {
        throw new ManifestNotFoundError(
          `${location.file.path} sets only the image tag, but ${change.to} has no tag to set`,
        );
      }
      return { value: tag };
    }
    case 'memoryLimit': {
      if (proposal.kind !== 'increaseMemory')
        throw new Error('memory change without a memory proposal');
      const current =
        location.current ?? location.inherited ?? proposal.live?.[change.container] ?? undefined;
      if (current === undefined) {
        throw new ManifestNotFoundError(
          `container ${change.container} declares no memory limit in ${location.file.path} and none is known from the cluster`,
        );
      }
      const raised = raiseMemory(String(current), proposal.increasePercent, proposal.max);
      if (!raised.ok) throw new NothingToChangeError(raised.reason);
      return raised.capped
        ? { value: raised.to, note: `capped at the policy's maximum ${proposal.max ?? ''}` }
        : { value: raised.to };
    }
  }
}

/** Reads through to the host, but sees the files this proposal already changed. */
class EditedView {
  private readonly edited = new Map<string, RepoFile>();
  private readonly host: CodeHost;

  constructor(host: CodeHost) {
    this.host = host;
  }

  reader(): FileReader {
    return {
      readFile: async (repo, ref, path, signal) =>
        this.edited.get(path) ?? this.host.readFile(repo, ref, path, signal),
      listDirectory: (repo, ref, path, signal) => this.host.listDirectory(repo, ref, path, signal),
    };
  }

  set(file: RepoFile): void {
    this.edited.set(file.path, file);
  }

  files(): RepoFile[] {
    return [...this.edited.values()];
  }
}

export interface ProposeInput {
  host: CodeHost;
  repo: string;
  /** The branch changes are proposed into. */
  baseBranch: string;
  path: string;
  valuesKey?: string | undefined;
  workload: WorkloadRef;
  proposal: Proposal;
  reason: string;
  incidentId: string;
  actorKey: string;
  step: string;
  jobId: string;
  policy?: string | undefined;
  links?: { evidence?: string | undefined; ticket?: string | undefined };
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
}

export interface ProposeResult {
  request: ChangeRequest;
  branch: string;
  /** Whether this run opened the request (false: it was open already). */
  created: boolean;
  /** The commit this run made, or null when the branch already had the change. */
  committed: string | null;
  /** Whether this run left a recurrence comment. */
  commented: boolean;
  edits: AppliedEdit[];
}

export async function propose(input: ProposeInput): Promise<ProposeResult> {
  const { host, repo, signal } = input;
  const log = input.logger?.child({ repo, provider: host.provider });
  const baseHead = await host.branchHead(repo, input.baseBranch, signal);
  if (baseHead === null)
    throw new ManifestNotFoundError(`${repo} has no branch ${input.baseBranch}`);

  // 1. The new text of every file the proposal touches, computed from the base branch.
  const view = new EditedView(host);
  const edits: AppliedEdit[] = [];
  const trail: string[] = [];
  for (const change of changesOf(input.proposal)) {
    const location = await locate({
      host: view.reader(),
      repo,
      ref: input.baseBranch,
      path: input.path,
      valuesKey: input.valuesKey,
      workload: input.workload,
      change,
      signal,
    });
    for (const file of location.trail) if (!trail.includes(file)) trail.push(file);
    const planned = plan(location, change, input.proposal);
    const before = location.current ?? null;
    if (before !== null && String(before) === String(planned.value)) continue;
    const edit = setScalar(location.file.content, location.docIndex, location.path, planned.value);
    // Belt and braces: the new text must parse and say exactly the new value there.
    const check = parseDocuments(edit.text)[location.docIndex];
    if (check === undefined || String(readScalar(check, location.path)) !== String(planned.value)) {
      throw new Error(`editing ${location.file.path} did not produce ${String(planned.value)}`);
    }
    view.set({ ...location.file, content: edit.text });
    edits.push({
      file: location.file.path,
      line: edit.line,
      field: describeField(change),
      before:
        before === null
          ? location.inherited === undefined
            ? null
            : String(location.inherited)
          : String(before),
      after: String(planned.value),
      style: location.style,
      ...(planned.note === undefined ? {} : { note: planned.note }),
    });
  }
  if (edits.length === 0) {
    throw new NothingToChangeError(
      `${input.repo}@${input.baseBranch} already declares what would be proposed (${summaryOf(input.proposal)})`,
    );
  }

  // 2. The branch of this incident, holding that text.
  const branch = branchName(input.workload, input.incidentId);
  if ((await host.branchHead(repo, branch, signal)) === null) {
    await host.createBranch(repo, branch, baseHead, signal);
  }
  const message = `${summaryOf(input.proposal)} of ${input.workload.kind} ${input.workload.name}\n\n${input.reason}\n\nIncident: ${input.incidentId}`;
  let committed: string | null = null;
  for (const file of view.files()) {
    const onBranch = await host.readFile(repo, branch, file.path, signal);
    if (onBranch === null) throw new Error(`${file.path} is missing on branch ${branch}`);
    if (onBranch.content === file.content) continue;
    committed = (
      await host.commitFile(
        repo,
        {
          branch,
          path: file.path,
          content: file.content,
          message,
          previousVersion: onBranch.version,
        },
        signal,
      )
    ).sha;
  }

  // 3. One open request from the branch, with the current explanation.
  const existing = await host.findOpenChangeRequest(repo, branch, input.baseBranch, signal);
  const openedBy = (existing === null ? undefined : openedByOf(existing.body)) ?? input.jobId;
  const text = {
    workload: input.workload,
    summary: summaryOf(input.proposal),
    reason: input.reason,
    incidentId: input.incidentId,
    actorKey: input.actorKey,
    policy: input.policy,
    edits,
    links: input.links ?? {},
    trail,
    openedBy,
  };
  const title = proposalTitle(text);
  const body = proposalBody(text);
  let request: ChangeRequest;
  let created = false;
  let commented = false;
  if (existing === null) {
    const opened = await host.openChangeRequest(
      repo,
      {
        sourceBranch: branch,
        targetBranch: input.baseBranch,
        title,
        body,
        labels: [PROPOSAL_LABEL],
      },
      signal,
    );
    request = opened.request;
    created = opened.created;
  } else {
    request = existing;
    if (existing.body !== body || existing.title !== title) {
      await host.updateChangeRequest(repo, existing.number, { title, body }, signal);
    }
    // This job opened it (a lost result), or commented already: nothing more to say.
    const comments =
      openedBy === input.jobId ? [] : await host.listComments(repo, existing.number, signal);
    const mine = marker('job', input.jobId);
    if (openedBy !== input.jobId && !comments.some((c) => c.includes(mine))) {
      await host.comment(
        repo,
        existing.number,
        recurrenceComment({
          reason: input.reason,
          step: input.step,
          jobId: input.jobId,
          committed,
          edits,
        }),
        signal,
      );
      commented = true;
    }
  }
  log?.info(
    { request: request.url, branch, created, committed, commented },
    created ? 'opened a change request' : 'change request already open; updated it',
  );
  return { request, branch, created, committed, commented, edits };
}
