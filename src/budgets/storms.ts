/**
 * What the storm breaker keeps, so that every agent and the controller see one storm:
 * - each reporter's report of a policy's targets (which workloads and nodes it has actors of, and
 *   whether each is unhealthy there), summed with the others' by the pure rule of storm.ts, so a
 *   workload whose pods run under several agents counts once (a reporter silent for longer than
 *   the staleness bound drops out);
 * - the open storm of a policy, named by its start and created once, so that however many
 *   reporters see it at once, all of them agree on which storm it is and escalate it once.
 * Two stores keep them: Redis for the runtimes (`Storms`, one script per step, stamped with
 * Redis' clock) and memory (`MemoryStorms`, on the caller's clock). The decision itself is pure
 * (storm.ts).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from '../adapters/redis.ts';
import type { StormFact } from '../machines/index.ts';
import { sumReports, type StormReport, type StormTally } from './storm.ts';

/** The fact a policy's actors hold while the cooldown after its storm runs. */
export type CoolingStorm = StormFact & { resumesAt: number };

/** A cooling storm as stored, or null when the text is not one (or its cooldown is over). */
function coolingOf(text: string | null | undefined, now: number): CoolingStorm | null {
  if (text === null || text === undefined) return null;
  try {
    const v = JSON.parse(text) as Partial<Record<keyof CoolingStorm, unknown>>;
    const { unhealthy, targets, maxUnhealthyPercent, resumesAt } = v;
    if (
      typeof unhealthy !== 'number' ||
      typeof targets !== 'number' ||
      typeof maxUnhealthyPercent !== 'number' ||
      typeof resumesAt !== 'number' ||
      resumesAt <= now
    )
      return null;
    const count = typeof v.maxUnhealthy === 'number' ? { maxUnhealthy: v.maxUnhealthy } : {};
    return { unhealthy, targets, maxUnhealthyPercent, ...count, resumesAt };
  } catch {
    return null;
  }
}

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

export interface StormStore {
  /**
   * Records this reporter's report of `policy` (`namespace/name`) and returns the tally over
   * every reporter heard from within `staleMs`. An empty report removes the reporter.
   */
  report(
    policy: string,
    reporter: string,
    report: StormReport,
    staleMs: number,
  ): Promise<SummedTally>;
  /** Removes this reporter's reports (it stops, or lost the lease). */
  forget(policies: Iterable<string>, reporter: string): Promise<void>;
  /**
   * Opens the storm of `policy` starting `now`, unless one is open: then it is kept open for
   * `quietMs` more and its start returned. Every caller gets the same start.
   */
  open(policy: string, now: number, quietMs: number): Promise<OpenStorm>;
  /** The start of the open storm of `policy`, or null. */
  openSince(policy: string): Promise<number | null>;
  /**
   * The storm of `policy` is over and `fact` says when its automation resumes (`resumesAt`),
   * unless another runtime said so first: every caller gets the first one's fact back. It is
   * kept until then, so a runtime that starts meanwhile holds too.
   */
  cooldown(policy: string, fact: CoolingStorm, now: number): Promise<CoolingStorm>;
  /** The cooldown after the last storm of `policy` while it runs, or null. */
  cooldownOf(policy: string, now: number): Promise<CoolingStorm | null>;
  /** A new storm ends the cooldown of the last one (it holds in its own right). */
  endCooldown(policy: string): Promise<void>;
}

/** A report as Redis keeps it: one `<1|0> <target>` line per target, in order. */
export function encodeReport(report: StormReport): string {
  return [...report.keys()]
    .sort()
    .map((target) => `${report.get(target) === true ? 1 : 0} ${target}`)
    .join('\n');
}

/** The report of `encodeReport`; lines it cannot read are left out. */
export function decodeReport(text: string): StormReport {
  const report = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const flag = line[0];
    const target = line.slice(2);
    if ((flag === '1' || flag === '0') && line[1] === ' ' && target !== '') {
      report.set(target, (report.get(target) ?? false) || flag === '1');
    }
  }
  return report;
}

