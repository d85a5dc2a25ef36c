/**
 * What ChatOps keeps in Redis, under `<prefix>:slack:`: the thread of each incident (Slack's
 * channel and ts, so a restart keeps threading), the incident references buttons name, what each
 * job already posted (so a rerun posts nothing twice), interactions already seen (so a replayed
 * click does nothing), and a lock per thread so concurrent jobs never open two threads.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from '../adapters/redis.ts';
import type { SlackMessageRef } from '../adapters/slack/client.ts';
import type { Subject, Suggestion, ThreadView } from './model.ts';

const DAY_S = 24 * 3600;
/** Threads, references and group pointers outlive any incident a person would still act on. */
const RECORD_TTL_S = 30 * DAY_S;
/** What a job posted: longer than BullMQ keeps a finished job (a day), so a rerun finds it. */
const POSTED_TTL_S = 7 * DAY_S;
/** Seen interactions: far longer than the 5 minutes a signed request stays fresh. */
const SEEN_TTL_S = DAY_S;

function h(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The lock could not be taken in time: another worker holds the thread. */
export class ThreadBusyError extends Error {
  constructor(key: string) {
    super(`another worker is updating the thread of ${key}`);
    this.name = 'ThreadBusyError';
  }
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface GroupRecord {
  threadKey: string;
  /** Incident ids of the group's open incidents. */
  open: string[];
}

export class ChatOpsStore {
  private readonly redis: Redis;
  private readonly base: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.base = `${keyPrefix}:slack`;
  }

  private key(kind: string, id: string): string {
    return `${this.base}:${kind}:${id}`;
  }

  private async getJson<T>(key: string): Promise<T | null> {
    const text = await this.redis.get(key);
    return text === null ? null : (JSON.parse(text) as T);
  }

  private async setJson(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, JSON.stringify(value), 'EX', ttlSeconds);
  }

  thread(threadKey: string): Promise<ThreadView | null> {
    return this.getJson<ThreadView>(this.key('thread', h(threadKey)));
  }

  saveThread(view: ThreadView): Promise<void> {
    return this.setJson(this.key('thread', h(view.threadKey)), view, RECORD_TTL_S);
  }

  /** The thread an incident was posted in. */
  threadOf(incidentId: string): Promise<string | null> {
    return this.redis.get(this.key('incident', h(incidentId)));
  }

  async setThreadOf(incidentId: string, threadKey: string): Promise<void> {
    await this.redis.set(this.key('incident', h(incidentId)), threadKey, 'EX', RECORD_TTL_S);
  }

  group(group: string): Promise<GroupRecord | null> {
    return this.getJson<GroupRecord>(this.key('group', h(group)));
  }

  async saveGroup(group: string, record: GroupRecord | null): Promise<void> {
    if (record === null || record.open.length === 0) {
      await this.redis.del(this.key('group', h(group)));
    } else {
      await this.setJson(this.key('group', h(group)), record, RECORD_TTL_S);
    }
  }

  subject(ref: string): Promise<Subject | null> {
    return this.getJson<Subject>(this.key('subject', ref));
  }

  async saveSubject(subject: Subject): Promise<void> {
    await this.redis
      .multi()
      .set(this.key('subject', subject.ref), JSON.stringify(subject), 'EX', RECORD_TTL_S)
      .set(this.key('latest', h(subject.actorKey)), subject.ref, 'EX', RECORD_TTL_S)
      .exec();
  }

  /** The reference of the latest incident of an actor that Slack was told about. */
  latestRef(actorKey: string): Promise<string | null> {
    return this.redis.get(this.key('latest', h(actorKey)));
  }

  posted(jobId: string, part: string): Promise<SlackMessageRef | null> {
    return this.getJson<SlackMessageRef>(this.key('posted', `${jobId}:${part}`));
  }

  setPosted(jobId: string, part: string, message: SlackMessageRef): Promise<void> {
    return this.setJson(this.key('posted', `${jobId}:${part}`), message, POSTED_TTL_S);
  }

  /** True the first time an interaction is seen, false for every repeat (SET NX). */
  async firstSighting(interaction: string): Promise<boolean> {
    const set = await this.redis.set(this.key('seen', h(interaction)), '1', 'EX', SEEN_TTL_S, 'NX');
    return set === 'OK';
  }

  suggestion(jobId: string): Promise<Suggestion | null> {
    return this.getJson<Suggestion>(this.key('suggestion', jobId));
  }

  setSuggestion(jobId: string, suggestion: Suggestion): Promise<void> {
    return this.setJson(this.key('suggestion', jobId), suggestion, POSTED_TTL_S);
  }

  /**
   * Runs `work` holding the lock of one thread. The lock expires on its own after `leaseMs`, so a
   * crashed worker cannot hold it forever.
   * @throws ThreadBusyError when it cannot be taken within `waitMs`.
   */
  async withLock<T>(
    key: string,
    work: () => Promise<T>,
    options: { leaseMs?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const lockKey = this.key('lock', h(key));
    const token = randomUUID();
    const deadline = Date.now() + (options.waitMs ?? 10_000);
    let pause = 20;
    for (;;) {
      options.signal?.throwIfAborted();
      const taken = await this.redis.set(lockKey, token, 'PX', options.leaseMs ?? 30_000, 'NX');
      if (taken === 'OK') break;
      if (Date.now() > deadline) throw new ThreadBusyError(key);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 250);
    }
    try {
      return await work();
    } finally {
      await this.redis.eval(RELEASE, 1, lockKey, token);
    }
  }
}
