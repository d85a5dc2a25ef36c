/**
 * Just enough of PromQL's lexical structure to find the metric names a query selects, with the
 * label matchers written after each (test/unit/chart/dashboard.test.ts). Strings, label matchers,
 * range and subquery brackets, grouping label lists (by, without, on, ignoring, group_left,
 * group_right), numbers, durations and function names are recognised and skipped; every other
 * identifier is a metric name.
 */

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregation operators may be followed by `by (…)` or `without (…)` before their parenthesis. */
const AGGREGATIONS = [
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
];
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'atan2',
  ...GROUPING,
  ...AGGREGATIONS,
]);

export interface Selector {
  metric: string;
  /** The text between the braces after the name ('' when there are none). */
  matchers: string;
}

/** Index just past the string literal starting at `start`. */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  if (i >= text.length) throw new Error(`unterminated string in: ${text}`);
  return i + 1;
}

/** Index just past the bracket group (braces, brackets or parentheses) starting at `start`. */
function skipGroup(text: string, start: number): number {
  const open = text[start] as '{' | '[' | '(';
  const close = { '{': '}', '[': ']', '(': ')' }[open];
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(text, i);
      continue;
    }
    if (c === open) depth += 1;
    if (c === close) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  throw new Error(`unbalanced ${open} in: ${text}`);
}

function nextNonSpace(text: string, start: number): number {
  let i = start;
  while (i < text.length && /\s/.test(text[i] ?? '')) i += 1;
  return i;
}

/** The metric selectors of a PromQL expression, in order. */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '{') {
      // A selector without a metric name ({__name__=~…}) is not used here; skip its matchers.
      i = skipGroup(expr, i);
    } else if (c === '[') {
      i = skipGroup(expr, i);
    } else if (/[0-9.]/.test(c)) {
      const match = /^[0-9.]+(e[+-]?[0-9]+)?([smhdwy]|ms)?/i.exec(expr.slice(i));
      i += match ? match[0].length : 1;
    } else if (c === '$') {
      // A Grafana variable outside braces or brackets (e.g. a threshold): skip its name.
      const match = /^\$\{?[A-Za-z0-9_]+\}?/.exec(expr.slice(i));
      i += match ? match[0].length : 1;
    } else if (/[A-Za-z_:]/.test(c)) {
      const match = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i));
      const word = match?.[0] ?? c;
      i += word.length;
      const next = nextNonSpace(expr, i);
      if (GROUPING.has(word) && expr[next] === '(') {
        i = skipGroup(expr, next);
      } else if (KEYWORDS.has(word) || expr[next] === '(') {
        // a keyword, or a function or aggregation name
      } else if (expr[next] === '{') {
        const end = skipGroup(expr, next);
        out.push({ metric: word, matchers: expr.slice(next + 1, end - 1) });
        i = end;
      } else {
        out.push({ metric: word, matchers: '' });
      }
    } else {
      i += 1;
    }
  }
  return out;
}

/** The selectors of a Grafana template variable query (`label_values(selector, label)` or PromQL). */
export function variableSelectors(query: string): Selector[] {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.exec(
    query,
  );
  if (labelValues) return selectors(labelValues[1] ?? '');
  const queryResult = /^\s*query_result\((.*)\)\s*$/.exec(query);
  return selectors(queryResult ? (queryResult[1] ?? '') : query);
}
