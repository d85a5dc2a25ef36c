/**
 * The one configuration of a kube-remedy process. Every field carries its documentation, the
 * environment variables that set it and whether it is a secret; `config print`, the README's
 * reference and log redaction are all derived from these declarations, so they cannot drift.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';

export const ROLES = ['agent', 'controller', 'workers', 'all'] as const;
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** What a field declares about itself besides its type. */
export interface FieldMeta {
  description: string;
  /** Environment variables that set the field, highest precedence first. */
  env?: readonly string[];
  /** Masked in `config print` and in logs. */
  secret?: boolean;
  /** Shown in the reference instead of a literal default (for computed defaults). */
  defaultText?: string;
  /** The command-line flag of `run` that sets the field. */
  flag?: string;
}

function field<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  return schema.meta({ ...meta });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kubernetes-style duration string, parsed to milliseconds. */
export function durationMs() {
  return z.string().transform((text, ctx) => {
    const parsed = parseDuration(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.reason });
      return z.NEVER;
    }
    return parsed.ms;
  });
}

const redisSchema = z
  .object({
    url: field(
      z
        .url({
          protocol: /^rediss?$/,
          error: 'expected a redis:// or rediss:// URL, e.g. redis://redis:6379/0',
        })
        .default('redis://127.0.0.1:6379'),
      {
        description:
          'Redis holding queues, actor snapshots, budgets and control streams. A password in the URL is masked when printed.',
        env: ['KUBE_REMEDY_REDIS_URL', 'REDIS_URL'],
        secret: true,
        flag: '--redis-url',
      },
    ),
    password: field(z.string().min(1, 'must not be empty; leave it unset instead').optional(), {
      description:
        'Redis password, kept apart from the URL so it can come from a Secret. Overrides a password in the URL.',
      env: ['KUBE_REMEDY_REDIS_PASSWORD', 'REDIS_PASSWORD'],
      secret: true,
    }),
    keyPrefix: field(
      z
        .string()
        .regex(/^[a-zA-Z0-9_.-]+$/, 'expected letters, digits, "_", "." or "-" (no ":")')
        .default('kube-remedy'),
      {
        description:
          'Prefix of every Redis key and queue name, so several installations can share one Redis.',
        env: ['KUBE_REMEDY_REDIS_KEY_PREFIX'],
      },
    ),
  })
  .strict()
  .default({ url: 'redis://127.0.0.1:6379', keyPrefix: 'kube-remedy' });

const httpSchema = z
  .object({
    host: field(z.string().min(1).default('127.0.0.1'), {
      description:
        'Address for /healthz, /readyz and /metrics. Loopback by default; the Helm chart sets 0.0.0.0 so probes and scrapes reach the pod.',
      env: ['KUBE_REMEDY_HTTP_HOST'],
      flag: '--http-host',
    }),
    port: field(
      z
        .number({ error: 'expected a port number' })
        .int('expected a whole number')
        .min(0, 'expected a port from 0 to 65535 (0 picks a free port)')
        .max(65535, 'expected a port from 0 to 65535')
        .default(8080),
      {
        description: 'Port for /healthz, /readyz and /metrics; 0 picks a free port.',
        env: ['KUBE_REMEDY_HTTP_PORT'],
        flag: '--http-port',
      },
    ),
  })
  .strict()
  .default({ host: '127.0.0.1', port: 8080 });

const prometheusSchema = z
  .object({
    url: field(
      z
        .url({
          protocol: /^https?$/,
          error:
            'expected an http:// or https:// URL, e.g. http://prometheus-operated.monitoring:9090',
        })
        .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), {
          error: 'put credentials in prometheus.bearerToken, not in the URL',
        })
        .optional(),
      {
        description:
          'Prometheus HTTP API that multi-signal scaling queries (the base URL, without /api/v1). Unset: policies with spec.scaling do not scale, and their status says so.',
        env: ['KUBE_REMEDY_PROMETHEUS_URL', 'PROMETHEUS_URL'],
        flag: '--prometheus-url',
      },
    ),
    bearerToken: field(z.string().min(1, 'must not be empty; leave it unset instead').optional(), {
      description:
        'Bearer token sent with every Prometheus query, for a Prometheus behind an authenticating proxy (kube-rbac-proxy, a managed service).',
      env: ['KUBE_REMEDY_PROMETHEUS_BEARER_TOKEN'],
      secret: true,
    }),
    timeout: field(durationMs().default(10_000), {
      description:
        'Longest a Prometheus query may take (also sent as the query timeout); a slower answer makes the signal unavailable for that round.',
      env: ['KUBE_REMEDY_PROMETHEUS_TIMEOUT'],
      defaultText: '10s',
    }),
  })
  .strict()
  .default({ timeout: 10_000 });

