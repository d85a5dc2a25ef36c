/**
 * A local server speaking the GitHub REST API for the endpoints kube-remedy uses: contents, git
 * refs, pull requests, issues, labels and comments, over in-memory repositories (files, branches,
 * commits). Octokit reaches it by base URL. Every request is checked against GitHub's published
 * OpenAPI description (@octokit/openapi): the method and path must be an operation, the query
 * parameters must be the operation's, and a JSON body must carry the required properties with
 * the declared types. Problems land in `violations`, which tests expect to be empty.
 *
 * Also home of the plumbing the other fakes share (HttpFake): a loopback server, a request log,
 * path segments decoded one by one (SDKs encode `/` inside a parameter as %2F), and injected
 * failures (`failNext`) for 401/403/429/409/422 answers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

// ---------------------------------------------------------------------------------------------
// Shared plumbing

export interface FakeRequest {
  method: string;
  /** The path as sent (still percent-encoded). */
  rawPath: string;
  /** Decoded path segments, without the leading empty one. */
  segments: string[];
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface InjectedFailure extends FakeResponse {
  method?: string;
  /** Matched against the raw path. */
  path: RegExp;
  /** How many matching requests fail. Default: 1. */
  times?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export class HttpFake {
  readonly log: LoggedRequest[] = [];
  url = '';
  private server: Server | undefined;
  private readonly failures: (InjectedFailure & { left: number })[] = [];
  private readonly handle: (request: FakeRequest) => FakeResponse;

  constructor(handle: (request: FakeRequest) => FakeResponse) {
    this.handle = handle;
  }

  /** The next matching request(s) answer with this instead of being handled. */
  failNext(failure: InjectedFailure): void {
    this.failures.push({ ...failure, left: failure.times ?? 1 });
  }

  requests(method?: string, path?: RegExp): LoggedRequest[] {
    return this.log.filter(
      (r) =>
        (method === undefined || r.method === method) && (path === undefined || path.test(r.path)),
    );
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.serve(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const rawPath = url.pathname;
    const method = req.method ?? 'GET';
    let response: FakeResponse;
    const failure = this.failures.find(
      (f) => f.left > 0 && (f.method === undefined || f.method === method) && f.path.test(rawPath),
    );
    if (failure !== undefined) {
      failure.left -= 1;
      response = failure;
    } else {
      try {
        response = this.handle({
          method,
          rawPath,
          segments: rawPath
            .split('/')
            .slice(1)
            .map((s) => decodeURIComponent(s)),
          query: url.searchParams,
          headers: req.headers,
          body,
        });
      } catch (error) {
        response = {
          status: 500,
          body: { message: error instanceof Error ? error.message : String(error) },
        };
      }
    }
    this.log.push({ method, path: rawPath + url.search, status: response.status, body });
    const headers: Record<string, string> = { ...response.headers };
    if (response.body === undefined || response.status === 204) {
      res.writeHead(response.status, headers);
      res.end();
      return;
    }
    headers['content-type'] ??= 'application/json; charset=utf-8';
    res.writeHead(response.status, headers);
    res.end(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
  }
}

export function reply(
  status: number,
  body?: unknown,
  headers?: Record<string, string>,
): FakeResponse {
  return {
    status,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers }),
  };
}

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** A git repository in memory: blobs, commits (a full file map each) and branches. */
export class MemoryGit {
  readonly blobs = new Map<string, string>();
  readonly commits = new Map<
    string,
    { files: Map<string, string>; parent: string | null; message: string }
  >();
  readonly branches = new Map<string, string>();
  private counter = 0;

  constructor(defaultBranch: string, files: Record<string, string>) {
    const sha = this.commit(null, new Map(), files, 'initial commit');
    this.branches.set(defaultBranch, sha);
  }

  /** Git's blob id of the content. */
  blobSha(content: string): string {
    return sha1(`blob ${Buffer.byteLength(content)}\0${content}`);
  }

  /** A commit whose files are `base` with `changes` applied. */
  commit(
    parent: string | null,
    base: Map<string, string>,
    changes: Record<string, string>,
    message: string,
  ): string {
    const files = new Map(base);
    for (const [path, content] of Object.entries(changes)) {
      const blob = this.blobSha(content);
      this.blobs.set(blob, content);
      files.set(path, blob);
    }
    this.counter += 1;
    const sha = sha1(`${parent ?? ''}\n${message}\n${this.counter}`);
    this.commits.set(sha, { files, parent, message });
    return sha;
  }

  filesAt(ref: string): Map<string, string> | undefined {
    const sha = this.branches.get(ref) ?? (this.commits.has(ref) ? ref : undefined);
    return sha === undefined ? undefined : this.commits.get(sha)?.files;
  }

  read(ref: string, path: string): string | undefined {
    const blob = this.filesAt(ref)?.get(path);
    return blob === undefined ? undefined : this.blobs.get(blob);
  }

  /** Commits `changes` on top of `branch`. */
  commitTo(branch: string, changes: Record<string, string>, message: string): string {
    const head = this.branches.get(branch);
    if (head === undefined) throw new Error(`no branch ${branch}`);
    const sha = this.commit(
      head,
      this.commits.get(head)?.files ?? new Map<string, string>(),
      changes,
      message,
    );
    this.branches.set(branch, sha);
    return sha;
  }

  /** Applies the files `source` changed relative to `since` onto `target` (a squash merge). */
  squash(source: string, since: string, target: string, message: string): string {
    const from = this.filesAt(source) ?? new Map<string, string>();
    const before = this.commits.get(since)?.files ?? new Map<string, string>();
    const changes: Record<string, string> = {};
    for (const [path, blob] of from) {
      if (before.get(path) !== blob) changes[path] = this.blobs.get(blob) ?? '';
    }
    return this.commitTo(target, changes, message);
  }
}

// ---------------------------------------------------------------------------------------------
// GitHub's OpenAPI description, as a small request checker

interface Schema {
  type?: string | string[];
  nullable?: boolean;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  items?: Schema;
  $ref?: string;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> } & { $ref?: string };
}

interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    parameters: Record<string, Parameter>;
    requestBodies?: Record<string, unknown>;
  };
}

let description: OpenApi | undefined;

function openApi(): OpenApi {
  if (description === undefined) {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    description = JSON.parse(readFileSync(file, 'utf8')) as OpenApi;
  }
  return description;
}

function deref<T extends { $ref?: string }>(spec: OpenApi, node: T): T {
  let current: unknown = node;
  for (let i = 0; i < 10; i += 1) {
    const ref = (current as { $ref?: string }).$ref;
    if (ref === undefined) break;
    current = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], spec);
  }
  return current as T;
}

function typeOk(value: unknown, schema: Schema): boolean {
  if (value === null)
    return schema.nullable === true || (Array.isArray(schema.type) && schema.type.includes('null'));
  const types =
    schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0) return true;
  return types.some((t) => {
    switch (t) {
      case 'string':
        return typeof value === 'string';
      case 'integer':
        return Number.isInteger(value);
      case 'number':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      case 'array':
        return Array.isArray(value);
      case 'object':
        return typeof value === 'object' && !Array.isArray(value);
      default:
        return true;
    }
  });
}

/** Problems with a request, by GitHub's description; empty when it is one GitHub documents. */
export function checkGitHubRequest(
  method: string,
  rawPath: string,
  query: URLSearchParams,
  body: unknown,
): string[] {
  const spec = openApi();
  const segments = rawPath.split('/');
  const template = Object.keys(spec.paths).find((p) => {
    const parts = p.split('/');
    return (
      parts.length === segments.length &&
      parts.every((part, i) => part.startsWith('{') || part === segments[i]) &&
      spec.paths[p]?.[method.toLowerCase()] !== undefined
    );
  });
  const what = `${method} ${rawPath}`;
  if (template === undefined) return [`${what}: no such operation in GitHub's OpenAPI description`];
  const operation = spec.paths[template]?.[method.toLowerCase()] as Operation;
  const problems: string[] = [];
  const parameters = (operation.parameters ?? []).map((p) => deref(spec, p));
  for (const [name, value] of query) {
    const parameter = parameters.find((p) => p.in === 'query' && p.name === name);
    if (parameter === undefined) {
      problems.push(`${what}: query parameter ${name} is not one of the operation's`);
      continue;
    }
    const schema = parameter.schema === undefined ? undefined : deref(spec, parameter.schema);
    if (schema?.enum !== undefined && !schema.enum.includes(value)) {
      problems.push(`${what}: ${name}=${value} is not one of ${schema.enum.join(', ')}`);
    }
  }
  const requestBody =
    operation.requestBody === undefined ? undefined : deref(spec, operation.requestBody);
  const bodySchema = requestBody?.content?.['application/json']?.schema;
  if (bodySchema !== undefined && body !== undefined) {
    const schema = deref(spec, bodySchema);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      if (schema.type === 'object') problems.push(`${what}: the body should be an object`);
    } else {
      const record = body as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        if (!(key in record)) problems.push(`${what}: the body lacks required property ${key}`);
      }
      for (const [key, value] of Object.entries(record)) {
        const property = schema.properties?.[key];
        if (property === undefined) {
          if (schema.additionalProperties === false)
            problems.push(`${what}: the body has unknown property ${key}`);
          continue;
        }
        const resolved = deref(spec, property);
        if (!typeOk(value, resolved))
          problems.push(`${what}: body property ${key} has the wrong type`);
        if (resolved.enum !== undefined && !resolved.enum.includes(value)) {
          problems.push(
            `${what}: body property ${key}=${String(value)} is not one of ${resolved.enum.join(', ')}`,
          );
        }
      }
    }
  } else if (
    bodySchema === undefined &&
    body !== undefined &&
    ['POST', 'PUT', 'PATCH'].includes(method)
  ) {
    problems.push(`${what}: the operation takes no JSON body`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The GitHub fake

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  /** The base branch's commit when the pull request was opened. */
  baseSha: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergedBy: string | null;
  mergedAt: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  labels: string[];
}

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  createdAt: string;
  updatedAt: string;
}

interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  git: MemoryGit;
  pulls: FakePull[];
  issues: FakeIssue[];
  comments: Map<number, { id: number; body: string; createdAt: string }[]>;
  next: number;
}

const USER = { login: 'kube-remedy-bot', id: 1, type: 'Bot' };

export interface FakeGitHubOptions {
  token?: string;
  /**
   * The time of what the fake writes (merges, comments…), ms since the epoch. Default: a fixed
   * start moving one second per write, so that tests read known times.
   */
  now?: () => number;
}

export class FakeGitHub {
  readonly token: string;
  readonly violations: string[] = [];
  private readonly repos = new Map<string, FakeRepo>();
  private readonly http: HttpFake;
  private commentIds = 0;
  private clock = Date.parse('2026-11-01T00:00:00Z');
  private readonly clockNow: (() => number) | undefined;

  constructor(options: FakeGitHubOptions = {}) {
    this.token = options.token ?? 'ghp_test_token';
    this.clockNow = options.now;
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

  requests(method?: string, path?: RegExp): LoggedRequest[] {
    return this.http.requests(method, path);
  }

  /** Timestamps the fake writes move forward one second per write, from a fixed start. */
  private now(): string {
    if (this.clockNow !== undefined) this.clock = this.clockNow() - 1000;
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  createRepo(fullName: string, files: Record<string, string>, defaultBranch = 'main'): void {
    const [owner, name] = fullName.split('/') as [string, string];
    this.repos.set(fullName, {
      owner,
      name,
      defaultBranch,
      git: new MemoryGit(defaultBranch, files),
      pulls: [],
      issues: [],
      comments: new Map(),
      next: 1,
    });
  }

  repo(fullName: string): FakeRepo {
    const repo = this.repos.get(fullName);
    if (repo === undefined) throw new Error(`no repository ${fullName} in the fake`);
    return repo;
  }

  file(fullName: string, ref: string, path: string): string | undefined {
    return this.repo(fullName).git.read(ref, path);
  }

  branches(fullName: string): string[] {
    return [...this.repo(fullName).git.branches.keys()];
  }

  pulls(fullName: string): FakePull[] {
    return this.repo(fullName).pulls;
  }

  issues(fullName: string): FakeIssue[] {
    return this.repo(fullName).issues;
  }

  comments(fullName: string, number: number): string[] {
    return (this.repo(fullName).comments.get(number) ?? []).map((c) => c.body);
  }

  /** A person pushes to a branch (e.g. someone else changes the base). */
  push(
    fullName: string,
    branch: string,
    changes: Record<string, string>,
    message = 'change',
  ): void {
    this.repo(fullName).git.commitTo(branch, changes, message);
  }

  /** A person opens a pull request (from a new branch with one changed file). */
  openPull(fullName: string, input: { head: string; title: string; labels?: string[] }): FakePull {
    const repo = this.repo(fullName);
    const baseSha = repo.git.branches.get(repo.defaultBranch) as string;
    repo.git.branches.set(input.head, baseSha);
    repo.git.commitTo(input.head, { [`${input.head}.txt`]: input.title }, input.title);
    const at = this.now();
    const pull: FakePull = {
      number: repo.next++,
      title: input.title,
      body: '',
      head: input.head,
      base: repo.defaultBranch,
      baseSha,
      state: 'open',
      merged: false,
      mergedBy: null,
      mergedAt: null,
      closedAt: null,
      createdAt: at,
      updatedAt: at,
      labels: input.labels ?? [],
    };
    repo.pulls.push(pull);
    return pull;
  }

  /** A person merges the pull request (squash), as `by`. */
  merge(fullName: string, number: number, by: string): void {
    const repo = this.repo(fullName);
    const pull = repo.pulls.find((p) => p.number === number);
    if (pull === undefined || pull.state !== 'open')
      throw new Error(`pull request #${number} is not open`);
    repo.git.squash(pull.head, pull.baseSha, pull.base, `${pull.title} (#${number})`);
    const at = this.now();
    Object.assign(pull, {
      state: 'closed',
      merged: true,
      mergedBy: by,
      mergedAt: at,
      closedAt: at,
      updatedAt: at,
    });
  }

  /** A person closes the pull request without merging. */
  close(fullName: string, number: number): void {
    const pull = this.repo(fullName).pulls.find((p) => p.number === number);
    if (pull === undefined) throw new Error(`no pull request #${number}`);
    const at = this.now();
    Object.assign(pull, { state: 'closed', closedAt: at, updatedAt: at });
  }

  private route(request: FakeRequest): FakeResponse {
    this.violations.push(
      ...checkGitHubRequest(request.method, request.rawPath, request.query, request.body),
    );
    const auth = request.headers.authorization ?? '';
    if (auth !== `token ${this.token}` && auth !== `Bearer ${this.token}`) {
      return reply(401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    const [first, owner, name, ...rest] = request.segments;
    if (first !== 'repos' || owner === undefined || name === undefined) return notFound();
    const repo = this.repos.get(`${owner}/${name}`);
    if (repo === undefined) return notFound();
    const body = (request.body ?? {}) as Record<string, unknown>;
    const [area, ...tail] = rest;
    const m = request.method;
    if (area === 'contents' && m === 'GET')
      return this.getContent(repo, tail.join('/'), request.query.get('ref'));
    if (area === 'contents' && m === 'PUT') return this.putContent(repo, tail.join('/'), body);
    if (area === 'git' && tail[0] === 'ref' && m === 'GET')
      return this.getRef(repo, tail.slice(1).join('/'));
    if (area === 'git' && tail[0] === 'refs' && tail.length === 1 && m === 'POST')
      return this.createRef(repo, body);
    if (area === 'pulls' && tail.length === 0 && m === 'GET')
      return this.listPulls(repo, request.query);
    if (area === 'pulls' && tail.length === 0 && m === 'POST') return this.createPull(repo, body);
    if (area === 'pulls' && tail.length === 1) {
      const pull = repo.pulls.find((p) => p.number === Number(tail[0]));
      if (pull === undefined) return notFound();
      if (m === 'GET') return reply(200, this.pullJson(repo, pull, true));
      if (m === 'PATCH') {
        if (typeof body['title'] === 'string') pull.title = body['title'];
        if (typeof body['body'] === 'string') pull.body = body['body'];
        pull.updatedAt = this.now();
        return reply(200, this.pullJson(repo, pull, true));
      }
    }
    if (area === 'issues' && tail.length === 0 && m === 'GET')
      return this.listIssues(repo, request.query);
    if (area === 'issues' && tail.length === 0 && m === 'POST') return this.createIssue(repo, body);
    if (area === 'issues' && tail.length >= 1) {
      const number = Number(tail[0]);
      const issue = repo.issues.find((i) => i.number === number);
      const pull = repo.pulls.find((p) => p.number === number);
      if (issue === undefined && pull === undefined) return notFound();
      if (tail.length === 1 && m === 'GET') {
        return reply(
          200,
          issue !== undefined
            ? this.issueJson(repo, issue)
            : this.pullAsIssue(repo, pull as FakePull),
        );
      }
      if (tail.length === 1 && m === 'PATCH' && issue !== undefined) {
        if (body['state'] === 'closed' || body['state'] === 'open') issue.state = body['state'];
        if (typeof body['state_reason'] === 'string') issue.stateReason = body['state_reason'];
        issue.updatedAt = this.now();
        return reply(200, this.issueJson(repo, issue));
      }
      if (tail[1] === 'labels' && m === 'POST') {
        const labels = (body['labels'] as string[] | undefined) ?? [];
        const target = issue ?? (pull as FakePull);
        for (const label of labels) if (!target.labels.includes(label)) target.labels.push(label);
        return reply(
          200,
          target.labels.map((l) => labelJson(l)),
        );
      }
      if (tail[1] === 'comments' && m === 'GET') {
        const comments = repo.comments.get(number) ?? [];
        const perPage = Number(request.query.get('per_page') ?? 30);
        const page = Number(request.query.get('page') ?? 1);
        const slice = comments.slice((page - 1) * perPage, page * perPage);
        return reply(
          200,
          slice.map((c) => this.commentJson(repo, number, c)),
        );
      }
      if (tail[1] === 'comments' && m === 'POST') {
        if (typeof body['body'] !== 'string' || body['body'] === '')
          return invalid('body is missing');
        const comment = { id: ++this.commentIds, body: body['body'], createdAt: this.now() };
        repo.comments.set(number, [...(repo.comments.get(number) ?? []), comment]);
        if (issue !== undefined) issue.updatedAt = comment.createdAt;
        if (pull !== undefined) pull.updatedAt = comment.createdAt;
        return reply(201, this.commentJson(repo, number, comment));
      }
    }
    return notFound();
  }

  private api(repo: FakeRepo): string {
    return `${this.http.url}/repos/${repo.owner}/${repo.name}`;
  }

  private html(repo: FakeRepo): string {
    return `https://github.example/${repo.owner}/${repo.name}`;
  }

  private getContent(repo: FakeRepo, path: string, ref: string | null): FakeResponse {
    const files = repo.git.filesAt(ref ?? repo.defaultBranch);
    if (files === undefined)
      return reply(404, { message: `No commit found for the ref ${ref ?? ''}` });
    const blob = files.get(path);
    if (blob !== undefined) {
      const content = repo.git.blobs.get(blob) ?? '';
      const base64 = Buffer.from(content)
        .toString('base64')
        .replace(/(.{60})/g, '$1\n');
      return reply(200, {
        type: 'file',
        encoding: 'base64',
        size: Buffer.byteLength(content),
        name: path.split('/').pop(),
        path,
        content: base64,
        sha: blob,
        url: `${this.api(repo)}/contents/${path}`,
        git_url: null,
        html_url: `${this.html(repo)}/blob/${ref ?? repo.defaultBranch}/${path}`,
        download_url: null,
        _links: { self: `${this.api(repo)}/contents/${path}`, git: null, html: null },
      });
    }
    const prefix = path === '' ? '' : `${path}/`;
    const entries = new Map<string, 'file' | 'dir'>();
    for (const file of files.keys()) {
      if (!file.startsWith(prefix)) continue;
      const [head, ...more] = file.slice(prefix.length).split('/');
      entries.set(`${prefix}${head ?? ''}`, more.length > 0 ? 'dir' : 'file');
    }
    if (entries.size === 0) return notFound();
    return reply(
      200,
      [...entries].map(([entry, type]) => ({
        type,
        name: entry.split('/').pop(),
        path: entry,
        sha: type === 'file' ? files.get(entry) : sha1(entry),
        size: 0,
        url: `${this.api(repo)}/contents/${entry}`,
        git_url: null,
        html_url: null,
        download_url: null,
        _links: { self: `${this.api(repo)}/contents/${entry}`, git: null, html: null },
      })),
    );
  }

  private putContent(repo: FakeRepo, path: string, body: Record<string, unknown>): FakeResponse {
    const branch = typeof body['branch'] === 'string' ? body['branch'] : repo.defaultBranch;
    const files = repo.git.filesAt(branch);
    if (files === undefined) return reply(404, { message: `Branch ${branch} not found` });
    const existing = files.get(path);
    if (existing !== undefined && body['sha'] === undefined)
      return invalid('"sha" wasn\'t supplied.');
    if (existing !== undefined && body['sha'] !== existing) {
      return reply(409, { message: `${path} does not match ${String(body['sha'])}` });
    }
    const content = Buffer.from(String(body['content']), 'base64').toString('utf8');
    const commit = repo.git.commitTo(branch, { [path]: content }, String(body['message']));
    const blob = repo.git.blobSha(content);
    return reply(existing === undefined ? 201 : 200, {
      content: {
        name: path.split('/').pop(),
        path,
        sha: blob,
        size: Buffer.byteLength(content),
        type: 'file',
      },
      commit: {
        sha: commit,
        message: body['message'],
        html_url: `${this.html(repo)}/commit/${commit}`,
      },
    });
  }

  private getRef(repo: FakeRepo, ref: string): FakeResponse {
    const branch = ref.replace(/^heads\//, '');
    const sha = repo.git.branches.get(branch);
    if (sha === undefined) return notFound();
    return reply(200, {
      ref: `refs/heads/${branch}`,
      node_id: sha1(ref),
      url: `${this.api(repo)}/git/refs/heads/${branch}`,
      object: { sha, type: 'commit', url: `${this.api(repo)}/git/commits/${sha}` },
    });
  }

  private createRef(repo: FakeRepo, body: Record<string, unknown>): FakeResponse {
    const ref = String(body['ref']);
    const sha = String(body['sha']);
    if (!ref.startsWith('refs/heads/')) return invalid('Reference name must start with refs/');
    const branch = ref.slice('refs/heads/'.length);
    if (repo.git.branches.has(branch)) return invalid('Reference already exists');
    if (!repo.git.commits.has(sha)) return invalid('Object does not exist');
    repo.git.branches.set(branch, sha);
    return reply(201, {
      ref,
      node_id: sha1(ref),
      url: `${this.api(repo)}/git/${ref}`,
      object: { sha, type: 'commit', url: `${this.api(repo)}/git/commits/${sha}` },
    });
  }

  private listPulls(repo: FakeRepo, query: URLSearchParams): FakeResponse {
    const state = query.get('state') ?? 'open';
    const head = query.get('head');
    const base = query.get('base');
    const pulls = repo.pulls.filter(
      (p) =>
        (state === 'all' || p.state === state) &&
        (head === null || `${repo.owner}:${p.head}` === head) &&
        (base === null || p.base === base),
    );
    return reply(
      200,
      pulls.map((p) => this.pullJson(repo, p, false)),
    );
  }

  private createPull(repo: FakeRepo, body: Record<string, unknown>): FakeResponse {
    const head = String(body['head']).replace(new RegExp(`^${repo.owner}:`), '');
    const base = String(body['base']);
    const headSha = repo.git.branches.get(head);
    const baseSha = repo.git.branches.get(base);
    if (headSha === undefined || baseSha === undefined) {
      return invalid('Validation Failed', [
        { resource: 'PullRequest', field: 'head', code: 'invalid' },
      ]);
    }
    if (repo.pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
      return invalid('Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
    }
    if (headSha === baseSha) {
      return invalid('Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `No commits between ${base} and ${head}`,
        },
      ]);
    }
    const at = this.now();
    const pull: FakePull = {
      number: repo.next++,
      title: String(body['title']),
      body: typeof body['body'] === 'string' ? body['body'] : '',
      head,
      base,
      baseSha,
      state: 'open',
      merged: false,
      mergedBy: null,
      mergedAt: null,
      closedAt: null,
      createdAt: at,
      updatedAt: at,
      labels: [],
    };
    repo.pulls.push(pull);
    return reply(201, this.pullJson(repo, pull, true));
  }

  private pullJson(repo: FakeRepo, pull: FakePull, single: boolean): Record<string, unknown> {
    const branch = (ref: string) => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha: repo.git.branches.get(ref) ?? pull.baseSha,
      user: USER,
      repo: { name: repo.name, full_name: `${repo.owner}/${repo.name}` },
    });
    return {
      url: `${this.api(repo)}/pulls/${pull.number}`,
      id: pull.number * 1000,
      html_url: `${this.html(repo)}/pull/${pull.number}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: USER,
      body: pull.body,
      labels: pull.labels.map(labelJson),
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      merged_at: pull.mergedAt,
      head: branch(pull.head),
      base: branch(pull.base),
      draft: false,
      ...(single
        ? {
            merged: pull.merged,
            merged_by: pull.mergedBy === null ? null : { ...USER, login: pull.mergedBy },
          }
        : {}),
    };
  }

  private pullAsIssue(repo: FakeRepo, pull: FakePull): Record<string, unknown> {
    return {
      number: pull.number,
      html_url: `${this.html(repo)}/pull/${pull.number}`,
      title: pull.title,
      body: pull.body,
      state: pull.state,
      labels: pull.labels.map(labelJson),
      pull_request: { url: `${this.api(repo)}/pulls/${pull.number}` },
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
    };
  }

  private listIssues(repo: FakeRepo, query: URLSearchParams): FakeResponse {
    const state = query.get('state') ?? 'open';
    const labels = (query.get('labels') ?? '').split(',').filter((l) => l.length > 0);
    const all = [
      ...repo.issues.map((i) => ({
        json: this.issueJson(repo, i),
        state: i.state,
        labels: i.labels,
        created: i.createdAt,
      })),
      ...repo.pulls.map((p) => ({
        json: this.pullAsIssue(repo, p),
        state: p.state,
        labels: p.labels,
        created: p.createdAt,
      })),
    ]
      .filter(
        (i) => (state === 'all' || i.state === state) && labels.every((l) => i.labels.includes(l)),
      )
      .sort((a, b) =>
        query.get('direction') === 'asc'
          ? a.created.localeCompare(b.created)
          : b.created.localeCompare(a.created),
      );
    return reply(
      200,
      all.slice(0, Number(query.get('per_page') ?? 30)).map((i) => i.json),
    );
  }

  private createIssue(repo: FakeRepo, body: Record<string, unknown>): FakeResponse {
    const at = this.now();
    const issue: FakeIssue = {
      number: repo.next++,
      title: String(body['title']),
      body: typeof body['body'] === 'string' ? body['body'] : '',
      state: 'open',
      stateReason: null,
      labels: ((body['labels'] as string[] | undefined) ?? []).map(String),
      createdAt: at,
      updatedAt: at,
    };
    repo.issues.push(issue);
    return reply(201, this.issueJson(repo, issue));
  }

  private issueJson(repo: FakeRepo, issue: FakeIssue): Record<string, unknown> {
    return {
      id: issue.number * 1000,
      number: issue.number,
      url: `${this.api(repo)}/issues/${issue.number}`,
      html_url: `${this.html(repo)}/issues/${issue.number}`,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      state_reason: issue.stateReason,
      labels: issue.labels.map(labelJson),
      user: USER,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
    };
  }

  private commentJson(
    repo: FakeRepo,
    number: number,
    c: { id: number; body: string; createdAt: string },
  ) {
    return {
      id: c.id,
      body: c.body,
      user: USER,
      html_url: `${this.html(repo)}/issues/${number}#issuecomment-${c.id}`,
      created_at: c.createdAt,
      updated_at: c.createdAt,
    };
  }
}

function labelJson(name: string): Record<string, unknown> {
  return { id: Number.parseInt(sha1(name).slice(0, 8), 16), name, color: 'ededed', default: false };
}

function notFound(): FakeResponse {
  return reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
}

function invalid(message: string, errors?: unknown[]): FakeResponse {
  return reply(422, {
    message,
    ...(errors === undefined ? {} : { errors }),
    documentation_url: 'https://docs.github.com/rest',
  });
}
