/**
 * The recording format of `kube-remedy record` (JSON Lines), and reading one back as a scenario
 * for `simulate --replay`: "what would this policy have done last week".
 *
 * Line 1 is a header, then one line per watch event, then (when the recording ended cleanly) a
 * footer:
 *
 *     {"recording":"kube-remedy","version":1,"startedAt":1767603600000,"namespace":"shop",...}
 *     {"at":1767603600123,"type":"upsert","object":{"kind":"Pod",...}}
 *     {"at":1767603601456,"type":"delete","object":{"kind":"Pod",...}}
 *     {"end":1767604200000,"events":2}
 *
 * `at` is when the event was received, ms since the epoch: the time the agent would have stamped
 * on it. Objects are whole (managedFields left out), as watch events carry them.
 */
import { parsePolicy } from '../policy/index.ts';
import { KIND as POLICY_KIND } from '../policy/vocabulary.ts';
import type { KubeManifest, Scenario, Step } from './model.ts';
import { ScenarioError, type Problem } from './source.ts';
import { keyOf } from './world.ts';

export const RECORDING_VERSION = 1;

export interface RecordingHeader {
  recording: 'kube-remedy';
  version: number;
  /** ms since the epoch. */
  startedAt: number;
  /** The namespace recorded; null: all. */
  namespace: string | null;
  /** kube-remedy's namespace, whose policies may govern Nodes. */
  agentNamespace: string;
  /** The API server recorded. */
  server: string;
}

export interface RecordedEvent {
  at: number;
  type: 'upsert' | 'delete';
  object: KubeManifest;
}

export interface RecordingFooter {
  end: number;
  events: number;
}

/** The kinds `record` captures. */
export const RECORDED_KINDS = ['Pod', 'Node', 'Deployment', POLICY_KIND] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A recording read back as a scenario: every recorded event a step at its time. */
export function parseRecording(text: string, file: string): Scenario {
  const problems: Problem[] = [];
  const at = (line: number, message: string): Problem => ({
    file,
    line,
    column: 1,
    path: '',
    message,
  });
  const lines = text.split('\n');
  let header: RecordingHeader | undefined;
  let footer: RecordingFooter | undefined;
  const steps: Step[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push(
        at(line, `not a JSON line: ${error instanceof Error ? error.message : String(error)}`),
      );
      return;
    }
    if (!isRecord(value)) {
      problems.push(at(line, 'expected a JSON object'));
      return;
    }
    if (header === undefined) {
      if (value['recording'] !== 'kube-remedy' || typeof value['startedAt'] !== 'number') {
        problems.push(
          at(
            line,
            'expected the header of a kube-remedy recording ({"recording":"kube-remedy","version":1,"startedAt":…})',
          ),
        );
        return;
      }
      if (value['version'] !== RECORDING_VERSION) {
        problems.push(
          at(
            line,
            `expected a recording of version ${RECORDING_VERSION}, got ${JSON.stringify(value['version'])}`,
          ),
        );
        return;
      }
      header = value as unknown as RecordingHeader;
      return;
    }
    if (typeof value['end'] === 'number') {
      footer = value as unknown as RecordingFooter;
      return;
    }
    const time = value['at'];
    const type = value['type'];
    const object = value['object'];
    const metadata = isRecord(object) ? object['metadata'] : undefined;
    if (
      typeof time !== 'number' ||
      (type !== 'upsert' && type !== 'delete') ||
      !isRecord(object) ||
      typeof object['kind'] !== 'string' ||
      !isRecord(metadata) ||
      typeof metadata['name'] !== 'string'
    ) {
      problems.push(
        at(
          line,
          'expected an event: {"at": ms, "type": "upsert" | "delete", "object": {kind, metadata: {name}, …}}',
        ),
      );
      return;
    }
    const manifest = object as unknown as KubeManifest;
    const source = `${file}:${line}`;
    if (manifest.kind === POLICY_KIND) {
      const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : '';
      if (type === 'delete') {
        steps.push({
          at: time,
          object: null,
          change: { type: 'removePolicy', namespace, name: manifest.metadata.name },
          source,
        });
        return;
      }
      const parsed = parsePolicy(object);
      // A policy the agent could not parse governs nothing there either.
      if (parsed.ok)
        steps.push({
          at: time,
          object: null,
          change: { type: 'policy', policy: parsed.policy },
          source,
        });
      return;
    }
    if (!(RECORDED_KINDS as readonly string[]).includes(manifest.kind)) return;
    steps.push(
      type === 'delete'
        ? { at: time, object: keyOf(manifest), change: { type: 'delete' }, source }
        : { at: time, object: null, change: { type: 'create', object: manifest }, source },
    );
  });
  if (header === undefined && problems.length === 0)
    problems.push(at(1, 'expected a kube-remedy recording, found an empty file'));
  if (problems.length > 0 || header === undefined) throw new ScenarioError(problems);
  const start = header.startedAt;
  const last = steps.reduce((max, s) => Math.max(max, s.at), start);
  // A recording cut short (no footer) ends a minute after its last event.
  const end = Math.max(footer?.end ?? last + 60_000, last);
  steps.sort((a, b) => a.at - b.at);
  return {
    name: 'replay',
    description: `Recorded from ${header.server}${header.namespace === null ? '' : ` (namespace ${header.namespace})`}: ${steps.length} events.`,
    source: file,
    offCluster: null,
    start,
    end,
    namespace: header.agentNamespace,
    effectDelayMs: 1_000,
    scalerIntervalMs: 15_000,
    policies: [],
    objects: [],
    people: new Map(),
    steps: steps.map((s) => ({ ...s, at: Math.max(s.at, start) })),
    metrics: [],
    effects: [],
    replay: true,
  };
}
