/**
 * deploy/grafana/kube-remedy.json against the metrics kube-remedy really exposes: every metric a
 * panel or variable queries must be in the output of a registry built as the process builds it
 * (createMetricsRegistry + createRuntimeMetrics), so renaming a metric breaks this test until the
 * dashboard follows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../../src/telemetry/metrics.ts';
import { createRuntimeMetrics } from '../../../src/telemetry/runtime-metrics.ts';
import { selectors, variableSelectors, type Selector } from './promql.ts';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/kube-remedy.json', import.meta.url), 'utf8'),
) as Dashboard;

const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = panels.filter((p) => p.type !== 'row');

/** Every sample name the registry can expose: names from `# TYPE`, with histogram/summary suffixes. */
async function exposedNames(): Promise<Set<string>> {
  const registry = createMetricsRegistry({ version: '0.0.0-test', role: 'all' });
  createRuntimeMetrics(registry);
  const text = await registry.metrics();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name = '', kind] = type;
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{\s]/)[0] ?? '');
    }
  }
  return names;
}

function dashboardSelectors(): { where: string; selector: Selector }[] {
  const fromPanels = queryPanels.flatMap((p) =>
    (p.targets ?? []).flatMap((t) =>
      selectors(t.expr).map((selector) => ({ where: `${p.title} ${t.refId}`, selector })),
    ),
  );
  const fromVariables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .flatMap((v) =>
      variableSelectors(typeof v.query === 'string' ? v.query : v.query.query).map((selector) => ({
        where: `variable ${v.name}`,
        selector,
      })),
    );
  return [...fromPanels, ...fromVariables];
}

describe('the PromQL reader the dashboard test relies on', () => {
  it.each([
    [
      'sum(rate(kube_remedy_transitions_total{to="detected"}[5m]))',
      ['kube_remedy_transitions_total'],
    ],
    [
      'histogram_quantile(0.99, sum by (le, machine) (rate(kube_remedy_event_to_decision_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))',
      ['kube_remedy_event_to_decision_seconds_bucket'],
    ],
    [
      'max by (pod, role) (process_resident_memory_bytes * on (namespace, pod) group_left (role) kube_remedy_build_info)',
      ['process_resident_memory_bytes', 'kube_remedy_build_info'],
    ],
    ['a / b > bool 0.5 unless c offset 5m', ['a', 'b', 'c']],
    ['count without (instance) (up{job="a}b"})', ['up']],
  ])('finds the metrics of %s', (expr, metrics) => {
    expect(selectors(expr).map((s) => s.metric)).toEqual(metrics);
  });

  it('reads the selector of label_values()', () => {
    expect(
      variableSelectors('label_values(kube_remedy_build_info{role="agent"}, namespace)'),
    ).toEqual([{ metric: 'kube_remedy_build_info', matchers: 'role="agent"' }]);
  });
});

describe('the Grafana dashboard', () => {
  it('queries only metrics kube-remedy exposes, by their current names', async () => {
    const exposed = await exposedNames();
    expect(exposed).toContain('kube_remedy_actors');
    expect(exposed).toContain('process_resident_memory_bytes');
    const found = dashboardSelectors();
    expect(found.length).toBeGreaterThan(20);
    const unknown = found
      .filter(({ selector }) => !exposed.has(selector.metric))
      .map(({ where, selector }) => `${where}: ${selector.metric}`);
    expect(unknown).toEqual([]);
  });

  it('filters every query by the namespace variable', () => {
    const unfiltered = dashboardSelectors()
      .filter(({ where }) => !where.startsWith('variable'))
      .filter(({ selector }) => !selector.matchers.includes('namespace=~"$namespace"'))
      .map(({ where, selector }) => `${where}: ${selector.metric}`);
    expect(unfiltered).toEqual([]);
  });

  it('shows incidents, actions and outcomes, budgets, queues, watches and latency', () => {
    const metricsShown = new Set(dashboardSelectors().map(({ selector }) => selector.metric));
    for (const metric of [
      'kube_remedy_actors',
      'kube_remedy_transitions_total',
      'kube_remedy_effects_enqueued_total',
      'kube_remedy_effect_outcomes_total',
      'kube_remedy_budget_denials_total',
      'kube_remedy_queue_jobs',
      'kube_remedy_watch_synced',
      'kube_remedy_watch_restarts_total',
      'kube_remedy_event_to_decision_seconds_bucket',
      'kube_remedy_leader',
    ]) {
      expect([metric, metricsShown.has(metric)]).toEqual([metric, true]);
    }
  });

  it('has unique panel ids, a data source variable on every query and panels on a 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('kube-remedy');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    for (const p of queryPanels) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, '${datasource}']);
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe('${datasource}');
      expect(p.description?.length).toBeGreaterThan(10);
    }
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    // No two panels overlap.
    const cells = new Set<string>();
    for (const p of panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x += 1) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y += 1) {
          const cell = `${x},${y}`;
          expect([p.title, cells.has(cell)]).toEqual([p.title, false]);
          cells.add(cell);
        }
      }
    }
  });
});
