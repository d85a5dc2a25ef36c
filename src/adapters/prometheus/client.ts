/**
 * A thin client of the Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/):
 * instant and range queries, nothing else. Queries are POSTed form-encoded (a long PromQL never
 * hits a URL length limit); each has a deadline (AbortSignal) that is also sent as the query's
 * `timeout`, so Prometheus stops evaluating what nobody waits for. Errors are typed by class
 * (errors.ts). The bearer token is sent as a header and never appears in an error or a log.
 */
import type { Config } from '../../config/index.ts';
import {
  PrometheusAuthError,
  PrometheusBadQueryError,
  PrometheusExecutionError,
  PrometheusUnavailableError,
} from './errors.ts';

/** One sample: time in ms since the epoch, and its value (NaN and ±Infinity as Prometheus sent them). */
export interface Sample {
  t: number;
  v: number;
}

/** One series of a result: its labels and its samples, oldest first. */
export interface Series {
  labels: Readonly<Record<string, string>>;
  samples: Sample[];
}

export interface InstantQueryOptions {
  /** Evaluation time, ms since the epoch. Default: Prometheus's now. */
  time?: number;
  signal?: AbortSignal;
}

export interface RangeQueryOptions {
  /** First evaluation time, ms since the epoch. */
  start: number;
  /** Last evaluation time (inclusive when on a step), ms since the epoch. */
  end: number;
  /** Time between evaluations, ms. */
  stepMs: number;
  signal?: AbortSignal;
}

/** What kube-remedy asks of Prometheus. Implemented over HTTP by `PrometheusHttpClient`. */
export interface PrometheusClient {
  /**
   * The query's value at one time: one series per vector element, each with one sample; a scalar
   * result is one series without labels. Throws a `PrometheusError`.
   */
  instantQuery(query: string, options?: InstantQueryOptions): Promise<Series[]>;
  /** The query evaluated at every step from `start` to `end`. Throws a `PrometheusError`. */
  rangeQuery(query: string, options: RangeQueryOptions): Promise<Series[]>;
}

export interface PrometheusClientOptions {
  /** Base URL of Prometheus, e.g. `http://prometheus:9090` (a path prefix is kept). */
  url: string;
  /** Sent as `Authorization: Bearer …`. Default: none. */
  bearerToken?: string | undefined;
  /** Deadline of each query, ms. Default: 10 s. */
  timeoutMs?: number;
}

type ApiResponse =
  | { status: 'success'; data: { resultType: string; result: unknown }; warnings?: string[] }
  | { status: 'error'; errorType?: string; error?: string };

type RawSample = [number, string];

/** Prometheus writes values as strings, with `NaN`, `+Inf` and `-Inf` for the special ones. */
export function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return text.trim() === '' ? Number.NaN : value;
}

