/**
 * What the storm breaker keeps in Redis, so that every agent and the controller see one storm:
 * - each reporter's count of a policy's targets and unhealthy targets, summed atomically with
 *   the others' (a reporter silent for longer than the staleness bound drops out);
 * - the open storm of a policy, named by its start and created with SET NX, so that however many
 *   reporters see it at once, all of them agree on which storm it is and escalate it once.
 * The decision itself is pure (storm.ts).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from '../adapters/redis.ts';
import type { StormTally } from './storm.ts';

const TALLY = readFileSync(new URL('./tally.lua', import.meta.url), 'utf8');
const OPEN_STORM = readFileSync(new URL('./open-storm.lua', import.meta.url), 'utf8');

export interface SummedTally extends StormTally {
  /** How many reporters (agents, the controller) the sum is over. */
  reporters: number;
}

export interface OpenStorm {
  /** When the storm started, ms since the epoch: with the policy, the storm's identity. */
  startedAt: number;
  /** Whether this call opened it (the caller is the first to see it). */
  opened: boolean;
}

export class Storms {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:storm`;
  }

  private tallyKey(policy: string): string {
    return `${this.prefix}:tally:${policy}`;
  }

  private stormKey(policy: string): string {
    return `${this.prefix}:open:${policy}`;
  }

  /**
   * Records this reporter's tally of `policy` (`namespace/name`) and returns the sum over every
   * reporter heard from within `staleMs`. A tally without targets removes the reporter.
   */
  async report(
    policy: string,
    reporter: string,
    tally: StormTally,
    staleMs: number,
  ): Promise<SummedTally> {
    const [targets, unhealthy, reporters] = (await this.redis.eval(
      TALLY,
      1,
      this.tallyKey(policy),
      reporter,
      String(tally.targets),
      String(tally.unhealthy),
      String(staleMs),
    )) as [number, number, number];
    return { targets, unhealthy, reporters };
  }

  /** Removes this reporter's tallies (it stops, or lost the lease). */
  async forget(policies: Iterable<string>, reporter: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const policy of policies) pipeline.hdel(this.tallyKey(policy), reporter);
    await pipeline.exec();
  }

  /**
   * Opens the storm of `policy` starting `now`, unless one is open: then it is kept open for
   * `quietMs` more and its start returned. Every caller gets the same start.
   */
  async open(policy: string, now: number, quietMs: number): Promise<OpenStorm> {
    const [opened, startedAt] = (await this.redis.eval(
      OPEN_STORM,
      1,
      this.stormKey(policy),
      String(now),
      String(quietMs),
    )) as [number, string];
    return { opened: opened === 1, startedAt: Number(startedAt) };
  }

  /** The start of the open storm of `policy`, or null. */
  async openSince(policy: string): Promise<number | null> {
    const value = await this.redis.get(this.stormKey(policy));
    return value === null ? null : Number(value);
  }
}
