import { describe, expect, it } from 'vitest';
import { displayConfig, loadConfig, MASK, maskSecret } from '../../../src/config/index.ts';

describe('showing the configuration to people', () => {
  it('masks the password inside the Redis URL but keeps where it points', () => {
    const config = loadConfig({ env: { REDIS_URL: 'redis://default:s3cr3t@redis.prod:6380/2' } });
    const shown = displayConfig(config) as { redis: { url: string } };
    expect(shown.redis.url).toBe(`redis://default:${MASK}@redis.prod:6380/2`);
  });

  it('masks a password given on its own', () => {
    const config = loadConfig({ env: { REDIS_PASSWORD: 's3cr3t' } });
    expect(JSON.stringify(displayConfig(config))).not.toContain('s3cr3t');
    expect((displayConfig(config) as { redis: { password: string } }).redis.password).toBe(MASK);
  });

  it('leaves a Redis URL without a password as it is', () => {
    const shown = displayConfig(loadConfig({ env: {} })) as { redis: { url: string } };
    expect(shown.redis.url).toBe('redis://127.0.0.1:6379');
  });

  it('writes durations as durations', () => {
    const shown = displayConfig(loadConfig({ env: { KUBE_REMEDY_SHUTDOWN_TIMEOUT: '90s' } }));
    expect(shown['shutdownTimeout']).toBe('1m30s');
  });

  it.each(['xoxb-123:abc', 'hunter2', 'eyJhbGciOiJIUzI1NiJ9.e30.sig'])(
    'masks a non-URL secret whole: %s',
    (secret) => {
      expect(maskSecret(secret)).toBe(MASK);
    },
  );
});
