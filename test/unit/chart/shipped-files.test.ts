/**
 * Files the chart ships that live elsewhere in the repository. helm cannot read outside the chart
 * directory, and symlinks are packaged inconsistently, so the chart holds copies that must stay
 * byte for byte equal to their sources.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = (path: string) => new URL(`../../../${path}`, import.meta.url);
const read = (path: string) => readFileSync(repo(path), 'utf8');

describe('files the chart ships', () => {
  it.each([
    [
      'crds/autoremediationpolicies.yaml',
      'deploy/helm/kube-remedy/crds/autoremediationpolicies.yaml',
    ],
    ['deploy/grafana/kube-remedy.json', 'deploy/helm/kube-remedy/dashboards/kube-remedy.json'],
  ])('ships %s unchanged (cp %s from it after editing it)', (source, copy) => {
    expect(read(copy), `${copy} differs from ${source}: cp ${source} ${copy}`).toBe(read(source));
  });

  it('deploys the version of kube-remedy the package is', () => {
    const chart = parse(read('deploy/helm/kube-remedy/Chart.yaml')) as { appVersion: string };
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('documents every value in the schema, and the defaults satisfy the schema’s enums', () => {
    interface Schema {
      properties?: Record<string, Schema>;
      $ref?: string;
      enum?: unknown[];
      $defs?: Record<string, Schema>;
    }
    const schema = JSON.parse(read('deploy/helm/kube-remedy/values.schema.json')) as Schema;
    const values = parse(read('deploy/helm/kube-remedy/values.yaml')) as Record<string, unknown>;
    const resolve = (s: Schema): Schema =>
      s.$ref ? resolve(schema.$defs?.[s.$ref.replace('#/$defs/', '')] ?? {}) : s;
    const missing: string[] = [];
    const walk = (value: unknown, s: Schema, path: string): void => {
      const node = resolve(s);
      if (node.enum && !node.enum.includes(value))
        missing.push(`${path}: ${String(value)} not in enum`);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      if (!node.properties) return; // a free-form map (labels, resources, affinity…)
      for (const [key, child] of Object.entries(value)) {
        const sub = node.properties[key];
        if (!sub) missing.push(`${path}.${key}`);
        else walk(child, sub, `${path}.${key}`);
      }
    };
    walk(values, schema, 'values');
    expect(missing).toEqual([]);
  });
});
