/**
 * A local server speaking the GitLab REST API (v4) for the endpoints kube-remedy uses:
 * repository files and trees, branches, commits with actions, merge requests and their notes,
 * over in-memory projects. @gitbeaker/rest reaches it by host URL. Bodies are checked for the
 * fields GitLab requires on each endpoint (GitLab ships no OpenAPI description in a package);
 * problems land in `violations`.
 */
import {
  HttpFake,
  MemoryGit,
  reply,
  type FakeRequest,
  type FakeResponse,
  type InjectedFailure,
  type LoggedRequest,
} from './fake-github.ts';

export interface FakeMergeRequest {
  iid: number;
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  baseSha: string;
  state: 'opened' | 'closed' | 'merged';
  labels: string[];
  mergedBy: string | null;
  mergedAt: string | null;
  closedBy: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  notes: { id: number; body: string; createdAt: string }[];
}

interface FakeProject {
  path: string;
  id: number;
  defaultBranch: string;
  git: MemoryGit;
  mergeRequests: FakeMergeRequest[];
}

const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  'POST branches': ['branch', 'ref'],
  'POST commits': ['branch', 'commit_message', 'actions'],
  'POST merge_requests': ['source_branch', 'target_branch', 'title'],
  'POST notes': ['body'],
};

const USER = { id: 7, username: 'kube-remedy-bot', name: 'kube-remedy' };

export class FakeGitLab {
  readonly token: string;
  readonly violations: string[] = [];
  private readonly projects = new Map<string, FakeProject>();
  private readonly http: HttpFake;
  private noteIds = 0;
  private clock = Date.parse('2026-11-01T00:00:00Z');

  constructor(options: { token?: string } = {}) {
    this.token = options.token ?? 'glpat-test-token';
    this.http = new HttpFake((request) => this.route(request));
  }

  get url(): string {
    return this.http.url;
  }

