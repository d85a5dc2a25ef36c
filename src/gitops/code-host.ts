/**
 * What GitOps needs from a code host, whatever the provider: read files at a ref, keep a branch,
 * commit one file to it, and keep one change request (GitHub pull request, GitLab merge request)
 * open from it. The adapters in src/adapters/github and src/adapters/gitlab implement it and turn
 * provider answers into the effect errors that decide retries: an "already exists" answer is
 * never an error here (the existing thing is found and returned).
 */

export type GitOpsProvider = 'github' | 'gitlab';

export interface RepoFile {
  path: string;
  content: string;
  /** The provider's version of the file, passed back when committing (GitHub's blob sha). */
  version: string;
}

export interface DirectoryEntry {
  path: string;
  type: 'file' | 'dir';
}

export type ChangeRequestState = 'open' | 'merged' | 'closed';

export interface ChangeRequest {
  /** Pull request number (GitHub) or merge request iid (GitLab). */
  number: number;
  url: string;
  state: ChangeRequestState;
  sourceBranch: string;
  targetBranch: string;
  title: string;
  body: string;
  /** Who merged or closed it, when known. */
  by: string | null;
  /** When it was merged or closed (ISO 8601), when it was. */
  endedAt: string | null;
  /** Last activity (ISO 8601). */
  updatedAt: string;
}

export interface CommitResult {
  sha: string;
}

export interface CodeHost {
  readonly provider: GitOpsProvider;
  /** The file at `ref`, or null when there is none (a directory is not a file). */
  readFile(repo: string, ref: string, path: string, signal?: AbortSignal): Promise<RepoFile | null>;
  /** The entries of a directory at `ref`, or null when there is no such directory. */
  listDirectory(
    repo: string,
    ref: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<DirectoryEntry[] | null>;
  /** The commit a branch points at, or null when there is no such branch. */
  branchHead(repo: string, branch: string, signal?: AbortSignal): Promise<string | null>;
  /** Creates `branch` at `fromSha`; a branch that already exists is left as it is. */
  createBranch(repo: string, branch: string, fromSha: string, signal?: AbortSignal): Promise<void>;
  /** Commits one file's new content to an existing branch. */
  commitFile(
    repo: string,
    input: {
      branch: string;
      path: string;
      content: string;
      message: string;
      /** The version of the file on that branch, as read. */
      previousVersion: string;
    },
    signal?: AbortSignal,
  ): Promise<CommitResult>;
  /** The open change request from `sourceBranch` into `targetBranch`, if there is one. */
  findOpenChangeRequest(
    repo: string,
    sourceBranch: string,
    targetBranch: string,
    signal?: AbortSignal,
  ): Promise<ChangeRequest | null>;
  /** Opens a change request; if one is already open for the branch, returns that one (created: false). */
  openChangeRequest(
    repo: string,
    input: {
      sourceBranch: string;
      targetBranch: string;
      title: string;
      body: string;
      labels: readonly string[];
    },
    signal?: AbortSignal,
  ): Promise<{ request: ChangeRequest; created: boolean }>;
  updateChangeRequest(
    repo: string,
    number: number,
    input: { title: string; body: string },
    signal?: AbortSignal,
  ): Promise<void>;
  getChangeRequest(repo: string, number: number, signal?: AbortSignal): Promise<ChangeRequest>;
  /** The bodies of the change request's comments, newest last (enough for idempotency markers). */
  listComments(repo: string, number: number, signal?: AbortSignal): Promise<string[]>;
  comment(repo: string, number: number, body: string, signal?: AbortSignal): Promise<void>;
}
