/**
 * The storm breaker, as pure functions. A policy's targets are the objects it governs that have
 * an actor (every agent's and the controller's, summed in Redis). A target is unhealthy while
 * its actor has a detection window open (`suspect`) or an incident open (detected, waiting for
 * approval, remediating, verifying, escalated, quarantined…); healthy, cooling down and resolved
 * targets are not. When more than the policy's `budget.maxUnhealthyPercent` of its targets are
 * unhealthy at once, and at least `minUnhealthy` of them, remediating them one by one is not the
 * answer: the policy's automation holds and people are told once, as a group.
 */
import type { RemediationContext, StormFact } from '../machines/index.ts';

/** Targets and unhealthy targets of one policy. */
export interface StormTally {
  targets: number;
  unhealthy: number;
}

export interface StormRule {
  /** The policy's `budget.maxUnhealthyPercent`: the share that must be exceeded. */
  maxUnhealthyPercent: number;
  /** Configuration `budget.stormMinUnhealthy`: fewer unhealthy targets are never a storm. */
  minUnhealthy: number;
}

export interface StormVerdict {
  storm: boolean;
  reason: string;
}

/** Whether an actor's target counts as unhealthy: a detection window or an incident is open. */
export function isUnhealthy(context: Pick<RemediationContext, 'incident' | 'window'>): boolean {
  return context.incident !== null || context.window !== null;
}

/** Counts targets and unhealthy targets per policy (`namespace/name`) among actor contexts. */
export function tallyByPolicy(
  contexts: Iterable<Pick<RemediationContext, 'incident' | 'window' | 'policy'>>,
): Map<string, StormTally> {
  const tallies = new Map<string, StormTally>();
  for (const context of contexts) {
    const tally = tallies.get(context.policy.name) ?? { targets: 0, unhealthy: 0 };
    tally.targets += 1;
    if (isUnhealthy(context)) tally.unhealthy += 1;
    tallies.set(context.policy.name, tally);
  }
  return tallies;
}

function share(tally: StormTally): string {
  return `${tally.unhealthy} of ${tally.targets} targets unhealthy`;
}

/** Whether a policy's tally is a storm, and why (or why not). */
export function stormVerdict(tally: StormTally, rule: StormRule): StormVerdict {
  if (tally.unhealthy < rule.minUnhealthy) {
    return {
      storm: false,
      reason: `${share(tally)}: fewer than the ${rule.minUnhealthy} a storm needs`,
    };
  }
  // More than the percentage, in integers: unhealthy / targets > percent / 100.
  if (tally.unhealthy * 100 <= rule.maxUnhealthyPercent * tally.targets) {
    return {
      storm: false,
      reason: `${share(tally)}: within the policy's ${rule.maxUnhealthyPercent}%`,
    };
  }
  return {
    storm: true,
    reason: `${share(tally)} at once, more than the policy's ${rule.maxUnhealthyPercent}%`,
  };
}

/** The fact the policy's actors hold while the storm lasts. */
export function stormFact(tally: StormTally, rule: StormRule): StormFact {
  return {
    unhealthy: tally.unhealthy,
    targets: tally.targets,
    maxUnhealthyPercent: rule.maxUnhealthyPercent,
  };
}

/** The words of the one group escalation of a storm. */
export function stormEscalationReason(policy: string, fact: StormFact): string {
  return `storm under policy ${policy}: ${fact.unhealthy} of its ${fact.targets} targets are unhealthy at once (more than ${fact.maxUnhealthyPercent}%). Automatic remediation under this policy is held while it lasts; each target asks a person before anything is done.`;
}