  get log(): LoggedRequest[] {
    return this.http.log;
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  failNext(failure: InjectedFailure): void {
    this.http.failNext(failure);
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  createProject(path: string, files: Record<string, string>, defaultBranch = 'main'): void {
    this.projects.set(path, {
      path,
      id: this.projects.size + 100,
      defaultBranch,
      git: new MemoryGit(defaultBranch, files),
      mergeRequests: [],
    });
  }

  project(path: string): FakeProject {
    const project = this.projects.get(path);
    if (project === undefined) throw new Error(`no project ${path} in the fake`);
    return project;
  }

  file(path: string, ref: string, file: string): string | undefined {
    return this.project(path).git.read(ref, file);
  }

  mergeRequests(path: string): FakeMergeRequest[] {
    return this.project(path).mergeRequests;
  }

  merge(path: string, iid: number, by: string): void {
    const project = this.project(path);
    const mr = project.mergeRequests.find((m) => m.iid === iid);
    if (mr === undefined || mr.state !== 'opened')
      throw new Error(`merge request !${iid} is not open`);
    project.git.squash(
      mr.sourceBranch,
      mr.baseSha,
      mr.targetBranch,
      `Merge branch '${mr.sourceBranch}'`,
    );
    const at = this.now();
    Object.assign(mr, { state: 'merged', mergedBy: by, mergedAt: at, updatedAt: at });
  }

  close(path: string, iid: number, by: string): void {
    const mr = this.project(path).mergeRequests.find((m) => m.iid === iid);
    if (mr === undefined) throw new Error(`no merge request !${iid}`);
    const at = this.now();
    Object.assign(mr, { state: 'closed', closedBy: by, closedAt: at, updatedAt: at });
  }

  private check(method: string, what: string, body: unknown): void {
    const required = REQUIRED[`${method} ${what}`];
    if (required === undefined) return;
    const record = (body ?? {}) as Record<string, unknown>;
    for (const key of required) {
      if (record[key] === undefined || record[key] === '')
        this.violations.push(`${method} ${what}: ${key} is required`);
    }
    for (const key of Object.keys(record)) {
      if (/[A-Z]/.test(key))
        this.violations.push(`${method} ${what}: ${key} is not a GitLab field (camelCase)`);
    }
  }

  private route(request: FakeRequest): FakeResponse {
    if (request.headers['private-token'] !== this.token)
      return reply(401, { message: '401 Unauthorized' });
    const [api, version, projects, id, ...rest] = request.segments;
    if (api !== 'api' || version !== 'v4' || projects !== 'projects' || id === undefined) {
      return reply(404, { error: '404 Not Found' });
    }
    const project = this.projects.get(id);
    if (project === undefined) return reply(404, { message: '404 Project Not Found' });
    const body = (request.body ?? {}) as Record<string, unknown>;
    const q = request.query;
    const m = request.method;
    const [area, ...tail] = rest;
    if (area === 'repository') {
      const [kind, ...more] = tail;
      if (kind === 'files' && m === 'GET')
        return this.getFile(project, more.join('/'), q.get('ref') ?? project.defaultBranch);
      if (kind === 'tree' && m === 'GET')
        return this.tree(project, q.get('path') ?? '', q.get('ref') ?? project.defaultBranch);
      if (kind === 'branches' && more.length > 0 && m === 'GET') {
        const sha = project.git.branches.get(more.join('/'));
        return sha === undefined
          ? reply(404, { message: '404 Branch Not Found' })
          : reply(200, {
              name: more.join('/'),
              commit: { id: sha, short_id: sha.slice(0, 8) },
              merged: false,
              protected: false,
            });
      }
      if (kind === 'branches' && more.length === 0 && m === 'POST') {
        this.check(m, 'branches', body);
        const name = String(body['branch']);
        const ref = String(body['ref']);
        if (project.git.branches.has(name)) return reply(400, { message: 'Branch already exists' });
        const sha =
          project.git.branches.get(ref) ?? (project.git.commits.has(ref) ? ref : undefined);
        if (sha === undefined) return reply(400, { message: 'Invalid reference name' });
        project.git.branches.set(name, sha);
        return reply(201, { name, commit: { id: sha }, merged: false, protected: false });
      }
      if (kind === 'commits' && m === 'POST') return this.commit(project, body);
    }
    if (area === 'merge_requests') return this.mergeRequestRoute(project, m, tail, body, q);
    return reply(404, { error: '404 Not Found' });
  }

  private getFile(project: FakeProject, path: string, ref: string): FakeResponse {
    const files = project.git.filesAt(ref);
    const blob = files?.get(path);
    if (blob === undefined) return reply(404, { message: '404 File Not Found' });
    const content = project.git.blobs.get(blob) ?? '';
    // The last commit that touched the file on this ref.
    let commit = project.git.branches.get(ref) ?? ref;
    for (;;) {
      const parent = project.git.commits.get(commit)?.parent;
      if (
        parent === null ||
        parent === undefined ||
        project.git.commits.get(parent)?.files.get(path) !== blob
      )
        break;
      commit = parent;
    }
    return reply(200, {
      file_name: path.split('/').pop(),
      file_path: path,
      size: Buffer.byteLength(content),
      encoding: 'base64',
      content: Buffer.from(content).toString('base64'),
      content_sha256: '',
      ref,
      blob_id: blob,
      commit_id: project.git.branches.get(ref) ?? ref,
      last_commit_id: commit,
    });
  }

  private tree(project: FakeProject, path: string, ref: string): FakeResponse {
    const files = project.git.filesAt(ref);
    if (files === undefined) return reply(404, { message: '404 Tree Not Found' });
    const prefix = path === '' ? '' : `${path}/`;
    const entries = new Map<string, 'blob' | 'tree'>();
    for (const file of files.keys()) {
      if (!file.startsWith(prefix)) continue;
      const [head, ...more] = file.slice(prefix.length).split('/');
      entries.set(`${prefix}${head ?? ''}`, more.length > 0 ? 'tree' : 'blob');
    }
    if (entries.size === 0) return reply(404, { message: '404 Tree Not Found' });
    return reply(
      200,
      [...entries].map(([entry, type]) => ({
        id: entry,
        name: entry.split('/').pop(),
        type,
        path: entry,
        mode: '100644',
      })),
    );
  }

  private commit(project: FakeProject, body: Record<string, unknown>): FakeResponse {
    this.check('POST', 'commits', body);
    const branch = String(body['branch']);
    const files = project.git.filesAt(branch);
    if (files === undefined)
      return reply(400, { message: 'You can only create or edit files when you are on a branch' });
    const changes: Record<string, string> = {};
    for (const action of (body['actions'] as Record<string, unknown>[] | undefined) ?? []) {
      const path = String(action['file_path']);
      if (action['action'] !== 'update')
        return reply(400, { message: `unsupported action ${String(action['action'])}` });
      if (!files.has(path)) return reply(400, { message: "A file with this name doesn't exist" });
      const current = this.getFile(project, path, branch).body as { last_commit_id: string };
      if (
        action['last_commit_id'] !== undefined &&
        action['last_commit_id'] !== current.last_commit_id
      ) {
        return reply(400, { message: 'The file has changed since you started editing it' });
      }
      changes[path] = String(action['content']);
    }
    const sha = project.git.commitTo(branch, changes, String(body['commit_message']));
    return reply(201, {
      id: sha,
      short_id: sha.slice(0, 8),
      title: String(body['commit_message']).split('\n')[0],
      message: body['commit_message'],
    });
  }

  private mergeRequestRoute(
    project: FakeProject,
    m: string,
    tail: string[],
    body: Record<string, unknown>,
    q: URLSearchParams,
  ): FakeResponse {
    if (tail.length === 0 && m === 'GET') {
      const list = project.mergeRequests.filter(
        (mr) =>
          (q.get('state') === null || q.get('state') === 'all' || mr.state === q.get('state')) &&
          (q.get('source_branch') === null || mr.sourceBranch === q.get('source_branch')) &&
          (q.get('target_branch') === null || mr.targetBranch === q.get('target_branch')),
      );
      return reply(
        200,
        list.map((mr) => this.mrJson(project, mr)),
      );
    }
    if (tail.length === 0 && m === 'POST') {
      this.check(m, 'merge_requests', body);
      const source = String(body['source_branch']);
      const target = String(body['target_branch']);
      const baseSha = project.git.branches.get(target);
      if (!project.git.branches.has(source) || baseSha === undefined)
        return reply(400, { message: ['Source branch does not exist'] });
      const open = project.mergeRequests.find(
        (mr) => mr.state === 'opened' && mr.sourceBranch === source && mr.targetBranch === target,
      );
      if (open !== undefined) {
        return reply(409, {
          message: [
            `Another open merge request already exists for this source branch: !${open.iid}`,
          ],
        });
      }
      const at = this.now();
      const mr: FakeMergeRequest = {
        iid: project.mergeRequests.length + 1,
        title: String(body['title']),
        description: typeof body['description'] === 'string' ? body['description'] : '',
        sourceBranch: source,
        targetBranch: target,
        baseSha,
        state: 'opened',
        labels: typeof body['labels'] === 'string' ? body['labels'].split(',').filter(Boolean) : [],
        mergedBy: null,
        mergedAt: null,
        closedBy: null,
        closedAt: null,
        createdAt: at,
        updatedAt: at,
        notes: [],
      };
      project.mergeRequests.push(mr);
      return reply(201, this.mrJson(project, mr));
    }
    const mr = project.mergeRequests.find((x) => x.iid === Number(tail[0]));
    if (mr === undefined) return reply(404, { message: '404 Not found' });
    if (tail.length === 1 && m === 'GET') return reply(200, this.mrJson(project, mr));
    if (tail.length === 1 && m === 'PUT') {
      if (typeof body['title'] === 'string') mr.title = body['title'];
      if (typeof body['description'] === 'string') mr.description = body['description'];
      mr.updatedAt = this.now();
      return reply(200, this.mrJson(project, mr));
    }
    if (tail[1] === 'notes' && m === 'GET') {
      return reply(
        200,
        mr.notes.map((n) => ({
          id: n.id,
          body: n.body,
          author: USER,
          created_at: n.createdAt,
          system: false,
        })),
      );
    }
    if (tail[1] === 'notes' && m === 'POST') {
      this.check(m, 'notes', body);
      const note = { id: ++this.noteIds, body: String(body['body']), createdAt: this.now() };
      mr.notes.push(note);
      mr.updatedAt = note.createdAt;
      return reply(201, {
        id: note.id,
        body: note.body,
        author: USER,
        created_at: note.createdAt,
        system: false,
      });
    }
    return reply(404, { error: '404 Not Found' });
  }

  private mrJson(project: FakeProject, mr: FakeMergeRequest): Record<string, unknown> {
    return {
      id: mr.iid * 1000,
      iid: mr.iid,
      project_id: project.id,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      source_branch: mr.sourceBranch,
      target_branch: mr.targetBranch,
      labels: mr.labels,
      author: USER,
      merged_by: mr.mergedBy === null ? null : { ...USER, username: mr.mergedBy },
      merge_user: mr.mergedBy === null ? null : { ...USER, username: mr.mergedBy },
      merged_at: mr.mergedAt,
      closed_by: mr.closedBy === null ? null : { ...USER, username: mr.closedBy },
      closed_at: mr.closedAt,
      created_at: mr.createdAt,
      updated_at: mr.updatedAt,
      web_url: `https://gitlab.example/${project.path}/-/merge_requests/${mr.iid}`,
      sha: project.git.branches.get(mr.sourceBranch) ?? null,
    };
  }
}
