/**
 * Bad values are refused before anything is rendered, with a message that names the value and
 * says what is expected: types, ranges and enums by values.schema.json, rules across values by
 * templates/validate.yaml.
 */
import { describe, expect, it } from 'vitest';
import { template, type Values } from './helm.ts';

interface BadCase {
  name: string;
  values: Values;
  message: string;
}

const BAD: BadCase[] = [
  {
    name: 'negative controller replicas',
    values: { controller: { replicas: -1 } },
    message: "at '/controller/replicas': minimum: got -1, want 1",
  },
  {
    name: 'zero workers',
    values: { workers: { replicas: 0 } },
    message: "at '/workers/replicas': minimum: got 0, want 1",
  },
  {
    name: 'replicas that are not a number',
    values: { controller: { replicas: 'two' } },
    message: "at '/controller/replicas': got string, want integer",
  },
  {
    name: 'an unknown role',
    values: { scheduler: { replicas: 1 } },
    message: "additional properties 'scheduler' not allowed",
  },
  {
    name: 'a misspelt setting',
    values: { agent: { resource: { limits: { memory: '1Gi' } } } },
    message: "at '/agent': additional properties 'resource' not allowed",
  },
  {
    name: 'a bad log level',
    values: { log: { level: 'verbose' } },
    message:
      "at '/log/level': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'",
  },
  {
    name: 'a privileged HTTP port',
    values: { httpPort: 80 },
    message: "at '/httpPort': minimum: got 80, want 1,024",
  },
  {
    name: 'a container without a memory limit',
    values: { agent: { resources: { limits: { memory: null } } } },
    message: "at '/agent/resources/limits': missing property 'memory'",
  },
  {
    name: 'privilege escalation',
    values: { securityContext: { allowPrivilegeEscalation: true } },
    message: "at '/securityContext/allowPrivilegeEscalation': value must be false",
  },
  {
    name: 'an added capability',
    values: { securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
    message: "at '/securityContext/capabilities/add': maxItems: got 1, want 0",
  },
  {
    name: 'capabilities that are not all dropped',
    values: { redis: { securityContext: { capabilities: { drop: ['NET_RAW'] } } } },
    message: "at '/redis/securityContext/capabilities/drop': no items match contains schema",
  },
  {
    name: 'an unconfined seccomp profile',
    values: { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } },
    message:
      "at '/podSecurityContext/seccompProfile/type': value must be one of 'RuntimeDefault', 'Localhost'",
  },
  {
    name: 'running as root',
    values: { podSecurityContext: { runAsNonRoot: false } },
    message: "at '/podSecurityContext/runAsNonRoot': value must be true",
  },
  {
    name: 'a Secret read into a plain extraEnv entry',
    values: {
      controller: {
        extraEnv: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      },
    },
    message: "at '/controller/extraEnv/0': additional properties 'valueFrom' not allowed",
  },
  {
    name: 'a workers secret without a Secret name',
    values: { workers: { secretEnv: [{ name: 'KUBE_REMEDY_GITHUB_TOKEN', key: 'token' }] } },
    message: "at '/workers/secretEnv/0': missing property 'secretName'",
  },
  {
    name: 'a workers secret the chart already sets',
    values: {
      workers: {
        secretEnv: [{ name: 'KUBE_REMEDY_REDIS_PASSWORD', secretName: 'mine', key: 'pw' }],
      },
    },
    message: 'workers.secretEnv: KUBE_REMEDY_REDIS_PASSWORD is set twice',
  },
  {
    name: 'the same workers secret twice',
    values: {
      workers: {
        secretEnv: [
          { name: 'HTTPS_PROXY', secretName: 'a', key: 'url' },
          { name: 'HTTPS_PROXY', secretName: 'b', key: 'url' },
        ],
      },
    },
    message: 'workers.secretEnv: HTTPS_PROXY is set twice',
  },
  {
    name: 'GitHub without its Secret',
    values: { workers: { github: { enabled: true } } },
    message: 'workers.github.enabled=true needs workers.github.existingSecret',
  },
  {
    name: 'GitLab without its Secret',
    values: { workers: { gitlab: { enabled: true } } },
    message: 'workers.gitlab.enabled=true needs workers.gitlab.existingSecret',
  },
  {
    name: 'Jira without its account',
    values: {
      workers: {
        jira: { enabled: true, baseUrl: 'https://example.atlassian.net', existingSecret: 'jira' },
      },
    },
    message:
      'workers.jira.enabled=true needs workers.jira.baseUrl, workers.jira.email and workers.jira.existingSecret',
  },
  {
    name: 'EFS evidence without a claim',
    values: { workers: { evidence: { efs: { enabled: true } } } },
    message: 'workers.evidence.efs.enabled=true needs workers.evidence.efs.existingClaim',
  },
  {
    name: 'an unknown server-side encryption',
    values: { workers: { evidence: { s3: { serverSideEncryption: 'AES128' } } } },
    message:
      "at '/workers/evidence/s3/serverSideEncryption': value must be one of 'none', 'AES256', 'aws:kms'",
  },
  {
    name: 'Slack without its Secret',
    values: { workers: { slack: { enabled: true } } },
    message:
      'workers.slack.enabled=true needs workers.slack.existingSecret: the name of a Secret in the release namespace',
  },
  {
    name: 'the Slack Ingress without a host',
    values: {
      workers: { slack: { enabled: true, existingSecret: 's', ingress: { enabled: true } } },
    },
    message: 'workers.slack.ingress.enabled=true needs workers.slack.ingress.host',
  },
  {
    name: 'an LLM without a model',
    values: { workers: { llm: { enabled: true } } },
    message: 'workers.llm.enabled=true needs workers.llm.model',
  },
  {
    name: 'the bundled Redis and an external URL',
    values: { redis: { external: { url: 'redis://redis.shared:6379' } } },
    message:
      'redis.enabled=true and redis.external.url are both set: set redis.enabled=false to use the external Redis, or unset redis.external.url',
  },
  {
    name: 'no Redis at all',
    values: { redis: { enabled: false } },
    message: 'redis.enabled=false needs redis.external.url',
  },
  {
    name: 'an external Redis URL carrying its password',
    values: { redis: { enabled: false, external: { url: 'redis://:hunter2@redis.shared:6379' } } },
    message:
      'redis.external.url must not carry credentials (they would sit in the pod spec): put the password in a Secret',
  },
  {
    name: 'an external Redis URL that is not redis://',
    values: { redis: { enabled: false, external: { url: 'http://redis.shared:6379' } } },
    message: "at '/redis/external/url': 'http://redis.shared:6379' does not match pattern",
  },
  {
    name: 'a Prometheus token Secret without a Prometheus URL',
    values: { controller: { prometheus: { existingSecret: 'prom' } } },
    message: 'controller.prometheus.existingSecret is set but controller.prometheus.url is empty',
  },
  {
    name: 'a Secret name that is not a Kubernetes name',
    values: { redis: { auth: { existingSecret: 'My_Secret' } } },
    message: "at '/redis/auth/existingSecret': 'My_Secret' does not match pattern",
  },
  {
    name: 'a ServiceMonitor interval that is not a duration',
    values: { metrics: { serviceMonitor: { interval: '30 seconds' } } },
    message: "at '/metrics/serviceMonitor/interval': '30 seconds' does not match pattern",
  },
  {
    name: 'agent Node.js options that are not flags',
    values: { agent: { nodeOptions: '--max-semi-space-size=2; rm -rf /' } },
    message: "at '/agent/nodeOptions': '--max-semi-space-size=2; rm -rf /' does not match pattern",
  },
  {
    name: 'a name override longer than 40 characters',
    values: { fullnameOverride: 'a'.repeat(41) },
    message: "at '/fullnameOverride': maxLength: got 41, want 40",
  },
];

describe('values the chart refuses', () => {
  it.each(BAD)('refuses $name, saying what is wrong', async ({ values, message }) => {
    const result = await template(values);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  it('accepts the defaults (so the refusals above are the values’ doing)', async () => {
    const result = await template({});
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
