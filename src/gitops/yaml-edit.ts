/**
 * Changing one field of a YAML file without touching anything else. The file is parsed with the
 * yaml Document API only to find where the field is: the change itself is spliced into the
 * original text at the node's source range, so comments, quoting, indentation, key order and
 * every other document of a multi-document file stay byte for byte as they were. A field that is
 * missing is inserted as new lines under its closest existing parent, indented like its siblings.
 */
import {
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  stringify,
  type Document,
  type Node,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

/** One step of a path: a mapping key, or the sequence item whose fields match. */
export type PathSegment = string | { where: Record<string, string> };
export type YamlPath = readonly PathSegment[];

export type ScalarValue = string | number | boolean;

export class YamlEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlEditError';
  }
}

export function pathText(path: YamlPath): string {
  return path
    .map((segment) =>
      typeof segment === 'string'
        ? segment
        : `[${Object.entries(segment.where)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}]`,
    )
    .join('.')
    .replace(/\.\[/g, '[');
}

/** The documents of a file that parsed; a file with a syntax error is refused whole. */
export function parseDocuments(source: string): Document.Parsed[] {
  const docs = parseAllDocuments(source);
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error !== undefined) throw new YamlEditError(`not valid YAML: ${error.message}`);
  }
  return docs;
}

function matches(item: unknown, where: Record<string, string>): boolean {
  if (!isMap(item)) return false;
  return Object.entries(where).every(([key, value]) => {
    const found = item.get(key, true);
    return isScalar(found) && String(found.value) === value;
  });
}

interface Resolved {
  /** The deepest node found along the path. */
  node: Node;
  /** How many segments it took to reach it. */
  depth: number;
}

function step(node: Node, segment: PathSegment): Node | undefined {
  if (typeof segment === 'string') {
    if (!isMap(node)) return undefined;
    const child: unknown = node.get(segment, true);
    return child === undefined || child === null ? undefined : (child as Node);
  }
  if (!isSeq(node)) return undefined;
  return node.items.find((item) => matches(item, segment.where)) as Node | undefined;
}

function resolve(doc: Document.Parsed, path: YamlPath): Resolved | undefined {
  const root = doc.contents;
  if (root === null) return undefined;
  let node: Node = root;
  let depth = 0;
  for (const segment of path) {
    const next = step(node, segment);
    if (next === undefined) break;
    node = next;
    depth += 1;
  }
  return { node, depth };
}

/** The scalar value at `path`, or undefined when the path does not reach a scalar. */
export function readScalar(doc: Document.Parsed, path: YamlPath): ScalarValue | undefined {
  const found = resolve(doc, path);
  if (found === undefined || found.depth !== path.length || !isScalar(found.node)) return undefined;
  const value = found.node.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : undefined;
}

/** Whether the path reaches a node (of any kind) in the document. */
export function hasPath(doc: Document.Parsed, path: YamlPath): boolean {
  const found = resolve(doc, path);
  return found !== undefined && found.depth === path.length;
}

function lineStart(source: string, offset: number): number {
  return source.lastIndexOf('\n', offset - 1) + 1;
}

function columnOf(source: string, offset: number): number {
  return offset - lineStart(source, offset);
}

/** The offset just after the line holding `offset` (or the end of the text). */
function afterLine(source: string, offset: number): number {
  const newline = source.indexOf('\n', Math.max(offset - 1, 0));
  return newline < 0 ? source.length : newline + 1;
}

/** How a scalar is written: the original's quoting kept, otherwise plain unless that would misread. */
function scalarText(value: ScalarValue, like: Scalar | undefined): string {
  if (typeof value === 'string') {
    if (like?.type === 'QUOTE_DOUBLE') return JSON.stringify(value);
    if (like?.type === 'QUOTE_SINGLE') return `'${value.replaceAll("'", "''")}'`;
  }
  return stringify(value).trimEnd();
}

/** The YAML text of what is missing below the deepest existing node, as nested blocks. */
function missingValue(rest: YamlPath, value: ScalarValue): unknown {
  let built: unknown = value;
  for (let i = rest.length - 1; i >= 0; i -= 1) {
    const segment = rest[i] as PathSegment;
    built =
      typeof segment === 'string'
        ? { [segment]: built }
        : [{ ...segment.where, ...(built as object) }];
  }
  return built;
}

function indent(text: string, column: number): string {
  const pad = ' '.repeat(column);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => (line.length > 0 ? pad + line : line))
    .join('\n');
}

/**
 * How the file writes nested blocks, so added lines look like their neighbours: the indent step
 * (2 or 4…) and whether list items are indented under their key (`key:\n  - a`) or not
 * (`key:\n- a`). Taken from the first example of each in the text; YAML's defaults otherwise.
 */
