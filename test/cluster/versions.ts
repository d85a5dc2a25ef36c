/**
 * The pinned versions of the test control plane, read from test/cluster/versions.env (the one
 * place they are recorded; build.sh sources the same file).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const clusterDir = path.dirname(fileURLToPath(import.meta.url));
export const versionsFile = path.join(clusterDir, 'versions.env');
export const buildScript = path.join(clusterDir, 'build.sh');

export interface ClusterVersions {
  KUBERNETES_VERSION: string;
  KUBERNETES_STAGING_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
  HELM_VERSION: string;
  GO_TOOLCHAIN: string;
}

const required: (keyof ClusterVersions)[] = [
  'KUBERNETES_VERSION',
  'KUBERNETES_STAGING_VERSION',
  'ETCD_VERSION',
  'KWOK_VERSION',
  'HELM_VERSION',
  'GO_TOOLCHAIN',
];

/** Parses KEY=VALUE lines (comments and blank lines ignored). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`versions.env: cannot parse line ${JSON.stringify(raw)}`);
    out[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export function readVersions(file = versionsFile): ClusterVersions {
  const values = parseEnvFile(readFileSync(file, 'utf8'));
  for (const key of required) {
    if (!values[key]) throw new Error(`${file}: ${key} is missing`);
  }
  return values as unknown as ClusterVersions;
}
