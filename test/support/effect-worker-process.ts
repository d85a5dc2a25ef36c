/**
 * A worker process for crash tests: runs the real Kubernetes action processors for one owner.
 * With CRASH_AFTER_ACTION set, the first action is carried out and then the process kills
 * itself with SIGKILL before the job can complete — the worst moment for a worker to die.
 * Started by tests as `node test/support/effect-worker-process.ts` with its settings in env.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { kubernetesProcessors } from '../../src/effects/kubernetes/index.ts';
import { startEffectWorkers, type EffectProcessor } from '../../src/effects/workers.ts';
import { createLogger } from '../../src/telemetry/index.ts';

const env = process.env;
const need = (name: string): string => {
  const value = env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const kc = new KubeConfig();
kc.loadFromFile(need('KUBECONFIG'));
const crashMarker = env['CRASH_AFTER_ACTION'];
const real = kubernetesProcessors({ kc });
const processors: Record<string, EffectProcessor> = Object.fromEntries(
  Object.entries(real).map(([kind, run]) => [
    kind,
    async (job, ctx) => {
      const result = await run(job, ctx);
      if (crashMarker !== undefined && !existsSync(crashMarker)) {
        writeFileSync(crashMarker, `${ctx.jobId}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
      return result;
    },
  ]),
);
const connection = new Redis(need('REDIS_URL'), { maxRetriesPerRequest: null });
startEffectWorkers({
  connection,
  redis: connection,
  keyPrefix: need('KEY_PREFIX'),
  integrations: ['kubernetes'],
  owner: need('OWNER'),
  processors,
  logger: createLogger({ format: 'json', level: 'warn' }),
  lockDurationMs: 1_000,
  stalledIntervalMs: 500,
});
process.stdout.write('ready\n');
