/**
 * Redaction of secrets in text and in JSON values, before anything leaves the process for an LLM,
 * Slack or an evidence bundle. Pure: the same input gives the same output, nothing is remembered,
 * and nothing can be unmasked. A finding is named by its kind (`[REDACTED:jwt]`), so a reader
 * still knows what was there.
 */
import { REDACTION_PATTERNS, SECRET_KEY_NAME, type RedactionPattern } from './patterns.ts';

export interface RedactionFinding {
  kind: string;
  count: number;
}

export interface RedactedText {
  text: string;
  /** What was replaced, by kind, in the order the kinds were first found. */
  findings: RedactionFinding[];
}

export interface RedactedValue<T> {
  /** A redacted copy: the input is not changed. */
  value: T;
  findings: RedactionFinding[];
}

/** Extra patterns: a RedactionPattern, a RegExp, or the source of one (kind `custom`). */
export type ExtraPattern = RedactionPattern | RegExp | string;

export function placeholder(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/**
 * Compiles extra patterns once. Rejects a pattern that does not compile or that matches the
 * empty string (it would put placeholders between every character).
 * @throws Error naming the bad pattern.
 */
export function compilePatterns(extra: readonly ExtraPattern[]): RedactionPattern[] {
  return extra.map((item, index) => {
    let pattern: RedactionPattern;
    if (typeof item === 'string') {
      let regex: RegExp;
      try {
        regex = new RegExp(item, 'g');
      } catch (error) {
        throw new Error(
          `redaction pattern ${index + 1} (${JSON.stringify(item)}) is not a regular expression: ${(error as Error).message}`,
          { cause: error },
        );
      }
      pattern = { kind: 'custom', description: `configured pattern ${item}`, pattern: regex };
    } else if (item instanceof RegExp) {
      pattern = { kind: 'custom', description: `pattern ${item.source}`, pattern: globalOf(item) };
    } else {
      pattern = { ...item, pattern: globalOf(item.pattern) };
    }
    if (new RegExp(pattern.pattern.source, pattern.pattern.flags.replace('g', '')).test('')) {
      throw new Error(
        `redaction pattern ${index + 1} (${JSON.stringify(pattern.pattern.source)}) matches the empty string`,
      );
    }
    return pattern;
  });
}

function globalOf(regex: RegExp): RegExp {
  return regex.global ? regex : new RegExp(regex.source, `${regex.flags}g`);
}

/** A reusable redactor: the built-in table plus extra patterns, compiled once. */
export interface Redactor {
  text: (text: string) => RedactedText;
  value: <T>(value: T) => RedactedValue<T>;
}

export function createRedactor(extra: readonly ExtraPattern[] = []): Redactor {
  const table = [...REDACTION_PATTERNS, ...compilePatterns(extra)];
  return {
    text: (text) => {
      const counts = new Map<string, number>();
      return { text: applyTable(text, table, counts), findings: toFindings(counts) };
    },
    value: (value) => {
      const counts = new Map<string, number>();
      return { value: walk(value, table, counts, 0) as typeof value, findings: toFindings(counts) };
    },
  };
}

const builtIn = createRedactor();

/** Replaces every secret in `text` by `[REDACTED:<kind>]`. */
export function redactText(text: string, extraPatterns?: readonly ExtraPattern[]): RedactedText {
  return extraPatterns === undefined || extraPatterns.length === 0
    ? builtIn.text(text)
    : createRedactor(extraPatterns).text(text);
}

/**
 * Redacts a JSON-like value: every string is redacted as text; a property whose name ends with a
 * secret word (`password`, `apiKey`, `DB_TOKEN`…) loses its value whole; the data of a Kubernetes
 * Secret and the value of a secret-named environment variable (`{name, value}`) too. Returns a
 * copy; the input is not changed.
 */
export function redactValue<T>(
  value: T,
  extraPatterns?: readonly ExtraPattern[],
): RedactedValue<T> {
  return extraPatterns === undefined || extraPatterns.length === 0
    ? builtIn.value(value)
    : createRedactor(extraPatterns).value(value);
}

/** Merges findings of several redactions. */
export function mergeFindings(...lists: readonly RedactionFinding[][]): RedactionFinding[] {
  const counts = new Map<string, number>();
  for (const list of lists) for (const f of list) bump(counts, f.kind, f.count);
  return toFindings(counts);
}

function bump(counts: Map<string, number>, kind: string, by = 1): void {
  counts.set(kind, (counts.get(kind) ?? 0) + by);
}

function toFindings(counts: Map<string, number>): RedactionFinding[] {
  return [...counts].map(([kind, count]) => ({ kind, count }));
}

function applyTable(
  text: string,
  table: readonly RedactionPattern[],
  counts: Map<string, number>,
): string {
  let out = text;
  for (const { kind, pattern } of table) {
    out = out.replace(pattern, (...args: unknown[]) => {
      const last = args[args.length - 1];
      const groups =
        typeof last === 'object' && last !== null
          ? (last as Record<string, string | undefined>)
          : undefined;
      bump(counts, kind);
      if (groups?.secret === undefined) return placeholder(kind);
      return `${groups.pre ?? ''}${placeholder(kind)}${groups.post ?? ''}`;
    });
  }
  return out;
}

const MAX_DEPTH = 64;

function walk(
  value: unknown,
  table: readonly RedactionPattern[],
  counts: Map<string, number>,
  depth: number,
): unknown {
  if (typeof value === 'string') return applyTable(value, table, counts);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) {
    bump(counts, 'too-deep');
    return placeholder('too-deep');
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, table, counts, depth + 1));
  const record = value as Record<string, unknown>;
  const isSecretObject = record.kind === 'Secret' && typeof record.apiVersion === 'string';
  const envName = typeof record.name === 'string' ? record.name : undefined;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    if (isSecretObject && (key === 'data' || key === 'stringData') && isRecord(item)) {
      out[key] = Object.fromEntries(
        Object.keys(item).map((name) => {
          bump(counts, 'kubernetes-secret');
          return [name, placeholder('kubernetes-secret')];
        }),
      );
    } else if (SECRET_KEY_NAME.test(key) && isSecretScalar(item)) {
      bump(counts, 'secret');
      out[key] = placeholder('secret');
    } else if (
      key === 'value' &&
      envName !== undefined &&
      SECRET_KEY_NAME.test(envName) &&
      isSecretScalar(item)
    ) {
      bump(counts, 'secret');
      out[key] = placeholder('secret');
    } else {
      out[key] = walk(item, table, counts, depth + 1);
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strings and numbers can hold a secret; booleans and empty strings cannot. */
function isSecretScalar(value: unknown): boolean {
  if (typeof value === 'number') return true;
  return typeof value === 'string' && value !== '' && !value.startsWith('[REDACTED');
}
