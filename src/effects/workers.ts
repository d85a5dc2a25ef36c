/**
 * Runs effect jobs. A processor is a small idempotent function of the job; retries, locks and
 * backoff belong to BullMQ. The result always travels back to the owning actor through its
 * control stream, published by the processor's wrapper before the job completes: if the worker
 * dies in between, the job runs again (processors check their preconditions, so the action is
 * not repeated) and the actor ignores the repeated message by its id.
 */
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from '../adapters/redis.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RecentAction } from '../policy/index.ts';
import { actionEntry } from './action-log.ts';
import { type EffectJob, type Integration } from './catalogue.ts';
import { publishControl } from './control-stream.ts';
import { RetryLaterError, TerminalEffectError } from './errors.ts';
import { bullPrefix, queueName } from './queues.ts';

export interface ProcessorContext {
  jobId: string;
  /** Aborted when the worker shuts down or the job's lock is lost. */
  signal: AbortSignal;
  logger: Logger;
  /** 1 on the first try. */
  attempt: number;
}

/** What an effect did, in words for people, plus anything the actor needs. */
export interface EffectResult {
  outcome: string;
  [detail: string]: unknown;
}

export type EffectProcessor = (job: EffectJob, context: ProcessorContext) => Promise<EffectResult>;

export interface EffectWorkersOptions {
  connection: ConnectionOptions;
  /** Used to publish results to control streams. */
  redis: Redis;
  keyPrefix: string;
  integrations: readonly Integration[];
  /** Whose Kubernetes actions this process runs: `agent-<node>` or `controller`. */
  owner: string;
  processors: Readonly<Record<string, EffectProcessor>>;
  logger: Logger;
  /** Jobs run at once per integration. Default: 4. */
  concurrency?: number;
  /** How long a job may wait on "retry later" (a PDB, say) in total. Default: 30 minutes. */
  maxRetryLaterMs?: number;
  /**
   * How long a job stays locked to a worker that stopped renewing (it crashed). After that the
   * job runs again elsewhere. Default: BullMQ's 30 s.
   */
  lockDurationMs?: number;
  /** How often workers look for such abandoned jobs. Default: BullMQ's 30 s. */
  stalledIntervalMs?: number;
  /** Where the actions this process carries out are recorded for the policies' status. */
  actionLog?: { record(policy: string, jobId: string, entry: RecentAction): Promise<void> };
  /** Called after each final outcome, for metrics. */
  onOutcome?: (
    integration: Integration,
    kind: string,
    outcome: 'done' | 'failed' | 'deferred',
  ) => void;
}

export interface EffectWorkers {
  workers: Worker[];
  close: () => Promise<void>;
}

