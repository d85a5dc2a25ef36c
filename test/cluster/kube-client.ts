/**
 * A tiny Kubernetes REST client for tests: Node's global fetch with a bearer token.
 *
 * The test API server's serving certificate is signed by a CA made for each control plane.
 * `trustClusterCa()` adds that CA to the process' default trust store (tls.setDefaultCACertificates,
 * Node >= 24.5), so plain `fetch` works against the server from any test file.
 */
import tls from 'node:tls';

const trusted = new Set<string>();

/** Adds the control plane's CA to the default CAs used by fetch and https in this process. */
export function trustClusterCa(caPem: string): void {
  const pem = caPem.trim();
  if (trusted.has(pem)) return;
  trusted.add(pem);
  const defaults = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...defaults, pem]);
}

/** The JSON body of a Kubernetes `Status` failure. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, body: unknown) {
    const detail =
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as KubeStatus).message)
        : JSON.stringify(body);
    super(`${method} ${path} -> ${status}: ${detail}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.body = body;
    this.method = method;
    this.path = path;
  }
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface KubeClientOptions {
  server: string;
  token: string;
  caPem: string;
}

/** Plain REST calls against the API server as the holder of `token`. */
export class KubeClient {
  readonly server: string;
  readonly token: string;

  constructor(opts: KubeClientOptions) {
    trustClusterCa(opts.caPem);
    this.server = opts.server.replace(/\/$/, '');
    this.token = opts.token;
  }

  /** Any request; never throws on an HTTP status (check `status`). */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<KubeResponse<T>> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(this.server + path, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed as T };
  }

  /** Like `request` but throws KubeApiError on any status >= 300. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const res = await this.request<T>(method, path, body, contentType);
    if (res.status >= 300) throw new KubeApiError(method, path, res.status, res.body);
    return res.body;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  create<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  patch<T = unknown>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.call<T>('PATCH', path, body, patchContentTypes[type]);
  }

  /** DELETE that treats 404 as done. */
  async delete(path: string, body?: unknown): Promise<void> {
    const res = await this.request('DELETE', path, body);
    if (res.status >= 300 && res.status !== 404)
      throw new KubeApiError('DELETE', path, res.status, res.body);
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  opts: {
    timeoutMs?: number;
    intervalMs?: number;
    /** An error that no waiting will mend (the object is gone): thrown at once. */
    fatal?: (err: unknown) => boolean;
  } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (opts.fatal?.(err) === true) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
