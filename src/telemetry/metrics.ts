/**
 * The process's Prometheus registry. One registry per process, created at start-up and handed
 * to the components that record metrics; nothing registers on prom-client's global registry, so
 * tests can run several processes' worth of components side by side.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export const METRIC_PREFIX = 'kube_remedy_';

export function createMetricsRegistry(info: { version: string; role: string }): Registry {
  const registry = new Registry();
  // Default process and Node.js metrics keep their conventional names so stock dashboards work.
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; labels say which version and role this process runs.',
    labelNames: ['version', 'role', 'node_version'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: info.version, role: info.role, node_version: process.versions.node }, 1);
  return registry;
}
