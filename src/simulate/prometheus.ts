/**
 * A Prometheus that answers from a scenario's metric series, so the real `Scaler` reads its
 * signals through the same `PrometheusClient` interface it uses against a live server. A query is
 * evaluated at every step, as Prometheus evaluates a range query; a series' value at a time is the
 * last one given at or before it (null: no data then). Nothing after the simulated now is known.
 */
import type {
  InstantQueryOptions,
  PrometheusClient,
  RangeQueryOptions,
  Series,
} from '../adapters/prometheus/index.ts';
import type { MetricSeries } from './model.ts';

function valueAt(series: MetricSeries, t: number): number | null {
  let value: number | null = null;
  for (const point of series.values) {
    if (point.at > t) break;
    value = point.value;
  }
  return value;
}

export class ScenarioPrometheus implements PrometheusClient {
  private readonly lookup: (query: string) => MetricSeries | undefined;
  private readonly now: () => number;

  /** `lookup` finds the series a query stands for (the engine renders each policy's queries). */
  constructor(lookup: (query: string) => MetricSeries | undefined, now: () => number) {
    this.lookup = lookup;
    this.now = now;
  }

  instantQuery(query: string, options: InstantQueryOptions = {}): Promise<Series[]> {
    const series = this.lookup(query);
    const t = Math.min(options.time ?? this.now(), this.now());
    const value = series === undefined ? null : valueAt(series, t);
    return Promise.resolve(value === null ? [] : [{ labels: {}, samples: [{ t, v: value }] }]);
  }

  rangeQuery(query: string, options: RangeQueryOptions): Promise<Series[]> {
    const series = this.lookup(query);
    if (series === undefined) return Promise.resolve([]);
    const end = Math.min(options.end, this.now());
    const samples: { t: number; v: number }[] = [];
    for (let t = options.start; t <= end; t += Math.max(1, options.stepMs)) {
      const v = valueAt(series, t);
      if (v !== null) samples.push({ t, v });
    }
    return Promise.resolve(samples.length === 0 ? [] : [{ labels: {}, samples }]);
  }
}