export function detectStyle(source: string): { indent: number; indentSeq: boolean } {
  const lines = source.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  for (let i = 0; i + 1 < lines.length; i += 1) {
    const line = lines[i] as string;
    if (!/:\s*(#.*)?$/.test(line)) continue;
    const own = line.length - line.trimStart().length + (line.trimStart().startsWith('- ') ? 2 : 0);
    const next = lines[i + 1] as string;
    const nextIndent = next.length - next.trimStart().length;
    if (next.trimStart().startsWith('- ')) {
      indentSeq ??= nextIndent > own;
      if (nextIndent > own) indent ??= nextIndent - own;
    } else if (nextIndent > own) {
      indent ??= nextIndent - own;
    }
    if (indent !== undefined && indentSeq !== undefined) break;
  }
  return { indent: indent ?? 2, indentSeq: indentSeq ?? true };
}

function blockColumn(source: string, node: YAMLMap | YAMLSeq): number | undefined {
  const first: unknown = node.items[0];
  if (isMap(node)) {
    const key = (first as { key?: Node } | undefined)?.key;
    return key?.range ? columnOf(source, key.range[0]) : undefined;
  }
  return node.range ? columnOf(source, node.range[0]) : undefined;
}

export interface FieldEdit {
  /** The new file text. */
  text: string;
  /** The value before, when the field existed. */
  before: ScalarValue | undefined;
  after: ScalarValue;
  /** 1-based line of the change in the new text. */
  line: number;
}

/**
 * Sets the scalar at `path` in document `docIndex` of `source` to `value`, changing only the
 * characters of that value (or inserting the missing lines). Refuses when the path runs into
 * something that is not a mapping or sequence on the way, or ends at a collection.
 */
export function setScalar(
  source: string,
  docIndex: number,
  path: YamlPath,
  value: ScalarValue,
): FieldEdit {
  const docs = parseDocuments(source);
  const doc = docs[docIndex];
  if (doc === undefined) throw new YamlEditError(`the file has no document ${docIndex + 1}`);
  const found = resolve(doc, path);
  if (found === undefined) throw new YamlEditError('the document is empty');
  const { node, depth } = found;

  if (depth === path.length) {
    if (!isScalar(node) || node.range === undefined || node.range === null) {
      throw new YamlEditError(`${pathText(path)} is not a single value`);
    }
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      throw new YamlEditError(`${pathText(path)} is a block scalar; refusing to rewrite it`);
    }
    const [start, end] = node.range;
    const text = source.slice(0, start) + scalarText(value, node) + source.slice(end);
    const before = node.value as ScalarValue;
    return { text, before, after: value, line: lineNumber(text, start) };
  }

  const rest = path.slice(depth);
  const next = rest[0] as PathSegment;
  const parentIsMap = isMap(node) && typeof next === 'string';
  const parentIsSeq = isSeq(node) && typeof next !== 'string';
  if (!parentIsMap && !parentIsSeq) {
    throw new YamlEditError(
      `${pathText(path.slice(0, depth + 1))} not found (its parent is not a ${typeof next === 'string' ? 'mapping' : 'list'})`,
    );
  }
  const collection: YAMLMap | YAMLSeq = node;
  if (collection.flow === true || collection.items.length === 0 || collection.range == null) {
    throw new YamlEditError(
      `${pathText(path.slice(0, depth))} is written inline ({} or []); add ${pathText(rest)} by hand`,
    );
  }
  const column = blockColumn(source, collection);
  if (column === undefined)
    throw new YamlEditError(`cannot tell the indentation at ${pathText(path)}`);
  // Nested blocks that are missing are written as the file writes them, re-indented.
  const block = stringify(missingValue(rest, value), detectStyle(source)).trimEnd();
  const last: unknown = collection.items[collection.items.length - 1];
  const lastEnd =
    (last as { value?: Node | null }).value?.range?.[1] ??
    (last as { key?: Node }).key?.range?.[1] ??
    (last as Node).range?.[1] ??
    collection.range[1];
  const at = afterLine(source, lastEnd);
  const insertion = indent(block, column) + '\n';
  const needsNewline = at === source.length && !source.endsWith('\n');
  const text = source.slice(0, at) + (needsNewline ? '\n' : '') + insertion + source.slice(at);
  return {
    text,
    before: undefined,
    after: value,
    line: lineNumber(text, at + (needsNewline ? 1 : 0)),
  };
}

function lineNumber(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text[i] === '\n') line += 1;
  return line;
}