/** The storm breaker's keys in Redis: a hash of reports and a key per open storm, per policy. */
export class Storms implements StormStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = `${keyPrefix}:storm`;
  }

  private tallyKey(policy: string): string {
    return `${this.prefix}:targets:${policy}`;
  }

  private stormKey(policy: string): string {
    return `${this.prefix}:open:${policy}`;
  }

  private cooldownKey(policy: string): string {
    return `${this.prefix}:cooldown:${policy}`;
  }

  async report(
    policy: string,
    reporter: string,
    report: StormReport,
    staleMs: number,
  ): Promise<SummedTally> {
    const live = (await this.redis.eval(
      TALLY,
      1,
      this.tallyKey(policy),
      reporter,
      encodeReport(report),
      String(staleMs),
    )) as string[];
    // Each comes back behind the line of its stamp.
    const reports = live.map((kept) => decodeReport(kept.slice(kept.indexOf('\n') + 1)));
    return { ...sumReports(reports), reporters: live.length };
  }

  async forget(policies: Iterable<string>, reporter: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const policy of policies) pipeline.hdel(this.tallyKey(policy), reporter);
    await pipeline.exec();
  }

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

  async openSince(policy: string): Promise<number | null> {
    const value = await this.redis.get(this.stormKey(policy));
    return value === null ? null : Number(value);
  }

  async cooldown(policy: string, fact: CoolingStorm, now: number): Promise<CoolingStorm> {
    const key = this.cooldownKey(policy);
    const ttl = Math.max(1, fact.resumesAt - now);
    // The first runtime to see the storm end names the time; the others read it back.
    const set = await this.redis.set(key, JSON.stringify(fact), 'PX', ttl, 'NX');
    if (set === 'OK') return fact;
    return coolingOf(await this.redis.get(key), now) ?? fact;
  }

  async cooldownOf(policy: string, now: number): Promise<CoolingStorm | null> {
    return coolingOf(await this.redis.get(this.cooldownKey(policy)), now);
  }

  async endCooldown(policy: string): Promise<void> {
    await this.redis.del(this.cooldownKey(policy));
  }
}

/** The same keeping in memory, on the caller's clock: reports and open storms in maps. */
export class MemoryStorms implements StormStore {
  private readonly now: () => number;
  /** Policy → reporter → its latest report and when it came. */
  private readonly reports = new Map<string, Map<string, { at: number; report: StormReport }>>();
  /** Policy → its open storm and until when it stays open. */
  private readonly storms = new Map<string, { startedAt: number; until: number }>();
  /** Policy → the cooldown after its last storm. */
  private readonly cooldowns = new Map<string, CoolingStorm>();

  constructor(now: () => number) {
    this.now = now;
  }

  report(
    policy: string,
    reporter: string,
    report: StormReport,
    staleMs: number,
  ): Promise<SummedTally> {
    const now = this.now();
    const reporters =
      this.reports.get(policy) ?? new Map<string, { at: number; report: StormReport }>();
    if (report.size > 0) reporters.set(reporter, { at: now, report: new Map(report) });
    else reporters.delete(reporter);
    for (const [name, kept] of reporters) if (now - kept.at > staleMs) reporters.delete(name);
    if (reporters.size > 0) this.reports.set(policy, reporters);
    else this.reports.delete(policy);
    const live = [...reporters.values()].map((kept) => kept.report);
    return Promise.resolve({ ...sumReports(live), reporters: live.length });
  }

  forget(policies: Iterable<string>, reporter: string): Promise<void> {
    for (const policy of policies) this.reports.get(policy)?.delete(reporter);
    return Promise.resolve();
  }

  open(policy: string, now: number, quietMs: number): Promise<OpenStorm> {
    const until = this.now() + quietMs;
    const open = this.storms.get(policy);
    if (open !== undefined && open.until > this.now()) {
      open.until = until;
      return Promise.resolve({ opened: false, startedAt: open.startedAt });
    }
    this.storms.set(policy, { startedAt: now, until });
    return Promise.resolve({ opened: true, startedAt: now });
  }

  openSince(policy: string): Promise<number | null> {
    const open = this.storms.get(policy);
    return Promise.resolve(open !== undefined && open.until > this.now() ? open.startedAt : null);
  }

  cooldown(policy: string, fact: CoolingStorm, now: number): Promise<CoolingStorm> {
    const kept = this.cooldowns.get(policy);
    if (kept !== undefined && kept.resumesAt > now) return Promise.resolve(kept);
    this.cooldowns.set(policy, fact);
    return Promise.resolve(fact);
  }

  cooldownOf(policy: string, now: number): Promise<CoolingStorm | null> {
    const kept = this.cooldowns.get(policy);
    return Promise.resolve(kept !== undefined && kept.resumesAt > now ? kept : null);
  }

  endCooldown(policy: string): Promise<void> {
    this.cooldowns.delete(policy);
    return Promise.resolve();
  }
}
