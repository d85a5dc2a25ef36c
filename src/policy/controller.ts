/**
 * The policy controller: keeps the policy index in step with the AutoRemediationPolicies in the
 * cluster and writes each policy's status when, and only when, it changed.
 *
 * Level-triggered, as controller-runtime reconcilers are: every event carries the whole policy, a
 * relist is just more events, and `flush()` recomputes every policy's status from the index and
 * the facts, writing the ones that differ from what is stored. That also covers what no policy event
 * announces (objects appearing, label changes, conflicts), at the cost of comparing every
 * policy's status on each flush, which is cheap next to an API call.
 *
 * I/O goes through two small interfaces so the same logic runs against the API server in
 * integration tests and in `kube-remedy run`: a `PolicySource` (list + watch) and a
 * `PolicyStatusWriter` (server-side apply of the status subresource); kubernetes.ts implements
 * both with @kubernetes/client-node.
 */
import type { PolicyIndex } from './policy-index.ts';
import {
  parsePolicy,
  policyKey,
  type ParseResult,
  type PolicyRef,
  type PolicyResource,
} from './policy.ts';
import {
  policyStatus,
  statusDiffers,
  type Condition,
  type PolicyProblem,
  type PolicyStatus,
} from './status.ts';
import type { RecentAction } from './schema.ts';

export type PolicyEvent =
  { type: 'upsert'; resource: PolicyResource } | { type: 'delete'; resource: PolicyResource };

/** Lists, then watches, every AutoRemediationPolicy; resumes by itself after watch errors. */
export interface PolicySource {
  /** Resolves when `signal` aborts. */
  run(onEvent: (event: PolicyEvent) => void, signal: AbortSignal): Promise<void>;
}

/** Writes a policy's status subresource (server-side apply, field manager kube-remedy). */
export interface PolicyStatusWriter {
  applyStatus(ref: PolicyRef, status: PolicyStatus, signal?: AbortSignal): Promise<void>;
}

/** What other components know about a policy in force: problems and actions taken. */
export interface PolicyReports {
  problems?: readonly PolicyProblem[];
  actions24h?: number;
  recentActions?: readonly RecentAction[];
}

/** The slice of a pino logger the controller uses, so tests can pass a recorder. */
export interface ControllerLogger {
  warn(details: object, message: string): void;
  debug(details: object, message: string): void;
}

export interface PolicyControllerOptions {
  index: PolicyIndex;
  writer: PolicyStatusWriter;
  /** Reports of other components (Degraded problems, recent actions). Default: none. */
  reports?: (ref: PolicyRef) => PolicyReports;
  /**
   * Gathers what `reports` answers from (e.g. counts other processes keep in Redis), once
   * before each flush. If it fails, the flush goes on with what `reports` knew before.
   */
  beforeFlush?: (signal?: AbortSignal) => Promise<void>;
  /** Default: `() => new Date()`. Tests pass a fixed clock. */
  now?: () => Date;
  logger?: ControllerLogger;
  /** After a policy event, wait this long for more before flushing. Default: 200 ms. */
  debounceMs?: number;
  /** Flush at least this often, for changes no policy event announces. Default: 5 s. */
  resyncMs?: number;
}

interface Known {
  parsed: ParseResult;
  /** The status last seen from the API server or last written by us. */
  status: unknown;
}

export class PolicyController {
  private readonly index: PolicyIndex;
  private readonly writer: PolicyStatusWriter;
  private readonly reports: (ref: PolicyRef) => PolicyReports;
  private readonly beforeFlush: ((signal?: AbortSignal) => Promise<void>) | undefined;
  private readonly now: () => Date;
  private readonly logger: ControllerLogger | undefined;
  private readonly debounceMs: number;
  private readonly resyncMs: number;
  private readonly known = new Map<string, Known>();
  private flushing: Promise<void> | undefined;
  private flushAgain = false;

  constructor(options: PolicyControllerOptions) {
    this.index = options.index;
    this.writer = options.writer;
    this.reports = options.reports ?? (() => ({}));
    this.beforeFlush = options.beforeFlush;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 200;
    this.resyncMs = options.resyncMs ?? 5_000;
  }

  /** Applies one event to the index; the status follows at the next flush. */
  handle(event: PolicyEvent): void {
    const parsed = syncIndex(this.index, event, this.logger);
    const key = policyKey(parsed.ok ? parsed.policy.ref : parsed.ref);
    if (event.type === 'delete') this.known.delete(key);
    else this.known.set(key, { parsed, status: event.resource.status });
  }

