/**
 * deploy/helm/kube-remedy rendered by the real helm (the binary the test control plane is built
 * with): `helm lint --strict` and `helm template` for the defaults and a table of value
 * combinations, each checked against the invariants every rendering must keep, then what each
 * option must produce. The install on the real API server is test/e2e/chart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runCli } from '../../support/cli.ts';
import {
  CHART_DIR,
  find,
  helm,
  ofKind,
  parseManifests,
  podSpecOf,
  render,
  roleWorkload,
  ROLES,
  valuesArgs,
  type Container,
  type Manifest,
  type Values,
} from './helm.ts';
import { invariantProblems, type InvariantContext } from './invariants.ts';

const REPO = new URL('../../../', import.meta.url);
const NS = 'kube-remedy-system';

const EXTERNAL_REDIS: Values = {
  redis: {
    enabled: false,
    external: { url: 'rediss://redis.example.com:6380/2', existingSecret: 'redis-auth' },
  },
};

/** Every integration and option at once (user-provided env names listed in USER_ENV). */
const EVERYTHING: Values = {
  image: { digest: `sha256:${'a'.repeat(64)}` },
  log: { level: 'debug' },
  controller: {
    prometheus: { url: 'http://prometheus-operated.monitoring:9090', existingSecret: 'prom-auth' },
  },
  workers: {
    slack: {
      enabled: true,
      existingSecret: 'kube-remedy-slack',
      channel: '#ops',
      ingress: {
        enabled: true,
        className: 'nginx',
        host: 'kube-remedy.example.com',
        tls: [{ secretName: 'slack-tls', hosts: ['kube-remedy.example.com'] }],
      },
    },
    llm: {
      enabled: true,
      model: 'gpt-4o-mini',
      baseUrl: 'http://ollama.llm:11434/v1',
      existingSecret: 'llm',
    },
    github: {
      enabled: true,
      existingSecret: 'github',
      baseUrl: 'https://github.example.com/api/v3',
    },
    gitlab: { enabled: true, existingSecret: 'gitlab' },
    jira: {
      enabled: true,
      baseUrl: 'https://example.atlassian.net',
      email: 'kube-remedy@example.com',
      existingSecret: 'jira',
    },
    evidence: {
      s3: {
        region: 'eu-west-1',
        serverSideEncryption: 'aws:kms',
        kmsKeyId: 'alias/evidence',
        existingSecret: 's3',
      },
      efs: { enabled: true, existingClaim: 'evidence' },
      linkTemplate: 'https://s3.console.aws.amazon.com/s3/buckets/{bucket}?prefix={key}',
    },
    secretEnv: [{ name: 'HTTPS_PROXY', secretName: 'proxy', key: 'url', optional: true }],
    extraEnv: [{ name: 'KUBE_REMEDY_LLM_TIMEOUT', value: '20s' }],
  },
  redis: { auth: { existingSecret: 'redis-auth' }, persistence: { enabled: false } },
  metrics: { serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } },
  dashboards: { enabled: true, namespace: 'monitoring' },
  networkPolicy: {
    enabled: true,
    apiServer: { cidrs: ['10.0.0.1/32'] },
    metricsFrom: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ],
    slackFrom: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    ],
  },
  admissionPolicy: { extraMatchExpressions: [{ key: 'team', operator: 'Exists' }] },
};
const USER_ENV = ['HTTPS_PROXY'];

interface Case {
  name: string;
  values: Values;
  release?: string;
  namespace?: string;
  fullname?: string;
  redisSecrets?: string[];
  controllerSecrets?: string[];
}

