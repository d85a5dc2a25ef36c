/**
 * A list-watch that never gives up. client-node's informers stop on any error but 410 and can
 * hang on half-open connections (kubernetes-client/javascript #958, #1933, #2127), so this one:
 * - lists (paginated, with the same selectors as the watch) and watches from the list's version;
 * - re-watches from the last version after a clean close or client-side inactivity timeout
 *   (client-node aborts a watch silent for 30 s, so a hung connection is replaced well within
 *   a minute; bookmarks keep quiet but healthy watches alive);
 * - relists on 410 Gone, and after errors with jittered exponential backoff;
 * - relists periodically anyway, so whatever a watch missed converges.
 * Consumers get level-triggered events: the whole object on every upsert, and a delete for
 * anything that vanished between two lists.
 */
import {
  KubernetesObjectApi,
  Watch,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/index.ts';
import { collectionPath, type ResourceType } from './resource.ts';

export type WatchEvent<T extends KubernetesObject> =
  { type: 'upsert'; object: T } | { type: 'delete'; object: T };

export interface ListWatchOptions<T extends KubernetesObject> {
  resource: ResourceType;
  /** Watch one namespace; all namespaces when undefined. */
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /**
   * Reduces each object as it arrives, before it is kept (to report what a relist no longer
   * finds) or delivered: a cluster-wide watch that needs a few fields keeps only those instead of
   * every object whole. The result must keep `metadata.namespace` and `metadata.name`. Default:
   * the object as it came.
   */
  transform?: (object: KubernetesObject) => T;
  /** Called for every change, one at a time, in order. */
  onEvent: (event: WatchEvent<T>) => void;
  /** Called after each complete list has been delivered. */
  onSynced?: () => void;
  /** Called when the watch restarts; `reason` says why (for logs and metrics). */
  onRestart?: (reason: 'error' | 'gone' | 'closed' | 'relist') => void;
  logger: Logger;
  /** Time between full relists. Default: 5 minutes, ±20% jitter. */
  relistIntervalMs?: number;
  /** First retry delay after an error. Default: 500 ms. */
  initialBackoffMs?: number;
  /** Longest retry delay. Default: 30 s. */
  maxBackoffMs?: number;
  /** Items per list page. Default: 500. */
  pageSize?: number;
  /** Random source for jitter (tests make it deterministic). Default: Math.random. */
  random?: () => number;
}

export interface RunningListWatch {
  /** Resolves once the first list has been delivered. */
  synced: Promise<void>;
  isSynced: () => boolean;
  stop: () => Promise<void>;
}

interface StatusError {
  statusCode?: number;
  code?: number;
  name?: string;
}

function statusOf(error: unknown): number | undefined {
  const e = error as StatusError | undefined;
  return e?.statusCode ?? (typeof e?.code === 'number' ? e.code : undefined);
}

function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export function startListWatch<T extends KubernetesObject>(
  kc: KubeConfig,
  options: ListWatchOptions<T>,
): RunningListWatch {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const watch = new Watch(kc);
  const random = options.random ?? Math.random;
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const relistInterval = options.relistIntervalMs ?? 5 * 60_000;
  const log = options.logger.child({
    watch: options.resource.plural,
    namespace: options.namespace,
  });
  const path = collectionPath(options.resource, options.namespace);
  const transform = options.transform ?? ((object: KubernetesObject) => object as T);

  /** What the consumer has been told exists: key → the last object delivered. */
  let known = new Map<string, T>();
  let resourceVersion = '';
  let stopped = false;
  let failures = 0;
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;
  let relistDue = 0;
  let syncedOnce = false;
  let resolveSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (resolveSynced = resolve));

  const jittered = (ms: number, spread: number): number =>
    ms * (1 - spread + 2 * spread * random());
  const scheduleRelist = (): void => {
    relistDue = Date.now() + jittered(relistInterval, 0.2);
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function list(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let version = '';
    do {
      const page = await objects.list<KubernetesObject>(
        options.resource.apiVersion,
        options.resource.kind,
        options.namespace,
        undefined,
        undefined,
        undefined,
        options.fieldSelector,
        options.labelSelector,
        options.pageSize ?? 500,
        continueToken,
      );
      for (const item of page.items) {
        // Items of a list carry no kind; give them theirs so consumers see whole objects.
        item.apiVersion ??= options.resource.apiVersion;
        item.kind ??= options.resource.kind;
        fresh.set(keyOf(item), transform(item));
      }
      continueToken = page.metadata?._continue || undefined;
      version = page.metadata?.resourceVersion ?? version;
    } while (continueToken !== undefined && !stopped);
    if (stopped) return;
    for (const [key, object] of known) {
      if (!fresh.has(key)) options.onEvent({ type: 'delete', object });
    }
    for (const object of fresh.values()) options.onEvent({ type: 'upsert', object });
    known = fresh;
    resourceVersion = version;
    scheduleRelist();
    if (!syncedOnce) {
      syncedOnce = true;
      resolveSynced();
    }
    options.onSynced?.();
  }

  /** Watches until the stream ends; resolves with why it ended. */
  function watchOnce(): Promise<'closed' | 'gone' | 'relist' | { error: unknown }> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: 'closed' | 'gone' | 'relist' | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(relistTimer);
        abort?.abort();
        resolve(outcome);
      };
      const relistTimer = setTimeout(() => finish('relist'), Math.max(0, relistDue - Date.now()));
      const query: Record<string, string | boolean> = {
        resourceVersion,
        allowWatchBookmarks: true,
      };
      if (options.fieldSelector !== undefined) query['fieldSelector'] = options.fieldSelector;
      if (options.labelSelector !== undefined) query['labelSelector'] = options.labelSelector;
      watch
        .watch(
          path,
          query,
          (phase: string, object: KubernetesObject & { code?: number }) => {
            if (phase === 'ERROR') {
              finish(object.code === 410 ? 'gone' : { error: object });
              return;
            }
            const version = object.metadata?.resourceVersion;
            if (version) resourceVersion = version;
            if (phase === 'BOOKMARK') return;
            failures = 0;
            object.apiVersion ??= options.resource.apiVersion;
            object.kind ??= options.resource.kind;
            const kept = transform(object);
            if (phase === 'DELETED') {
              known.delete(keyOf(kept));
              options.onEvent({ type: 'delete', object: kept });
            } else {
              known.set(keyOf(kept), kept);
              options.onEvent({ type: 'upsert', object: kept });
            }
          },
          (error: unknown) => {
            if (error === null || error === undefined) finish('closed');
            else if (statusOf(error) === 410) finish('gone');
            else if ((error as StatusError).name === 'TimeoutError') finish('closed');
            else finish({ error });
          },
        )
        .then(
          (controller) => {
            abort = controller;
            if (settled || stopped) controller.abort();
          },
          (error: unknown) => finish({ error }),
        );
    });
  }

  async function loop(): Promise<void> {
    let needList = true;
    while (!stopped) {
      try {
        if (needList) {
          await list();
          needList = false;
        }
        if (stopped) break;
        const outcome = await watchOnce();
        if (stopped) break;
        if (outcome === 'closed') continue;
        needList = true;
        if (outcome === 'gone' || outcome === 'relist') {
          options.onRestart?.(outcome);
          continue;
        }
        throw outcome.error;
      } catch (error) {
        if (stopped) break;
        failures += 1;
        needList = true;
        // Full jitter: spread the reconnects of many agents after an API server restart.
        const delay = random() * Math.min(maxBackoff, initialBackoff * 2 ** (failures - 1));
        log.warn(
          { err: error, status: statusOf(error), retryInMs: Math.round(delay), failures },
          'list-watch failed; retrying',
        );
        options.onRestart?.('error');
        await sleep(delay);
      }
    }
  }

  const running = loop();
  return {
    synced,
    isSynced: () => syncedOnce,
    stop: async () => {
      stopped = true;
      abort?.abort();
      wake?.();
      await running;
    },
  };
}
