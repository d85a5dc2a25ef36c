/**
 * `kube-remedy run`: starts the components of one role and keeps them running until SIGTERM or
 * SIGINT, then stops them within `shutdownTimeout`. A second signal exits at once.
 */
import { connectRedis, redisAnswers } from '../../adapters/redis.ts';
import type { Config } from '../../config/index.ts';
import { startOpsServer } from '../../telemetry/http.ts';
import type { Logger } from '../../telemetry/index.ts';
import { createMetricsRegistry } from '../../telemetry/metrics.ts';
import { packageVersion } from '../version.ts';

export interface RunningProcess {
  /** Resolves once everything has stopped. */
  stop: (reason: string) => Promise<void>;
  httpPort: number;
}

export async function startRole(config: Config, logger: Logger): Promise<RunningProcess> {
  const version = packageVersion();
  const registry = createMetricsRegistry({ version, role: config.role });
  const redis = connectRedis(config.redis, { connectionName: `kube-remedy-${config.role}` });
  redis.on('error', (error: Error) =>
    logger.warn({ err: error }, 'redis connection error; retrying'),
  );
  // Connect in the background: the process serves /healthz at once and /readyz tells when
  // Redis answers, instead of crash-looping while Redis starts.
  redis.connect().catch(() => undefined);

  const ops = await startOpsServer({
    host: config.http.host,
    port: config.http.port,
    registry,
    readiness: [{ name: 'redis', check: () => redisAnswers(redis, 1_000) }],
  });
  logger.info(
    { role: config.role, version, http: `http://${ops.address.address}:${ops.address.port}` },
    'kube-remedy started',
  );

  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping');
      await ops.close();
      await redis.quit().catch(() => redis.disconnect());
      logger.info('stopped');
    })();
    return stopping;
  };
  return { stop, httpPort: ops.address.port };
}

/** Runs until a signal; returns the exit status. */
export async function runUntilSignalled(config: Config, logger: Logger): Promise<number> {
  const running = await startRole(config, logger);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const forced = new Promise<number>((resolve) => {
    const onSecond = (): void => {
      logger.warn('second signal: exiting without waiting');
      resolve(130);
    };
    process.once('SIGTERM', onSecond);
    process.once('SIGINT', onSecond);
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeout }, 'shutdown took too long; exiting');
      resolve(1);
    }, config.shutdownTimeout).unref();
  });
  return Promise.race([running.stop(signal).then(() => 0), forced]);
}
