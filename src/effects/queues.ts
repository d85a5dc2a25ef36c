/**
 * One BullMQ queue per integration. Enqueueing uses the deterministic job id, so the same
 * (actor, incident, step) added twice is one job; finished jobs are kept for a day so that
 * dedup outlives a restart of whoever asked (BullMQ dedups only while the job exists).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { effectJobId, integrationFor, type EffectJob, type Integration } from './catalogue.ts';

export interface EffectQueuesOptions {
  connection: ConnectionOptions;
  keyPrefix: string;
  /** Tries before an effect counts as failed. Default: 5. */
  attempts?: number;
  /** First retry delay; doubles each try. Default: 2 s. */
  backoffMs?: number;
}

/**
 * Kubernetes actions run where the object's actor lives (an agent acts only on its own node
 * and holds rights for nothing else), so their queue is per owner; the integrations' queues are
 * shared by every worker replica.
 */
export function queueName(integration: Integration, owner: string): string {
  return integration === 'kubernetes' ? `effects-kubernetes-${owner}` : `effects-${integration}`;
}

export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}:bull`;
}

export interface Enqueued {
  jobId: string;
  queue: string;
}

export class EffectQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly jobOptions: JobsOptions;
  private readonly options: EffectQueuesOptions;

  constructor(options: EffectQueuesOptions) {
    this.options = options;
    this.jobOptions = {
      attempts: options.attempts ?? 5,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 2_000 },
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
    };
  }

  queue(integration: Integration, owner: string): Queue {
    const name = queueName(integration, owner);
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, {
        connection: this.options.connection,
        prefix: bullPrefix(this.options.keyPrefix),
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue(job: EffectJob): Promise<Enqueued> {
    const integration = integrationFor(job.effect.kind);
    const jobId = effectJobId(job);
    const queue = this.queue(integration, job.executor ?? job.owner);
    await queue.add(job.effect.kind, job, { ...this.jobOptions, jobId });
    return { jobId, queue: queue.name };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
