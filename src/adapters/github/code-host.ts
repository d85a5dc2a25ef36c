/**
 * GitOps on GitHub: files through the contents API, branches as git refs, pull requests. Every
 * write is safe to repeat: a ref or pull request that already exists is found and reused, and a
 * file commit names the blob it replaces, so a stale read fails (409) instead of overwriting.
 */
import { TerminalEffectError } from '../../effects/errors.ts';
import type {
  ChangeRequest,
  CodeHost,
  CommitResult,
  DirectoryEntry,
  RepoFile,
} from '../../gitops/code-host.ts';
import { splitRepo, type Octokit } from './client.ts';
import { classifyGitHubError, githubStatus, isAlreadyExists } from './errors.ts';

interface PullLike {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
  merged?: boolean;
  closed_at?: string | null;
  updated_at: string;
  title: string;
  body?: string | null;
  merged_by?: { login: string } | null;
  head: { ref: string };
  base: { ref: string };
}

function toChangeRequest(pull: PullLike): ChangeRequest {
  const merged = pull.merged === true || (pull.merged_at !== null && pull.merged_at !== undefined);
  const state = merged ? 'merged' : pull.state === 'closed' ? 'closed' : 'open';
  return {
    number: pull.number,
    url: pull.html_url,
    state,
    sourceBranch: pull.head.ref,
    targetBranch: pull.base.ref,
    title: pull.title,
    body: pull.body ?? '',
    by: merged ? (pull.merged_by?.login ?? null) : null,
    endedAt: merged ? (pull.merged_at ?? null) : (pull.closed_at ?? null),
    updatedAt: pull.updated_at,
  };
}

function encodePath(path: string): string {
  return path.replace(/^\/+/, '');
}

export class GitHubCodeHost implements CodeHost {
  readonly provider = 'github' as const;
  private readonly octokit: Octokit;