  /** The status this controller would write for a known policy now. */
  statusOf(ref: PolicyRef): PolicyStatus | undefined {
    const known = this.known.get(policyKey(ref));
    return known ? this.compute(known) : undefined;
  }

  /**
   * Writes every status that differs from what is stored. Concurrent calls share one pass, plus one
   * more if called during it, so no change is missed and writes never overlap.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          await this.flushOnce(signal);
        } while (this.flushAgain && !signal?.aborted);
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /** Runs until `signal` aborts: events from `source`, debounced flushes, periodic resyncs. */
  async run(source: PolicySource, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let dueAt = Infinity;
    // Brings the next flush forward, never back: a steady stream of events (our own status
    // writes come back as events) must not postpone flushing forever.
    const flushSoon = (delayMs: number) => {
      if (timer && dueAt <= Date.now() + delayMs) return;
      if (timer) clearTimeout(timer);
      dueAt = Date.now() + delayMs;
      timer = setTimeout(() => {
        timer = undefined;
        dueAt = Infinity;
        this.flush(signal).then(
          () => flushSoon(this.resyncMs),
          (error: unknown) => {
            this.logger?.warn({ err: error }, 'policy status flush failed; retrying');
            flushSoon(this.resyncMs);
          },
        );
      }, delayMs);
    };
    const stop = () => {
      if (timer) clearTimeout(timer);
    };
    signal.addEventListener('abort', stop, { once: true });
    flushSoon(this.resyncMs);
    try {
      await source.run((event) => {
        this.handle(event);
        flushSoon(this.debounceMs);
      }, signal);
    } finally {
      stop();
      signal.removeEventListener('abort', stop);
    }
  }

  private compute(known: Known): PolicyStatus {
    const ref = known.parsed.ok ? known.parsed.policy.ref : known.parsed.ref;
    const reports = this.reports(ref);
    return policyStatus(known.parsed, {
      agentNamespace: this.index.agentNamespace,
      nodesNotAllowed: this.index.nodesNotAllowed(ref),
      tally: this.index.tally(ref),
      ...reports,
      previousConditions: storedConditions(known.status),
      now: this.now(),
    });
  }

  private async flushOnce(signal: AbortSignal | undefined): Promise<void> {
    if (this.beforeFlush !== undefined) {
      try {
        await this.beforeFlush(signal);
      } catch (error) {
        this.logger?.warn({ err: error }, 'could not gather policy reports; using the last ones');
      }
    }
    for (const [key, known] of this.known) {
      if (signal?.aborted) return;
      const next = this.compute(known);
      if (!statusDiffers(known.status, next)) continue;
      const ref = known.parsed.ok ? known.parsed.policy.ref : known.parsed.ref;
      try {
        await this.writer.applyStatus(ref, next, signal);
        // Only if the policy was not deleted or replaced while the write was in flight.
        if (this.known.get(key) === known) known.status = next;
        this.logger?.debug({ policy: key, status: next }, 'policy status written');
      } catch (error) {
        // The stored status is unchanged, so the next flush tries again.
        this.logger?.warn({ err: error, policy: key }, 'could not write policy status');
      }
    }
  }
}

/**
 * Applies one policy event to an index, without any status: what an agent, which reads policies
 * but never writes their status, needs (`source.run((event) => syncIndex(index, event), signal)`).
 */
export function syncIndex(
  index: PolicyIndex,
  event: PolicyEvent,
  logger?: ControllerLogger,
): ParseResult {
  const parsed = parsePolicy(event.resource);
  const ref = parsed.ok ? parsed.policy.ref : parsed.ref;
  if (event.type === 'delete') {
    index.removePolicy(ref);
  } else if (parsed.ok) {
    index.setPolicy(parsed.policy);
  } else {
    // An invalid spec governs nothing: better no remediation than remediation by half a policy.
    index.removePolicy(ref);
    logger?.warn(
      { policy: policyKey(ref), problems: parsed.problems },
      'policy ignored: invalid spec',
    );
  }
  return parsed;
}

function storedConditions(status: unknown): Partial<Condition>[] | undefined {
  if (typeof status !== 'object' || status === null) return undefined;
  const conditions = (status as { conditions?: unknown }).conditions;
  return Array.isArray(conditions) ? (conditions as Partial<Condition>[]) : undefined;
}
