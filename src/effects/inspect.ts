/**
 * What `kube-remedy queues` shows: every effect queue with its depth and failures, the most
 * recent failures with their reasons, budgets in use and nodes being disrupted. Read-only.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from '../adapters/redis.ts';
import { bullPrefix } from './queues.ts';

export interface QueueReport {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  recentFailures: {
    jobId: string;
    effect: string;
    object: string;
    reason: string;
    failedAt: string;
  }[];
}

export interface BudgetReport {
  scope: string;
  /** Actions recorded in the scope's current window. */
  used: number;
}

export interface QueuesReport {
  queues: QueueReport[];
  budgets: BudgetReport[];
  nodesDisrupted: Record<string, string>;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

export async function inspectQueues(options: {
  redis: Redis;
  connection: ConnectionOptions;
  keyPrefix: string;
  failuresPerQueue?: number;
}): Promise<QueuesReport> {
  const prefix = bullPrefix(options.keyPrefix);
  const names = (await scanKeys(options.redis, `${prefix}:*:meta`)).map((key) =>
    key.slice(prefix.length + 1, -':meta'.length),
  );
  const queues: QueueReport[] = [];
  for (const name of names) {
    const queue = new Queue(name, { connection: options.connection, prefix });
    try {
      const counts = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
      );
      const failed = await queue.getFailed(0, (options.failuresPerQueue ?? 5) - 1);
      queues.push({
        name,
        waiting: counts['waiting'] ?? 0,
        active: counts['active'] ?? 0,
        delayed: counts['delayed'] ?? 0,
        failed: counts['failed'] ?? 0,
        completed: counts['completed'] ?? 0,
        recentFailures: failed.map((job) => {
          const data = job.data as { actorKey?: string; effect?: { kind?: string } };
          return {
            jobId: job.id ?? '',
            effect: data.effect?.kind ?? job.name,
            object: data.actorKey ?? '',
            reason: job.failedReason,
            failedAt: new Date(job.finishedOn ?? job.timestamp).toISOString(),
          };
        }),
      });
    } finally {
      await queue.close();
    }
  }
  const budgetPrefix = `${options.keyPrefix}:budget:`;
  const budgets: BudgetReport[] = [];
  for (const key of await scanKeys(options.redis, `${budgetPrefix}*`)) {
    if (key.endsWith(':nodes-disrupted')) continue;
    budgets.push({ scope: key.slice(budgetPrefix.length), used: await options.redis.zcard(key) });
  }
  const nodesDisrupted = await options.redis.hgetall(`${budgetPrefix}nodes-disrupted`);
  return { queues, budgets, nodesDisrupted };
}

/** The report as a person reads it at 3 a.m.: failures first, then the numbers. */
export function formatQueuesReport(report: QueuesReport): string {
  const lines: string[] = [];
  if (report.queues.length === 0) lines.push('No effect queues yet: nothing has been enqueued.');
  else {
    const width = Math.max(5, ...report.queues.map((q) => q.name.length));
    lines.push(`${'QUEUE'.padEnd(width)}  WAITING  ACTIVE  DELAYED  FAILED  COMPLETED`);
    for (const q of report.queues) {
      lines.push(
        `${q.name.padEnd(width)}  ${String(q.waiting).padStart(7)}  ${String(q.active).padStart(6)}  ${String(q.delayed).padStart(7)}  ${String(q.failed).padStart(6)}  ${String(q.completed).padStart(9)}`,
      );
    }
  }
  const failures = report.queues.flatMap((q) =>
    q.recentFailures.map((f) => ({ ...f, queue: q.name })),
  );
  if (failures.length > 0) {
    lines.push('', 'Recent failures:');
    for (const f of failures)
      lines.push(`  ${f.failedAt}  ${f.effect} ${f.object}: ${f.reason}  (job ${f.jobId})`);
  }
  lines.push(
    '',
    report.budgets.length === 0
      ? 'Budgets: none in use.'
      : 'Budgets in use (actions in the current window):',
  );
  for (const b of report.budgets) lines.push(`  ${b.scope}: ${b.used}`);
  const nodes = Object.entries(report.nodesDisrupted);
  if (nodes.length > 0) {
    lines.push('', 'Nodes out of service for kube-remedy incidents:');
    for (const [node, incident] of nodes) lines.push(`  ${node} (incident ${incident})`);
  }
  return `${lines.join('\n')}\n`;
}
