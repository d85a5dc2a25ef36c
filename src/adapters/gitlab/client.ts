/**
 * GitLab resources from @gitbeaker/rest with a requester of our own: gitbeaker's default one
 * retries 429 and 502 ten times within about a quarter of a second and then throws without the
 * server's `Retry-After`. Ours sends each request once and keeps the status and headers on the
 * error, so errors.ts can tell the effect workers when to come back.
 */
import { createRequesterFn, type RequestOptions } from '@gitbeaker/requester-utils';
import {
  Branches,
  Commits,
  GitbeakerRequestError,
  MergeRequestNotes,
  MergeRequests,
  Repositories,
  RepositoryFiles,
} from '@gitbeaker/rest';

async function body(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (type === 'application/json') return (await response.json()) ?? {};
  return response.text();
}

async function sendOnce(endpoint: string, options?: Record<string, unknown>) {
  const { prefixUrl, searchParams, method, headers, signal } = (options ?? {}) as RequestOptions;
  const raw = (options ?? {}).body as string | FormData | undefined;
  const base =
    prefixUrl === undefined ? undefined : prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`;
  const url = new URL(endpoint, base);
  url.search = searchParams ?? '';
  const request = new Request(url, {
    method: method ?? 'GET',
    ...(headers === undefined ? {} : { headers }),
    ...(raw === undefined ? {} : { body: raw }),
    ...(signal === undefined ? {} : { signal }),
  });
  const response = await fetch(request);
  if (response.ok) {
    return {
      body: (await body(response)) as Record<string, unknown>,
      headers: Object.fromEntries(response.headers.entries()),
      status: response.status,
    };
  }
  const text = await response.text();
  let description = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = parsed.message ?? parsed.error ?? text;
    description = typeof message === 'string' ? message : JSON.stringify(message);
  } catch {
    // not JSON: the text is the description
  }
  throw new GitbeakerRequestError(description, {
    cause: { description, request, response },
  });
}

const requesterFn = createRequesterFn((_service, options) => Promise.resolve(options), sendOnce);

export interface GitLabClientOptions {
  token: string;
  /** GitLab root URL (not the API path). Default: https://gitlab.com. */
  baseUrl?: string;
}

export interface GitLabClient {
  branches: InstanceType<typeof Branches<false>>;
  commits: InstanceType<typeof Commits<false>>;
  files: InstanceType<typeof RepositoryFiles<false>>;
  repositories: InstanceType<typeof Repositories<false>>;
  mergeRequests: InstanceType<typeof MergeRequests<false>>;
  notes: InstanceType<typeof MergeRequestNotes<false>>;
}

export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  const config = {
    host: (options.baseUrl ?? 'https://gitlab.com').replace(/\/+$/, ''),
    token: options.token,
    requesterFn,
    // Limits are GitLab's to enforce: it answers 429 with Retry-After, which we honour.
    rateLimits: {},
  };
  return {
    branches: new Branches(config),
    commits: new Commits(config),
    files: new RepositoryFiles(config),
    repositories: new Repositories(config),
    mergeRequests: new MergeRequests(config),
    notes: new MergeRequestNotes(config),
  };
}
