/**
 * Another agent's pods claiming a symptom of one workload, in a process of its own, for the
 * workload memory race tests. Connects to REDIS_URL, says `ready`, waits for a line on stdin (so
 * that every process starts claiming at once), then claims WORKLOAD's CrashLoopBackOff for each
 * pod of PODS (comma-separated) at the same time, each on a store and connection of its own, and
 * prints one JSON line: per pod, its role and the holder it was told of.
 * Started by tests as `node test/support/workload-claim-process.ts` with its settings in env.
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { claim, type ClaimAnswer } from '../../src/workloads/rules.ts';
import { RedisWorkloadStore } from '../../src/workloads/store.ts';

const env = process.env;
const need = (name: string): string => {
  const value = env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const url = need('REDIS_URL');
const prefix = need('KEY_PREFIX');
const workload = need('WORKLOAD');
const pods = need('PODS').split(',');

const connections = pods.map(() => new Redis(url, { lazyConnect: true }));
await Promise.all(connections.map((redis) => redis.connect()));
const stores = connections.map((redis) => new RedisWorkloadStore(redis, prefix));
// The transaction connections too, so that nothing but the claims is left to wait for.
await Promise.all(
  stores.map((store) => store.change(workload, 'OOMKilled', (m) => ({ memory: m, result: null }))),
);
process.stdout.write('ready\n');
await once(process.stdin, 'data');

const answers = await Promise.all(
  pods.map((pod, i) =>
    (stores[i] as RedisWorkloadStore).change(workload, 'CrashLoopBackOff', (memory) => {
      const now = Date.now();
      const claimed = claim(memory, {
        actorKey: `Pod/${pod}`,
        incidentId: `Pod/${pod}#1@${now}`,
        trigger: { type: 'CrashLoopBackOff', reason: 'container app keeps crashing' },
        verificationWindowMs: 60_000,
        now,
      });
      return { memory: claimed.memory, result: claimed.answer };
    }),
  ),
);
const holderOf = (answer: ClaimAnswer): string | null =>
  answer.role === 'member' ? answer.incident.holder : null;
process.stdout.write(
  `${JSON.stringify(pods.map((pod, i) => ({ pod: `Pod/${pod}`, role: answers[i]?.role, holder: holderOf(answers[i] as ClaimAnswer) })))}\n`,
);
for (const store of stores) await store.close();
for (const redis of connections) await redis.quit();
process.stdin.destroy();
