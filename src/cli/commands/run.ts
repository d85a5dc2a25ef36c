/**
 * `kube-remedy run`: starts the components of one role and keeps them running until SIGTERM or
 * SIGINT, then stops them within `shutdownTimeout`. A second signal exits at once.
 *
 * Each role's module (and the inspector's) is imported only when that role runs: the agent runs
 * on every node, and the workers' SDKs (Slack, S3, GitHub, GitLab, Jira, OpenAI) would otherwise
 * add ~85 MB to its memory (bench/RESULTS.md, agent RSS).
 */
import { Redis } from 'ioredis';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../adapters/kubernetes/client.ts';
import { connectRedis, redisAnswers } from '../../adapters/redis.ts';
import type { RunningRole } from '../../actors/agent.ts';
import type { Config } from '../../config/index.ts';
import { systemClock } from '../../machines/index.ts';
import { startOpsServer } from '../../telemetry/http.ts';
import type { Logger } from '../../telemetry/index.ts';
import { createMetricsRegistry } from '../../telemetry/metrics.ts';
import { createRuntimeMetrics } from '../../telemetry/runtime-metrics.ts';
import { packageVersion } from '../version.ts';

export interface RunningProcess {
  /** Resolves once everything has stopped. */
  stop: (reason: string) => Promise<void>;
  httpPort: number;
  roles: Pick<RunningRole, 'ready' | 'stop'>[];
}

/**
 * Starts the role's components. `onStop` gets the stop function before any component starts, so
 * a signal that comes while start-up still waits (for the policy CRD, for a first list) stops
 * what has started: the workers close, the controller gives up its Lease.
 */
export async function startRole(
  config: Config,
  logger: Logger,
  onStop?: (stop: (reason: string) => Promise<void>) => void,
): Promise<RunningProcess> {
  const version = packageVersion();
  const registry = createMetricsRegistry({ version, role: config.role });
  const metrics = createRuntimeMetrics(registry);
  const redis = connectRedis(config.redis, { connectionName: `kube-remedy-${config.role}` });
  redis.on('error', (error: Error) =>
    logger.warn({ err: error }, 'redis connection error; retrying'),
  );
  // BullMQ's blocking commands must wait through reconnects rather than fail.
  const bullConnection = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    connectionName: `kube-remedy-${config.role}-queues`,
    ...(config.redis.password === undefined ? {} : { password: config.redis.password }),
  });
  bullConnection.on('error', () => undefined);
  const roles: Pick<RunningRole, 'ready' | 'stop'>[] = [];
  const ops = await startOpsServer({
    host: config.http.host,
    port: config.http.port,
    registry,
    readiness: [
      { name: 'redis', check: () => redisAnswers(redis, 1_000) },
      { name: 'watches', check: () => Promise.resolve(roles.every((role) => role.ready())) },
    ],
  });
  logger.info(
    { role: config.role, version, http: `http://${ops.address.address}:${ops.address.port}` },
    'kube-remedy started',
  );
  try {
    await redis.connect();
  } catch (error) {
    // Not fatal: /readyz says Redis is failing and ioredis keeps reconnecting.
    logger.warn({ err: error }, 'redis not reachable yet');
  }

  const inspector = config.inspect.enabled
    ? await (
        await import('../../telemetry/inspect.ts')
      ).startInspector({ port: config.inspect.port, filter: config.inspect.filter, logger })
    : undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping');
      for (const role of roles.reverse()) {
        await role
          .stop()
          .catch((error: unknown) => logger.error({ err: error }, 'stopping a role failed'));
      }
      await inspector?.stop();
      await ops.close();
      await redis.quit().catch(() => redis.disconnect());
      await bullConnection.quit().catch(() => bullConnection.disconnect());
      logger.info('stopped');
    })();
    return stopping;
  };
  onStop?.(stop);
  const kc = loadKubeConfigFor(config, logger);
  if (config.role === 'workers' || config.role === 'all') {
    const { startWorkers } = await import('../../actors/workers.ts');
    roles.push(await startWorkers({ config, kc, redis, bullConnection, logger, metrics }));
  }
  if (config.role !== 'workers') {
    if (kc === undefined)
      throw new Error(`role ${config.role} needs a Kubernetes API: set --kubeconfig`);
    const deps = {
      config,
      kc,
      redis,
      bullConnection,
      logger,
      metrics,
      clock: systemClock,
      identity: config.identity,
      ...(inspector ? { inspect: inspector.observerFor } : {}),
    };
    if (config.role === 'controller' || config.role === 'all') {
      const { startController } = await import('../../actors/controller.ts');
      roles.push(startController(deps));
    }
    if (config.role === 'agent' || config.role === 'all') {
      const { startAgent } = await import('../../actors/agent.ts');
      roles.push(await startAgent(deps));
    }
  }

  return { stop, httpPort: ops.address.port, roles };
}

/**
 * The role's Kubernetes client configuration. The workers only read (evidence bundles), so they
 * run without one, saying so; the other roles cannot.
 */
function loadKubeConfigFor(config: Config, logger: Logger): KubeConfig | undefined {
  try {
    return loadKubeConfig(config);
  } catch (error) {
    if (config.role !== 'workers') throw error;
    logger.warn({ err: error }, 'no Kubernetes API: evidence bundles are off');
    return undefined;
  }
}

/** Runs until a signal; returns the exit status. */
export async function runUntilSignalled(config: Config, logger: Logger): Promise<number> {
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let stopEarly: ((reason: string) => Promise<void>) | undefined;
  const starting = startRole(config, logger, (stop) => (stopEarly = stop));
  const first = await Promise.race([
    starting.then((running) => ({ running })),
    signalled.then((signal) => ({ signal })),
  ]);
  if ('signal' in first) {
    // Start-up waits on the cluster (the policy CRD installed, the first lists synced) and may
    // never finish: stop what has started, within the shutdown time, and exit.
    logger.warn({ signal: first.signal }, 'signal before start-up finished: stopping what started');
    starting.catch(() => undefined);
    const timeout = new Promise<number>((resolve) =>
      setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeout }, 'shutdown took too long; exiting');
        resolve(1);
      }, config.shutdownTimeout).unref(),
    );
    return Promise.race([(stopEarly?.(first.signal) ?? Promise.resolve()).then(() => 0), timeout]);
  }
  const { running } = first;
  const signal = await signalled;
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
