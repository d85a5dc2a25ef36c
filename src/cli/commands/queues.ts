/** `kube-remedy queues`: effect queue depths, failures, budgets. */
import { connectRedis } from '../../adapters/redis.ts';
import type { Config } from '../../config/index.ts';
import { formatQueuesReport, inspectQueues } from '../../effects/inspect.ts';

export async function queuesCommand(config: Config, format: 'text' | 'json'): Promise<string> {
  const redis = connectRedis(config.redis, {
    connectionName: 'kube-remedy-cli',
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const report = await inspectQueues({
      redis,
      connection: redis,
      keyPrefix: config.redis.keyPrefix,
    });
    return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatQueuesReport(report);
  } catch (error) {
    throw new Error(
      `cannot read the queues from Redis at the configured redis.url: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    redis.disconnect();
  }
}
