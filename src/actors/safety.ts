/**
 * The safety facts of a runtime (an agent, or the leading controller): per policy, whether its
 * disruption budgets have a token left (`budgetAvailable`) and whether the storm breaker holds it
 * (`storm`). Both come from Redis, so every agent and the controller agree:
 * - budgets are re-read every `budget.refreshInterval`, and at once after a disruptive action is
 *   done or refused with `budget-exhausted`;
 * - each runtime reports which of a policy's targets it has actors of (workloads, or nodes: a
 *   pod counts as its workload) and which are unhealthy, whenever one of its actors turns healthy
 *   or unhealthy and every refresh interval; the tally over all of them, each target once,
 *   decides the storm (budgets/storm.ts). The first to see a storm opens it in Redis (SET NX);
 *   every runtime that sees it enqueues the same group escalation job, so people are told once
 *   per storm even if the first dies before telling them.
 * When a fact flips, the policy's live actors get FACTS; new observations carry the current
 * facts (`factsFor`). Machines decide on them (decisions.ts: a person decides). See
 * docs/adr/0011-budgets-and-storms.md.
 *
 * The runtimes keep both in Redis and refresh on the wall clock; `simulate` runs the same
 * monitor on memory stores, its refreshes scheduled on the simulated clock.
 */
import type { Config } from '../config/index.ts';
import type { BudgetScope, BudgetUsage } from '../budgets/rules.ts';
import { DISRUPTIVE_KINDS, policyScopes, type BudgetLimits } from '../budgets/scopes.ts';
import {
  isUnhealthy,
  reportsByPolicy,
  stormFact,
  stormRule,
  stormTargetOf,
  stormVerdict,
} from '../budgets/storm.ts';
import type { StormStore } from '../budgets/storms.ts';
import type { EffectJob } from '../effects/catalogue.ts';
import type { ControlMessage } from '../effects/control-stream.ts';
import {
  stormCounts,
  type RemediationContext,
  type RuntimeFacts,
  type StormFact,
} from '../machines/index.ts';
import type { Policy, PolicyIndex, UnsentNotice } from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { stormEscalationJob } from './effect-jobs.ts';
import type { ActorHost } from './host.ts';

export interface SafetySettings {
  limits: BudgetLimits;
  /** How often budgets and tallies are refreshed, in ms. */
  refreshIntervalMs: number;
  /** The fewest unhealthy targets that can be a storm. */
  stormMinUnhealthy: number;
  /** How long an ended storm is remembered (a storm that returns within it is the same), in ms. */
  stormQuietMs: number;
}

/** Where the budgets' usage is read: the Redis `Budgets`, or `MemoryBudgets` on a clock. */
export interface BudgetUsageSource {
  /** The tokens in use in each scope's window now. */
  usage(scopes: readonly BudgetScope[]): Promise<BudgetUsage[]>;
}

/** A fact of a policy that flipped, as the monitor logs it. */
export type SafetyFlip =
  | {
      /** The policy, `namespace/name`. */
      policy: string;
      fact: 'budgetAvailable';
      available: boolean;
      /** The scopes without a token left (empty when available). */
      spent: string[];
    }
  | {
      policy: string;
      fact: 'storm';
      /** The storm fact its actors now hold; null when the storm is over. */
      storm: StormFact | null;
      /** The verdict's words: "3 of 5 workloads unhealthy at once, more than the policy's 50%". */
      reason: string;
    };

/** Runs `run` every `intervalMs` until the returned function is called. */
export type Every = (intervalMs: number, run: () => void) => () => void;

