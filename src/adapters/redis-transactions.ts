/**
 * Optimistic transactions on Redis: WATCH the keys, read, decide in TypeScript, then MULTI/EXEC
 * the writes unless a watched key changed meanwhile (then all of it again). The rules stay pure
 * functions that `simulate` applies to maps, instead of Lua scripts only Redis can run. WATCH
 * belongs to a connection, so transactions run one at a time on a connection of their own, and
 * one that saw a reconnect starts again (ioredis restores only the database and subscriptions).
 */
import type { Redis } from './redis.ts';

export type Multi = ReturnType<Redis['multi']>;

export interface Decided<T> {
  result: T;
  /** The writes, or nothing when the decision changes nothing. */
  write?: (multi: Multi) => void;
}

export class WatchedTransactions {
  private readonly redis: Redis;
  /** What the transactions are about, for the error when they keep losing ("budget keys"). */
  private readonly what: string;
  private readonly maxAttempts: number;
  /** The connection WATCH runs on, opened on the first transaction. */
  private tx: Redis | undefined;
  /** Transactions queued on that connection, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Times that connection became ready: a transaction that saw a reconnect starts again. */
  private connects = 0;
  private closed = false;

  constructor(redis: Redis, what: string, maxAttempts = 50) {
    this.redis = redis;
    this.what = what;
    this.maxAttempts = maxAttempts;
  }

  /** Runs `decide` over the watched `keys` and stores its writes atomically; returns its result. */
  run<T>(keys: readonly string[], decide: (tx: Redis) => Promise<Decided<T>>): Promise<T> {
    return this.exclusive(async (tx) => {
      for (let attempt = 1; ; attempt += 1) {
        const epoch = this.connects;
        await tx.watch(...keys);
        let decided: Decided<T>;
        try {
          decided = await decide(tx);
        } catch (error) {
          await tx.unwatch();
          throw error;
        }
        if (decided.write === undefined) {
          await tx.unwatch();
          return decided.result;
        }
        if (this.connects !== epoch) continue; // WATCH was lost with the connection
        const multi = tx.multi();
        decided.write(multi);
        if ((await multi.exec()) !== null && this.connects === epoch) return decided.result;
        if (attempt >= this.maxAttempts)
          throw new Error(
            `${this.what} ${keys.join(', ')} kept changing during ${attempt} attempts`,
          );
      }
    });
  }

  /** Closes the connection transactions run on (the shared one is the caller's). */
  async close(): Promise<void> {
    this.closed = true;
    const tx = this.tx;
    this.tx = undefined;
    if (tx === undefined) return;
    await this.chain;
    await tx.quit().catch(() => tx.disconnect());
  }

  /** Runs `work` alone on the transaction connection. */
  private exclusive<T>(work: (tx: Redis) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the ${this.what} were closed`));
    if (this.tx === undefined) {
      const tx = this.redis.duplicate();
      tx.on('ready', () => (this.connects += 1));
      // Its commands fail on their own; without a listener ioredis would print each error.
      tx.on('error', () => undefined);
      this.tx = tx;
    }
    const tx = this.tx;
    const run = this.chain.then(() => work(tx));
    this.chain = run.catch(() => undefined);
    return run;
  }
}
