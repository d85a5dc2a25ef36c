/**
 * A test exporter: a small HTTP server in the test process, on loopback, serving Prometheus text
 * format with the values the test sets. It registers itself with the test Prometheus through a
 * file_sd target file carrying the label `exporter="<id>"`, so a test's queries select only its
 * own series however many test files run at once.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { inject } from 'vitest';
import { PrometheusHttpClient } from '../../src/adapters/prometheus/index.ts';
import { eventually } from './logger.ts';

export interface TestExporter {
  /** The value of the `exporter` label Prometheus adds to every series scraped from here. */
  id: string;
  /** `exporter="<id>"`, to put in a selector. */
  selector: string;
  /** Sets a gauge (and creates it); labels are optional. */
  set: (metric: string, value: number, labels?: Record<string, string>) => void;
  /** Stops serving a gauge. */
  remove: (metric: string, labels?: Record<string, string>) => void;
  /** Waits until Prometheus has scraped `query`'s value and `accept` likes it. */
  scraped: (query: string, accept: (value: number) => boolean) => Promise<number>;
  close: () => Promise<void>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export async function startExporter(): Promise<TestExporter> {
  const { url, targetsDir } = inject('prometheus');
  const id = `e-${randomBytes(4).toString('hex')}`;
  /** metric → (label text → value) */
  const gauges = new Map<string, Map<string, number>>();

  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    const lines: string[] = [];
    for (const [metric, series] of gauges) {
      lines.push(`# TYPE ${metric} gauge`);
      for (const [labels, value] of series) lines.push(`${metric}${labels} ${formatValue(value)}`);
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  // Written whole, then renamed: Prometheus never reads half a file.
  const targetFile = join(targetsDir, `${id}.json`);
  writeFileSync(
    `${targetFile}.tmp`,
    JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { exporter: id } }]),
  );
  renameSync(`${targetFile}.tmp`, targetFile);

  const prometheus = new PrometheusHttpClient({ url, timeoutMs: 5_000 });
  const scraped = (query: string, accept: (value: number) => boolean): Promise<number> =>
    eventually(
      async () => {
        const [series] = await prometheus.instantQuery(query);
        const value = series?.samples[0]?.v;
        if (value === undefined || !accept(value)) {
          throw new Error(`Prometheus has not scraped ${query} as expected yet (${String(value)})`);
        }
        return value;
      },
      30_000,
      200,
    );

  await scraped(`up{${`exporter="${id}"`}}`, (value) => value === 1);

  return {
    id,
    selector: `exporter="${id}"`,
    set: (metric, value, labels = {}) => {
      let series = gauges.get(metric);
      if (series === undefined) {
        series = new Map();
        gauges.set(metric, series);
      }
      series.set(labelText(labels), value);
    },
    remove: (metric, labels = {}) => {
      gauges.get(metric)?.delete(labelText(labels));
    },
    scraped,
    close: async () => {
      rmSync(targetFile, { force: true });
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      // Prometheus keeps its scrape connection alive; do not wait for it to give up.
      server.closeAllConnections();
      await closed;
    },
  };
}