const CASES: Case[] = [
  { name: 'the defaults', values: {} },
  {
    name: 'an external Redis with a password Secret',
    values: EXTERNAL_REDIS,
    redisSecrets: ['redis-auth'],
  },
  {
    name: 'an external Redis without a password',
    values: { redis: { enabled: false, external: { url: 'redis://redis.shared:6379/0' } } },
    redisSecrets: [],
  },
  {
    name: 'no ServiceMonitor, no PodDisruptionBudgets, no admission policy',
    values: {
      metrics: { serviceMonitor: { enabled: false } },
      controller: { podDisruptionBudget: { enabled: false } },
      workers: { podDisruptionBudget: { enabled: false } },
      admissionPolicy: { enabled: false },
    },
  },
  { name: 'the ServiceMonitor', values: { metrics: { serviceMonitor: { enabled: true } } } },
  { name: 'NetworkPolicies with the bundled Redis', values: { networkPolicy: { enabled: true } } },
  {
    name: 'NetworkPolicies with an external Redis',
    values: { ...EXTERNAL_REDIS, networkPolicy: { enabled: true } },
    redisSecrets: ['redis-auth'],
  },
  {
    name: 'PodDisruptionBudgets as percentages',
    values: {
      controller: { replicas: 3, podDisruptionBudget: { maxUnavailable: '34%' } },
      workers: { replicas: 4, podDisruptionBudget: { maxUnavailable: '50%' } },
    },
  },
  { name: 'the Grafana dashboard', values: { dashboards: { enabled: true } } },
  { name: 'Redis without persistence', values: { redis: { persistence: { enabled: false } } } },
  {
    name: 'every integration and option',
    values: EVERYTHING,
    redisSecrets: ['redis-auth'],
    controllerSecrets: ['prom-auth'],
  },
  {
    name: 'another release name in another namespace',
    values: { httpPort: 9090, shutdownTimeoutSeconds: 55 },
    release: 'ops',
    namespace: 'ops-tools',
    fullname: 'ops-kube-remedy',
    redisSecrets: ['ops-kube-remedy-redis'],
  },
  {
    name: 'a fullname override',
    values: { fullnameOverride: 'remedy' },
    release: 'whatever',
    fullname: 'remedy',
    redisSecrets: ['remedy-redis'],
  },
];

function contextOf(c: Case): InvariantContext {
  const fullname = c.fullname ?? 'kube-remedy';
  const redis = c.redisSecrets ?? [`${fullname}-redis`];
  const httpPort = (c.values['httpPort'] as number | undefined) ?? 8080;
  return {
    release: c.release ?? 'kube-remedy',
    namespace: c.namespace ?? NS,
    fullname,
    httpPort,
    userEnv: USER_ENV,
    agentSecrets: redis,
    controllerSecrets: [...redis, ...(c.controllerSecrets ?? [])],
  };
}

function renderCase(c: Case): Promise<Manifest[]> {
  return render(c.values, { release: c.release, namespace: c.namespace });
}

function containerOf(manifests: Manifest[], role: (typeof ROLES)[number]): Container {
  const container = podSpecOf(roleWorkload(manifests, role)).containers[0];
  if (!container) throw new Error(`no container for ${role}`);
  return container;
}

function envOf(c: Container): Map<string, NonNullable<Container['env']>[number]> {
  return new Map((c.env ?? []).map((e) => [e.name, e]));
}