const logSchema = z
  .object({
    level: field(
      z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
      {
        description: 'Least severe level written.',
        env: ['KUBE_REMEDY_LOG_LEVEL'],
        flag: '--log-level',
      },
    ),
    format: field(
      z.enum(LOG_FORMATS, { error: `expected one of ${LOG_FORMATS.join(', ')}` }).default('auto'),
      {
        description:
          'json: one JSON object per line; pretty: coloured lines for people; auto: pretty on a terminal, JSON otherwise.',
        env: ['KUBE_REMEDY_LOG_FORMAT'],
      },
    ),
  })
  .strict()
  .default({ level: 'info', format: 'auto' });

const slackSchema = z
  .object({
    botToken: field(
      z
        .string()
        .regex(/^xoxb-/, "expected a Slack bot token (xoxb-…) from the app's OAuth page")
        .optional(),
      {
        description:
          'Slack bot token the workers post and update incident messages with. Unset: Slack is off.',
        env: ['KUBE_REMEDY_SLACK_BOT_TOKEN', 'SLACK_BOT_TOKEN'],
        secret: true,
      },
    ),
    signingSecret: field(z.string().min(16, "expected the app's signing secret").optional(), {
      description:
        "Slack app signing secret: requests to the interactions endpoint must carry Slack's signature made with it.",
      env: ['KUBE_REMEDY_SLACK_SIGNING_SECRET', 'SLACK_SIGNING_SECRET'],
      secret: true,
    }),
    buttonSecret: field(
      z.string().min(32, 'expected at least 32 characters (e.g. openssl rand -hex 32)').optional(),
      {
        description:
          'Key of the signed tokens in buttons (actor, incident, action, expiry). Changing it voids every button already posted.',
        env: ['KUBE_REMEDY_SLACK_BUTTON_SECRET'],
        secret: true,
      },
    ),
    apiUrl: field(
      z
        .url({ protocol: /^https?$/, error: 'expected an http(s) URL ending in /api/' })
        .default('https://slack.com/api/'),
      {
        description: 'Base URL of the Slack Web API (a proxy, or a local server in tests).',
        env: ['KUBE_REMEDY_SLACK_API_URL'],
      },
    ),
    channel: field(
      z
        .string()
        .regex(
          /^(#[a-z0-9][a-z0-9._-]*|[CG][A-Z0-9]{6,})$/,
          'expected a Slack channel: #name or an ID such as C0123456',
        )
        .optional(),
      {
        description:
          "Channel for incidents whose policy names none (spec.slack.channel wins). Every role reads it: without it, notifications of a policy without spec.slack are not sent (unless an escalation target names a channel), and the policy's status counts them.",
        env: ['KUBE_REMEDY_SLACK_CHANNEL'],
      },
    ),
    host: field(z.string().min(1).default('127.0.0.1'), {
      description:
        'Address of the interactions endpoint (POST /slack/events: buttons and /kube-remedy). The Helm chart sets 0.0.0.0 behind its Ingress.',
      env: ['KUBE_REMEDY_SLACK_HOST'],
    }),
    port: field(
      z
        .number({ error: 'expected a port number' })
        .int('expected a whole number')
        .min(0, 'expected a port from 0 to 65535 (0 picks a free port)')
        .max(65535, 'expected a port from 0 to 65535')
        .default(3000),
      {
        description: 'Port of the interactions endpoint; 0 picks a free port.',
        env: ['KUBE_REMEDY_SLACK_PORT'],
      },
    ),
    buttonTtl: field(durationMs().default(86_400_000), {
      description:
        'How long escalation buttons (acknowledge, escalate, snooze) stay valid; approval buttons expire with the approval request.',
      env: ['KUBE_REMEDY_SLACK_BUTTON_TTL'],
      defaultText: '24h',
    }),
  })
  .strict()
  .superRefine((slack, ctx) => {
    const set = [slack.botToken, slack.signingSecret, slack.buttonSecret].filter(
      (value) => value !== undefined,
    ).length;
    if (set > 0 && set < 3) {
      for (const key of ['botToken', 'signingSecret', 'buttonSecret'] as const) {
        if (slack[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'Slack needs botToken, signingSecret and buttonSecret together',
          });
        }
      }
    }
  })
  // Absent until one of its fields is set: no Slack section, no Slack.
  .optional();