/** The runtime's schedule: a wall-clock interval that does not keep the process alive. */
export const wallClockEvery: Every = (intervalMs, run) => {
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

export interface SafetyMonitorOptions {
  /** This runtime among the reporters: its owner (`agent-<node>`, `controller`). */
  owner: string;
  settings: SafetySettings;
  budgets: BudgetUsageSource;
  storms: StormStore;
  /** The policies known now. */
  policies: () => Iterable<Policy>;
  /** The live actors: key and current context. */
  actors: () => Iterable<readonly [string, RemediationContext]>;
  /** Sends facts to a live actor, in order with its other events. */
  sendFacts: (key: string, facts: Partial<RuntimeFacts>) => Promise<void>;
  /** Enqueues a job (the storm's group escalation). */
  enqueue: (job: EffectJob) => Promise<void>;
  /** The installation's Slack channel (configuration `slack.channel`). Default: none. */
  slackChannel?: string | undefined;
  /**
   * Told when a storm's group escalation is not sent because nothing configures Slack for it
   * (by the runtime that opened the storm only, so a storm counts once).
   */
  onUnsent?: (policyRef: string, notice: UnsentNotice) => Promise<void>;
  /** Records on the policy that a storm started (the runtime that opened it does). */
  recordStorm?: (policy: Policy, message: string) => void;
  /** Told of every flip of a policy's facts, after it is logged (`simulate` shows them). */
  onFlip?: (flip: SafetyFlip) => void;
  /** Schedules the periodic refresh. Default: `wallClockEvery`. */
  every?: Every;
  /** For a storm's start, ms since the epoch. */
  now: () => number;
  logger: Logger;
}

/** Which parts a refresh covers. */
interface Parts {
  budgets: boolean;
  storms: boolean;
}

const policyRefOf = (policy: Policy): string => `${policy.ref.namespace}/${policy.ref.name}`;

/** Whether an actor's facts already say what `facts` says (a missing storm is no storm). */
function holds(current: RuntimeFacts, facts: Partial<RuntimeFacts>): boolean {
  const budgetSame =
    facts.budgetAvailable === undefined || current.budgetAvailable === facts.budgetAvailable;
  const stormSame =
    facts.storm === undefined ||
    JSON.stringify(current.storm ?? null) === JSON.stringify(facts.storm);
  return budgetSame && stormSame;
}

export class SafetyMonitor {
  private readonly options: SafetyMonitorOptions;
  private readonly log: Logger;
  /** Policy → whether its budgets have tokens; absent until first read. */
  private readonly budgetAvailable = new Map<string, boolean>();
  /** Policy → the storm fact while the breaker holds it. */
  private readonly storming = new Map<string, StormFact>();
  /** Policy → the start of the storm this runtime enqueued the group escalation of. */
  private readonly escalated = new Map<string, number>();
  /** Actor key → its policy, target and health when last seen, to notice changes. */
  private readonly health = new Map<string, string>();
  /** Policies this runtime reported targets for in the last round. */
  private reported = new Set<string>();
  private running: Promise<void> | undefined;
  private pending: Parts = { budgets: false, storms: false };
  private cancelRefresh: (() => void) | undefined;
  private stopped = false;

  constructor(options: SafetyMonitorOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'safety' });
  }

  /** Refreshes everything once, then every refresh interval. */
  async start(): Promise<void> {
    await this.refresh();
    const every = this.options.every ?? wallClockEvery;
    this.cancelRefresh = every(this.options.settings.refreshIntervalMs, () => void this.refresh());
  }

  /** Stops refreshing and withdraws this runtime's tallies (its actors no longer run here). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRefresh?.();
    await this.running;
    await this.options.storms
      .forget(this.reported, this.options.owner)
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not withdraw tallies'));
  }

  /** The facts a new observation of an actor under `policyRef` carries. */
  factsFor(policyRef: string): Partial<RuntimeFacts> {
    const available = this.budgetAvailable.get(policyRef);
    return {
      ...(available === undefined ? {} : { budgetAvailable: available }),
      storm: this.storming.get(policyRef) ?? null,
    };
  }

  /**
   * After any transition of an actor: one that turned (un)healthy, or now counts as another
   * target (its first observation names its workload), re-counts its policy.
   */
  noteTransition(key: string, context: RemediationContext): void {
    const seen = `${context.policy.name}\n${stormTargetOf(context)}\n${String(isUnhealthy(context))}`;
    if (this.health.get(key) === seen) return;
    this.health.set(key, seen);
    void this.refresh({ budgets: false, storms: true });
  }

  /** After an effect's result: a disruptive action done or refused changes what is left. */
  effectResult(message: ControlMessage): Promise<void> {
    const payload = message.payload;
    const kind = payload['kind'];
    const code = (payload['error'] as { code?: unknown } | undefined)?.code;
    const spent =
      (message.type === 'EFFECT.FAILED' && code === 'budget-exhausted') ||
      (message.type === 'EFFECT.DONE' && typeof kind === 'string' && DISRUPTIVE_KINDS.has(kind));
    return spent ? this.refresh({ budgets: true, storms: false }) : this.idle();
  }

  /** Resolves once no refresh is running or queued (tests, shutdown). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /**
   * Refreshes the facts; concurrent calls share one run and at most one more follows it. Never
   * rejects: a failure is logged and the facts keep their last values until the next refresh.
   */
  refresh(parts: Parts = { budgets: true, storms: true }): Promise<void> {
    this.pending = {
      budgets: this.pending.budgets || parts.budgets,
      storms: this.pending.storms || parts.storms,
    };
    this.running ??= (async () => {
      while (!this.stopped && (this.pending.budgets || this.pending.storms)) {
        const now = this.pending;
        this.pending = { budgets: false, storms: false };
        try {
          if (now.budgets) await this.refreshBudgets();
          if (now.storms) await this.refreshStorms();
        } catch (error) {
          this.log.warn({ err: error }, 'could not refresh budgets and storms; keeping the last');
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private liveActors(): Map<string, RemediationContext> {
    const live = new Map<string, RemediationContext>();
    for (const [key, context] of this.options.actors()) live.set(key, context);
    for (const key of this.health.keys()) if (!live.has(key)) this.health.delete(key);
    return live;
  }

  private async tell(
    policyRef: string,
    facts: Partial<RuntimeFacts>,
    live: Map<string, RemediationContext>,
  ): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const [key, context] of live) {
      // An actor that already holds these facts (restored, or told by an observation) is left be.
      if (context.policy.name === policyRef && !holds(context.facts, facts)) {
        sends.push(this.options.sendFacts(key, facts));
      }
    }
    await Promise.all(sends);
  }

  private async refreshBudgets(): Promise<void> {
    const policies = [...this.options.policies()];
    const scopesOf = new Map(
      policies.map((p) => [policyRefOf(p), policyScopes(p, this.options.settings.limits)]),
    );
    const unique = new Map(
      [...scopesOf.values()].flat().map((scope) => [scope.scope, scope] as const),
    );
    const usage = await this.options.budgets.usage([...unique.values()]);
    const left = new Map(usage.map((u) => [u.scope, u.used < u.limit]));
    const live = this.liveActors();
    const flips: Promise<void>[] = [];
    for (const [ref, scopes] of scopesOf) {
      const available = scopes.every((s) => left.get(s.scope) ?? true);
      if (this.budgetAvailable.get(ref) === available) continue;
      this.budgetAvailable.set(ref, available);
      const spent = scopes.filter((s) => left.get(s.scope) === false).map((s) => s.scope);
      this.log.info(
        { policy: ref, budgetAvailable: available, ...(available ? {} : { spent }) },
        available ? 'budget available' : 'budget spent: automation hands decisions to people',
      );
      this.options.onFlip?.({ policy: ref, fact: 'budgetAvailable', available, spent });
      flips.push(this.tell(ref, { budgetAvailable: available }, live));
    }
    for (const ref of [...this.budgetAvailable.keys()]) {
      if (!scopesOf.has(ref)) this.budgetAvailable.delete(ref);
    }
    await Promise.all(flips);
  }

  private async refreshStorms(): Promise<void> {
    const { settings, storms, owner } = this.options;
    const policies = new Map([...this.options.policies()].map((p) => [policyRefOf(p), p]));
    const live = this.liveActors();
    const reports = reportsByPolicy(live.values());
    // Reports are kept for three refresh intervals: a runtime that stops reporting drops out.
    const staleMs = settings.refreshIntervalMs * 3;
    const refs = new Set([...reports.keys(), ...this.reported]);
    const reported = new Set<string>();
    const flips: Promise<void>[] = [];
    for (const ref of refs) {
      const mine = reports.get(ref) ?? new Map<string, boolean>();
      const summed = await storms.report(ref, owner, mine, staleMs);
      if (mine.size > 0) reported.add(ref);
      const policy = policies.get(ref);
      if (policy === undefined) {
        // The policy is gone: its actors stop, and nothing is held in its name.
        if (this.storming.delete(ref)) {
          this.options.onFlip?.({
            policy: ref,
            fact: 'storm',
            storm: null,
            reason: 'the policy is gone',
          });
          flips.push(this.tell(ref, { storm: null }, live));
        }
        continue;
      }
      const rule = stormRule(
        policy.budget,
        settings.stormMinUnhealthy,
        stormCounts(policy.selector.kinds),
      );
      const verdict = stormVerdict(summed, rule);
      const held = this.storming.get(ref);
      // A storm again while the last one cools down is held in its own right.
      const cooling = held?.resumesAt !== undefined;
      const before = verdict.storm && cooling ? undefined : held;
      if (verdict.storm) {
        if (cooling) await storms.endCooldown(ref);
        const fact = before ?? stormFact(summed, rule);
        const storm = await storms.open(ref, this.options.now(), settings.stormQuietMs);
        await this.escalateOnce(policy, storm.startedAt, fact, storm.opened);
        if (before === undefined) {
          this.storming.set(ref, fact);
          this.log.warn({ policy: ref, reason: verdict.reason }, 'storm: automation held');
          this.options.onFlip?.({
            policy: ref,
            fact: 'storm',
            storm: fact,
            reason: verdict.reason,
          });
          flips.push(this.tell(ref, { storm: fact }, live));
        }
      } else {
        const next = await this.afterStorm(ref, held, policy.budget.stormCooldownMs);
        if (JSON.stringify(next) !== JSON.stringify(held ?? null)) {
          if (next === null) this.storming.delete(ref);
          else this.storming.set(ref, next);
          const reason =
            next !== null
              ? `${verdict.reason}; automation resumes at ${new Date(next.resumesAt ?? 0).toISOString()}, after the policy's stormCooldown`
              : held?.resumesAt !== undefined
                ? `the cooldown after the storm is over; ${verdict.reason}`
                : verdict.reason;
          this.log.info(
            { policy: ref, reason },
            next === null ? 'storm over: automation resumes' : 'storm over: cooling down',
          );
          this.options.onFlip?.({ policy: ref, fact: 'storm', storm: next, reason });
          flips.push(this.tell(ref, { storm: next }, live));
        }
      }
    }
    for (const ref of [...this.storming.keys()]) {
      if (!refs.has(ref)) {
        this.storming.delete(ref);
        this.options.onFlip?.({
          policy: ref,
          fact: 'storm',
          storm: null,
          reason: 'no actor of the policy is left to count',
        });
        flips.push(this.tell(ref, { storm: null }, live));
      }
    }
    this.reported = reported;
    await Promise.all(flips);
  }

  /**
   * The storm fact once the breaker no longer trips: a storm that just ended starts the policy's
   * cooldown (shared through the store, so every runtime resumes at the same time, and one that
   * starts meanwhile holds too); a cooldown holds until it ends; otherwise there is none.
   */
  private async afterStorm(
    ref: string,
    held: StormFact | undefined,
    cooldownMs: number,
  ): Promise<StormFact | null> {
    const now = this.options.now();
    if (held !== undefined && held.resumesAt === undefined && cooldownMs > 0) {
      return this.options.storms.cooldown(ref, { ...held, resumesAt: now + cooldownMs }, now);
    }
    if (held?.resumesAt !== undefined && held.resumesAt <= now) return null;
    return this.options.storms.cooldownOf(ref, now);
  }

  /** Enqueues the storm's group escalation, once per storm from this runtime. */
  private async escalateOnce(
    policy: Policy,
    startedAt: number,
    fact: StormFact,
    opened: boolean,
  ): Promise<void> {
    const ref = policyRefOf(policy);
    if (this.escalated.get(ref) === startedAt) return;
    const planned = stormEscalationJob({
      owner: this.options.owner,
      policy,
      startedAt,
      storm: fact,
      slackChannel: this.options.slackChannel,
    });
    if ('job' in planned) await this.options.enqueue(planned.job);
    else if (opened) await this.options.onUnsent?.(ref, planned.notice);
    this.escalated.set(ref, startedAt);
    if (opened) {
      // The Event on the policy tells the storm whether or not Slack does.
      const reason = 'job' in planned ? planned.job.effect['reason'] : planned.notice.reason;
      this.log.warn(
        { policy: ref, startedAt },
        'job' in planned
          ? 'storm opened; group escalation enqueued'
          : 'storm opened; no group escalation: Slack is not configured for the policy',
      );
      this.options.recordStorm?.(policy, typeof reason === 'string' ? reason : '');
    }
  }
}

/** The safety settings from configuration `budget`. */
export function safetySettings(budget: Config['budget']): SafetySettings {
  return {
    limits: {
      namespaceMaxActions: budget.namespaceMaxActions,
      clusterMaxActions: budget.clusterMaxActions,
      windowMs: budget.window,
    },
    refreshIntervalMs: budget.refreshInterval,
    stormMinUnhealthy: budget.stormMinUnhealthy,
    stormQuietMs: budget.stormQuiet,
  };
}

/** Where a storm is recorded: a Kubernetes Event on the AutoRemediationPolicy. */
export function policyEventTarget(policy: Policy): {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
} {
  return {
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    namespace: policy.ref.namespace,
    name: policy.ref.name,
    ...(policy.uid === undefined ? {} : { uid: policy.uid }),
  };
}

/** The live actors of a host with their current contexts. */
export function* liveContexts(host: ActorHost): Generator<readonly [string, RemediationContext]> {
  for (const key of host.keys()) {
    const context = host.snapshot(key)?.context;
    if (context !== undefined) yield [key, context] as const;
  }
}

/** `namespace/name` of the policy governing an object key, if one does. */
export function governingPolicy(index: PolicyIndex, key: string): string | undefined {
  const governance = index.governanceOf(key);
  return governance.state === 'governed'
    ? `${governance.policy.namespace}/${governance.policy.name}`
    : undefined;
}
