/**
 * The real Redis the benchmarks use (REDIS_URL, else 127.0.0.1:6379), with a key prefix of the
 * run's own so nothing collides with tests running at the same time. `cleanup` deletes every key
 * under the prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export interface BenchRedis {
  redis: Redis;
  url: string;
  /**
   * `bench-<name>-<random>`: the key prefix of everything the run creates (or the start of it:
   * cleanup deletes every key that starts with it).
   */
  prefix: string;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup: () => Promise<number>;
}

export function redisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

export async function benchRedis(name: string): Promise<BenchRedis> {
  const url = redisUrl();
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const prefix = `bench-${name}-${randomBytes(3).toString('hex')}`;
  let cleaned = false;
  return {
    redis,
    url,
    prefix,
    cleanup: async () => {
      if (cleaned) return 0;
      cleaned = true;
      const deleted = await deleteKeys(redis, prefix);
      await redis.quit();
      return deleted;
    },
  };
}
