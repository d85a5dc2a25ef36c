/**
 * Actor snapshots in Redis, one hash per owner (`<prefix>:snapshots:<owner>`, field = actor
 * key), so an agent restores exactly its node's actors with one HSCAN.
 *
 * Writes are coalesced: every `save` in the same turn of the event loop goes out in one
 * pipeline, and only the latest snapshot of an actor is written. `save` resolves once its
 * snapshot is in Redis, so callers can persist first and enqueue effects after, as the incident
 * flow requires. Each record carries the machine's version; a record of another version is
 * dropped on load (with a reason) instead of being forced into a machine it does not fit.
 */
import type { Redis } from '../adapters/redis.ts';

export interface StoredSnapshot {
  /** Machine id and version that wrote it, e.g. `pod@3`. */
  machine: string;
  snapshot: unknown;
  /** When it was written, ms since the epoch. */
  savedAt: number;
}

export interface LoadResult {
  snapshots: Map<string, StoredSnapshot>;
  /** Actor keys whose records were unreadable or of another machine version, with why. */
  dropped: { key: string; reason: string }[];
}

/** What the actor host needs of a store: Redis in production, memory in `simulate`. */
export interface ActorSnapshotStore {
  save(actorKey: string, machine: string, snapshot: unknown, now?: number): Promise<void>;
  remove(actorKey: string): Promise<void>;
  flush(): Promise<void>;
  load(expectedMachines: ReadonlySet<string>): Promise<LoadResult>;
  /**
   * The same records as `load`, a page at a time, so a caller can restore one page before the
   * next is read. A record may come twice (as HSCAN may return it twice); callers skip repeats.
   */
  loadPages(expectedMachines: ReadonlySet<string>, pageSize?: number): AsyncIterable<LoadResult>;
}

/** Records per page of `loadPages` by default: a few MB of JSON. */
export const DEFAULT_PAGE_SIZE = 1_000;

/** Snapshots kept in memory, for `simulate` and anything else that runs without Redis. */
export class MemorySnapshotStore implements ActorSnapshotStore {
  private readonly records = new Map<string, StoredSnapshot>();

  save(
    actorKey: string,
    machine: string,
    snapshot: unknown,
    now: number = Date.now(),
  ): Promise<void> {
    // A JSON round trip, as Redis would do, so a restored actor never shares objects with the old one.
    this.records.set(
      actorKey,
      JSON.parse(JSON.stringify({ machine, snapshot, savedAt: now })) as StoredSnapshot,
    );
    return Promise.resolve();
  }

  remove(actorKey: string): Promise<void> {
    this.records.delete(actorKey);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  async *loadPages(expectedMachines: ReadonlySet<string>): AsyncIterable<LoadResult> {
    yield await this.load(expectedMachines);
  }

  load(expectedMachines: ReadonlySet<string>): Promise<LoadResult> {
    const snapshots = new Map<string, StoredSnapshot>();
    const dropped: LoadResult['dropped'] = [];
    for (const [key, record] of this.records) {
      if (expectedMachines.has(record.machine)) snapshots.set(key, record);
      else
        dropped.push({
          key,
          reason: `written by machine ${record.machine}, which this version does not run`,
        });
    }
    return Promise.resolve({ snapshots, dropped });
  }
}

export interface SnapshotStoreOptions {
  redis: Redis;
  keyPrefix: string;
  /** Whose actors these are: `agent-<node>` or `controller`. No `:` in it. */
  owner: string;
}

interface Pending {
  record: string | null;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

export class SnapshotStore implements ActorSnapshotStore {
  readonly key: string;
  private readonly redis: Redis;
  private pending = new Map<string, Pending>();
  private scheduled = false;
  /** Batches sent and not yet answered. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Snapshot writes done (pipelined fields), for metrics. */
  writes = 0;

  constructor(options: SnapshotStoreOptions) {
    this.redis = options.redis;
    this.key = `${options.keyPrefix}:snapshots:${options.owner}`;
  }

