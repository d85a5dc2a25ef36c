/**
 * The scaler loop. Every `intervalMs`, for each scaled Deployment (an injected list: the policy
 * index decides which are scaled), it reads each signal's window from Prometheus, takes the
 * decision (decide.ts) and hands scale and escalate proposals to an injected sink; the runtime
 * routes them to the Deployment's actor or the effect queue.
 *
 * Windows are read, not remembered: each round asks Prometheus for a range query over the longest
 * stabilization window (docs/adr/0008-multi-signal-scaling.md says why). So a restarted or newly
 * elected controller decides at once with the whole window, and the only state kept here is what
 * Prometheus cannot know: when this scaler last scaled each Deployment (the cooldown) and whether
 * it already escalated.
 *
 * Identical queries within a round (one policy, one query, many Deployments, no `$deployment`)
 * are asked once. At most `concurrency` queries are in flight.
 */
import type { PrometheusClient } from '../adapters/prometheus/index.ts';
import type { PolicyRef } from '../policy/policy.ts';
import type { PolicyProblem } from '../policy/status.ts';
import type { Logger } from '../telemetry/index.ts';
import { decide, DEFAULT_STALE_AFTER_MS } from './decide.ts';
import type { HpaLookup } from './hpa.ts';
import {
  deploymentKey,
  scaleProposedEvent,
  scalingEffectJob,
  scalingProblems,
  type ScaledDeployment,
  type ScalingProposal,
  type ScalingSink,
  type ScalingState,
} from './proposals.ts';
import { renderQuery, signalFromError, signalFromSeries } from './signals.ts';
import type { ScalingDecision, SignalInput } from './types.ts';

export interface ScalerOptions {
  prometheus: PrometheusClient;
  /** The Deployments to scale this round, with their policy and observed replicas. */
  deployments: () => Iterable<ScaledDeployment>;
  /** Which HPA targets a Deployment (e.g. `HpaIndex.lookup`). */
  hpas: HpaLookup;
  /** Receives every scale and escalate proposal. A throw is logged; the proposal comes again next round. */
  sink: ScalingSink;
  logger: Logger;
  /** Time between rounds. Default: 15 s (the HPA's sync period). */
  intervalMs?: number;
  /** Resolution of the range queries. Default: `intervalMs`. */
  stepMs?: number;
  /** A signal with no sample this recent is unavailable (and a longer gap breaks a window). Default: max(3 × step, 60 s). */
  staleAfterMs?: number;
  /** Prometheus queries in flight at once. Default: 8. */
  concurrency?: number;
  /** Whose control stream gets the results of direct effect jobs. Default: `controller`. */
  owner?: string;
  /** Called with every decision (for status, metrics, logs), scaling or not. */
  onDecision?: (deployment: ScaledDeployment, decision: ScalingDecision) => void;
  /** Default: `Date.now`. Tests pass a fixed clock. */
  now?: () => number;
}

interface Memory {
  lastScaleAt: number | null;
  escalated: boolean;
  state: ScalingState;
}

/** Prometheus answers at most 11,000 points per series; stay well below. */
const MAX_POINTS = 10_000;

export class Scaler {
  private readonly options: ScalerOptions;
  private readonly intervalMs: number;
  private readonly stepMs: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly memory = new Map<string, Memory>();
  private readonly limiter: Limiter;
  private abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private started = false;

