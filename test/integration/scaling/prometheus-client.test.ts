/**
 * The Prometheus adapter against the real Prometheus of the test run (Debian's package): values a
 * test exporter serves, the backfilled history, and Prometheus's own errors. Network faults that a
 * Prometheus cannot be asked to produce (no answer at all, a proxy in front of it refusing a token
 * or losing its upstream) come from small loopback servers, with the real Prometheus behind them.
 */
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  PrometheusAuthError,
  PrometheusBadQueryError,
  PrometheusExecutionError,
  PrometheusHttpClient,
  PrometheusUnavailableError,
  type PrometheusError,
} from '../../../src/adapters/prometheus/index.ts';
import { startExporter, type TestExporter } from '../../support/prometheus-exporter.ts';
import { HISTORY_STEP_MS } from '../../support/prometheus-history.ts';

const prometheus = inject('prometheus');
const client = new PrometheusHttpClient({ url: prometheus.url, timeoutMs: 10_000 });

async function failure(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise;
  } catch (error) {
    return error as PrometheusError;
  }
  throw new Error('expected the query to fail');
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

/** Like kube-rbac-proxy: forwards to `upstream` only requests bearing `token`. */
function bearerProxy(upstream: string, token: string): Server {
  const target = new URL(upstream);
  return createHttpServer((incoming, outgoing) => {
    if (incoming.headers.authorization !== `Bearer ${token}`) {
      outgoing.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, host: target.host },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end('Bad Gateway\n');
    });
    incoming.pipe(forwarded);
  });
}

