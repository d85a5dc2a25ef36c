/**
 * The one way this program opens a Redis connection, so every connection applies the same
 * password, name and reconnect behaviour.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.ts';

export type { Redis } from 'ioredis';

export interface RedisConnectOptions {
  /** Shown by `CLIENT LIST`, so an operator can tell the roles' connections apart. */
  connectionName: string;
  /**
   * `null` lets commands wait through reconnects; BullMQ requires it for blocking workers.
   * Default: 3, so a request-path command fails instead of hanging while Redis is away.
   */
  maxRetriesPerRequest?: number | null;
}

export function connectRedis(config: Config['redis'], options: RedisConnectOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    lazyConnect: true,
    maxRetriesPerRequest:
      options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    // Back off to 2 s between reconnects: fast enough to recover, slow enough not to hammer.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  };
  if (config.password !== undefined) redisOptions.password = config.password;
  return new Redis(config.url, redisOptions);
}

/** Answers whether Redis replies to PING within the time given. */
export async function redisAnswers(redis: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([redis.ping().then((reply) => reply === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