  /** Persists an actor's snapshot; resolves when it is in Redis. */
  save(
    actorKey: string,
    machine: string,
    snapshot: unknown,
    now: number = Date.now(),
  ): Promise<void> {
    const record: StoredSnapshot = { machine, snapshot, savedAt: now };
    return this.enqueue(actorKey, JSON.stringify(record));
  }

  /** Forgets an actor (its object was deleted or no policy selects it any more). */
  remove(actorKey: string): Promise<void> {
    return this.enqueue(actorKey, null);
  }

  /** Waits for every write requested so far. */
  async flush(): Promise<void> {
    if (this.pending.size > 0) void this.write();
    await Promise.all(this.inFlight);
  }

  async load(expectedMachines: ReadonlySet<string>): Promise<LoadResult> {
    const snapshots = new Map<string, StoredSnapshot>();
    const dropped: LoadResult['dropped'] = [];
    for await (const page of this.loadPages(expectedMachines)) {
      for (const [key, record] of page.snapshots) snapshots.set(key, record);
      dropped.push(...page.dropped);
    }
    return { snapshots, dropped };
  }

  async *loadPages(
    expectedMachines: ReadonlySet<string>,
    pageSize: number = DEFAULT_PAGE_SIZE,
  ): AsyncIterable<LoadResult> {
    await this.flush();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.key, cursor, 'COUNT', pageSize);
      const snapshots = new Map<string, StoredSnapshot>();
      const dropped: LoadResult['dropped'] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const key = flat[i] as string;
        const text = flat[i + 1] as string;
        let record: StoredSnapshot;
        try {
          record = JSON.parse(text) as StoredSnapshot;
        } catch {
          dropped.push({ key, reason: 'unreadable record' });
          continue;
        }
        if (!expectedMachines.has(record.machine)) {
          dropped.push({
            key,
            reason: `written by machine ${record.machine}, which this version does not run`,
          });
          continue;
        }
        snapshots.set(key, record);
      }
      // Deleting fields during an HSCAN is safe: it never skips fields that stay.
      if (dropped.length > 0) await this.redis.hdel(this.key, ...dropped.map((d) => d.key));
      cursor = next;
      yield { snapshots, dropped };
    } while (cursor !== '0');
  }

  private enqueue(actorKey: string, record: string | null): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.pending.get(actorKey);
      if (entry) {
        entry.record = record;
        entry.waiters.push({ resolve, reject });
      } else {
        this.pending.set(actorKey, { record, waiters: [{ resolve, reject }] });
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.write());
      }
    });
  }

  private write(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.size === 0) return;
    this.pending = new Map();
    // A batch goes out at once, without waiting for the answer to the one before: both travel
    // on the same connection, which Redis executes in order, so an older batch can never
    // overwrite a newer one. (And an actor never has two saves out at once: the host waits for
    // one before the next.) Waiting would add a round trip to every decision made meanwhile.
    const sent = (async () => {
      const pipeline = this.redis.pipeline();
      const sets: string[] = [];
      const deletes: string[] = [];
      for (const [key, { record }] of batch) {
        if (record === null) deletes.push(key);
        else sets.push(key, record);
      }
      if (sets.length > 0) pipeline.hset(this.key, ...sets);
      if (deletes.length > 0) pipeline.hdel(this.key, ...deletes);
      try {
        const results = (await pipeline.exec()) ?? [];
        const failure = results.find(([error]) => error !== null)?.[0];
        if (failure) throw failure;
        this.writes += batch.size;
        for (const { waiters } of batch.values()) for (const w of waiters) w.resolve();
      } catch (error) {
        const wrapped = new Error(
          `could not persist ${batch.size} actor snapshot(s) to ${this.key}`,
          { cause: error },
        );
        for (const { waiters } of batch.values()) for (const w of waiters) w.reject(wrapped);
      }
    })();
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}
