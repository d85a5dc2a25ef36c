/**
 * The storm breaker, as pure functions. A policy's targets are the workloads it governs that
 * have an actor: a pod counts as its workload (every replica of Deployment shop/web is the one
 * target `Deployment/shop/web`, and a Deployment's own actor is that target too), a pod that no
 * controller replaces counts as itself, and so does a node. Five crash-looping replicas are one
 * incident (docs/adr/0014-incidents-belong-to-workloads.md), so they are one unhealthy target,
 * not five.
 *
 * A target is unhealthy while any of its actors has a detection window open (`suspect`) or an
 * incident open (detected, waiting for approval, remediating, verifying, escalated,
 * quarantined…); healthy, cooling down and resolved actors are not unhealthy. So a workload is
 * unhealthy while any of its pods is, wherever they run: one replica healthy again does not make
 * the workload healthy while another still fails.
 *
 * Each runtime (every agent, the controller) reports the targets it has actors of and whether
 * each is unhealthy there (`reportsByPolicy`); a store keeps the reports (storms.ts: Redis for
 * the runtimes, memory otherwise) and sums them with `sumReports`, so a workload whose pods run on
 * several nodes is still counted once. When more than the policy's `budget.maxUnhealthyPercent`
 * of its targets are unhealthy at once, and at least `minUnhealthy` of them, remediating them one
 * by one is not the answer: the policy's automation holds and people are told once, as a group.
 */
import {
  stormCounts,
  stormLimit,
  type RemediationContext,
  type StormCounted,
  type StormFact,
} from '../machines/index.ts';
import { isReplaced, workloadOf } from '../observe/workload.ts';

/** Targets and unhealthy targets of one policy. */
export interface StormTally {
  targets: number;
  unhealthy: number;
}

/** One reporter's targets of one policy: target key → whether it is unhealthy there. */
export type StormReport = ReadonlyMap<string, boolean>;

export interface StormRule {
  /** The policy's `budget.maxUnhealthyPercent`: the share that must be exceeded. */
  maxUnhealthyPercent: number;
  /**
   * The policy's `budget.maxUnhealthy` as a count: the number that must be exceeded, in place of
   * the percentage (a percentage there is `maxUnhealthyPercent`, see `stormRule`).
   */
  maxUnhealthy?: number;
  /** Configuration `budget.stormMinUnhealthy`: fewer unhealthy targets are never a storm. */
  minUnhealthy: number;
  /** What the policy's targets are, in the words of the verdict. Default: workloads. */
  counts?: StormCounted;
}

export interface StormVerdict {
  storm: boolean;
  reason: string;
}

/** Whether an actor's target counts as unhealthy: a detection window or an incident is open. */
export function isUnhealthy(context: Pick<RemediationContext, 'incident' | 'window'>): boolean {
  return context.incident !== null || context.window !== null;
}

/**
 * The target an actor counts as, as an actor key (`Kind/namespace/name`): a pod's workload when
 * a controller replaces the pod (its observation says which; before the first one, the workload
 * of the incident it took over), otherwise the actor's own key (a bare or mirror pod, a
 * Deployment, a node). A Deployment's pods and the Deployment itself are so one target. Null for
 * a pod's actor that has observed nothing yet, between its spawn and its first observation: it
 * counts once it knows its workload, rather than for a moment as a target of its own.
 */
export function stormTargetOf(
  context: Pick<RemediationContext, 'actorKey' | 'kind' | 'observation' | 'incident'>,
): string | null {
  const o = context.observation;
  if (o?.kind === 'Pod') {
    const workload = o.workload ?? workloadOf({ name: o.name, owner: o.owner });
    return isReplaced(workload)
      ? `${workload.kind}/${o.namespace}/${workload.name}`
      : context.actorKey;
  }
  if (context.kind === 'Pod' && o === null) {
    // `namespace/Kind/name`, as workload memory keys it.
    const [namespace, kind, name] = context.incident?.workload?.split('/') ?? [];
    if (namespace !== undefined && kind !== undefined && name !== undefined) {
      return `${kind}/${namespace}/${name}`;
    }
    if (context.incident === null) return null;
  }
  return context.actorKey;
}