  constructor(options: ScalerOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? 15_000;
    this.stepMs = options.stepMs ?? this.intervalMs;
    this.staleAfterMs = options.staleAfterMs ?? Math.max(3 * this.stepMs, DEFAULT_STALE_AFTER_MS);
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'scaler' });
    this.limiter = new Limiter(options.concurrency ?? 8);
  }

  /** Runs a round now and then every `intervalMs` (rounds never overlap) until `stop()`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const loop = async (): Promise<void> => {
      const began = Date.now();
      try {
        this.running = this.tick();
        await this.running;
      } catch (error) {
        if (!this.abort.signal.aborted) this.log.warn({ err: error }, 'scaling round failed');
      } finally {
        this.running = undefined;
      }
      if (!this.started) return;
      const wait = Math.max(0, this.intervalMs - (Date.now() - began));
      this.timer = setTimeout(() => void loop(), wait);
    };
    void loop();
  }

  /** Stops the loop and aborts the queries in flight. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(new Error('scaler stopped'));
    await this.running?.catch(() => undefined);
    // Ready for another start() or a tick() of its own.
    this.abort = new AbortController();
  }

  /**
   * One round: every listed Deployment decided once, proposals handed to the sink. Returns the
   * decisions by actor key. Deployments no longer listed are forgotten.
   */
  async tick(): Promise<Map<string, ScalingDecision>> {
    const now = this.now();
    const signal = this.abort.signal;
    const queries = new Map<string, Promise<SignalInput>>();
    const deployments = [...this.options.deployments()];
    const listed = new Set(deployments.map(deploymentKey));
    for (const key of this.memory.keys()) if (!listed.has(key)) this.memory.delete(key);

    const decisions = new Map<string, ScalingDecision>();
    await Promise.all(
      deployments.map(async (deployment) => {
        const decision = await this.evaluate(deployment, now, queries, signal);
        decisions.set(deploymentKey(deployment), decision);
      }),
    );
    return decisions;
  }

  /** The problems of one policy's scaling (HPA conflicts, unreadable signals) for its status. */
  problems(ref: PolicyRef): PolicyProblem[] {
    const states: ScalingState[] = [];
    for (const memory of this.memory.values()) {
      const policy = memory.state.deployment.policy.ref;
      if (policy.namespace === ref.namespace && policy.name === ref.name) states.push(memory.state);
    }
    return scalingProblems(states);
  }

  /** The last decision for a Deployment, if it was decided since it was listed. */
  lastDecision(deployment: { namespace: string; name: string }): ScalingDecision | undefined {
    return this.memory.get(deploymentKey(deployment))?.state.decision;
  }

  private async evaluate(
    deployment: ScaledDeployment,
    now: number,
    queries: Map<string, Promise<SignalInput>>,
    signal: AbortSignal,
  ): Promise<ScalingDecision> {
    const key = deploymentKey(deployment);
    const policy = deployment.policy.scaling;
    const hpa = this.options.hpas(deployment.namespace, deployment.name);
    const previous = this.memory.get(key);
    const lastScaleAt = latest(previous?.lastScaleAt ?? null, deployment.lastScaledAt ?? null);

    const inputs: Record<string, SignalInput> = {};
    const skip =
      hpa !== null
        ? `not read: HorizontalPodAutoscaler ${hpa.name} owns the replica count`
        : deployment.replicas <= 0
          ? 'not read: the Deployment has no replicas'
          : null;
    const windowMs = Math.max(policy.stabilization.scaleUpMs, policy.stabilization.scaleDownMs);
    const stepMs = Math.max(this.stepMs, Math.ceil(windowMs / MAX_POINTS));
    // One step more than the window, so a sample lies on or before its start.
    const start = now - windowMs - stepMs;
    await Promise.all(
      policy.signals.map(async (spec) => {
        if (skip !== null) {
          inputs[spec.name] = { ok: false, error: skip };
          return;
        }
        const query = renderQuery(spec.query, deployment);
        const cacheKey = `${start}\n${stepMs}\n${query}`;
        let pending = queries.get(cacheKey);
        if (pending === undefined) {
          pending = this.limiter.run(() => this.read(query, start, now, stepMs, signal));
          queries.set(cacheKey, pending);
        }
        inputs[spec.name] = await pending;
      }),
    );

    // A round cut short by stop() decides nothing: its signals were not read, not unavailable.
    if (signal.aborted) throw signal.reason;
    const decision = decide({
      policy,
      now,
      replicas: deployment.replicas,
      hpa,
      lastScaleAt,
      signals: inputs,
      staleAfterMs: this.staleAfterMs,
    });
    const memory: Memory = {
      lastScaleAt,
      escalated: decision.decision === 'escalate',
      state: { deployment, decision, hpa },
    };
    this.memory.set(key, memory);
    this.options.onDecision?.(deployment, decision);
    const about = { deployment: key, policy: deployment.policy.ref };
    if (this.log.isLevelEnabled('debug')) this.log.debug({ ...about, decision }, decision.reason);

    if (decision.decision === 'scaleOut' || decision.decision === 'scaleIn') {
      const scaling = decision as ScalingDecision & { decision: 'scaleOut' | 'scaleIn' };
      const handed = await this.hand(about, {
        kind: 'scale',
        actorKey: key,
        deployment,
        decision: scaling,
        event: scaleProposedEvent(decision, now),
        effect: scalingEffectJob(deployment, decision, now, this.options.owner),
      });
      // The cooldown starts when the proposal is handed over; a failed hand-over comes again.
      if (handed) memory.lastScaleAt = now;
    } else if (decision.decision === 'escalate' && previous?.escalated !== true) {
      const escalation = decision as ScalingDecision & { decision: 'escalate' };
      const handed = await this.hand(about, {
        kind: 'escalate',
        actorKey: key,
        deployment,
        decision: escalation,
      });
      if (!handed) memory.escalated = false;
    }
    return decision;
  }

  private async hand(about: object, proposal: ScalingProposal): Promise<boolean> {
    const { decision, from, to, reason } = proposal.decision;
    try {
      await this.options.sink(proposal);
      this.log.info({ ...about, decision, from, to }, reason);
      return true;
    } catch (error) {
      this.log.warn(
        { ...about, err: error, decision },
        'the scaling proposal could not be handed over; it comes again next round',
      );
      return false;
    }
  }

  private async read(
    query: string,
    start: number,
    end: number,
    stepMs: number,
    signal: AbortSignal,
  ): Promise<SignalInput> {
    try {
      const series = await this.options.prometheus.rangeQuery(query, {
        start,
        end,
        stepMs,
        signal,
      });
      return signalFromSeries(series);
    } catch (error) {
      if (signal.aborted) return { ok: false, error: 'not read: the scaler is stopping' };
      return signalFromError(error);
    }
  }
}

function latest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** Runs at most `limit` tasks at once, the rest in order of arrival. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so none can jump the queue.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
