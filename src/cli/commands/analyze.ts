/**
 * `kube-remedy analyze -f FILE`: runs the analyzers on Pods, Nodes and Deployments saved as YAML
 * or JSON (`kubectl get pods -o yaml > pods.yaml`), one object, a List of them, or several YAML
 * documents, and prints what each shows, in the words the agent would use.
 *
 * The analyzers see only the objects: facts the agent gathers at run time (the pods of a
 * Deployment's new ReplicaSet) are not available here.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { analyzeObject, type Detection } from '../../analyzers/index.ts';
import {
  isObservableKind,
  OBSERVABLE_KINDS,
  type ObservableKind,
  type ObservableObject,
} from '../../observe/index.ts';
import type { ProgramIO } from '../program.ts';

export interface AnalyzedObject {
  kind: ObservableKind;
  /** null for Nodes, which have no namespace (kept as null rather than left out, for jq). */
  namespace: string | null;
  name: string;
  detections: Detection[];
}

/** Input that is not what `analyze` reads; the message names the file and what was expected. */
export class AnalyzeInputError extends Error {
  override name = 'AnalyzeInputError';
}

const EXPECTED = `a ${OBSERVABLE_KINDS.join(', ').replace(/, (?=[^,]*$)/, ' or ')} (or a List of them)`;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a YAML sequence';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' ? `kind "${kind}"` : 'an object without a kind';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists (`List`, `PodList`…) are flattened; typed lists' items may leave out their kind. */
function collect(value: unknown, where: string, out: ObservableObject[], itemKind?: string): void {
  const object =
    isRecord(value) && itemKind && value['kind'] === undefined
      ? { ...value, kind: itemKind }
      : value;
  if (!isRecord(object))
    throw new AnalyzeInputError(`${where}: expected ${EXPECTED}, got ${describeValue(object)}`);
  const kind = object['kind'];
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(object['items'])) {
    const typed = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    (object['items'] as unknown[]).forEach((item, i) =>
      collect(item, `${where}, items[${i}]`, out, typed),
    );
    return;
  }
  if (!isObservableKind(kind)) {
    throw new AnalyzeInputError(`${where}: expected ${EXPECTED}, got ${describeValue(object)}`);
  }
  const metadata = object['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    throw new AnalyzeInputError(`${where}: a ${kind} needs metadata.name`);
  }
  out.push(object as unknown as ObservableObject);
}

/** The objects in YAML or JSON text (JSON is YAML), from every document. */
export function readObjects(text: string, source: string): ObservableObject[] {
  const documents = parseAllDocuments(text);
  const out: ObservableObject[] = [];
  documents.forEach((document, i) => {
    const where = documents.length > 1 ? `${source}: document ${i + 1}` : source;
    const [problem] = document.errors;
    if (problem) {
      const first = problem.message.split('\n')[0] ?? problem.message;
      throw new AnalyzeInputError(`${where}: not valid YAML or JSON: ${first}`);
    }
    const value: unknown = document.toJS();
    // An empty document (a trailing `---`) holds nothing.
    if (value === null || value === undefined) return;
    collect(value, where, out);
  });
  if (out.length === 0)
    throw new AnalyzeInputError(`${source}: expected ${EXPECTED}, found nothing`);
  return out;
}

export function analyzeText(text: string, source: string): AnalyzedObject[] {
  return readObjects(text, source).map((object) => {
    const { observation, detections } = analyzeObject(object);
    return {
      kind: observation.kind,
      namespace: observation.namespace,
      name: observation.name,
      detections,
    };
  });
}

/** One row per detection (one for an object without any), columns aligned, reasons last. */
export function formatTable(results: readonly AnalyzedObject[]): string {
  const rows = results.flatMap((r) => {
    const base = [r.kind, r.namespace ?? '-', r.name];
    return r.detections.length === 0
      ? [[...base, '-', 'no problems found']]
      : r.detections.map((d) => [...base, d.type, d.reason]);
  });
  const header = ['KIND', 'NAMESPACE', 'NAME', 'DETECTION', 'REASON'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ');
  const affected = results.filter((r) => r.detections.length > 0).length;
  const summary = `${results.length} object${results.length === 1 ? '' : 's'}, ${affected} with problems`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${summary}\n`;
}

export function formatJson(results: readonly AnalyzedObject[]): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readInput(file: string): Promise<string> {
  if (file === '-') return readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new AnalyzeInputError(`${file}: cannot read it (${reason})`, { cause: error });
  }
}

export function registerAnalyzeCommand(
  program: Command,
  io: ProgramIO,
  read: (file: string) => Promise<string> = readInput,
): Command {
  return program
    .command('analyze')
    .description(
      'print what the analyzers find in Pods, Nodes and Deployments saved as YAML or JSON',
    )
    .requiredOption('-f, --filename <file>', 'the file to read, - for standard input')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .addHelpText(
      'after',
      `
Reads one object, a List (kubectl get pods -o yaml), or several YAML documents.
With -o json: one array of {kind, namespace, name, detections: [{type, reason}]};
namespace is null for Nodes.

Examples:
  kubectl get pods -A -o yaml | kube-remedy analyze -f -
  kube-remedy analyze -f nodes.json -o json | jq '.[] | select(.detections != [])'`,
    )
    .action(async function (this: Command, options: { filename: string; output: string }) {
      const source = options.filename === '-' ? 'standard input' : options.filename;
      try {
        const results = analyzeText(await read(options.filename), source);
        io.stdout(options.output === 'json' ? formatJson(results) : formatTable(results));
      } catch (error) {
        if (!(error instanceof AnalyzeInputError)) throw error;
        this.error(`error: ${error.message}`, { exitCode: 2, code: 'kube-remedy.analyze.input' });
      }
    });
}
