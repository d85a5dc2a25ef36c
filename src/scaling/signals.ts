/**
 * From a policy's PromQL to what the decision reads: the query for one Deployment, and the
 * query's answer (or failure) as a `SignalInput` whose words end up in the decision's reasons.
 */
import { isPrometheusError, type Series } from '../adapters/prometheus/index.ts';
import type { SignalInput } from './types.ts';

/**
 * The signal's query for one Deployment: `$namespace` and `$deployment` (or `${namespace}`,
 * `${deployment}`) become its namespace and name, so one policy's query serves every Deployment
 * it selects, e.g. `sum(rate(http_requests_total{namespace="$namespace",deployment="$deployment"}[2m]))`.
 * PromQL has no `$` of its own, so nothing else is touched.
 */
export function renderQuery(query: string, target: { namespace: string; name: string }): string {
  return query
    .replace(/\$\{namespace\}|\$namespace\b/g, target.namespace)
    .replace(/\$\{deployment\}|\$deployment\b/g, target.name);
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return `{${parts.join(', ')}}`;
}

/**
 * A query's series as a signal. The policy's query must give one number; if it gives several
 * series the first is used (as the CRD documents) and the report says so, since the order of
 * series is Prometheus's and an aggregation (`sum`, `max`, `avg`) is what was meant.
 */
export function signalFromSeries(series: readonly Series[]): SignalInput {
  const first = series[0];
  if (first === undefined) {
    return {
      ok: false,
      error: 'no data: the query returned no series (check the metric name and its labels)',
    };
  }
  if (series.length === 1) return { ok: true, samples: first.samples };
  return {
    ok: true,
    samples: first.samples,
    note: `the query returned ${series.length} series and the first, ${labelsText(first.labels)}, was used: aggregate it to one (sum, max, avg)`,
  };
}

/** A failed query as a signal: unavailable, with Prometheus's own words when it gave any. */
export function signalFromError(error: unknown): SignalInput {
  if (isPrometheusError(error)) return { ok: false, error: error.message };
  const text = error instanceof Error ? error.message : String(error);
  return { ok: false, error: `could not be read: ${text}` };
}