describe('the Helm chart, rendered', () => {
  it.each(CASES)('passes helm lint --strict with $name', async (c) => {
    const { args, cleanup } = valuesArgs(c.values);
    try {
      const result = await helm(['lint', '--strict', CHART_DIR, ...args]);
      expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it.each(CASES)('keeps every invariant with $name', async (c) => {
    const manifests = await renderCase(c);
    expect(manifests.length).toBeGreaterThan(10);
    expect(invariantProblems(manifests, contextOf(c))).toEqual([]);
  });

  it('renders exactly these objects with the defaults, named after the release', async () => {
    const manifests = await render({});
    const names = manifests.map((m) => `${m.kind} ${m.metadata.name}`).sort();
    expect(names).toEqual(
      [
        'ClusterRole kube-remedy-agent',
        'ClusterRole kube-remedy-controller',
        'ClusterRole kube-remedy-workers',
        'ClusterRoleBinding kube-remedy-agent',
        'ClusterRoleBinding kube-remedy-controller',
        'ClusterRoleBinding kube-remedy-workers',
        'ConfigMap kube-remedy-redis',
        'CustomResourceDefinition autoremediationpolicies.remedy.kube-remedy.io',
        'DaemonSet kube-remedy-agent',
        'Deployment kube-remedy-controller',
        'Deployment kube-remedy-workers',
        'PodDisruptionBudget kube-remedy-controller',
        'PodDisruptionBudget kube-remedy-workers',
        'Role kube-remedy-controller-leader-election',
        'RoleBinding kube-remedy-controller-leader-election',
        'Secret kube-remedy-redis',
        'Service kube-remedy-agent-metrics',
        'Service kube-remedy-controller-metrics',
        'Service kube-remedy-redis',
        'Service kube-remedy-redis-headless',
        'Service kube-remedy-workers-metrics',
        'ServiceAccount kube-remedy-agent',
        'ServiceAccount kube-remedy-controller',
        'ServiceAccount kube-remedy-redis',
        'ServiceAccount kube-remedy-workers',
        'StatefulSet kube-remedy-redis',
        'ValidatingAdmissionPolicy kube-remedy-node-policies',
        'ValidatingAdmissionPolicyBinding kube-remedy-node-policies',
      ].sort(),
    );
  });

  it('names the ServiceAccounts as the test control plane authenticates the role tokens', async () => {
    // test/cluster: the static role tokens are system:serviceaccount:kube-remedy-system:kube-remedy-<role>.
    const manifests = await render({});
    for (const role of ROLES) {
      const sa = find(manifests, 'ServiceAccount', `kube-remedy-${role}`);
      expect(`system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`).toBe(
        `system:serviceaccount:kube-remedy-system:kube-remedy-${role}`,
      );
      expect(sa.automountServiceAccountToken).toBe(false);
    }
  });

  it('ships the CRD exactly as crds/ holds it', async () => {
    const manifests = await render({});
    const crd = find(
      manifests,
      'CustomResourceDefinition',
      'autoremediationpolicies.remedy.kube-remedy.io',
    );
    expect(crd).toEqual(
      parse(readFileSync(new URL('crds/autoremediationpolicies.yaml', REPO), 'utf8')),
    );
  });

  it('runs one agent per node with NODE_NAME and POD_NAMESPACE from the downward API', async () => {
    const manifests = await render({});
    const agent = roleWorkload(manifests, 'agent');
    expect(agent.kind).toBe('DaemonSet');
    const env = envOf(containerOf(manifests, 'agent'));
    expect(env.get('NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(env.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(containerOf(manifests, 'agent').resources).toEqual({
      requests: { cpu: '50m', memory: '160Mi' },
      limits: { memory: '256Mi' },
    });
    // Nodes the agent exists for carry NoSchedule taints (cordoned, under pressure).
    expect(podSpecOf(agent).tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('gives the agent small young-generation semi-spaces, unless told otherwise', async () => {
    const agentEnv = async (values: Record<string, unknown>) =>
      envOf(containerOf(await render(values), 'agent')).get('NODE_OPTIONS')?.value;
    expect(await agentEnv({})).toBe('--max-semi-space-size=2');
    expect(await agentEnv({ agent: { nodeOptions: '' } })).toBeUndefined();
    expect(envOf(containerOf(await render({}), 'controller')).has('NODE_OPTIONS')).toBe(false);
  });

  it('runs two controllers spread over nodes, one leader by a Lease in the release namespace only', async () => {
    const manifests = await render({});
    const controller = roleWorkload(manifests, 'controller');
    expect(controller.kind).toBe('Deployment');
    expect(controller.spec?.['replicas']).toBe(2);
    expect(podSpecOf(controller).topologySpreadConstraints).toEqual([
      expect.objectContaining({
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
      }),
    ]);
    const role = find(manifests, 'Role', 'kube-remedy-controller-leader-election');
    expect(role.metadata.namespace).toBe(NS);
    expect(role.rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'create', 'update'],
      },
    ]);
    expect(ofKind(manifests, 'RoleBinding')).toHaveLength(1);
  });

  it('gives each process a configuration the real loader accepts, for its role', async () => {
    // Resolve the pod environment as the kubelet would, then run `kube-remedy config print`
    // with the container's own --role flag.
    const secretValues: Record<string, string> = {
      KUBE_REMEDY_REDIS_PASSWORD: 'redis-password',
      KUBE_REMEDY_SLACK_BOT_TOKEN: 'xoxb-0000-test',
      KUBE_REMEDY_SLACK_SIGNING_SECRET: 'signing-secret-0123456789',
      KUBE_REMEDY_SLACK_BUTTON_SECRET: 'b'.repeat(64),
      KUBE_REMEDY_LLM_API_KEY: 'sk-test',
      KUBE_REMEDY_PROMETHEUS_BEARER_TOKEN: 'prometheus-token',
      KUBE_REMEDY_EVIDENCE_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    };
    const manifests = await render(EVERYTHING);
    for (const role of ROLES) {
      const container = containerOf(manifests, role);
      const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
      for (const e of container.env ?? []) {
        const field = e.valueFrom?.fieldRef?.fieldPath;
        if (e.value !== undefined) env[e.name] = e.value;
        else if (field === 'metadata.namespace') env[e.name] = NS;
        else if (field === 'spec.nodeName') env[e.name] = 'kwok-node-0';
        else if (e.valueFrom?.secretKeyRef) env[e.name] = secretValues[e.name] ?? 'secret-value';
      }
      const args = (container.args ?? []).filter((a) => a !== 'run');
      const result = await runCli(['config', 'print', '-o', 'json', ...args], env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const config = JSON.parse(result.stdout) as Record<string, Record<string, unknown>>;
      expect(config).toMatchObject({
        role,
        namespace: NS,
        http: { host: '0.0.0.0', port: 8080 },
        log: { level: 'debug', format: 'json' },
        shutdownTimeout: '25s',
        redis: {
          url: 'redis://kube-remedy-redis.kube-remedy-system.svc:6379',
          password: '********',
        },
      });
      if (role === 'agent') expect(config['nodeName']).toBe('kwok-node-0');
      // Integrations are configured in the workers only; Prometheus in the controller only.
      // The agent and the controller know the installation's Slack channel (no secret), so that
      // they enqueue notifications of policies without spec.slack, and only then.
      const workers = role === 'workers';
      for (const integration of ['llm', 'github', 'gitlab', 'jira'])
        expect([integration, config[integration] !== undefined]).toEqual([integration, workers]);
      expect(config['slack']?.['channel']).toBe('#ops');
      for (const secret of ['botToken', 'signingSecret', 'buttonSecret'])
        expect([secret, config['slack']?.[secret] !== undefined]).toEqual([secret, workers]);
      expect(config['prometheus']?.['url'] !== undefined).toBe(role === 'controller');
      if (workers) {
        expect(config).toMatchObject({
          slack: { host: '0.0.0.0', port: 3000, channel: '#ops', botToken: '********' },
          github: { baseUrl: 'https://github.example.com/api/v3', token: '********' },
          jira: { baseUrl: 'https://example.atlassian.net', email: 'kube-remedy@example.com' },
          evidence: {
            efsRoot: '/evidence',
            s3: {
              region: 'eu-west-1',
              serverSideEncryption: 'aws:kms',
              secretAccessKey: '********',
            },
          },
        });
      }
    }
  });

  it('passes integration secrets to the workers only, by Secret name and key', async () => {
    const manifests = await render(EVERYTHING);
    const refs = (role: (typeof ROLES)[number]) =>
      (containerOf(manifests, role).env ?? [])
        .filter((e) => e.valueFrom?.secretKeyRef)
        .map(
          (e) => `${e.name}=${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`,
        )
        .sort();
    expect(refs('agent')).toEqual(['KUBE_REMEDY_REDIS_PASSWORD=redis-auth/redis-password']);
    expect(refs('controller')).toEqual([
      'KUBE_REMEDY_PROMETHEUS_BEARER_TOKEN=prom-auth/bearer-token',
      'KUBE_REMEDY_REDIS_PASSWORD=redis-auth/redis-password',
    ]);
    expect(refs('workers')).toEqual([
      'HTTPS_PROXY=proxy/url',
      'KUBE_REMEDY_EVIDENCE_S3_ACCESS_KEY_ID=s3/access-key-id',
      'KUBE_REMEDY_EVIDENCE_S3_SECRET_ACCESS_KEY=s3/secret-access-key',
      'KUBE_REMEDY_GITHUB_TOKEN=github/token',
      'KUBE_REMEDY_GITLAB_TOKEN=gitlab/token',
      'KUBE_REMEDY_JIRA_API_TOKEN=jira/api-token',
      'KUBE_REMEDY_LLM_API_KEY=llm/api-key',
      'KUBE_REMEDY_REDIS_PASSWORD=redis-auth/redis-password',
      'KUBE_REMEDY_SLACK_BOT_TOKEN=kube-remedy-slack/bot-token',
      'KUBE_REMEDY_SLACK_BUTTON_SECRET=kube-remedy-slack/button-secret',
      'KUBE_REMEDY_SLACK_SIGNING_SECRET=kube-remedy-slack/signing-secret',
    ]);
    // No Secret object at all: every secret is the user's, referenced by name.
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    for (const cm of ofKind(manifests, 'ConfigMap')) {
      expect(JSON.stringify(cm.data)).not.toMatch(/xoxb-|sk-|password\s*[:=]/i);
    }
  });

  it("tells every role the installation's Slack channel, only when Slack is on", async () => {
    const channelOf = (manifests: Manifest[], role: (typeof ROLES)[number]) =>
      envOf(containerOf(manifests, role)).get('KUBE_REMEDY_SLACK_CHANNEL')?.value;
    const on = await render(EVERYTHING);
    for (const role of ROLES) expect([role, channelOf(on, role)]).toEqual([role, '#ops']);
    const off = await render({ workers: { slack: { channel: '#ops' } } });
    for (const role of ROLES) expect([role, channelOf(off, role)]).toEqual([role, undefined]);
  });

  it('mounts the EFS evidence claim into the workers only, where KUBE_REMEDY_EVIDENCE_EFS_ROOT says', async () => {
    const manifests = await render(EVERYTHING);
    const workers = podSpecOf(roleWorkload(manifests, 'workers'));
    expect(workers.volumes).toContainEqual({
      name: 'evidence',
      persistentVolumeClaim: { claimName: 'evidence' },
    });
    expect(workers.containers[0]?.volumeMounts).toContainEqual({
      name: 'evidence',
      mountPath: '/evidence',
    });
    expect(envOf(workers.containers[0]!).get('KUBE_REMEDY_EVIDENCE_EFS_ROOT')?.value).toBe(
      '/evidence',
    );
    for (const role of ['agent', 'controller'] as const) {
      expect(podSpecOf(roleWorkload(manifests, role)).volumes?.map((v) => v.name)).toEqual(['tmp']);
    }
  });

  it('exposes the Slack endpoint through a Service and an Ingress for /slack/ only', async () => {
    const manifests = await render(EVERYTHING);
    const workers = containerOf(manifests, 'workers');
    expect(workers.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'slack', containerPort: 3000, protocol: 'TCP' },
    ]);
    const env = envOf(workers);
    expect(env.get('KUBE_REMEDY_SLACK_HOST')?.value).toBe('0.0.0.0');
    expect(env.get('KUBE_REMEDY_SLACK_PORT')?.value).toBe('3000');
    const service = find(manifests, 'Service', 'kube-remedy-slack');
    expect(service.spec).toMatchObject({
      selector: { 'app.kubernetes.io/component': 'workers' },
      ports: [{ name: 'slack', port: 80, targetPort: 'slack', protocol: 'TCP' }],
    });
    const ingress = find(manifests, 'Ingress', 'kube-remedy-slack');
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'slack-tls', hosts: ['kube-remedy.example.com'] }],
      rules: [
        {
          host: 'kube-remedy.example.com',
          http: {
            paths: [
              {
                path: '/slack/',
                pathType: 'Prefix',
                backend: { service: { name: 'kube-remedy-slack', port: { name: 'slack' } } },
              },
            ],
          },
        },
      ],
    });
  });

  it('runs Redis with AOF everysec, noeviction, a PVC and a generated password Secret', async () => {
    const manifests = await render({});
    const conf = find(manifests, 'ConfigMap', 'kube-remedy-redis').data?.['redis.conf'] ?? '';
    expect(conf.split('\n')).toEqual(
      expect.arrayContaining([
        'appendonly yes',
        'appendfsync everysec',
        'maxmemory-policy noeviction',
        'maxmemory 384mb',
        'dir /data',
      ]),
    );
    const sts = find(manifests, 'StatefulSet', 'kube-remedy-redis');
    const pod = podSpecOf(sts);
    const redis = pod.containers[0];
    expect(redis?.image).toBe('docker.io/library/redis:7.4-alpine');
    expect(redis?.args).toEqual(['/etc/redis/redis.conf', '--requirepass', '$(REDIS_PASSWORD)']);
    expect(envOf(redis!).get('REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
      name: 'kube-remedy-redis',
      key: 'redis-password',
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(sts.spec?.['volumeClaimTemplates']).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }) as unknown,
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
      }),
    ]);
    expect(pod.volumes?.find((v) => v.name === 'data')).toBeUndefined();
    const secret = find(manifests, 'Secret', 'kube-remedy-redis');
    const password = Buffer.from(secret.data?.['redis-password'] ?? '', 'base64').toString();
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    // Every kube-remedy process reaches it through its Service, with that password.
    for (const role of ROLES) {
      const env = envOf(containerOf(manifests, role));
      expect(env.get('KUBE_REMEDY_REDIS_URL')?.value).toBe(
        'redis://kube-remedy-redis.kube-remedy-system.svc:6379',
      );
      expect(env.get('KUBE_REMEDY_REDIS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe(
        'kube-remedy-redis',
      );
    }
  });

  it('keeps Redis data in an emptyDir when persistence is off, and uses an existing password Secret', async () => {
    const manifests = await render({
      redis: {
        persistence: { enabled: false },
        auth: { existingSecret: 'mine', existingSecretKey: 'pw' },
      },
    });
    const sts = find(manifests, 'StatefulSet', 'kube-remedy-redis');
    expect(sts.spec?.['volumeClaimTemplates']).toBeUndefined();
    expect(podSpecOf(sts).volumes?.find((v) => v.name === 'data')).toEqual({
      name: 'data',
      emptyDir: {},
    });
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    expect(
      envOf(containerOf(manifests, 'workers')).get('KUBE_REMEDY_REDIS_PASSWORD')?.valueFrom,
    ).toEqual({
      secretKeyRef: { name: 'mine', key: 'pw' },
    });
  });

  it('uses an external Redis instead of the bundled one', async () => {
    const manifests = await render(EXTERNAL_REDIS);
    expect(
      manifests.filter((m) => m.metadata.labels?.['app.kubernetes.io/component'] === 'redis'),
    ).toEqual([]);
    for (const role of ROLES) {
      const env = envOf(containerOf(manifests, role));
      expect(env.get('KUBE_REMEDY_REDIS_URL')?.value).toBe('rediss://redis.example.com:6380/2');
      expect(env.get('KUBE_REMEDY_REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: 'redis-auth',
        key: 'redis-password',
      });
    }
    const passwordless = await render({
      redis: { enabled: false, external: { url: 'redis://r:6379' } },
    });
    expect(envOf(containerOf(passwordless, 'agent')).has('KUBE_REMEDY_REDIS_PASSWORD')).toBe(false);
  });

  it('limits traffic with NetworkPolicies: ingress on served ports, egress to DNS, API server, Redis and integrations', async () => {
    const manifests = await render(EVERYTHING);
    interface Rule {
      ports?: { port: string | number; protocol: string }[];
      from?: unknown[];
      to?: unknown[];
    }
    const policy = (name: string) =>
      find(manifests, 'NetworkPolicy', name).spec as {
        policyTypes: string[];
        ingress: Rule[];
        egress: Rule[];
      };
    const ports = (rules: Rule[]) =>
      rules.flatMap((r) => (r.ports ?? []).map((p) => `${p.port}/${p.protocol}`));
    const monitoring = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ];
    const apiServer = {
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ],
      to: [{ ipBlock: { cidr: '10.0.0.1/32' } }],
    };
    const redis = {
      to: [
        {
          podSelector: {
            matchLabels: {
              'app.kubernetes.io/name': 'kube-remedy',
              'app.kubernetes.io/instance': 'kube-remedy',
              'app.kubernetes.io/component': 'redis',
            },
          },
        },
      ],
      ports: [{ port: 6379, protocol: 'TCP' }],
    };
    for (const role of ROLES) {
      const np = policy(`kube-remedy-${role}`);
      expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(np.ingress[0]).toEqual({
        ports: [{ port: 'http', protocol: 'TCP' }],
        from: monitoring,
      });
      expect(ports(np.egress.slice(0, 1))).toEqual(['53/UDP', '53/TCP']);
      expect(np.egress[1]).toEqual(apiServer);
      expect(np.egress[2]).toEqual(redis);
    }
    expect(ports(policy('kube-remedy-agent').ingress)).toEqual(['http/TCP']);
    expect(ports(policy('kube-remedy-controller').ingress)).toEqual(['http/TCP']);
    expect(ports(policy('kube-remedy-workers').ingress)).toEqual(['http/TCP', 'slack/TCP']);
    expect(policy('kube-remedy-workers').ingress[1]?.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    ]);
    expect(policy('kube-remedy-agent').egress).toHaveLength(3);
    // The controller reaches Prometheus on its URL's port; the workers HTTPS integrations.
    expect(policy('kube-remedy-controller').egress.slice(3)).toEqual([
      { ports: [{ port: 9090, protocol: 'TCP' }] },
    ]);
    expect(policy('kube-remedy-workers').egress.slice(3)).toEqual([
      { ports: [{ port: 443, protocol: 'TCP' }] },
    ]);
    // Redis: reachable from the three roles only, and talks to nobody.
    const redisPolicy = policy('kube-remedy-redis');
    expect(redisPolicy.egress).toEqual([]);
    expect(redisPolicy.ingress).toEqual([
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'kube-remedy',
                'app.kubernetes.io/instance': 'kube-remedy',
              },
              matchExpressions: [
                {
                  key: 'app.kubernetes.io/component',
                  operator: 'In',
                  values: ['agent', 'controller', 'workers'],
                },
              ],
            },
          },
        ],
        ports: [{ port: 6379, protocol: 'TCP' }],
      },
    ]);
  });

  it('allows egress to an external Redis on the port of its URL', async () => {
    const manifests = await render({ ...EXTERNAL_REDIS, networkPolicy: { enabled: true } });
    const np = find(manifests, 'NetworkPolicy', 'kube-remedy-controller').spec as {
      egress: unknown[];
    };
    expect(np.egress[2]).toEqual({ ports: [{ port: 6380, protocol: 'TCP' }] });
    expect(ofKind(manifests, 'NetworkPolicy').map((m) => m.metadata.name)).not.toContain(
      'kube-remedy-redis',
    );
  });

  it('scrapes every role through its metrics Service with the ServiceMonitor', async () => {
    const manifests = await render({
      metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } },
    });
    const monitor = find(manifests, 'ServiceMonitor', 'kube-remedy');
    expect(monitor.metadata.labels?.['release']).toBe('prom');
    const selector = (monitor.spec as { selector: { matchLabels: Record<string, string> } })
      .selector.matchLabels;
    const endpoint = (monitor.spec as { endpoints: { port: string; path: string }[] }).endpoints[0];
    expect(endpoint).toMatchObject({ port: 'http', path: '/metrics' });
    const selected = ofKind(manifests, 'Service').filter((s) =>
      Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(selected.map((s) => s.metadata.name).sort()).toEqual([
      'kube-remedy-agent-metrics',
      'kube-remedy-controller-metrics',
      'kube-remedy-workers-metrics',
    ]);
    for (const service of selected) {
      const spec = service.spec as {
        clusterIP: string;
        ports: { name: string }[];
        selector: Record<string, string>;
      };
      expect(spec.clusterIP).toBe('None');
      expect(spec.ports.map((p) => p.name)).toEqual([endpoint?.port]);
      const role = spec.selector['app.kubernetes.io/component'] as (typeof ROLES)[number];
      const pod = (
        roleWorkload(manifests, role).spec as {
          template: { metadata: { labels: Record<string, string> } };
        }
      ).template.metadata.labels;
      expect(pod).toMatchObject(spec.selector);
    }
  });

  it('ships the dashboard as a ConfigMap the Grafana sidecar picks up', async () => {
    const manifests = await render({ dashboards: { enabled: true, namespace: 'monitoring' } });
    const cm = find(manifests, 'ConfigMap', 'kube-remedy-dashboard');
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(JSON.parse(cm.data?.['kube-remedy.json'] ?? '')).toEqual(
      JSON.parse(readFileSync(new URL('deploy/grafana/kube-remedy.json', REPO), 'utf8')),
    );
  });

  it('templates the tenancy admission policy of crds/ with the release namespace', async () => {
    const shipped = parseAllDocuments(
      readFileSync(new URL('crds/tenancy-admission-policy.yaml', REPO), 'utf8'),
    ).map((d) => d.toJS() as Manifest);
    const manifests = await render(
      { admissionPolicy: { extraMatchExpressions: [{ key: 'team', operator: 'Exists' }] } },
      { release: 'ops', namespace: 'ops-tools' },
    );
    const policy = find(manifests, 'ValidatingAdmissionPolicy', 'ops-kube-remedy-node-policies');
    const binding = find(
      manifests,
      'ValidatingAdmissionPolicyBinding',
      'ops-kube-remedy-node-policies',
    );
    expect(policy.spec).toEqual(shipped[0]?.spec);
    expect(binding.spec).toEqual({
      ...shipped[1]?.spec,
      policyName: 'ops-kube-remedy-node-policies',
      matchResources: {
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['ops-tools'] },
            { key: 'team', operator: 'Exists' },
          ],
        },
      },
    });
  });

  it('packages into an archive that carries the CRD and the dashboard', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kr-package-'));
    try {
      const packaged = await helm(['package', CHART_DIR, '--destination', dir]);
      expect(packaged.stderr).toBe('');
      const archive = path.join(dir, 'kube-remedy-0.1.0.tgz');
      const { args, cleanup } = valuesArgs({ dashboards: { enabled: true } });
      try {
        const result = await helm(['template', 'kube-remedy', archive, '--include-crds', ...args]);
        expect(result.status).toBe(0);
        const manifests = parseManifests(result.stdout);
        expect(
          find(
            manifests,
            'CustomResourceDefinition',
            'autoremediationpolicies.remedy.kube-remedy.io',
          ).spec,
        ).toBeDefined();
        expect(
          find(manifests, 'ConfigMap', 'kube-remedy-dashboard').data?.['kube-remedy.json'],
        ).toBe(readFileSync(new URL('deploy/grafana/kube-remedy.json', REPO), 'utf8').trimEnd());
      } finally {
        cleanup();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the pods time to shut down: shutdownTimeoutSeconds plus 5', async () => {
    const manifests = await render({ shutdownTimeoutSeconds: 55 });
    for (const role of ROLES) {
      expect(podSpecOf(roleWorkload(manifests, role)).terminationGracePeriodSeconds).toBe(60);
      expect(envOf(containerOf(manifests, role)).get('KUBE_REMEDY_SHUTDOWN_TIMEOUT')?.value).toBe(
        '55s',
      );
    }
  });
});
