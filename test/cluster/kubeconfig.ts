/** Writes token kubeconfigs (self-contained: the CA is embedded as certificate-authority-data). */
import { writeFileSync } from 'node:fs';

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  user: string;
  token: string;
  namespace?: string;
  clusterName?: string;
}

export function renderKubeconfig(opts: KubeconfigOptions): string {
  const cluster = opts.clusterName ?? 'kube-remedy-test';
  const ca = Buffer.from(opts.caPem).toString('base64');
  // JSON.stringify yields valid YAML scalars, so names with ':' stay intact.
  const q = (s: string) => JSON.stringify(s);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(cluster)}`,
    '  cluster:',
    `    server: ${q(opts.server)}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${q(opts.user)}`,
    '  user:',
    `    token: ${q(opts.token)}`,
    'contexts:',
    `- name: ${q(opts.user)}`,
    '  context:',
    `    cluster: ${q(cluster)}`,
    `    user: ${q(opts.user)}`,
    `    namespace: ${q(opts.namespace ?? 'default')}`,
    `current-context: ${q(opts.user)}`,
    '',
  ].join('\n');
}

export function writeKubeconfig(file: string, opts: KubeconfigOptions): void {
  writeFileSync(file, renderKubeconfig(opts), { mode: 0o600 });
}
