/**
 * What every rendering of the chart must satisfy, whatever the values: Pod Security "restricted",
 * no service links, probes, resources, secrets only where they belong, only configuration
 * variables the program declares, and RBAC exactly as docs/adr/0009-deployment-and-rbac.md says.
 * Returns the problems found (empty when none), so a failing test lists all of them.
 */
import { CONFIG_FIELDS } from '../../../src/config/index.ts';
import {
  EXPECTED_CLUSTER_RIGHTS,
  EXPECTED_NAMESPACE_RIGHTS,
  expandRules,
  podSpecOf,
  ROLES,
  workloads,
  type Container,
  type Manifest,
  type PodSpec,
} from './helm.ts';

export const CLUSTER_SCOPED = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** Every environment variable some configuration field is read from. */
export const CONFIG_ENV = new Set(CONFIG_FIELDS.flatMap((f) => f.env ?? []));
/** Environment variables that Node.js itself reads. */
const RUNTIME_ENV = new Set(['NODE_OPTIONS']);

export interface InvariantContext {
  release: string;
  namespace: string;
  /** Prefix of resource names ("<fullname>"). */
  fullname: string;
  httpPort: number;
  /** Environment variable names the values themselves add (extraEnv, secretEnv). */
  userEnv?: readonly string[];
  /** Secrets agent and controller may reference (the Redis password, Prometheus' token). */
  agentSecrets: readonly string[];
  controllerSecrets: readonly string[];
}

function containerProblems(where: string, c: Container): string[] {
  const problems: string[] = [];
  const sc = c.securityContext ?? {};
  if (sc.allowPrivilegeEscalation !== false)
    problems.push(`${where}: allowPrivilegeEscalation is not false`);
  if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: does not drop ALL caps`);
  if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
  if (sc.privileged === true) problems.push(`${where}: privileged`);
  if (sc.readOnlyRootFilesystem !== true)
    problems.push(`${where}: root filesystem is not read-only`);
  if (sc.runAsUser === 0) problems.push(`${where}: runs as root`);
  const requests = c.resources?.requests ?? {};
  if (requests['cpu'] === undefined || requests['memory'] === undefined)
    problems.push(`${where}: no cpu and memory requests`);
  if (c.resources?.limits?.['memory'] === undefined) problems.push(`${where}: no memory limit`);
  if ((c.envFrom ?? []).length > 0) problems.push(`${where}: uses envFrom`);
  return problems;
}

function podProblems(where: string, pod: PodSpec): string[] {
  const problems: string[] = [];
  if (pod.enableServiceLinks !== false) problems.push(`${where}: enableServiceLinks is not false`);
  if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot not true`);
  if (pod.securityContext?.runAsUser === 0) problems.push(`${where}: runs as root`);
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push(`${where}: seccompProfile is not RuntimeDefault`);
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC)
    problems.push(`${where}: uses host namespaces`);
  for (const v of pod.volumes ?? []) {
    if (v.hostPath) problems.push(`${where}: hostPath volume ${v.name}`);
    if (v.secret) problems.push(`${where}: mounts Secret ${v.secret.secretName} as a volume`);
  }
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    problems.push(...containerProblems(`${where} container ${c.name}`, c));
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    const tmpVolume = pod.volumes?.find((v) => v.name === tmp?.name);
    if (!tmpVolume?.emptyDir) problems.push(`${where} container ${c.name}: no emptyDir at /tmp`);
  }
  return problems;
}

function secretRefs(c: Container): string[] {
  return (c.env ?? []).flatMap((e) =>
    e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [],
  );
}