  constructor(octokit: Octokit) {
    this.octokit = octokit;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyGitHubError(error, what);
    }
  }

  async readFile(
    repo: string,
    ref: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<RepoFile | null> {
    try {
      const { data } = await this.octokit.repos.getContent({
        ...splitRepo(repo),
        path: encodePath(path),
        ref,
        request: { signal },
      });
      if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) return null;
      const content = Buffer.from(data.content, 'base64').toString('utf8');
      return { path, content, version: data.sha };
    } catch (error) {
      if (githubStatus(error) === 404) return null;
      throw classifyGitHubError(error, `read ${path} at ${ref} in ${repo}`);
    }
  }

  async listDirectory(
    repo: string,
    ref: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<DirectoryEntry[] | null> {
    try {
      const { data } = await this.octokit.repos.getContent({
        ...splitRepo(repo),
        path: encodePath(path),
        ref,
        request: { signal },
      });
      if (!Array.isArray(data)) return null;
      return data.flatMap((entry): DirectoryEntry[] =>
        entry.type === 'file' || entry.type === 'dir'
          ? [{ path: entry.path, type: entry.type }]
          : [],
      );
    } catch (error) {
      if (githubStatus(error) === 404) return null;
      throw classifyGitHubError(error, `list ${path || '/'} at ${ref} in ${repo}`);
    }
  }

  async branchHead(repo: string, branch: string, signal?: AbortSignal): Promise<string | null> {
    try {
      const { data } = await this.octokit.git.getRef({
        ...splitRepo(repo),
        ref: `heads/${branch}`,
        request: { signal },
      });
      return data.object.sha;
    } catch (error) {
      if (githubStatus(error) === 404) return null;
      throw classifyGitHubError(error, `read branch ${branch} of ${repo}`);
    }
  }

  async createBranch(
    repo: string,
    branch: string,
    fromSha: string,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.octokit.git.createRef({
        ...splitRepo(repo),
        ref: `refs/heads/${branch}`,
        sha: fromSha,
        request: { signal },
      });
    } catch (error) {
      if (isAlreadyExists(error)) return;
      throw classifyGitHubError(error, `create branch ${branch} in ${repo}`);
    }
  }

  async commitFile(
    repo: string,
    input: {
      branch: string;
      path: string;
      content: string;
      message: string;
      previousVersion: string;
    },
    signal?: AbortSignal,
  ): Promise<CommitResult> {
    const { data } = await this.call(`commit ${input.path} to ${input.branch} in ${repo}`, () =>
      this.octokit.repos.createOrUpdateFileContents({
        ...splitRepo(repo),
        path: encodePath(input.path),
        branch: input.branch,
        message: input.message,
        content: Buffer.from(input.content, 'utf8').toString('base64'),
        sha: input.previousVersion,
        request: { signal },
      }),
    );
    const sha = data.commit.sha;
    if (sha === undefined) throw new Error(`GitHub did not say which commit changed ${input.path}`);
    return { sha };
  }

  async findOpenChangeRequest(
    repo: string,
    sourceBranch: string,
    targetBranch: string,
    signal?: AbortSignal,
  ): Promise<ChangeRequest | null> {
    const target = splitRepo(repo);
    const { data } = await this.call(`list pull requests of ${repo}`, () =>
      this.octokit.pulls.list({
        ...target,
        head: `${target.owner}:${sourceBranch}`,
        base: targetBranch,
        state: 'open',
        per_page: 10,
        request: { signal },
      }),
    );
    const pull = data.find((p) => p.head.ref === sourceBranch && p.base.ref === targetBranch);
    return pull === undefined ? null : toChangeRequest(pull);
  }

  async openChangeRequest(
    repo: string,
    input: {
      sourceBranch: string;
      targetBranch: string;
      title: string;
      body: string;
      labels: readonly string[];
    },
    signal?: AbortSignal,
  ): Promise<{ request: ChangeRequest; created: boolean }> {
    let pull: ChangeRequest;
    try {
      const { data } = await this.octokit.pulls.create({
        ...splitRepo(repo),
        head: input.sourceBranch,
        base: input.targetBranch,
        title: input.title,
        body: input.body,
        maintainer_can_modify: true,
        request: { signal },
      });
      pull = toChangeRequest(data);
    } catch (error) {
      if (!isAlreadyExists(error)) {
        throw classifyGitHubError(
          error,
          `open a pull request from ${input.sourceBranch} in ${repo}`,
        );
      }
      const existing = await this.findOpenChangeRequest(
        repo,
        input.sourceBranch,
        input.targetBranch,
        signal,
      );
      if (existing === null) {
        throw new TerminalEffectError(
          'conflict',
          `GitHub says a pull request from ${input.sourceBranch} exists in ${repo}, but none is open into ${input.targetBranch}`,
          { cause: error },
        );
      }
      return { request: existing, created: false };
    }
    if (input.labels.length > 0) {
      await this.call(`label pull request #${pull.number} in ${repo}`, () =>
        this.octokit.issues.addLabels({
          ...splitRepo(repo),
          issue_number: pull.number,
          labels: [...input.labels],
          request: { signal },
        }),
      );
    }
    return { request: pull, created: true };
  }

  async updateChangeRequest(
    repo: string,
    number: number,
    input: { title: string; body: string },
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(`update pull request #${number} in ${repo}`, () =>
      this.octokit.pulls.update({
        ...splitRepo(repo),
        pull_number: number,
        title: input.title,
        body: input.body,
        request: { signal },
      }),
    );
  }

  async getChangeRequest(
    repo: string,
    number: number,
    signal?: AbortSignal,
  ): Promise<ChangeRequest> {
    const { data } = await this.call(`read pull request #${number} of ${repo}`, () =>
      this.octokit.pulls.get({ ...splitRepo(repo), pull_number: number, request: { signal } }),
    );
    return toChangeRequest(data);
  }

  async listComments(repo: string, number: number, signal?: AbortSignal): Promise<string[]> {
    const comments = await this.call(`read comments of #${number} in ${repo}`, () =>
      this.octokit.paginate(this.octokit.issues.listComments, {
        ...splitRepo(repo),
        issue_number: number,
        per_page: 100,
        request: { signal },
      }),
    );
    return comments.map((c) => c.body ?? '');
  }

  async comment(repo: string, number: number, body: string, signal?: AbortSignal): Promise<void> {
    await this.call(`comment on #${number} in ${repo}`, () =>
      this.octokit.issues.createComment({
        ...splitRepo(repo),
        issue_number: number,
        body,
        request: { signal },
      }),
    );
  }
}
