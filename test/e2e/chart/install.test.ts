/**
 * The Helm chart installed with the real helm on the real control plane, as an SRE would install
 * it, into a namespace that enforces Pod Security "restricted":
 *
 * - every object of the release exists, and every pod is admitted (kwok runs them; no container
 *   really starts, so nothing here waits for kube-remedy's own processes);
 * - each role's ServiceAccount, through a real token of it (TokenRequest), has exactly the rights
 *   docs/adr/0009-deployment-and-rbac.md lists: SelfSubjectRulesReview minus what an unbound
 *   ServiceAccount of the same namespace has anyway must equal the expected set, so any extra
 *   right (Secrets, a wildcard) fails the test;
 * - the first policy of NOTES.txt is valid, and the chart's admission policy refuses node
 *   policies outside the release namespace.
 *
 * Why not release "kube-remedy" in kube-remedy-system, whose ServiceAccounts the static role
 * tokens of test/cluster authenticate as: other test files use those identities at the same time,
 * some granting them rights (which would break the exact comparison here) and some asserting they
 * are forbidden what the chart grants (which installing the chart there would break). A release of
 * its own, in a namespace of its own, on a node of its own, disturbs nobody; test/integration/chart
 * checks that release "kube-remedy" names its ServiceAccounts as those tokens expect.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import {
  adminClient,
  createFakeNode,
  deleteNamespace,
  FIXTURE_NODE_TAINT,
  freshNamespace,
  KubeClient,
  waitFor,
  type Pod,
} from '../../cluster/fixtures.ts';
import {
  CHART_DIR,
  EXPECTED_CLUSTER_RIGHTS,
  EXPECTED_NAMESPACE_RIGHTS,
  expandRules,
  helm,
  helmOk,
  parseManifests,
  ROLES,
  valuesArgs,
  type ChartRole,
  type Manifest,
  type PolicyRule,
} from '../../integration/chart/helm.ts';
import { CLUSTER_SCOPED } from '../../integration/chart/invariants.ts';

const suffix = randomBytes(3).toString('hex');
/** Contains "kube-remedy", so the chart uses it as the name prefix: kube-remedy-<suffix>-agent… */
const release = `kube-remedy-${suffix}`;
const fullname = release;
const nodeLabel = 'kube-remedy.test/chart-node';
/** Namespaces carrying this label are the only ones the release's admission policy binds to. */
const tenancyLabel = `kube-remedy.test/chart-tenancy-${suffix}`;
const CRD = 'autoremediationpolicies.remedy.kube-remedy.io';
const ARP = '/apis/remedy.kube-remedy.io/v1alpha1';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

/** REST collection of each kind the chart creates. */
const PLURALS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  Service: 'services',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  DaemonSet: 'daemonsets',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  PodDisruptionBudget: 'poddisruptionbudgets',
  NetworkPolicy: 'networkpolicies',
  Ingress: 'ingresses',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
  CustomResourceDefinition: 'customresourcedefinitions',
};