export function invariantProblems(manifests: Manifest[], ctx: InvariantContext): string[] {
  const problems: string[] = [];
  const userEnv = new Set(ctx.userEnv ?? []);

  for (const m of manifests) {
    const where = `${m.kind}/${m.metadata.name}`;
    if (m.kind === 'CustomResourceDefinition') continue; // shipped as is from crds/
    const labels = m.metadata.labels ?? {};
    if (labels['app.kubernetes.io/instance'] !== ctx.release)
      problems.push(`${where}: no app.kubernetes.io/instance=${ctx.release}`);
    if (labels['app.kubernetes.io/managed-by'] !== 'Helm')
      problems.push(`${where}: no app.kubernetes.io/managed-by=Helm`);
    if (!m.metadata.name.startsWith(ctx.fullname))
      problems.push(`${where}: not named ${ctx.fullname}-…`);
    const isDashboard = m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard');
    if (CLUSTER_SCOPED.has(m.kind)) {
      if (m.metadata.namespace !== undefined)
        problems.push(`${where}: cluster-scoped with a namespace`);
    } else if (!isDashboard && m.metadata.namespace !== ctx.namespace) {
      problems.push(`${where}: namespace ${String(m.metadata.namespace)}, not ${ctx.namespace}`);
    }
    if (m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding') {
      const allowed = ROLES.map((r) => `${ctx.fullname}-${r}`);
      for (const s of m.subjects ?? []) {
        if (
          s.kind !== 'ServiceAccount' ||
          s.namespace !== ctx.namespace ||
          !allowed.includes(s.name)
        )
          problems.push(`${where}: binds ${s.kind} ${String(s.namespace)}/${s.name}`);
      }
    }
    for (const rule of m.rules ?? []) {
      const all = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs];
      if (all.includes('*')) problems.push(`${where}: wildcard in ${JSON.stringify(rule)}`);
      if (rule.resources?.some((r) => r === 'secrets' || r.startsWith('secrets/')))
        problems.push(`${where}: grants access to Secrets`);
    }
  }

  for (const w of workloads(manifests)) {
    const pod = podSpecOf(w);
    const where = `${w.kind}/${w.metadata.name}`;
    problems.push(...podProblems(where, pod));
    const role = w.metadata.labels?.['app.kubernetes.io/component'];
    if (!ROLES.includes(role as (typeof ROLES)[number])) continue;
    const name = `${ctx.fullname}-${role}`;
    if (pod.serviceAccountName !== name) problems.push(`${where}: ServiceAccount is not ${name}`);
    if (pod.automountServiceAccountToken !== true)
      problems.push(`${where}: does not mount its ServiceAccount token`);
    const [container, ...others] = pod.containers;
    if (!container || others.length > 0) {
      problems.push(`${where}: expected exactly one container`);
      continue;
    }
    if (JSON.stringify(container.args) !== JSON.stringify(['run', '--role', role]))
      problems.push(`${where}: args are ${JSON.stringify(container.args)}`);
    const http = container.ports?.find((p) => p.name === 'http');
    if (http?.containerPort !== ctx.httpPort)
      problems.push(`${where}: no http port ${ctx.httpPort}`);
    if (
      container.livenessProbe?.httpGet?.path !== '/healthz' ||
      container.livenessProbe.httpGet.port !== 'http'
    )
      problems.push(`${where}: liveness is not GET /healthz on http`);
    if (
      container.readinessProbe?.httpGet?.path !== '/readyz' ||
      container.readinessProbe.httpGet.port !== 'http'
    )
      problems.push(`${where}: readiness is not GET /readyz on http`);
    const env = container.env ?? [];
    const value = (n: string) => env.find((e) => e.name === n);
    if (value('KUBE_REMEDY_HTTP_HOST')?.value !== '0.0.0.0')
      problems.push(`${where}: KUBE_REMEDY_HTTP_HOST is not 0.0.0.0`);
    if (value('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath !== 'metadata.namespace')
      problems.push(`${where}: POD_NAMESPACE is not from metadata.namespace`);
    const names = env.map((e) => e.name);
    if (new Set(names).size !== names.length) problems.push(`${where}: duplicate env names`);
    for (const n of names) {
      if (!CONFIG_ENV.has(n) && !RUNTIME_ENV.has(n) && !userEnv.has(n))
        problems.push(`${where}: sets ${n}, which no configuration field reads`);
    }
    const allowed =
      role === 'agent' ? ctx.agentSecrets : role === 'controller' ? ctx.controllerSecrets : null;
    if (allowed) {
      for (const s of secretRefs(container)) {
        if (!allowed.includes(s)) problems.push(`${where}: references Secret ${s}`);
      }
    }
  }

  // Effective rights of each ServiceAccount, as the RBAC authorizer would compute them from these
  // objects: ClusterRoleBindings give cluster-wide rights, RoleBindings rights in the namespace.
  for (const role of ROLES) {
    const name = `${ctx.fullname}-${role}`;
    const binds = (b: Manifest) =>
      b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === name) ?? false;
    const rulesOf = (kind: string, ref: string) =>
      manifests
        .filter((m) => m.kind === kind && m.metadata.name === ref)
        .flatMap((m) => m.rules ?? []);
    const cluster = manifests
      .filter((m) => m.kind === 'ClusterRoleBinding' && binds(m))
      .flatMap((b) => rulesOf('ClusterRole', b.roleRef?.name ?? ''));
    const namespaced = manifests
      .filter((m) => m.kind === 'RoleBinding' && binds(m))
      .flatMap((b) => rulesOf(b.roleRef?.kind ?? '', b.roleRef?.name ?? ''));
    const granted = expandRules(cluster);
    if (JSON.stringify(granted) !== JSON.stringify(EXPECTED_CLUSTER_RIGHTS[role]))
      problems.push(`${name}: cluster-wide rights ${JSON.stringify(granted)}`);
    const nsGranted = expandRules(namespaced);
    if (JSON.stringify(nsGranted) !== JSON.stringify(EXPECTED_NAMESPACE_RIGHTS[role]))
      problems.push(`${name}: rights in ${ctx.namespace} ${JSON.stringify(nsGranted)}`);
  }
  return problems;
}
