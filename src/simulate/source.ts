/**
 * Where things are in a YAML file: a path into the parsed value (`['timeline', 2, 'crashLoop']`)
 * back to the file's line and column, so that a problem in a scenario is reported where the
 * person who wrote it will look. Built on the yaml library's own source ranges (`parseDocument`
 * with a `LineCounter`).
 */
import { isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';

export type Path = readonly (string | number)[];

/** A problem in an input file: the file, its line and column, the path of the value, and what was expected. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** `timeline[2].crashLoop.restarts`; empty for the whole document. */
  path: string;
  message: string;
}

/** Bad input: every problem found, each with its file and line. The command exits with status 2. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export function formatProblem(problem: Problem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path === ''
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.path}: ${problem.message}`;
}

/** `timeline[2].crashLoop`, as people write paths into YAML. */
export function pathText(path: Path): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/** One YAML document of a file, able to say where a path of it is. */
export class SourceDocument {
  readonly file: string;
  readonly document: Document;
  private readonly lines: LineCounter;

  constructor(file: string, document: Document, lines: LineCounter) {
    this.file = file;
    this.document = document;
    this.lines = lines;
  }

  /** The value, as plain JavaScript. */
  value(): unknown {
    return this.document.toJS();
  }

  /** A problem at `path`; a path that does not exist is reported at its deepest existing parent. */
  problem(path: Path, message: string, options: { key?: string } = {}): Problem {
    const offset = this.offsetOf(path, options.key);
    const { line, col } = this.lines.linePos(offset);
    const full = options.key === undefined ? path : [...path, options.key];
    return { file: this.file, line, column: col, path: pathText(full), message };
  }

  /**
   * Problems for zod issues of the value at `base` in this document; `schema` is the schema that
   * value was parsed with (it names the fields a misspelt one may have meant).
   */
  issues(issues: readonly z.core.$ZodIssue[], base: Path = [], schema?: z.ZodType): Problem[] {
    return issues.flatMap((issue) => this.issueProblems(issue, base, base.length, schema));
  }

  private issueProblems(
    issue: z.core.$ZodIssue,
    base: Path,
    schemaDepth: number,
    schema: z.ZodType | undefined,
  ): Problem[] {
    const path = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch that got furthest: fewest problems, the last one on a tie (the most specific).
      let best = issue.errors[0] ?? [];
      for (const branch of issue.errors) if (branch.length <= best.length) best = branch;
      if (best.length > 0)
        return best.flatMap((inner) => this.issueProblems(inner, path, schemaDepth, schema));
    }
    if (issue.code === 'unrecognized_keys') {
      const known = schema === undefined ? [] : fieldsAt(schema, path.slice(schemaDepth));
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        const hint = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
        return this.problem(path, `unknown field${hint}`, { key });
      });
    }
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      return [this.problem(path, `missing: expected ${describeType(issue.expected)}`)];
    }
    return [this.problem(path, issue.message)];
  }

  private node(path: Path): unknown {
    return this.document.getIn(path as (string | number)[], true);
  }

  private offsetOf(path: Path, key?: string): number {
    if (key !== undefined) {
      const node = this.node(path);
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) return range[0];
      }
    }
    for (let length = path.length; length >= 0; length -= 1) {
      const node = length === 0 ? this.document.contents : this.node(path.slice(0, length));
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      // A missing field is reported where its parent starts, a present one where its value starts.
      if (range) return range[0];
    }
    return 0;
  }
}

/** Every document of a YAML (or JSON) text, or the syntax problems that stop reading it. */
export function readDocuments(text: string, file: string): SourceDocument[] {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [];
  const problems: Problem[] = [];
  for (const document of list) {
    for (const error of document.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      problems.push({
        file,
        line,
        column: col,
        path: '',
        message: `not valid YAML: ${error.message.split('\n')[0] ?? error.message}`,
      });
    }
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  return list
    .map((document) => new SourceDocument(file, document, lines))
    .filter((document) => document.document.contents !== null);
}

function describeType(type: string): string {
  return type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : `a ${type}`;
}

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The schemas a value at `path` below `schema` may have been parsed with (unions give several). */
function schemasAt(schema: z.ZodType, path: Path): z.ZodType[] {
  const def = defOf(schema);
  const unwrapped = def.innerType ?? def.in;
  if (unwrapped !== undefined) return schemasAt(unwrapped, path);
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => schemasAt(o, path));
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === 'object' && typeof head === 'string') {
    const field = def.shape?.[head];
    return field === undefined ? [] : schemasAt(field, rest);
  }
  if (def.type === 'array' && def.element !== undefined) return schemasAt(def.element, rest);
  if (def.type === 'record' && def.valueType !== undefined) return schemasAt(def.valueType, rest);
  return [];
}

/** The field names the schema allows at `path`, for suggesting what a misspelt one meant. */
function fieldsAt(schema: z.ZodType, path: Path): string[] {
  return schemasAt(schema, path).flatMap((s) => Object.keys(defOf(s).shape ?? {}));
}

/** Edit distance, for suggestions of misspelt field names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + cost);
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

/** The known name closest to `name`, if one is close enough to be what was meant. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
