/**
 * The operational HTTP endpoint of every role: `/healthz` (the process is alive), `/readyz`
 * (its dependencies answer) and `/metrics` (Prometheus text format).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named readiness check; it resolves false or rejects when not ready. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface OpsServer {
  server: Server;
  /** The address actually bound (the port is real even when 0 was asked for). */
  address: AddressInfo;
  close: () => Promise<void>;
}

async function runChecks(checks: readonly ReadinessCheck[]): Promise<Record<string, string>> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        return [name, (await check()) ? 'ok' : 'failing'] as const;
      } catch (error) {
        return [
          name,
          `failing: ${error instanceof Error ? error.message : String(error)}`,
        ] as const;
      }
    }),
  );
  return Object.fromEntries(results);
}

export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: readonly ReadinessCheck[];
}): Promise<OpsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void runChecks(options.readiness).then((checks) => {
        const ready = Object.values(checks).every((state) => state === 'ok');
        response
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify({ ready, checks })}\n`);
      });
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) =>
          response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    response
      .writeHead(404, { 'content-type': 'text/plain' })
      .end('not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
