/**
 * The one configuration of a kube-remedy process. Every field carries its documentation, the
 * environment variables that set it and whether it is a secret; `config print`, the README's
 * reference and log redaction are all derived from these declarations, so they cannot drift.
 */
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
    http: httpSchema,
    log: logSchema,
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
