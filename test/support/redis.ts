/**
 * A Redis connection and a key prefix of its own for one test, so tests run in parallel on one
 * Redis without seeing each other's keys. `cleanup` deletes everything under the prefix.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

export interface RedisForTest {
  redis: Redis;
  url: string;
  /** Unique for this test, e.g. `t-3f2a…`; use it as `redis.keyPrefix`. */
  prefix: string;
  cleanup: () => Promise<void>;
}

export async function redisForTest(): Promise<RedisForTest> {
  const url = inject('redisUrl');
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  return {
    redis,
    url,
    prefix,
    cleanup: async () => {
      if (redis.status === 'end') return;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}
