/**
 * One BullMQ queue per integration. Enqueueing uses the deterministic job id, so the same
 * (actor, incident, step) added twice is one job; finished jobs are kept for a day so that
 * dedup outlives a restart of whoever asked (BullMQ dedups only while the job exists).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import {
  effectJobId,
  integrationFor,
  INTEGRATIONS,
  type EffectJob,
  type Integration,
} from './catalogue.ts';

export interface EffectQueuesOptions {
  connection: ConnectionOptions;
  keyPrefix: string;
  /** Tries before an effect counts as failed. Default: 5. */
  attempts?: number;
  /** First retry delay; doubles each try. Default: 2 s. */
  backoffMs?: number;
}

export function queueName(integration: Integration): string {
  return `effects-${integration}`;
}

export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}:bull`;
}

export interface Enqueued {
  jobId: string;
  queue: string;
}

export class EffectQueues {
  private readonly queues: Map<Integration, Queue>;
  private readonly jobOptions: JobsOptions;

  constructor(options: EffectQueuesOptions) {
    this.queues = new Map(
      INTEGRATIONS.map((integration) => [
        integration,
        new Queue(queueName(integration), {
          connection: options.connection,
          prefix: bullPrefix(options.keyPrefix),
        }),
      ]),
    );
    this.jobOptions = {
      attempts: options.attempts ?? 5,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 2_000 },
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
    };
  }

  queue(integration: Integration): Queue {
    return this.queues.get(integration) as Queue;
  }

  async enqueue(job: EffectJob): Promise<Enqueued> {
    const integration = integrationFor(job.effect.kind);
    const jobId = effectJobId(job);
    const queue = this.queue(integration);
    await queue.add(job.effect.kind, job, { ...this.jobOptions, jobId });
    return { jobId, queue: queue.name };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