function objectPath(m: Manifest, namespace: string): string {
  const [group, version] = m.apiVersion.includes('/')
    ? m.apiVersion.split('/')
    : ['', m.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const plural = PLURALS[m.kind];
  if (!plural) throw new Error(`no REST path known for kind ${m.kind}: add it to PLURALS`);
  const scope = CLUSTER_SCOPED.has(m.kind)
    ? ''
    : `/namespaces/${m.metadata.namespace ?? namespace}`;
  return `${base}${scope}/${plural}/${m.metadata.name}`;
}

interface RulesReview {
  status: {
    resourceRules: PolicyRule[];
    nonResourceRules: PolicyRule[];
    incomplete: boolean;
    evaluationError?: string;
  };
}

function difference(a: readonly string[], b: readonly string[]): string[] {
  const minus = new Set(b);
  return a.filter((x) => !minus.has(x));
}

describe('the Helm chart on the real control plane', () => {
  const kube = inject('kube');
  const admin = adminClient();
  let namespace = '';
  let node = '';
  let notes = '';
  let installed = false;
  const otherNamespaces: string[] = [];

  /** A real token of a ServiceAccount, from the TokenRequest API. */
  async function tokenOf(ns: string, serviceAccount: string): Promise<KubeClient> {
    const review = await admin.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${ns}/serviceaccounts/${serviceAccount}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 600 },
      },
    );
    return new KubeClient({ server: kube.server, token: review.status.token, caPem: kube.caPem });
  }

  async function rulesIn(client: KubeClient, ns: string): Promise<string[]> {
    const review = await client.create<RulesReview>(
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectRulesReview',
        spec: { namespace: ns },
      },
    );
    expect(review.status.incomplete).toBe(false);
    return expandRules([...review.status.resourceRules, ...review.status.nonResourceRules]);
  }

  beforeAll(async () => {
    // A node of the release's own: the DaemonSet runs one agent there, and every other pod of the
    // release is scheduled there too, away from the shared nodes other tests break.
    node = (
      await createFakeNode(admin, {
        keep: true,
        name: `kwok-chart-${suffix}`,
        labels: { [nodeLabel]: suffix },
      })
    ).metadata.name;
    namespace = await freshNamespace(admin, {
      prefix: 'kr-chart',
      keep: true,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        [tenancyLabel]: '',
      },
    });
    // The Secrets the values name; the chart only references them.
    const secrets: Record<string, Record<string, string>> = {
      'kube-remedy-slack': {
        'bot-token': 'xoxb-0000-e2e',
        'signing-secret': 'signing-secret-0123456789',
        'button-secret': 'b'.repeat(64),
      },
      llm: { 'api-key': 'sk-e2e' },
      github: { token: 'ghp_e2e' },
    };
    for (const [name, stringData] of Object.entries(secrets)) {
      await admin.create(`/api/v1/namespaces/${namespace}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name },
        stringData,
      });
    }
    // A volume for Redis' claim (the control plane has no provisioner), bound to that claim only.
    await admin.create('/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `kr-chart-${suffix}` },
      spec: {
        capacity: { storage: '2Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: `/var/lib/kube-remedy-e2e/${suffix}` },
        claimRef: { namespace, name: `data-${fullname}-redis-0` },
      },
    });

    const placement = {
      nodeSelector: { [nodeLabel]: suffix },
      tolerations: [{ ...FIXTURE_NODE_TAINT, operator: 'Equal' }],
    };
    const values = {
      agent: placement,
      controller: placement,
      workers: {
        ...placement,
        slack: {
          enabled: true,
          existingSecret: 'kube-remedy-slack',
          ingress: { enabled: true, host: 'kube-remedy.example.com' },
        },
        llm: { enabled: true, model: 'gpt-4o-mini', existingSecret: 'llm' },
        github: { enabled: true, existingSecret: 'github' },
      },
      redis: placement,
      networkPolicy: { enabled: true },
      dashboards: { enabled: true },
      admissionPolicy: { extraMatchExpressions: [{ key: tenancyLabel, operator: 'Exists' }] },
    };
    const { args, cleanup } = valuesArgs(values);
    try {
      const result = await helmOk([
        'install',
        release,
        CHART_DIR,
        '--namespace',
        namespace,
        '--kubeconfig',
        kube.kubeconfig,
        ...args,
      ]);
      installed = true;
      notes = result.stdout;
    } finally {
      cleanup();
    }
  });

  afterAll(async () => {
    if (installed) {
      await helm(['uninstall', release, '--namespace', namespace, '--kubeconfig', kube.kubeconfig]);
    }
    for (const ns of [namespace, ...otherNamespaces]) if (ns) await deleteNamespace(admin, ns);
    await admin.delete(`/api/v1/persistentvolumes/kr-chart-${suffix}`);
    if (node) await admin.delete(`/api/v1/nodes/${node}`);
  });

  async function manifest(): Promise<Manifest[]> {
    const result = await helmOk([
      'get',
      'manifest',
      release,
      '--namespace',
      namespace,
      '--kubeconfig',
      kube.kubeconfig,
    ]);
    return parseManifests(result.stdout);
  }

  it('creates every object of the release', async () => {
    const objects = await manifest();
    const kinds = [...new Set(objects.map((m) => m.kind))].sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'DaemonSet',
        'Deployment',
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Secret',
        'Service',
        'ServiceAccount',
        'StatefulSet',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    const missing: string[] = [];
    for (const m of objects) {
      const res = await admin.request('GET', objectPath(m, namespace));
      if (res.status !== 200) missing.push(`${m.kind}/${m.metadata.name}: ${res.status}`);
    }
    expect(missing).toEqual([]);
    expect(objects.length).toBeGreaterThanOrEqual(30);
    // The CRD comes from the chart's crds/ (helm leaves one that is already there as it is).
    const crd = await admin.get<{ status: { conditions?: { type: string; status: string }[] } }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD}`,
    );
    expect(crd.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Established', status: 'True' }),
    );
  });

  it('admits every pod under Pod Security "restricted" and runs them on its node', async () => {
    // The namespace really enforces "restricted": a pod without the settings is refused.
    const refused = await admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'not-restricted' },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('violates PodSecurity \\"restricted:latest\\"');

    const expected = { agent: 1, controller: 2, workers: 2, redis: 1 };
    const pods = await waitFor(
      'the release pods to be Running',
      async () => {
        const list = await admin.get<{ items: Pod[] }>(
          `/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io/instance=${release}`,
        );
        const running = list.items.filter((p) => p.status?.phase === 'Running');
        return running.length === 6 ? running : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const byComponent: Record<string, number> = {};
    for (const pod of pods) {
      const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? '?';
      byComponent[component] = (byComponent[component] ?? 0) + 1;
      expect(pod.spec.nodeName).toBe(node);
    }
    expect(byComponent).toEqual(expected);
    // No controller was refused a pod (it would have recorded FailedCreate).
    const events = await admin.get<{ items: { reason: string; message: string }[] }>(
      `/api/v1/namespaces/${namespace}/events?fieldSelector=reason=FailedCreate`,
    );
    expect(events.items.map((e) => e.message)).toEqual([]);
  });

  it.each(ROLES)(
    'gives the %s ServiceAccount exactly its rights, through a real token of it',
    async (role: ChartRole) => {
      const client = await tokenOf(namespace, `${fullname}-${role}`);
      // What any ServiceAccount of the namespace may do without a binding (self reviews,
      // discovery): the baseline the chart's rights come on top of.
      const baselineAccount = `baseline-${role}`;
      await admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: baselineAccount },
      });
      const baseline = await tokenOf(namespace, baselineAccount);
      const elsewhere = 'default';

      const inRelease = difference(
        await rulesIn(client, namespace),
        await rulesIn(baseline, namespace),
      );
      expect(inRelease.sort()).toEqual(
        [...EXPECTED_CLUSTER_RIGHTS[role], ...EXPECTED_NAMESPACE_RIGHTS[role]].sort(),
      );
      const inOther = difference(
        await rulesIn(client, elsewhere),
        await rulesIn(baseline, elsewhere),
      );
      expect(inOther).toEqual(EXPECTED_CLUSTER_RIGHTS[role]);
      // Secrets are not among them, in any namespace.
      for (const ns of [namespace, elsewhere]) {
        const res = await client.request('GET', `/api/v1/namespaces/${ns}/secrets`);
        expect(res.status).toBe(403);
      }
      const password = await client.request(
        'GET',
        `/api/v1/namespaces/${namespace}/secrets/${fullname}-redis`,
      );
      expect(password.status).toBe(403);
    },
  );

  it('lets the controller keep its Lease in the release namespace, and nowhere else', async () => {
    const controller = await tokenOf(namespace, `${fullname}-controller`);
    const lease = (ns: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'kube-remedy-controller', namespace: ns },
      spec: { holderIdentity: 'e2e', leaseDurationSeconds: 15 },
    });
    const leases = (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const created = await controller.create<{ metadata: { resourceVersion: string } }>(
      leases(namespace),
      lease(namespace),
    );
    const current = await controller.get<Record<string, unknown>>(
      `${leases(namespace)}/kube-remedy-controller`,
    );
    const updated = await controller.call('PUT', `${leases(namespace)}/kube-remedy-controller`, {
      ...current,
      spec: { holderIdentity: 'e2e-2', leaseDurationSeconds: 15 },
    });
    expect(updated).toMatchObject({ spec: { holderIdentity: 'e2e-2' } });
    expect(created.metadata.resourceVersion).toBeTruthy();
    const elsewhere = await controller.request('POST', leases('default'), lease('default'));
    expect(elsewhere.status).toBe(403);
    const remove = await controller.request(
      'DELETE',
      `${leases(namespace)}/kube-remedy-controller`,
    );
    expect(remove.status).toBe(403);
  });

  it('prints NOTES that say what was installed, how to check it, and a valid first policy', async () => {
    expect(notes).toContain(`installed as release "${release}" in namespace "${namespace}"`);
    expect(notes).toContain(`DaemonSet ${fullname}-agent`);
    expect(notes).toContain(`kubectl -n ${namespace} get daemonset,deployment,statefulset,pods`);
    // The policy is the indented block that starts with "# policy.yaml", up to the next blank line.
    const lines = notes.split('\n');
    const start = lines.findIndex((l) => l.trim() === '# policy.yaml');
    const end = lines.findIndex((l, i) => i > start && l.trim() === '');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start + 5);
    const policyText = lines
      .slice(start, end)
      .map((l) => l.replace(/^ {4}/, ''))
      .join('\n');
    const policy = parse(policyText) as { metadata: { name: string; namespace: string } };
    const team = await freshNamespace(admin, { prefix: 'kr-chart-team', keep: true });
    otherNamespaces.push(team);
    policy.metadata.namespace = team;
    await waitFor('policies to be served', async () => {
      const res = await admin.request('GET', `${ARP}/autoremediationpolicies?limit=1`);
      return res.status === 200;
    });
    // The API server validates it against the CRD's schema and CEL rules; nothing is stored.
    const res = await admin.request(
      'POST',
      `${ARP}/namespaces/${team}/autoremediationpolicies?dryRun=All`,
      policy,
    );
    expect([res.status, res.body]).toMatchObject([201, { spec: { mode: 'dryRun' } }]);
  });

  it("refuses node policies outside the release namespace with the chart's admission policy", async () => {
    const team = await freshNamespace(admin, {
      prefix: 'kr-chart-tenant',
      keep: true,
      labels: { [tenancyLabel]: '' },
    });
    otherNamespaces.push(team);
    const nodePolicy = (ns: string) => ({
      apiVersion: 'remedy.kube-remedy.io/v1alpha1',
      kind: 'AutoRemediationPolicy',
      metadata: { name: 'drain-not-ready', namespace: ns },
      spec: {
        selector: { kinds: ['Node'] },
        mode: 'auto',
        detections: [{ type: 'NotReady', action: 'drain' }],
      },
    });
    const create = (ns: string) =>
      admin.request(
        'POST',
        `${ARP}/namespaces/${ns}/autoremediationpolicies?dryRun=All`,
        nodePolicy(ns),
      );
    // The API server loads admission policies asynchronously: wait until this one bites.
    const refused = await waitFor('the admission policy to refuse node policies', async () => {
      const res = await create(team);
      return res.status === 403 ? res : undefined;
    });
    expect(JSON.stringify(refused.body)).toContain(
      `AutoRemediationPolicy ${team}/drain-not-ready selects Nodes, but only policies in kube-remedy's namespace may select Nodes`,
    );
    // The release namespace carries the same label and is still let through: it is excluded by name.
    const allowed = await create(namespace);
    expect([allowed.status, allowed.body]).toMatchObject([201, { spec: { mode: 'auto' } }]);
  });

  it('removes its cluster-wide objects on uninstall and keeps the CRD', async () => {
    const clusterWide = (await manifest()).filter((m) => CLUSTER_SCOPED.has(m.kind));
    expect(clusterWide.map((m) => m.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    await helmOk(['uninstall', release, '--namespace', namespace, '--kubeconfig', kube.kubeconfig]);
    installed = false;
    for (const m of clusterWide) {
      const res = await admin.request('GET', objectPath(m, namespace));
      expect([m.kind, m.metadata.name, res.status]).toEqual([m.kind, m.metadata.name, 404]);
    }
    const bindings = await admin.get<{ items: Manifest[] }>(`${RBAC}/clusterrolebindings`);
    expect(
      bindings.items.filter((b) =>
        b.subjects?.some((s) => s.namespace === namespace && s.name.startsWith(fullname)),
      ),
    ).toEqual([]);
    const policies = await admin.get<{ items: Manifest[] }>(
      `${ADMISSION}/validatingadmissionpolicies`,
    );
    expect(policies.items.map((p) => p.metadata.name)).not.toContain(`${fullname}-node-policies`);
    const crd = await admin.request(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD}`,
    );
    expect(crd.status).toBe(200);
  });
});
