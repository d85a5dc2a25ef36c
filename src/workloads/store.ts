/**
 * Where workload memory is kept: Redis for the agents and the controller (every agent reads and
 * writes the same memory, since a replacement pod often lands on another node), a map for
 * `simulate`. Both apply the rules of rules.ts; a change is a pure function of the memory read.
 */
import type { Redis } from '../adapters/redis.ts';
import { WatchedTransactions } from '../adapters/redis-transactions.ts';
import { MAX_DURATION_MS } from '../machines/policy.ts';
import type { DetectionType } from '../policy/vocabulary.ts';
import { EMPTY_MEMORY, parseMemory, type WorkloadMemory } from './rules.ts';

/** A change of one workload's memory of one symptom, and what it answers. */
export type MemoryChange<T> = (memory: WorkloadMemory) => { memory: WorkloadMemory; result: T };

export interface WorkloadStore {
  /** Applies `change` atomically to the memory of (workload, symptom); returns its result. */
  change<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T>;
  /** Every symptom's memory of a workload. */
  read(workload: string): Promise<Partial<Record<DetectionType, WorkloadMemory>>>;
  close(): Promise<void>;
}

/**
 * Longer than any deadline or window a policy can set (all are bounded by MAX_DURATION_MS), so
 * a memory expires only once nothing in it can matter; every write renews it.
 */
const MEMORY_TTL_MS = MAX_DURATION_MS + 24 * 3600_000;

function same(a: WorkloadMemory, b: WorkloadMemory): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One hash per workload (`<prefix>:workload:{<workload>}`), one field per symptom. */
export class RedisWorkloadStore implements WorkloadStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly transactions: WatchedTransactions;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:workload`;
    this.transactions = new WatchedTransactions(redis, 'workload memory');
  }

  key(workload: string): string {
    return `${this.prefix}:{${workload}}`;
  }

  change<T>(workload: string, type: DetectionType, change: MemoryChange<T>): Promise<T> {
    const key = this.key(workload);
    return this.transactions.run([key], async (tx) => {
      const before = parseMemory(await tx.hget(key, type));
      const { memory, result } = change(before);
      if (same(before, memory)) return { result };
      return {
        result,
        write: (multi) => {
          multi.hset(key, type, JSON.stringify(memory));
          multi.pexpire(key, MEMORY_TTL_MS);
        },
      };
    });
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

  close(): Promise<void> {
    return Promise.resolve();
  }
}
