/**
 * Where secrets can appear in log records, configured once for every logger. Keys with these
 * names are masked at any of the first four levels of a record, and the configuration's secret
 * fields are masked wherever a configuration object is logged.
 */
import { maskSecret, MASK, SECRET_PATHS } from '../config/index.ts';

/** Property names whose values are always secret, whatever object they sit in. */
export const SECRET_KEY_NAMES: readonly string[] = [
  'password',
  'passwd',
  'token',
  'accessToken',
  'refreshToken',
  'botToken',
  'apiKey',
  'apiToken',
  'secret',
  'clientSecret',
  'signingSecret',
  'secretAccessKey',
  'privateKey',
  'authorization',
  'cookie',
  'set-cookie',
];

const DEPTH = 4;

function atAnyDepth(path: string): string[] {
  const out: string[] = [];
  for (let depth = 0; depth < DEPTH; depth += 1)
    out.push([...Array<string>(depth).fill('*'), path].join('.'));
  return out;
}

function quoted(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
}

export const REDACT_PATHS: readonly string[] = [
  ...new Set([
    ...SECRET_KEY_NAMES.flatMap((name) => atAnyDepth(quoted(name))),
    ...SECRET_PATHS.flatMap((path) => [path, `config.${path}`]),
  ]),
];

/** Keeps a URL readable but for its password; masks anything else whole. */
export function censor(value: unknown): unknown {
  return typeof value === 'string' ? maskSecret(value) : MASK;
}
