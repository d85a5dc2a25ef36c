/**
 * GitOps on GitLab: repository files, branches, commits with one `update` action (naming the
 * file's last commit, so a stale read fails instead of overwriting) and merge requests. A branch
 * or merge request that already exists is found and reused.
 */
import { TerminalEffectError } from '../../effects/errors.ts';
import type {
  ChangeRequest,
  CodeHost,
  CommitResult,
  DirectoryEntry,
  RepoFile,
} from '../../gitops/code-host.ts';
import type { GitLabClient } from './client.ts';
import { classifyGitLabError, gitlabMessage, gitlabStatus, isAlreadyExists } from './errors.ts';

interface MergeRequestLike {
  iid: number;
  web_url: string;
  state: string;
  title: string;
  description?: string | null;
  source_branch: string;
  target_branch: string;
  merged_by?: { username?: string } | null;
  merge_user?: { username?: string } | null;
  merged_at?: string | null;
  closed_by?: { username?: string } | null;
  closed_at?: string | null;
  updated_at: string;
}

function toChangeRequest(mr: MergeRequestLike): ChangeRequest {
  const state = mr.state === 'merged' ? 'merged' : mr.state === 'closed' ? 'closed' : 'open';
  const by =
    state === 'merged'
      ? (mr.merge_user?.username ?? mr.merged_by?.username ?? null)
      : state === 'closed'
        ? (mr.closed_by?.username ?? null)
        : null;
  return {
    number: mr.iid,
    url: mr.web_url,
    state,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    title: mr.title,
    body: mr.description ?? '',
    by,
    endedAt:
      state === 'merged'
        ? (mr.merged_at ?? null)
        : state === 'closed'
          ? (mr.closed_at ?? null)
          : null,
    updatedAt: mr.updated_at,
  };
}

export class GitLabCodeHost implements CodeHost {
  readonly provider = 'gitlab' as const;
  private readonly client: GitLabClient;

  constructor(client: GitLabClient) {
    this.client = client;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyGitLabError(error, what);
    }
  }

  async readFile(repo: string, ref: string, path: string): Promise<RepoFile | null> {
    try {
      const file = await this.client.files.show(repo, path, ref);
      const content = Buffer.from(
        file.content,
        file.encoding === 'base64' ? 'base64' : 'utf8',
      ).toString('utf8');
      return { path, content, version: file.last_commit_id };
    } catch (error) {
      if (gitlabStatus(error) === 404) return null;
      throw classifyGitLabError(error, `read ${path} at ${ref} in ${repo}`);
    }
  }

  async listDirectory(repo: string, ref: string, path: string): Promise<DirectoryEntry[] | null> {
    try {
      const entries = await this.client.repositories.allRepositoryTrees(repo, {
        ref,
        ...(path === '' ? {} : { path }),
        perPage: 100,
      });
      return entries.map((entry) => ({
        path: entry.path,
        type: entry.type === 'tree' ? 'dir' : 'file',
      }));
    } catch (error) {
      if (gitlabStatus(error) === 404) return null;
      throw classifyGitLabError(error, `list ${path || '/'} at ${ref} in ${repo}`);
    }
  }

  async branchHead(repo: string, branch: string): Promise<string | null> {
    try {
      const found = await this.client.branches.show(repo, branch);
      return found.commit.id;
    } catch (error) {
      if (gitlabStatus(error) === 404) return null;
      throw classifyGitLabError(error, `read branch ${branch} of ${repo}`);
    }
  }

  async createBranch(repo: string, branch: string, fromSha: string): Promise<void> {
    try {
      await this.client.branches.create(repo, branch, fromSha);
    } catch (error) {
      if (isAlreadyExists(error)) return;
      throw classifyGitLabError(error, `create branch ${branch} in ${repo}`);
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
  ): Promise<CommitResult> {
    try {
      const commit = await this.client.commits.create(repo, input.branch, input.message, [
        {
          action: 'update',
          filePath: input.path,
          content: input.content,
          lastCommitId: input.previousVersion,
        },
      ]);
      return { sha: commit.id };
    } catch (error) {
      // The file moved on since it was read: a retry reads it again.
      if (gitlabStatus(error) === 400 && /changed since/i.test(gitlabMessage(error))) {
        throw new Error(`${input.path} changed on ${input.branch} while committing; will retry`, {
          cause: error,
        });
      }
      throw classifyGitLabError(error, `commit ${input.path} to ${input.branch} in ${repo}`);
    }
  }

  async findOpenChangeRequest(
    repo: string,
    sourceBranch: string,
    targetBranch: string,
  ): Promise<ChangeRequest | null> {
    const found = await this.call(`list merge requests of ${repo}`, () =>
      this.client.mergeRequests.all({
        projectId: repo,
        sourceBranch,
        targetBranch,
        state: 'opened',
      }),
    );
    const mr = (found as unknown as MergeRequestLike[]).find(
      (m) => m.source_branch === sourceBranch && m.target_branch === targetBranch,
    );
    return mr === undefined ? null : toChangeRequest(mr);
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
  ): Promise<{ request: ChangeRequest; created: boolean }> {
    try {
      const mr = await this.client.mergeRequests.create(
        repo,
        input.sourceBranch,
        input.targetBranch,
        input.title,
        {
          description: input.body,
          labels: input.labels.join(','),
          removeSourceBranch: true,
        },
      );
      return { request: toChangeRequest(mr), created: true };
    } catch (error) {
      if (!isAlreadyExists(error)) {
        throw classifyGitLabError(
          error,
          `open a merge request from ${input.sourceBranch} in ${repo}`,
        );
      }
      const existing = await this.findOpenChangeRequest(
        repo,
        input.sourceBranch,
        input.targetBranch,
      );
      if (existing === null) {
        throw new TerminalEffectError(
          'conflict',
          `GitLab says a merge request from ${input.sourceBranch} exists in ${repo}, but none is open into ${input.targetBranch}`,
          { cause: error },
        );
      }
      return { request: existing, created: false };
    }
  }

  async updateChangeRequest(
    repo: string,
    number: number,
    input: { title: string; body: string },
  ): Promise<void> {
    await this.call(`update merge request !${number} in ${repo}`, () =>
      this.client.mergeRequests.edit(repo, number, { title: input.title, description: input.body }),
    );
  }

  async getChangeRequest(repo: string, number: number): Promise<ChangeRequest> {
    const mr = await this.call(`read merge request !${number} of ${repo}`, () =>
      this.client.mergeRequests.show(repo, number),
    );
    return toChangeRequest(mr);
  }

  async listComments(repo: string, number: number): Promise<string[]> {
    const notes = await this.call(`read notes of !${number} in ${repo}`, () =>
      this.client.notes.all(repo, number, { perPage: 100 }),
    );
    return (notes as unknown as { body?: string }[]).map((n) => n.body ?? '');
  }

  async comment(repo: string, number: number, body: string): Promise<void> {
    await this.call(`comment on !${number} in ${repo}`, () =>
      this.client.notes.create(repo, number, body),
    );
  }
}