function describe(error: unknown): { message: string; code?: string } {
  if (error instanceof TerminalEffectError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** How often a job waiting for its incident's evidence looks again. */
const EVIDENCE_POLL_MS = 250;
/**
 * Evidence asked for longer ago than this and no longer queued was cleaned away after it ran
 * (finished jobs are kept for a day): the action does not wait for it.
 */
const EVIDENCE_GONE_AFTER_MS = 3600_000;

export function startEffectWorkers(options: EffectWorkersOptions): EffectWorkers {
  const maxRetryLater = options.maxRetryLaterMs ?? 30 * 60_000;
  let evidenceQueue: Queue | undefined;

  /**
   * Defers a job whose evidence is still being collected (or not even enqueued yet: both are
   * asked for in one transition), until it is finished either way or `waitMs` have passed since
   * the evidence job was enqueued (wall-clock times of the queue: the incident's own time may be
   * a deadline that passed while the process was down).
   */
  async function waitForEvidence(job: Job<EffectJob, EffectResult>, log: Logger): Promise<void> {
    const first = job.data.evidenceFirst;
    if (first === undefined) return;
    evidenceQueue ??= new Queue(queueName('evidence', options.owner), {
      connection: options.connection,
      prefix: bullPrefix(options.keyPrefix),
    });
    const evidence = (await evidenceQueue.getJob(first.jobId)) as Job | undefined;
    let since: number;
    let state: string;
    if (evidence === undefined) {
      if (Date.now() - first.askedAt > EVIDENCE_GONE_AFTER_MS) return;
      since = job.timestamp;
      state = 'not queued yet';
    } else {
      state = await evidence.getState();
      if (state === 'completed' || state === 'failed') return;
      since = evidence.timestamp;
    }
    const left = since + first.waitMs - Date.now();
    if (left <= 0) {
      log.warn(
        { evidence: state, waitedMs: first.waitMs },
        "acting without the incident's evidence: it was not collected in time",
      );
      return;
    }
    throw new RetryLaterError(
      `waiting for the incident's evidence to be collected first (${state})`,
      Math.min(EVIDENCE_POLL_MS, left),
      { quiet: true },
    );
  }

  async function publish(
    data: EffectJob,
    jobId: string,
    type: 'EFFECT.DONE' | 'EFFECT.FAILED',
    payload: Record<string, unknown>,
  ): Promise<void> {
    await publishControl(options.redis, options.keyPrefix, data.owner, {
      id: `${jobId}-${type === 'EFFECT.DONE' ? 'done' : 'failed'}`,
      actorKey: data.actorKey,
      type,
      payload: {
        at: Date.now(),
        effectId: jobId,
        step: data.step,
        incidentId: data.incidentId,
        kind: data.effect.kind,
        ...payload,
      },
    });
  }

  /** Records an ended action for its policy's status; a failure to record fails nothing. */
  async function remember(
    data: EffectJob,
    jobId: string,
    done: boolean,
    message: string,
    log: Logger,
  ): Promise<void> {
    const entry = actionEntry(data, { done, at: Date.now(), message });
    if (options.actionLog === undefined || entry === null || data.policy === undefined) return;
    const dry = data.dryRun === true ? { outcome: 'DryRun' as const } : {};
    await options.actionLog
      .record(data.policy, jobId, { ...entry, ...dry })
      .catch((error: unknown) =>
        log.warn({ err: error }, 'could not record the action for the policy status'),
      );
  }

  const workers = options.integrations.map((integration) => {
    const name = queueName(integration, options.owner);
    const log = options.logger.child({ queue: name });
    return new Worker<EffectJob, EffectResult>(
      name,
      async (job: Job<EffectJob, EffectResult>, token?: string, signal?: AbortSignal) => {
        const jobId = job.id ?? '';
        const data = job.data;
        const jobLog = log.child({
          jobId,
          effect: data.effect.kind,
          object: data.actorKey,
          incident: data.incidentId,
        });
        const processor = options.processors[data.effect.kind];
        const attempt = job.attemptsMade + 1;
        const lastAttempt = attempt >= (job.opts.attempts ?? 1);
        try {
          if (processor === undefined) {
            throw new TerminalEffectError(
              'no-processor',
              `this worker has no processor for effect "${data.effect.kind}"`,
            );
          }
          await waitForEvidence(job, jobLog);
          const result = await processor(data, {
            jobId,
            signal: signal ?? new AbortController().signal,
            logger: jobLog,
            attempt,
          });
          await publish(data, jobId, 'EFFECT.DONE', { result });
          await remember(data, jobId, true, result.outcome, jobLog);
          jobLog.info({ outcome: result.outcome }, 'effect done');
          options.onOutcome?.(integration, data.effect.kind, 'done');
          return result;
        } catch (error) {
          if (error instanceof RetryLaterError && Date.now() - job.timestamp < maxRetryLater) {
            const fields = { reason: error.message, retryInMs: error.retryAfterMs };
            if (error.quiet) jobLog.debug(fields, 'effect deferred');
            else {
              jobLog.info(fields, 'effect deferred');
              options.onOutcome?.(integration, data.effect.kind, 'deferred');
            }
            await job.moveToDelayed(Date.now() + error.retryAfterMs, token);
            throw new DelayedError();
          }
          const terminal = error instanceof TerminalEffectError || error instanceof RetryLaterError;
          if (terminal || lastAttempt) {
            await publish(data, jobId, 'EFFECT.FAILED', {
              error: describe(error),
              attempts: attempt,
            });
            await remember(data, jobId, false, describe(error).message, jobLog);
            jobLog.error({ err: error, attempts: attempt }, 'effect failed');
            options.onOutcome?.(integration, data.effect.kind, 'failed');
            if (error instanceof RetryLaterError)
              throw new TerminalEffectError('gave-up-waiting', error.message, { cause: error });
          } else {
            jobLog.warn({ err: error, attempt }, 'effect attempt failed; will retry');
          }
          throw error;
        }
      },
      {
        connection: options.connection,
        prefix: bullPrefix(options.keyPrefix),
        concurrency: options.concurrency ?? 4,
        ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
        ...(options.stalledIntervalMs === undefined
          ? {}
          : { stalledInterval: options.stalledIntervalMs }),
      },
    );
  });

  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await evidenceQueue?.close();
    },
  };
}
