/**
 * Where workload memory is kept: Redis for the agents and the controller (every agent reads and
 * writes the same memory, since a replacement pod often lands on another node), a map for
 * `simulate`. Both apply the rules of rules.ts; a change is a pure function of the memory read.
 */
import type { Redis } from '../adapters/redis.ts';
import { WatchedTransactions } from '../adapters/redis-transactions.ts';
import { MAX_DURATION_MS } from '../machines/policy.ts';
import type { DetectionType } from '../policy/vocabulary.ts';
import { EMPTY_MEMORY, isUnheldVerification, parseMemory, type WorkloadMemory } from './rules.ts';

/** A change of one workload's memory of one symptom, and what it answers. */
export type MemoryChange<T> = (memory: WorkloadMemory) => { memory: WorkloadMemory; result: T };

export interface WorkloadStore {
  /** Applies `change` atomically to the memory of (workload, symptom); returns its result. */
  change<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T>;
  /** Every symptom's memory of a workload. */
  read(workload: string): Promise<Partial<Record<DetectionType, WorkloadMemory>>>;
  /**
   * Verifications nobody holds whose window ended by `now` (oldest first, at most `limit`): the
   * ones that may have to end unverified (rules.ts, `expire`).
   */
  unheld(now: number, limit: number): Promise<UnheldVerification[]>;
  /** Drops an entry of `unheld` whose memory no longer holds such a verification. */
  forgetUnheld(entry: UnheldVerification): Promise<void>;
  close(): Promise<void>;
}

/** Which memory holds a verification nobody holds. */
export interface UnheldVerification {
  workload: string;
  type: DetectionType;
}

/**
 * Longer than any deadline or window a policy can set (all are bounded by MAX_DURATION_MS), so
 * a memory expires only once nothing in it can matter; every write renews it.
 */
const MEMORY_TTL_MS = MAX_DURATION_MS + 24 * 3600_000;

function same(a: WorkloadMemory, b: WorkloadMemory): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * One hash per workload (`<prefix>:workload:{<workload>}`), one field per symptom, and one sorted
 * set (`<prefix>:workload-unheld`) of the verifications nobody holds, scored by their end.
 */
export class RedisWorkloadStore implements WorkloadStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly unheldKey: string;
  private readonly transactions: WatchedTransactions;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:workload`;
    this.unheldKey = `${keyPrefix}:workload-unheld`;
    this.transactions = new WatchedTransactions(redis, 'workload memory');
  }

  key(workload: string): string {
    return `${this.prefix}:{${workload}}`;
  }

  async change<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T> {
    const key = this.key(workload);
    let written: { before: WorkloadMemory; after: WorkloadMemory } | undefined;
    const result = await this.transactions.run([key], async (tx) => {
      written = undefined;
      const before = parseMemory(await tx.hget(key, type));
      const { memory, result } = change(before);
      if (same(before, memory)) return { result };
      return {
        result,
        write: (multi) => {
          written = { before, after: memory };
          multi.hset(key, type, JSON.stringify(memory));
          multi.pexpire(key, MEMORY_TTL_MS);
        },
      };
    });
    // The index is written after the memory, not in its transaction: it lives in another hash
    // slot. A process that dies in between leaves a verification out of it (the memory's TTL
    // still ends it) or a stale entry in it (`forgetUnheld` drops what no longer is one).
    if (written !== undefined) await this.index(workload, type, written.before, written.after);
    return result;
  }

  async unheld(now: number, limit: number): Promise<UnheldVerification[]> {
    const members = await this.redis.zrangebyscore(this.unheldKey, '-inf', now, 'LIMIT', 0, limit);
    return members.flatMap((member) => {
      const at = member.lastIndexOf('|');
      if (at <= 0) return [];
      return [{ workload: member.slice(0, at), type: member.slice(at + 1) as DetectionType }];
    });
  }

  async forgetUnheld(entry: UnheldVerification): Promise<void> {
    await this.redis.zrem(this.unheldKey, `${entry.workload}|${entry.type}`);
  }

  private async index(
    workload: string,
    type: DetectionType,
    before: WorkloadMemory,
    after: WorkloadMemory,
  ): Promise<void> {
    const member = `${workload}|${type}`;
    const incident = after.incident;
    if (incident !== null && isUnheldVerification(incident) && incident.verifyUntil !== null) {
      await this.redis.zadd(this.unheldKey, incident.verifyUntil, member);
    } else if (isUnheldVerification(before.incident)) {
      await this.redis.zrem(this.unheldKey, member);
    }
  }

  async read(workload: string): Promise<Partial<Record<DetectionType, WorkloadMemory>>> {
    const fields = await this.redis.hgetall(this.key(workload));
    const out: Partial<Record<DetectionType, WorkloadMemory>> = {};
    for (const [type, text] of Object.entries(fields))
      out[type as DetectionType] = parseMemory(text);
    return out;
  }

  close(): Promise<void> {
    return this.transactions.close();
  }
}

/** The same memory in a map, for `simulate` and the benchmarks' baseline. */
export class MemoryWorkloadStore implements WorkloadStore {
  private readonly memories = new Map<string, Map<DetectionType, WorkloadMemory>>();

  change<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T> {
    const symptoms = this.memories.get(workload) ?? new Map<DetectionType, WorkloadMemory>();
    const { memory, result } = change(symptoms.get(type) ?? EMPTY_MEMORY);
    symptoms.set(type, memory);
    this.memories.set(workload, symptoms);
    return Promise.resolve(result);
  }

  read(workload: string): Promise<Partial<Record<DetectionType, WorkloadMemory>>> {
    return Promise.resolve(Object.fromEntries(this.memories.get(workload) ?? []));
  }

  unheld(now: number, limit: number): Promise<UnheldVerification[]> {
    const found: (UnheldVerification & { at: number })[] = [];
    for (const [workload, symptoms] of this.memories) {
      for (const [type, memory] of symptoms) {
        const at = memory.incident?.verifyUntil ?? null;
        if (isUnheldVerification(memory.incident) && at !== null && at <= now)
          found.push({ workload, type, at });
      }
    }
    return Promise.resolve(
      found
        .sort((a, b) => a.at - b.at)
        .slice(0, limit)
        .map(({ workload, type }) => ({ workload, type })),
    );
  }

  /** Whether any verification is held by nobody now (what a sweep could end, sooner or later). */
  hasUnheld(): boolean {
    for (const symptoms of this.memories.values())
      for (const memory of symptoms.values())
        if (isUnheldVerification(memory.incident)) return true;
    return false;
  }

  /** Nothing to drop: `unheld` reads the memories themselves. */
  forgetUnheld(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