function patternProblem(lines: string): string | undefined {
  for (const line of lines.split('\n').filter((l) => l.trim() !== '')) {
    try {
      if (new RegExp(line).test('')) return `${JSON.stringify(line)} matches the empty string`;
    } catch (error) {
      return `${JSON.stringify(line)} is not a regular expression: ${(error as Error).message}`;
    }
  }
  return undefined;
}

const llmSchema = z
  .object({
    model: field(z.string().min(1).max(128).optional(), {
      description:
        'Model asked for root-cause suggestions (a policy may name another). Unset: no suggestions.',
      env: ['KUBE_REMEDY_LLM_MODEL'],
    }),
    baseUrl: field(
      z
        .url({
          protocol: /^https?$/,
          error: 'expected an http(s) URL, e.g. http://ollama:11434/v1',
        })
        .default('https://api.openai.com/v1'),
      {
        description: 'Any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, Ollama…).',
        env: ['KUBE_REMEDY_LLM_BASE_URL'],
      },
    ),
    apiKey: field(z.string().min(1).optional(), {
      description: 'API key of the endpoint, from a Secret. Unset for endpoints that need none.',
      env: ['KUBE_REMEDY_LLM_API_KEY', 'OPENAI_API_KEY'],
      secret: true,
    }),
    timeout: field(durationMs().default(30_000), {
      description:
        'How long one suggestion may take; a slower answer is dropped and the incident goes on without one.',
      env: ['KUBE_REMEDY_LLM_TIMEOUT'],
      defaultText: '30s',
    }),
    maxPromptChars: field(
      z
        .number({ error: 'expected a number of characters' })
        .int('expected a whole number')
        .min(2_000, 'expected at least 2000')
        .max(400_000, 'expected at most 400000')
        .default(24_000),
      {
        description:
          'Upper bound of the prompt; evidence is cut to fit, keeping the most recent log lines.',
        env: ['KUBE_REMEDY_LLM_MAX_PROMPT_CHARS'],
      },
    ),
    redactPatterns: field(
      z
        .string()
        .superRefine((lines, ctx) => {
          const problem = patternProblem(lines);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      {
        description:
          'Extra redaction patterns (JavaScript regular expressions), one per line, applied with the built-in ones to LLM prompts and Slack text.',
        env: ['KUBE_REMEDY_REDACT_PATTERNS'],
      },
    ),
  })
  .strict()
  // Absent until one of its fields is set: no LLM section, no suggestions.
  .optional();

const githubSchema = z
  .object({
    token: field(z.string().min(1, 'must not be empty; leave it unset instead').optional(), {
      description:
        "GitHub token (fine-grained: contents, pull requests and issues read/write on the policies' repositories). Unset: no GitHub pull requests or issues.",
      env: ['KUBE_REMEDY_GITHUB_TOKEN', 'GITHUB_TOKEN'],
      secret: true,
    }),
    baseUrl: field(
      z
        .url({
          protocol: /^https?$/,
          error: 'expected an http(s) URL, e.g. https://github.example.com/api/v3',
        })
        .default('https://api.github.com'),
      {
        description:
          'GitHub REST API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server.',
        env: ['KUBE_REMEDY_GITHUB_BASE_URL'],
      },
    ),
  })
  .strict()
  // Absent until one of its fields is set.
  .optional();

const gitopsSchema = z
  .object({
    pollInterval: field(durationMs().default(60_000), {
      description:
        'How often the workers look at the open pull and merge requests kube-remedy proposed, to tell their incidents that one was merged or closed (one worker replica looks at a time).',
      env: ['KUBE_REMEDY_GITOPS_POLL_INTERVAL'],
      defaultText: '1m',
    }),
  })
  .strict()
  .default({ pollInterval: 60_000 });

const gitlabSchema = z
  .object({
    token: field(z.string().min(1, 'must not be empty; leave it unset instead').optional(), {
      description:
        "GitLab access token (scope api) for merge requests in the policies' projects. Unset: no GitLab merge requests.",
      env: ['KUBE_REMEDY_GITLAB_TOKEN', 'GITLAB_TOKEN'],
      secret: true,
    }),
    baseUrl: field(
      z
        .url({
          protocol: /^https?$/,
          error: 'expected an http(s) URL, e.g. https://gitlab.example.com',
        })
        .default('https://gitlab.com'),
      {
        description: 'GitLab root URL (without /api/v4): https://gitlab.com or your own instance.',
        env: ['KUBE_REMEDY_GITLAB_BASE_URL'],
      },
    ),
  })
  .strict()
  .optional();

const jiraSchema = z
  .object({
    baseUrl: field(
      z
        .url({
          protocol: /^https?$/,
          error: 'expected the site URL, e.g. https://example.atlassian.net',
        })
        .optional(),
      {
        description: 'Jira Cloud site, e.g. https://example.atlassian.net. Unset: no Jira tickets.',
        env: ['KUBE_REMEDY_JIRA_BASE_URL'],
      },
    ),
    email: field(z.string().min(3).optional(), {
      description: 'Account (e-mail) the API token belongs to.',
      env: ['KUBE_REMEDY_JIRA_EMAIL'],
    }),
    apiToken: field(z.string().min(1, 'must not be empty; leave it unset instead').optional(), {
      description: 'Jira API token of that account.',
      env: ['KUBE_REMEDY_JIRA_API_TOKEN', 'JIRA_API_TOKEN'],
      secret: true,
    }),
    issueType: field(z.string().min(1).default('Task'), {
      description: 'Issue type of the tickets kube-remedy opens.',
      env: ['KUBE_REMEDY_JIRA_ISSUE_TYPE'],
    }),
    resolveTransition: field(z.string().min(1).optional(), {
      description:
        'Name of the transition that resolves a ticket. Unset: the first transition into a status of the Done category.',
      env: ['KUBE_REMEDY_JIRA_RESOLVE_TRANSITION'],
    }),
  })
  .strict()
  .superRefine((jira, ctx) => {
    const set = [jira.baseUrl, jira.email, jira.apiToken].filter((v) => v !== undefined).length;
    if (set > 0 && set < 3) {
      for (const key of ['baseUrl', 'email', 'apiToken'] as const) {
        if (jira[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'Jira needs baseUrl, email and apiToken together',
          });
        }
      }
    }
  })
  .optional();

const evidenceS3Schema = z
  .object({
    region: field(z.string().min(1).optional(), {
      description:
        "Region of the policies' buckets. Unset: the AWS SDK's default (AWS_REGION, instance metadata).",
      env: ['KUBE_REMEDY_EVIDENCE_S3_REGION', 'AWS_REGION'],
    }),
    endpoint: field(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(), {
      description: 'Endpoint of an S3-compatible store (MinIO, Ceph…). Unset: AWS S3.',
      env: ['KUBE_REMEDY_EVIDENCE_S3_ENDPOINT'],
    }),
    forcePathStyle: field(z.boolean().default(false), {
      description:
        'Address buckets as https://endpoint/bucket (most S3-compatible stores need it).',
      env: ['KUBE_REMEDY_EVIDENCE_S3_FORCE_PATH_STYLE'],
    }),
    serverSideEncryption: field(
      z
        .enum(['none', 'AES256', 'aws:kms'], { error: 'expected one of none, AES256, aws:kms' })
        .default('AES256'),
      {
        description: 'Server-side encryption of bundle objects.',
        env: ['KUBE_REMEDY_EVIDENCE_S3_SSE'],
      },
    ),
    kmsKeyId: field(z.string().min(1).optional(), {
      description: "KMS key for aws:kms encryption. Unset: the bucket's default key.",
      env: ['KUBE_REMEDY_EVIDENCE_S3_KMS_KEY_ID'],
    }),
    accessKeyId: field(z.string().min(1).optional(), {
      description:
        "Static access key. Unset: the AWS SDK's default chain (IRSA, instance profile).",
      env: ['KUBE_REMEDY_EVIDENCE_S3_ACCESS_KEY_ID'],
    }),
    secretAccessKey: field(z.string().min(1).optional(), {
      description: 'Secret of the static access key.',
      env: ['KUBE_REMEDY_EVIDENCE_S3_SECRET_ACCESS_KEY'],
      secret: true,
    }),
  })
  .strict()
  .default({ forcePathStyle: false, serverSideEncryption: 'AES256' });

const evidenceSchema = z
  .object({
    s3: evidenceS3Schema,
    efsRoot: field(z.string().regex(/^\//, 'expected an absolute path').optional(), {
      description:
        'The only directory evidence may be written under for policies using spec.evidence.efs (their path must be inside it). Unset: efs evidence is refused.',
      env: ['KUBE_REMEDY_EVIDENCE_EFS_ROOT'],
    }),
    maxLogLines: field(z.number().int('expected a whole number').min(1).max(100_000).default(500), {
      description: 'Last lines kept of each container log (current and previous) in a bundle.',
      env: ['KUBE_REMEDY_EVIDENCE_MAX_LOG_LINES'],
    }),
    maxLogBytes: field(
      z.number().int('expected a whole number').min(1_024).max(16_777_216).default(262_144),
      {
        description: 'Last bytes kept of each container log in a bundle.',
        env: ['KUBE_REMEDY_EVIDENCE_MAX_LOG_BYTES'],
      },
    ),
    waitBeforeActionMs: field(
      z.number().int('expected a whole number').min(0).max(300_000).default(15_000),
      {
        description:
          'How long after detection an action that replaces pods (restart, eviction, drain, rollout restart, rollback) may wait for the evidence its incident collects then, so the logs and the object are kept before they go. 0: no wait. Only for policies that keep evidence.',
        env: ['KUBE_REMEDY_EVIDENCE_WAIT_BEFORE_ACTION_MS'],
      },
    ),
    linkTemplate: field(z.string().min(1).optional(), {
      description:
        'How bundles are linked from Slack, tickets and pull requests: {bucket}, {key} and {uri} are replaced, e.g. https://s3.console.aws.amazon.com/s3/buckets/{bucket}?prefix={key}. Unset: the s3:// URI or file path.',
      env: ['KUBE_REMEDY_EVIDENCE_LINK_TEMPLATE'],
    }),
  })
  .strict()
  .default({
    s3: { forcePathStyle: false, serverSideEncryption: 'AES256' },
    maxLogLines: 500,
    maxLogBytes: 262_144,
    waitBeforeActionMs: 15_000,
  });

const inspectSchema = z
  .object({
    enabled: field(z.boolean().default(false), {
      description:
        'Send live actors to the Stately inspector through a relay on loopback (reach it with kubectl port-forward). Snapshots are redacted before they are sent.',
      env: ['KUBE_REMEDY_INSPECT'],
      flag: '--inspect',
    }),
    port: field(
      z
        .number({ error: 'expected a port number' })
        .int('expected a whole number')
        .min(0, 'expected a port from 0 to 65535 (0 picks a free port)')
        .max(65535, 'expected a port from 0 to 65535')
        .default(8099),
      {
        description: 'Loopback port of the inspector relay and its page.',
        env: ['KUBE_REMEDY_INSPECT_PORT'],
        flag: '--inspect-port',
      },
    ),
    filter: field(z.string().min(1).default('*'), {
      description:
        'Which actors to inspect: a glob over actor keys, e.g. "Pod/shop/*" or "Node/*".',
      env: ['KUBE_REMEDY_INSPECT_FILTER'],
      flag: '--inspect-filter',
    }),
  })
  .strict()
  .default({ enabled: false, port: 8099, filter: '*' });

const budgetSchema = z
  .object({
    namespaceMaxActions: field(
      z
        .number({ error: 'expected a number of actions' })
        .int('expected a whole number')
        .min(1, 'expected at least 1')
        .max(100_000, 'expected at most 100000')
        .default(20),
      {
        description:
          'Disruptive actions (restarts, evictions, rollbacks, scales, cordons, drains, taints) allowed per namespace per budget window, whatever its policies allow. Beyond it, automation hands decisions to people; approved actions take no token.',
        env: ['KUBE_REMEDY_BUDGET_NAMESPACE_MAX_ACTIONS'],
      },
    ),
    clusterMaxActions: field(
      z
        .number({ error: 'expected a number of actions' })
        .int('expected a whole number')
        .min(1, 'expected at least 1')
        .max(1_000_000, 'expected at most 1000000')
        .default(100),
      {
        description:
          'Disruptive actions allowed in the whole cluster per budget window, across all namespaces and node policies: the ceiling of an installation that goes wrong.',
        env: ['KUBE_REMEDY_BUDGET_CLUSTER_MAX_ACTIONS'],
      },
    ),
    window: field(durationMs().default(3_600_000), {
      description: 'Sliding window of the namespace and cluster budgets.',
      env: ['KUBE_REMEDY_BUDGET_WINDOW'],
      defaultText: '1h',
    }),
    refreshInterval: field(durationMs().default(15_000), {
      description:
        "How often agents and the controller re-read the budgets and their policies' unhealthy workloads and nodes from Redis (also at once after an action, a refused action or a change of health), to hold automation when a budget is spent or a storm is on; and how often an agent looks again at the workloads its waiting pods joined (another agent's pod may lead their incident).",
      env: ['KUBE_REMEDY_BUDGET_REFRESH_INTERVAL'],
      defaultText: '15s',
    }),
    nodeCountInterval: field(durationMs().default(30_000), {
      description:
        'How often an agent whose node a policy governs counts the Ready, schedulable nodes that policy selects, for its minHealthyNodes guard (the workers count again, fresh, just before a node is taken out of service).',
      env: ['KUBE_REMEDY_BUDGET_NODE_COUNT_INTERVAL'],
      defaultText: '30s',
    }),
    stormMinUnhealthy: field(
      z
        .number({ error: 'expected a number of targets' })
        .int('expected a whole number')
        .min(1, 'expected at least 1')
        .max(100_000, 'expected at most 100000')
        .default(2),
      {
        description:
          "The storm breaker trips when more than a policy's budget.maxUnhealthyPercent of its workloads (or nodes, under a node policy) are unhealthy at once, and at least this many: one broken workload is not a storm, however many of its pods fail.",
        env: ['KUBE_REMEDY_BUDGET_STORM_MIN_UNHEALTHY'],
      },
    ),
    stormQuiet: field(durationMs().default(600_000), {
      description:
        'A storm that ends and comes back within this time is the same storm: its group escalation is not sent again.',
      env: ['KUBE_REMEDY_BUDGET_STORM_QUIET'],
      defaultText: '10m',
    }),
  })
  .strict()
  .default({
    namespaceMaxActions: 20,
    clusterMaxActions: 100,
    window: 3_600_000,
    refreshInterval: 15_000,
    nodeCountInterval: 30_000,
    stormMinUnhealthy: 2,
    stormQuiet: 600_000,
  });

export const configSchema = z
  .object({
    role: field(z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }).default('all'), {
      description:
        'Which components run in this process: agent (pods and node of one node), controller (deployments, policies, scaling), workers (integrations), or all of them.',
      env: ['KUBE_REMEDY_ROLE'],
      flag: '--role',
    }),
    namespace: field(
      z
        .string()
        .regex(DNS_LABEL, 'expected a Kubernetes namespace name (lower-case DNS label)')
        .default('kube-remedy-system'),
      {
        description:
          'Namespace kube-remedy runs in. Policies here may govern nodes; policies elsewhere govern only their own namespace.',
        env: ['KUBE_REMEDY_NAMESPACE', 'POD_NAMESPACE'],
        flag: '--namespace',
      },
    ),
    nodeName: field(z.string().min(1).optional(), {
      description:
        'Node whose pods the agent watches. Required for role agent; the chart sets it from spec.nodeName.',
      env: ['KUBE_REMEDY_NODE_NAME', 'NODE_NAME'],
      flag: '--node-name',
    }),
    identity: field(z.string().min(1).default(hostname()), {
      description:
        'This process among its replicas: holder of the controller Lease, reporting instance of Kubernetes Events. The chart sets the pod name.',
      env: ['KUBE_REMEDY_IDENTITY', 'POD_NAME'],
      defaultText: 'the host name',
    }),
    kubeconfig: field(z.string().min(1).optional(), {
      description:
        'Kubeconfig file. Unset: the in-cluster ServiceAccount when running in a pod, else ~/.kube/config.',
      env: ['KUBE_REMEDY_KUBECONFIG', 'KUBECONFIG'],
      flag: '--kubeconfig',
    }),
    shutdownTimeout: field(durationMs().default(30_000), {
      description:
        'On SIGTERM: time to stop watches, flush snapshots and close connections before exiting anyway.',
      env: ['KUBE_REMEDY_SHUTDOWN_TIMEOUT'],
      defaultText: '30s',
    }),
    redis: redisSchema,
    budget: budgetSchema,
    http: httpSchema,
    prometheus: prometheusSchema,
    log: logSchema,
    inspect: inspectSchema,
    slack: slackSchema,
    llm: llmSchema,
    gitops: gitopsSchema,
    github: githubSchema,
    gitlab: gitlabSchema,
    jira: jiraSchema,
    evidence: evidenceSchema,
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.role === 'agent' && config.nodeName === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeName'],
        message:
          'required for role agent: set NODE_NAME (the chart sets it from spec.nodeName) or --node-name',
      });
    }
  });

/** The configuration as the rest of the program sees it: parsed, defaulted, typed. */
export type Config = z.output<typeof configSchema>;
/** What a person may write: every field optional, durations as strings. */
export type ConfigInput = z.input<typeof configSchema>;
