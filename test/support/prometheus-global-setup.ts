/**
 * Vitest global setup: ONE real Prometheus per test run (test/support/prometheus-server.ts),
 * shared by every project that lists this file, stopped when the last one tears down.
 */
import type { TestProject } from 'vitest/node';
import { startTestPrometheus } from './prometheus-server.ts';
import { acquireShared } from './shared-service.ts';

/** What `inject('prometheus')` returns in tests. */
export interface PrometheusTestContext {
  url: string;
  /** Drop `<name>.json` file_sd target files here to be scraped every second. */
  targetsDir: string;
  /** Where the backfilled history of prometheus-history.ts ends, ms since the epoch. */
  historyAnchorMs: number;
  version: string;
  logFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The real Prometheus of this test run. */
    prometheus: PrometheusTestContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { value, release } = await acquireShared(
    'prometheus',
    () => startTestPrometheus(),
    (prometheus) => prometheus.stop(),
  );
  project.provide('prometheus', {
    url: value.url,
    targetsDir: value.targetsDir,
    historyAnchorMs: value.historyAnchorMs,
    version: value.version,
    logFile: value.logFile,
  });
  return release;
}