describe('the Prometheus adapter on a real Prometheus', () => {
  let exporter: TestExporter;

  beforeAll(async () => {
    exporter = await startExporter();
  });
  afterAll(async () => {
    await exporter.close();
  });

  it('reads the value an exporter serves with an instant query', async () => {
    exporter.set('adapter_queue_depth', 42, { queue: 'orders' });
    const query = `adapter_queue_depth{${exporter.selector}}`;
    await exporter.scraped(query, (value) => value === 42);
    const series = await client.instantQuery(query);
    expect(series).toHaveLength(1);
    expect(series[0]?.labels).toMatchObject({
      __name__: 'adapter_queue_depth',
      queue: 'orders',
      exporter: exporter.id,
    });
    expect(series[0]?.samples[0]?.v).toBe(42);
  });

  it('reads the backfilled history with a range query, sample by sample', async () => {
    const anchor = prometheus.historyAnchorMs;
    const series = await client.rangeQuery('scaling_queue_depth{scenario="two-high"}', {
      start: anchor - 4 * HISTORY_STEP_MS,
      end: anchor,
      stepMs: HISTORY_STEP_MS,
    });
    expect(series).toHaveLength(1);
    expect(series[0]?.samples).toEqual(
      [4, 3, 2, 1, 0].map((i) => ({ t: anchor - i * HISTORY_STEP_MS, v: 500 })),
    );
  });

  it('reads a scalar, and NaN and infinities as numbers', async () => {
    const at = prometheus.historyAnchorMs;
    expect((await client.instantQuery('1 + 1', { time: at }))[0]?.samples).toEqual([
      { t: at, v: 2 },
    ]);
    expect((await client.instantQuery('vector(0) / 0', { time: at }))[0]?.samples[0]?.v).toBeNaN();
    expect((await client.instantQuery('vector(1) / 0', { time: at }))[0]?.samples[0]?.v).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('answers no series for a metric nobody serves', async () => {
    expect(await client.instantQuery('scaling_metric_nobody_serves')).toEqual([]);
  });

  it("turns bad PromQL into a terminal bad-query error naming the query and Prometheus's message", async () => {
    const query = 'sum(rate(scaling_cpu_cores[5m)';
    const error = await failure(client.instantQuery(query));
    expect(error).toBeInstanceOf(PrometheusBadQueryError);
    expect(error).toMatchObject({
      status: 400,
      errorType: 'bad_data',
      query,
      retryable: false,
      kind: 'badQuery',
    });
    expect(error.detail).toMatch(/parse error/);
    expect(error.message).toBe(`Prometheus rejected the query "${query}": ${error.detail}`);
    // A range query is rejected the same way.
    await expect(
      client.rangeQuery(query, { start: 0, end: 60_000, stepMs: 15_000 }),
    ).rejects.toBeInstanceOf(PrometheusBadQueryError);
  });

  it('turns a query Prometheus cannot evaluate (over its --query.max-samples) into an execution error', async () => {
    const error = await failure(client.instantQuery('count_over_time(vector(1)[1h:10ms])'));
    expect(error).toBeInstanceOf(PrometheusExecutionError);
    expect(error).toMatchObject({ status: 422, errorType: 'execution', retryable: true });
    expect(error.detail).toMatch(/too many samples/);
  });

  it('reports a Prometheus that does not answer in time as unavailable', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    const url = await listen(silent);
    try {
      const slow = new PrometheusHttpClient({ url, timeoutMs: 200 });
      const error = await failure(slow.instantQuery('up'));
      expect(error).toBeInstanceOf(PrometheusUnavailableError);
      expect(error).toMatchObject({ retryable: true, query: 'up' });
      expect(error.message).toBe(
        `Prometheus at ${url} did not answer the query "up": no answer within 200 ms`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('reports a Prometheus nobody listens for as unavailable', async () => {
    const closed = createTcpServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(new PrometheusHttpClient({ url }).instantQuery('up'));
    expect(error).toBeInstanceOf(PrometheusUnavailableError);
    expect(error.message).toMatch(/did not answer the query "up": fetch failed/);
  });

  it('gives the caller its own abort, not a Prometheus error', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    const url = await listen(silent);
    try {
      const controller = new AbortController();
      const pending = new PrometheusHttpClient({ url }).instantQuery('up', {
        signal: controller.signal,
      });
      const reason = new Error('shutting down');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  describe('behind an authenticating proxy', () => {
    const proxy = bearerProxy(prometheus.url, 's3cr3t-token');
    let proxyUrl = '';
    beforeAll(async () => {
      proxyUrl = await listen(proxy);
    });
    afterAll(() => {
      proxy.closeAllConnections();
      proxy.close();
    });

    it('sends the bearer token', async () => {
      const authed = new PrometheusHttpClient({ url: proxyUrl, bearerToken: 's3cr3t-token' });
      expect((await authed.instantQuery('1 + 1'))[0]?.samples[0]?.v).toBe(2);
    });

    it('reports refused credentials without repeating the token', async () => {
      const wrong = new PrometheusHttpClient({ url: proxyUrl, bearerToken: 'wrong-token' });
      const error = await failure(wrong.instantQuery('1 + 1'));
      expect(error).toBeInstanceOf(PrometheusAuthError);
      expect(error).toMatchObject({ status: 401, retryable: false });
      expect(error.message).not.toContain('wrong-token');
      expect(error.message).toMatch(/refused the credentials \(HTTP 401\)/);
    });

    it('reports a 5xx from the proxy as unavailable', async () => {
      const orphan = bearerProxy('http://127.0.0.1:1', 't');
      const url = await listen(orphan);
      try {
        const error = await failure(
          new PrometheusHttpClient({ url, bearerToken: 't' }).instantQuery('up'),
        );
        expect(error).toBeInstanceOf(PrometheusUnavailableError);
        expect(error).toMatchObject({ status: 502, retryable: true });
        expect(error.detail).toBe('HTTP 502: Bad Gateway');
      } finally {
        orphan.closeAllConnections();
        orphan.close();
      }
    });
  });

  it('refuses a URL with credentials in it', () => {
    expect(() => new PrometheusHttpClient({ url: 'http://user:pass@127.0.0.1:9090' })).toThrow(
      /must not carry credentials/,
    );
  });
});
