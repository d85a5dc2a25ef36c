/** The Prometheus HTTP API, behind a small interface. */
export {
  parseSampleValue,
  prometheusFromConfig,
  PrometheusHttpClient,
  type InstantQueryOptions,
  type PrometheusClient,
  type PrometheusClientOptions,
  type RangeQueryOptions,
  type Sample,
  type Series,
} from './client.ts';
export {
  isPrometheusError,
  PrometheusAuthError,
  PrometheusBadQueryError,
  PrometheusError,
  PrometheusExecutionError,
  PrometheusUnavailableError,
  type PrometheusErrorKind,
} from './errors.ts';
