import type { TestProject } from 'vitest/node';
import { startTestRedis } from './redis-server.ts';
import { acquireShared } from './shared-service.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the real Redis every integration test uses (with its own key prefix). */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { value, release } = await acquireShared(
    'redis',
    () => startTestRedis(process.env),
    (redis) => redis.stop(),
  );
  project.provide('redisUrl', value.url);
  return release;
}
