/**
 * The Helm chart (deploy/helm/kube-remedy) through the real helm binary the test control plane is
 * built with (`inject('kube').binDir`): render, lint and install it, and read the rendered objects.
 * helm is always spawned with an argument array, never through a shell, with its cache, config and
 * data directories in a temporary directory of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';

export const CHART_DIR = fileURLToPath(
  new URL('../../../deploy/helm/kube-remedy', import.meta.url),
);
export const ROLES = ['agent', 'controller', 'workers'] as const;
export type ChartRole = (typeof ROLES)[number];

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Values as a plain object; written to a file and passed with `-f`. */
export type Values = Record<string, unknown>;

/** helm's cache, config and data directories: one fixed place, never the user's ~/.config. */
const helmHome = path.join(tmpdir(), 'kube-remedy-test-helm');

function helmEnv(): Record<string, string> {
  const env: Record<string, string> = {
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  };
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function helmBinary(): string {
  return path.join(inject('kube').binDir, 'helm');
}

/** Runs helm with these arguments; never throws on a non-zero exit (check `status`). */
export function helm(args: readonly string[]): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(helmBinary(), args, { env: helmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Like `helm` but throws, with helm's output, on a non-zero exit. */
export async function helmOk(args: readonly string[]): Promise<HelmResult> {
  const result = await helm(args);
  if (result.status !== 0) {
    throw new Error(
      `helm ${args.join(' ')} exited ${String(result.status)}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

/** Writes values to a temporary file and returns the `-f` arguments plus a cleanup. */
export function valuesArgs(values: Values): { args: string[]; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kr-values-'));
  const file = path.join(dir, 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return { args: ['-f', file], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Extra API versions for .Capabilities (e.g. monitoring.coreos.com/v1/ServiceMonitor). */
  apiVersions?: string[];
}

/** `helm template`: the result as helm gives it (status, stdout, stderr). */
export async function template(values: Values, opts: RenderOptions = {}): Promise<HelmResult> {
  const { args, cleanup } = valuesArgs(values);
  try {
    return await helm([
      'template',
      opts.release ?? 'kube-remedy',
      CHART_DIR,
      '--namespace',
      opts.namespace ?? 'kube-remedy-system',
      '--include-crds',
      ...(opts.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
      ...args,
    ]);
  } finally {
    cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// The shapes of rendered objects the tests read (only the fields they touch).

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  tcpSocket?: { port: string | number };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string };
  secret?: { secretName: string };
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  hostPath?: { path: string };
  projected?: unknown;
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type: string };
  };
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  topologySpreadConstraints?: Record<string, unknown>[];
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A rendered object: kind, metadata and whatever else it has. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  automountServiceAccountToken?: boolean;
  [key: string]: unknown;
}

/** Parses a multi-document YAML stream into its non-empty documents. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** Renders the chart and returns its objects; fails with helm's message when helm refuses. */
export async function render(values: Values = {}, opts: RenderOptions = {}): Promise<Manifest[]> {
  const result = await template(values, opts);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) {
    const have = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among: ${have}`);
  }
  return found;
}

export function ofKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

/** The pod template of a workload (DaemonSet, Deployment, StatefulSet). */
export function podSpecOf(workload: Manifest): PodSpec {
  const spec = workload.spec as { template?: { spec?: PodSpec } } | undefined;
  if (!spec?.template?.spec) throw new Error(`${workload.kind} has no pod template`);
  return spec.template.spec;
}

export const WORKLOAD_KINDS = ['DaemonSet', 'Deployment', 'StatefulSet'];

export function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => WORKLOAD_KINDS.includes(m.kind));
}

/** The workload running a kube-remedy role, by its component label. */
export function roleWorkload(manifests: Manifest[], role: ChartRole): Manifest {
  const found = workloads(manifests).find(
    (m) => m.metadata.labels?.['app.kubernetes.io/component'] === role,
  );
  if (!found) throw new Error(`no workload for role ${role}`);
  return found;
}

/** `verb group/resource` strings of RBAC rules ("" group written as "core"). */
export function expandRules(rules: readonly PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) {
          const names = rule.resourceNames?.length ? `[${rule.resourceNames.join(',')}]` : '';
          out.add(`${verb} ${group === '' ? 'core' : group}/${resource}${names}`);
        }
      }
    }
    for (const url of rule.nonResourceURLs ?? []) {
      for (const verb of rule.verbs) out.add(`${verb} ${url}`);
    }
  }
  return [...out].sort();
}

function rights(table: Record<string, string[]>): string[] {
  return Object.entries(table)
    .flatMap(([resource, verbs]) => verbs.map((verb) => `${verb} ${resource}`))
    .sort();
}

/**
 * What each role may do, cluster-wide, and nothing more (docs/adr/0009-deployment-and-rbac.md).
 * The chart's ClusterRoles must grant exactly this, and on the real API server the
 * ServiceAccounts' effective rights must be exactly this plus what every authenticated user has.
 */
export const EXPECTED_CLUSTER_RIGHTS: Record<ChartRole, string[]> = {
  agent: rights({
    'core/pods': ['get', 'list', 'watch', 'delete'],
    'core/pods/eviction': ['create'],
    'core/nodes': ['get', 'list', 'watch', 'patch'],
    'core/events': ['create', 'patch'],
    'remedy.kube-remedy.io/autoremediationpolicies': ['get', 'list', 'watch'],
  }),
  controller: rights({
    'apps/deployments': ['get', 'list', 'watch', 'patch'],
    'apps/deployments/scale': ['get', 'patch', 'update'],
    'apps/replicasets': ['list', 'watch'],
    'core/pods': ['list', 'watch'],
    'autoscaling/horizontalpodautoscalers': ['get', 'list', 'watch'],
    'remedy.kube-remedy.io/autoremediationpolicies': ['get', 'list', 'watch'],
    'remedy.kube-remedy.io/autoremediationpolicies/status': ['get', 'patch', 'update'],
    'core/events': ['create', 'patch'],
    'core/nodes': ['get', 'list', 'watch', 'patch'],
    'core/pods/eviction': ['create'],
  }),
  workers: rights({
    'core/pods': ['get', 'list'],
    'core/pods/log': ['get'],
    'core/nodes': ['get'],
    'core/events': ['list'],
    'apps/deployments': ['get'],
    'apps/replicasets': ['get'],
    'apps/statefulsets': ['get'],
    'apps/daemonsets': ['get'],
    'batch/jobs': ['get'],
    'batch/cronjobs': ['get'],
    'remedy.kube-remedy.io/autoremediationpolicies': ['get', 'list', 'watch'],
  }),
};

/** Rights each role has in the release namespace only (a Role there). */
export const EXPECTED_NAMESPACE_RIGHTS: Record<ChartRole, string[]> = {
  agent: [],
  controller: rights({ 'coordination.k8s.io/leases': ['get', 'create', 'update'] }),
  workers: [],
};
