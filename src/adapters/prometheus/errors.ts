/**
 * What can go wrong with a Prometheus query, by class, so callers decide without reading messages:
 * a query Prometheus rejects will be rejected again (terminal); an unreachable, slow or failing
 * Prometheus may answer next time (retryable). Every error names the query it is about.
 */

export type PrometheusErrorKind = 'badQuery' | 'execution' | 'auth' | 'unavailable';

export abstract class PrometheusError extends Error {
  abstract readonly kind: PrometheusErrorKind;
  /** Whether asking again later may succeed. */
  abstract readonly retryable: boolean;
  /** The PromQL the error is about. */
  readonly query: string;
  /** The HTTP status, when Prometheus (or a proxy in front of it) answered. */
  readonly status: number | undefined;
  /** Prometheus's `errorType` (`bad_data`, `execution`, `timeout`…), when it said. */
  readonly errorType: string | undefined;
  /** Prometheus's own words (`error`), or what the client saw. */
  readonly detail: string;

  constructor(
    message: string,
    details: { query: string; detail: string; status?: number; errorType?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.query = details.query;
    this.detail = details.detail;
    this.status = details.status;
    this.errorType = details.errorType;
  }
}

/**
 * Prometheus rejected the query as malformed (HTTP 400 `bad_data`): a PromQL syntax error, an
 * unknown function, a range too fine. Asking again will not help; the policy must change.
 */
export class PrometheusBadQueryError extends PrometheusError {
  readonly kind = 'badQuery';
  readonly retryable = false;
  override readonly name = 'PrometheusBadQueryError';
}

/**
 * Prometheus parsed the query but could not evaluate it (HTTP 422 `execution`): too many samples,
 * many-to-many matching. Depends on the data, so it may pass later; it is not a network problem.
 */
export class PrometheusExecutionError extends PrometheusError {
  readonly kind = 'execution';
  readonly retryable = true;
  override readonly name = 'PrometheusExecutionError';
}

/** Prometheus (or the proxy in front of it) refused the credentials (HTTP 401 or 403). */
export class PrometheusAuthError extends PrometheusError {
  readonly kind = 'auth';
  readonly retryable = false;
  override readonly name = 'PrometheusAuthError';
}

/** No usable answer: unreachable, timed out, 5xx, or an answer that is not the Prometheus API. */
export class PrometheusUnavailableError extends PrometheusError {
  readonly kind = 'unavailable';
  readonly retryable = true;
  override readonly name = 'PrometheusUnavailableError';
}

export function isPrometheusError(error: unknown): error is PrometheusError {
  return error instanceof PrometheusError;
}