/**
 * Each policy's report (`namespace/name` → target → unhealthy) among one runtime's actor
 * contexts: a target with several actors here is unhealthy when any of them is.
 */
export function reportsByPolicy(
  contexts: Iterable<
    Pick<RemediationContext, 'actorKey' | 'kind' | 'observation' | 'incident' | 'window' | 'policy'>
  >,
): Map<string, Map<string, boolean>> {
  const reports = new Map<string, Map<string, boolean>>();
  for (const context of contexts) {
    const report = reports.get(context.policy.name) ?? new Map<string, boolean>();
    const target = stormTargetOf(context);
    if (target === null) continue;
    report.set(target, (report.get(target) ?? false) || isUnhealthy(context));
    reports.set(context.policy.name, report);
  }
  return reports;
}

/**
 * The tally of a policy over every reporter's report: each target once, however many reporters
 * have actors of it, and unhealthy when it is unhealthy in any report.
 */
export function sumReports(reports: Iterable<StormReport>): StormTally {
  const targets = new Map<string, boolean>();
  for (const report of reports) {
    for (const [target, unhealthy] of report) {
      targets.set(target, (targets.get(target) ?? false) || unhealthy);
    }
  }
  let unhealthy = 0;
  for (const sick of targets.values()) if (sick) unhealthy += 1;
  return { targets: targets.size, unhealthy };
}

function share(tally: StormTally, counts: StormCounted): string {
  return `${tally.unhealthy} of ${tally.targets} ${counts} unhealthy`;
}

/** Whether a policy's tally is a storm, and why (or why not). */
export function stormVerdict(tally: StormTally, rule: StormRule): StormVerdict {
  const counts = rule.counts ?? 'workloads';
  if (tally.unhealthy < rule.minUnhealthy) {
    return {
      storm: false,
      reason: `${share(tally, counts)}: fewer than the ${rule.minUnhealthy} a storm needs`,
    };
  }
  const limit = stormLimit(rule);
  // More than the count, or than the percentage (in integers: unhealthy / targets > percent / 100).
  const within =
    rule.maxUnhealthy === undefined
      ? tally.unhealthy * 100 <= rule.maxUnhealthyPercent * tally.targets
      : tally.unhealthy <= rule.maxUnhealthy;
  if (within) {
    return { storm: false, reason: `${share(tally, counts)}: within the policy's ${limit}` };
  }
  return {
    storm: true,
    reason: `${share(tally, counts)} at once, more than the policy's ${limit}`,
  };
}

/**
 * The storm rule of a policy's budget: `maxUnhealthy` when set (a count, or a percentage that
 * replaces `maxUnhealthyPercent`), `maxUnhealthyPercent` otherwise.
 */
export function stormRule(
  budget: { maxUnhealthyPercent: number; maxUnhealthy?: number | string | undefined },
  minUnhealthy: number,
  counts: StormCounted,
): StormRule {
  const max = budget.maxUnhealthy;
  if (typeof max === 'number') {
    return {
      maxUnhealthyPercent: budget.maxUnhealthyPercent,
      maxUnhealthy: max,
      minUnhealthy,
      counts,
    };
  }
  const percent = max === undefined ? budget.maxUnhealthyPercent : Number.parseInt(max, 10);
  return { maxUnhealthyPercent: percent, minUnhealthy, counts };
}

/** The fact the policy's actors hold while the storm lasts. */
export function stormFact(tally: StormTally, rule: StormRule): StormFact {
  return {
    unhealthy: tally.unhealthy,
    targets: tally.targets,
    maxUnhealthyPercent: rule.maxUnhealthyPercent,
    ...(rule.maxUnhealthy === undefined ? {} : { maxUnhealthy: rule.maxUnhealthy }),
  };
}

/** The words of the one group escalation of a storm; `kinds` are the policy's selector kinds. */
export function stormEscalationReason(
  policy: string,
  fact: StormFact,
  kinds: Parameters<typeof stormCounts>[0],
): string {
  return `storm under policy ${policy}: ${fact.unhealthy} of its ${fact.targets} ${stormCounts(kinds)} are unhealthy at once (more than ${stormLimit(fact)}). Automatic remediation under this policy is held while it lasts; each of its incidents asks a person before anything is done.`;
}
