/**
 * `kube-remedy record`: captures Pods, Nodes, Deployments and AutoRemediationPolicies and their
 * changes from a live cluster into a JSON Lines recording (recording.ts), through the same
 * resilient list-watch the agent uses, each event stamped with the time it was received. Replayed
 * with `simulate --replay`, it shows what a policy would have done with that history.
 *
 * This is the one part of src/simulate that talks to a cluster and reads the wall clock: it
 * records the present. Everything it writes is replayed deterministically.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Writable } from 'node:stream';
import { startListWatch, type RunningListWatch } from '../adapters/kubernetes/list-watch.ts';
import { DEPLOYMENTS, NODES, PODS, type ResourceType } from '../adapters/kubernetes/resource.ts';
import { POLICIES } from '../policy/kubernetes.ts';
import type { Logger } from '../telemetry/index.ts';
import { formatDuration } from '../util/duration.ts';
import { RECORDING_VERSION, type RecordingFooter, type RecordingHeader } from './recording.ts';

export interface RecordOptions {
  kc: KubeConfig;
  /** Record Pods, Deployments and policies of this namespace only; all when undefined. */
  namespace?: string | undefined;
  /** kube-remedy's namespace: its policies (which may govern Nodes) are recorded too. */
  agentNamespace: string;
  /** How long to record, ms. */
  durationMs: number;
  output: Writable;
  logger: Logger;
  /** Told about progress: `final` once, at the end. */
  progress: (line: string, kind: 'synced' | 'tick' | 'final') => void;
  /** Ends the recording early (SIGINT, SIGTERM). */
  signal: AbortSignal;
  /** Time between progress ticks, ms. Default: 1 s. */
  tickMs?: number;
  now?: () => number;
}

export interface RecordSummary {
  events: number;
  byKind: Record<string, number>;
  startedAt: number;
  endedAt: number;
}

function withoutManagedFields(object: KubernetesObject): KubernetesObject {
  const copy = JSON.parse(JSON.stringify(object)) as KubernetesObject;
  if (copy.metadata) delete copy.metadata.managedFields;
  return copy;
}

function writeLine(output: Writable, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value)}\n`;
  return new Promise((resolve, reject) => {
    output.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

export async function record(options: RecordOptions): Promise<RecordSummary> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const byKind: Record<string, number> = {
    Pod: 0,
    Node: 0,
    Deployment: 0,
    AutoRemediationPolicy: 0,
  };
  let events = 0;
  let writing: Promise<void> = Promise.resolve();
  const header: RecordingHeader = {
    recording: 'kube-remedy',
    version: RECORDING_VERSION,
    startedAt,
    namespace: options.namespace ?? null,
    agentNamespace: options.agentNamespace,
    server: options.kc.getCurrentCluster()?.server ?? '',
  };
  writing = writeLine(options.output, header);

  const watches: { resource: ResourceType; namespace: string | undefined }[] = [
    { resource: PODS, namespace: options.namespace },
    { resource: DEPLOYMENTS, namespace: options.namespace },
    { resource: NODES, namespace: undefined },
    { resource: POLICIES, namespace: options.namespace },
  ];
  if (options.namespace !== undefined && options.namespace !== options.agentNamespace) {
    watches.push({ resource: POLICIES, namespace: options.agentNamespace });
  }
  const running: RunningListWatch[] = watches.map(({ resource, namespace }) =>
    startListWatch<KubernetesObject>(options.kc, {
      resource,
      ...(namespace === undefined ? {} : { namespace }),
      logger: options.logger,
      onEvent: (event) => {
        const object = withoutManagedFields(event.object);
        object.kind ??= resource.kind;
        object.apiVersion ??= resource.apiVersion;
        events += 1;
        byKind[resource.kind] = (byKind[resource.kind] ?? 0) + 1;
        const line = { at: now(), type: event.type, object };
        writing = writing.then(() => writeLine(options.output, line));
      },
    }),
  );

  const counts = (): string =>
    `${events} events (pods ${byKind['Pod'] ?? 0}, nodes ${byKind['Node'] ?? 0}, deployments ${byKind['Deployment'] ?? 0}, policies ${byKind['AutoRemediationPolicy'] ?? 0})`;
  const elapsed = (): string => formatDuration(Math.floor((now() - startedAt) / 1000) * 1000);
  const total = formatDuration(options.durationMs);

  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, options.durationMs);
    options.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  const ticker = setInterval(
    () => options.progress(`recording: ${elapsed()} of ${total}, ${counts()}`, 'tick'),
    options.tickMs ?? 1_000,
  );
  try {
    await Promise.race([Promise.all(running.map((r) => r.synced)), stopped]);
    if (!options.signal.aborted) {
      options.progress(`recording: listed ${counts()}; watching for changes`, 'synced');
    }
    await stopped;
  } finally {
    clearInterval(ticker);
    await Promise.all(running.map((r) => r.stop()));
  }
  const endedAt = now();
  await writing;
  const footer: RecordingFooter = { end: endedAt, events };
  await writeLine(options.output, footer);
  options.progress(`recording: done after ${elapsed()}, ${counts()}`, 'final');
  return { events, byKind, startedAt, endedAt };
}
