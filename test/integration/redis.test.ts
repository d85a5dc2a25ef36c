import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, redisAnswers } from '../../src/adapters/redis.ts';
import { loadConfig } from '../../src/config/index.ts';
import { redisForTest, type RedisForTest } from '../support/redis.ts';

describe('Redis, as kube-remedy connects to it', () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  it('round-trips a value through the connection the configuration describes', async () => {
    scratch = await redisForTest();
    const config = loadConfig({
      env: { REDIS_URL: scratch.url, KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix },
    });
    const redis = connectRedis(config.redis, { connectionName: 'kube-remedy-test' });
    await redis.connect();
    try {
      await redis.set(`${config.redis.keyPrefix}:greeting`, 'hello', 'EX', 60);
      expect(await scratch.redis.get(`${scratch.prefix}:greeting`)).toBe('hello');
      const clients = await redis.client('LIST');
      expect(String(clients)).toContain('name=kube-remedy-test');
    } finally {
      await redis.quit();
    }
  });

  it('reports a Redis that does not answer as not ready instead of hanging', async () => {
    const config = loadConfig({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    const redis = connectRedis(config.redis, { connectionName: 'kube-remedy-test' });
    redis.on('error', () => undefined);
    redis.connect().catch(() => undefined);
    try {
      expect(await redisAnswers(redis, 300)).toBe(false);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps each test in its own key prefix', async () => {
    scratch = await redisForTest();
    const other = await redisForTest();
    try {
      await scratch.redis.set(`${scratch.prefix}:k`, '1');
      await other.redis.set(`${other.prefix}:k`, '2');
      await other.cleanup();
      expect(await scratch.redis.get(`${scratch.prefix}:k`)).toBe('1');
      expect(await scratch.redis.exists(`${other.prefix}:k`)).toBe(0);
    } finally {
      await other.cleanup().catch(() => undefined);
    }
  });
});
