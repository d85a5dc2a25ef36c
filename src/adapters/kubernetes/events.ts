/**
 * Kubernetes Events on the objects kube-remedy decides about, so `kubectl describe pod` tells
 * the story. Like client-go's event correlator, a repeat of the same reason and message on the
 * same object within the aggregation window bumps the existing Event's count instead of
 * creating another, and a per-object token bucket caps the writes, so a storm of decisions
 * cannot flood the API server. Recording is best effort: failures are logged, never thrown.
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/index.ts';
import { isNotFound } from './errors.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  /** Cluster-scoped objects (nodes) get their Events in `default`, as the kubelet does. */
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. `CrashLoopDetected`, `RemediationStarted`. */
  reason: string;
  message: string;
  /** What kube-remedy did or would do, e.g. `RestartPod`. */
  action?: string;
}

export interface EventRecorderOptions {
  /** e.g. `kube-remedy-agent`; shown as the Event's source. */
  component: string;
  /** This process's identity (pod name). */
  instance: string;
  logger: Logger;
  /** Repeats within this window are aggregated. Default: 10 minutes. */
  aggregationWindowMs?: number;
  /** Writes allowed at once per object. Default: 25. */
  burst?: number;
  /** One more write allowed per this interval per object. Default: 30 s. */
  refillMs?: number;
  now?: () => number;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Series {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: Date;
  lastSeen: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, Bucket>();
  private queue: Promise<void> = Promise.resolve();
  private readonly options: Required<Omit<EventRecorderOptions, 'logger'>> & { logger: Logger };
  /** Events not written because an object's bucket was empty. */
  dropped = 0;

  constructor(kc: KubeConfig, options: EventRecorderOptions) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.options = {
      aggregationWindowMs: 10 * 60_000,
      burst: 25,
      refillMs: 30_000,
      now: Date.now,
      ...options,
    };
  }

  /** Queues an Event; resolves when it has been written, aggregated or dropped. */
  record(target: EventTarget, event: RecordedEvent): Promise<void> {
    this.queue = this.queue.then(() => this.write(target, event));
    return this.queue;
  }

  private take(objectKey: string, now: number): boolean {
    const { burst, refillMs } = this.options;
    const bucket = this.buckets.get(objectKey) ?? { tokens: burst, updatedAt: now };
    const refilled = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) / refillMs);
    const allowed = refilled >= 1;
    this.buckets.set(objectKey, { tokens: allowed ? refilled - 1 : refilled, updatedAt: now });
    return allowed;
  }

  private async write(target: EventTarget, event: RecordedEvent): Promise<void> {
    const now = this.options.now();
    const namespace = target.namespace ?? 'default';
    const objectKey = `${target.kind}/${namespace}/${target.name}/${target.uid ?? ''}`;
    const seriesKey = `${objectKey}/${event.type}/${event.reason}/${event.message}`;
    if (!this.take(objectKey, now)) {
      this.dropped += 1;
      return;
    }
    try {
      const existing = this.series.get(seriesKey);
      if (existing && now - existing.lastSeen < this.options.aggregationWindowMs) {
        existing.count += 1;
        existing.lastSeen = now;
        try {
          await this.api.patchNamespacedEvent(
            {
              name: existing.name,
              namespace: existing.namespace,
              body: { count: existing.count, lastTimestamp: new Date(now) },
            },
            MERGE_PATCH,
          );
          return;
        } catch (error) {
          // The Event expired (TTL) or was deleted: start a new series below.
          if (!isNotFound(error)) throw error;
        }
      }
      const created = await this.api.createNamespacedEvent({
        namespace,
        body: this.build(target, event, now),
      });
      this.series.set(seriesKey, {
        name: created.metadata?.name ?? '',
        namespace,
        count: 1,
        firstTimestamp: new Date(now),
        lastSeen: now,
      });
      this.prune(now);
    } catch (error) {
      this.options.logger.warn(
        { err: error, reason: event.reason, object: objectKey },
        'could not record event',
      );
    }
  }

  private build(target: EventTarget, event: RecordedEvent, now: number): CoreV1Event {
    const at = new Date(now);
    const namespace = target.namespace ?? 'default';
    return {
      metadata: {
        name: `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`,
        namespace,
      },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.name,
        ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
        ...(target.uid === undefined ? {} : { uid: target.uid }),
        ...(target.resourceVersion === undefined
          ? {}
          : { resourceVersion: target.resourceVersion }),
      },
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      ...(event.action === undefined ? {} : { action: event.action }),
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: this.options.component },
      reportingComponent: `kube-remedy.io/${this.options.component}`,
      reportingInstance: this.options.instance,
    };
  }

  /** Keeps the aggregation memory bounded by forgetting series older than the window. */
  private prune(now: number): void {
    if (this.series.size < 10_000) return;
    for (const [key, s] of this.series) {
      if (now - s.lastSeen >= this.options.aggregationWindowMs) this.series.delete(key);
    }
    for (const [key, b] of this.buckets) {
      if (now - b.updatedAt >= this.options.refillMs * this.options.burst) this.buckets.delete(key);
    }
  }
}
