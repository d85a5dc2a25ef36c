/**
 * Builds the configuration once from, lowest precedence first: defaults, an optional file
 * (YAML or JSON), the environment, and command-line flags. This is the only module that reads
 * `process.env`; everything else receives a parsed `Config`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type z } from 'zod';
import { CONFIG_FIELDS, type ConfigField } from './fields.ts';
import { configSchema, type Config } from './schema.ts';

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_FILE_ENV = 'KUBE_REMEDY_CONFIG';

export interface ConfigSources {
  /** Flag values by field path (`redis.url`), as strings or already typed values. */
  flags?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** The environment. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A YAML or JSON file. Default: the file named by `KUBE_REMEDY_CONFIG`, if any. */
  file?: string;
}

export interface ConfigProblem {
  /** Field path, or `(file)` for a problem with the file itself. */
  path: string;
  message: string;
  /** Where the bad value came from: `file x.yaml`, `env NAME`, `flag --x`, or `default`. */
  source: string;
  /** The offending value as given; absent for secrets. */
  value?: unknown;
}

/** Bad configuration: every problem found, not just the first. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => {
    const shown = 'value' in p ? ` = ${JSON.stringify(p.value)}` : '';
    const from = p.source === 'default' ? '' : ` (from ${p.source})`;
    return `  - ${p.path}${shown}${from}: ${p.message}`;
  });
  return [`invalid configuration (${count}):`, ...lines].join('\n');
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] as string] = value;
}

function getPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

/** Strings from the environment or flags become the field's type when they plainly are one. */
function coerce(field: ConfigField, raw: string | number | boolean): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  if (field.kind === 'number' && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (field.kind === 'boolean') {
    if (/^(true|1|yes)$/i.test(text)) return true;
    if (/^(false|0|no)$/i.test(text)) return false;
  }
  return text;
}

function readFile(file: string): { tree: Tree } | { problem: ConfigProblem } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`;
    return { problem: { path: '(file)', source: `file ${file}`, message: why } };
  }
  try {
    const parsed: unknown = parseYaml(text) ?? {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      return {
        problem: {
          path: '(file)',
          source: `file ${file}`,
          message: 'expected a mapping of fields',
        },
      };
    }
    return { tree: parsed as Tree };
  } catch (error) {
    const where =
      error instanceof YAMLParseError && error.linePos
        ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: `
        : '';
    const why = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return { problem: { path: '(file)', source: `file ${file}`, message: `${where}${why}` } };
  }
}

function problemsFrom(
  issues: readonly z.core.$ZodIssue[],
  merged: Tree,
  sourceOf: ReadonlyMap<string, string>,
  fileLabel: string,
): ConfigProblem[] {
  const secret = new Set(CONFIG_FIELDS.filter((f) => f.secret).map((f) => f.path));
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path.map(String).join('.');
      const known = CONFIG_FIELDS.filter((f) => f.path.startsWith(at ? `${at}.` : ''))
        .map((f) => f.path.slice(at ? at.length + 1 : 0).split('.')[0])
        .filter((k, i, all) => all.indexOf(k) === i);
      return {
        path: issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(', '),
        source: fileLabel,
        message: `unknown field; known fields here: ${known.join(', ')}`,
      };
    }
    const path = issue.path.map(String).join('.');
    const problem: ConfigProblem = {
      path,
      source: sourceOf.get(path) ?? 'default',
      message: issue.message,
    };
    const value = getPath(merged, path);
    if (!secret.has(path) && value !== undefined) problem.value = value;
    return problem;
  });
}

/**
 * Parses the configuration from its sources.
 * @throws ConfigError naming every bad field, what it expects and where the value came from.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env[CONFIG_FILE_ENV];
  const merged: Tree = {};
  const sourceOf = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  const fileLabel = file ? `file ${file}` : 'input';

  if (file) {
    const read = readFile(file);
    if ('problem' in read) {
      problems.push(read.problem);
    } else {
      Object.assign(merged, structuredClone(read.tree));
      for (const f of CONFIG_FIELDS) {
        if (getPath(read.tree, f.path) !== undefined) sourceOf.set(f.path, fileLabel);
      }
    }
  }

  for (const f of CONFIG_FIELDS) {
    const name = f.env?.find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    setPath(merged, f.path, coerce(f, env[name] as string));
    sourceOf.set(f.path, `env ${name}`);
  }

  for (const f of CONFIG_FIELDS) {
    const raw = sources.flags?.[f.path];
    if (raw === undefined) continue;
    setPath(merged, f.path, coerce(f, raw));
    sourceOf.set(f.path, f.flag ? `flag ${f.flag}` : `flag for ${f.path}`);
  }

  const result = configSchema.safeParse(merged);
  if (!result.success)
    problems.push(...problemsFrom(result.error.issues, merged, sourceOf, fileLabel));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}