function sample(raw: RawSample): Sample {
  return { t: Math.round(raw[0] * 1000), v: parseSampleValue(raw[1]) };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export class PrometheusHttpClient implements PrometheusClient {
  private readonly base: string;
  private readonly bearerToken: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: PrometheusClientOptions) {
    const url = new URL(options.url);
    if (url.username || url.password) {
      throw new Error('the Prometheus URL must not carry credentials; pass a bearer token instead');
    }
    this.base = url.toString().replace(/\/+$/, '');
    this.bearerToken = options.bearerToken;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The base URL (never holds credentials), for logs and messages. */
  get url(): string {
    return this.base;
  }

  async instantQuery(query: string, options: InstantQueryOptions = {}): Promise<Series[]> {
    const form = new URLSearchParams({ query });
    if (options.time !== undefined) form.set('time', seconds(options.time));
    const data = await this.post('/api/v1/query', query, form, options.signal);
    switch (data.resultType) {
      case 'vector':
        return (data.result as { metric: Record<string, string>; value: RawSample }[]).map(
          (item) => ({ labels: item.metric, samples: [sample(item.value)] }),
        );
      case 'scalar':
        return [{ labels: {}, samples: [sample(data.result as RawSample)] }];
      case 'matrix':
        return matrix(data.result);
      default:
        throw new PrometheusUnavailableError(
          `Prometheus answered the query ${quote(query)} with a ${data.resultType} result, not a number`,
          { query, detail: `result type ${data.resultType}` },
        );
    }
  }

  async rangeQuery(query: string, options: RangeQueryOptions): Promise<Series[]> {
    const form = new URLSearchParams({
      query,
      start: seconds(options.start),
      end: seconds(options.end),
      step: seconds(options.stepMs),
    });
    const data = await this.post('/api/v1/query_range', query, form, options.signal);
    if (data.resultType !== 'matrix') {
      throw new PrometheusUnavailableError(
        `Prometheus answered the range query ${quote(query)} with a ${data.resultType} result`,
        { query, detail: `result type ${data.resultType}` },
      );
    }
    return matrix(data.result);
  }

  private async post(
    path: string,
    query: string,
    form: URLSearchParams,
    signal: AbortSignal | undefined,
  ): Promise<{ resultType: string; result: unknown }> {
    form.set('timeout', `${Math.max(1, Math.floor(this.timeoutMs))}ms`);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.bearerToken !== undefined) headers['authorization'] = `Bearer ${this.bearerToken}`;
    const where = `${this.base}${path}`;

    let response: Response;
    let text: string;
    try {
      response = await fetch(where, { method: 'POST', headers, body: form, signal: combined });
      text = await response.text();
    } catch (error) {
      // The caller stopping is not Prometheus's failure: let the caller see its own abort.
      if (signal?.aborted) throw signal.reason;
      const timedOut = deadline.aborted;
      const detail = timedOut
        ? `no answer within ${this.timeoutMs} ms`
        : errorText(error) || 'the request failed';
      throw new PrometheusUnavailableError(
        `Prometheus at ${this.base} did not answer the query ${quote(query)}: ${detail}`,
        { query, detail },
        { cause: error },
      );
    }

    let body: ApiResponse | undefined;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      body = undefined;
    }
    if (response.ok && body?.status === 'success') return body.data;

    const status = response.status;
    const errorType = body?.status === 'error' ? body.errorType : undefined;
    const detail =
      body?.status === 'error' && body.error
        ? body.error
        : `HTTP ${status}${text ? `: ${text.slice(0, 200).trim()}` : ''}`;
    const details = {
      query,
      detail,
      status,
      ...(errorType === undefined ? {} : { errorType }),
    };
    if (status === 400 && errorType === 'bad_data') {
      throw new PrometheusBadQueryError(
        `Prometheus rejected the query ${quote(query)}: ${detail}`,
        details,
      );
    }
    if (status === 422) {
      throw new PrometheusExecutionError(
        `Prometheus could not evaluate the query ${quote(query)}: ${detail}`,
        details,
      );
    }
    if (status === 401 || status === 403) {
      throw new PrometheusAuthError(
        `Prometheus at ${this.base} refused the credentials (HTTP ${status}); check prometheus.bearerToken`,
        details,
      );
    }
    throw new PrometheusUnavailableError(
      `Prometheus at ${this.base} failed the query ${quote(query)}: ${detail}`,
      details,
    );
  }
}

function matrix(result: unknown): Series[] {
  return (result as { metric: Record<string, string>; values: RawSample[] }[]).map((item) => ({
    labels: item.metric,
    samples: item.values.map(sample),
  }));
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** A query in a message: whole when short, else its start. */
function quote(query: string): string {
  const oneLine = query.replace(/\s+/g, ' ').trim();
  return `"${oneLine.length > 200 ? `${oneLine.slice(0, 197)}...` : oneLine}"`;
}

/** The client the configuration describes, or undefined when no Prometheus is configured. */
export function prometheusFromConfig(
  config: Config['prometheus'],
): PrometheusHttpClient | undefined {
  if (config.url === undefined) return undefined;
  return new PrometheusHttpClient({
    url: config.url,
    bearerToken: config.bearerToken,
    timeoutMs: config.timeout,
  });
}
