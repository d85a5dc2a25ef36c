/**
 * What the safety monitor does in a simulation, as the timeline shows it: a line on the policy
 * (`AutoRemediationPolicy/<namespace>/<name>`) whenever one of its facts flips (its budget spent
 * or available again, a storm held or over), with the storm's group escalation as the effect it
 * asked for and its StormDetected Event. The monitor itself is the runtime's
 * (src/actors/safety.ts), wired by the engine.
 */
import type { SafetyFlip } from '../actors/safety.ts';
import type { EffectJob } from '../effects/catalogue.ts';
import type { Policy } from '../policy/index.ts';
import { whomOf, type NoticeTarget } from './describe.ts';
import type { EffectRecord, EffectView, TimelineEntry } from './result.ts';

/** What the safety monitor did for one policy since the timeline last showed it. */
interface PolicyActivity {
  texts: string[];
  effects: EffectView[];
  events: { type: string; reason: string; message: string }[];
}

export class SafetyLines {
  /** Policy key → what it did, not yet on the timeline. */
  private readonly activities = new Map<string, PolicyActivity>();
  /** Policy (`namespace/name`) → whether its budget had a token at the last read. */
  private readonly budgetSeen = new Map<string, boolean>();

  private activity(policy: string): PolicyActivity {
    const key = `AutoRemediationPolicy/${policy}`;
    let activity = this.activities.get(key);
    if (activity === undefined) {
      activity = { texts: [], effects: [], events: [] };
      this.activities.set(key, activity);
    }
    return activity;
  }

  /** A fact flipped; returns whether it is worth a line (the first read of a budget is not). */
  flip(flip: SafetyFlip): boolean {
    if (flip.fact === 'budgetAvailable') {
      const before = this.budgetSeen.get(flip.policy);
      this.budgetSeen.set(flip.policy, flip.available);
      if (flip.available && before !== false) return false;
      this.activity(flip.policy).texts.push(
        flip.available
          ? 'budget available again: automation resumes'
          : `budget spent (${flip.spent.join(', ')}): automation hands decisions to people`,
      );
      return true;
    }
    this.activity(flip.policy).texts.push(
      flip.storm === null
        ? `storm over: automation resumes (${flip.reason})`
        : flip.storm.resumesAt !== undefined
          ? `storm over: automation still held while it settles (${flip.reason})`
          : `storm: automation held, each incident asks a person (${flip.reason})`,
    );
    return true;
  }

  /** The StormDetected Event the monitor records on a policy. */
  stormDetected(policy: Policy, message: string): void {
    this.activity(`${policy.ref.namespace}/${policy.ref.name}`).events.push({
      type: 'Warning',
      reason: 'StormDetected',
      message,
    });
  }

  /** A storm's group escalation, enqueued by the monitor: an effect of the policy. */
  escalation(job: EffectJob, policy: Policy | undefined, at: number): EffectRecord {
    const to = (job.effect['to'] ?? null) as NoticeTarget;
    const description = `notify ${whomOf(to, policy?.slack?.channel)} (storm)`;
    const ref = job.policy ?? '';
    this.activity(ref).effects.push({ step: job.step, kind: job.effect.kind, description });
    const reason = job.effect['reason'];
    return {
      at,
      object: job.actorKey,
      policy: ref,
      incidentId: job.incidentId,
      step: job.step,
      kind: job.effect.kind,
      description,
      reason: typeof reason === 'string' ? reason : '',
      outcome: 'sent',
      resultAt: null,
      result: null,
    };
  }

  /** The lines of what happened since the last call, at `at`. */
  take(at: number): TimelineEntry[] {
    const entries: TimelineEntry[] = [...this.activities].map(([object, activity]) => ({
      type: 'safety',
      at,
      object,
      text: activity.texts.join('; ') || 'the storm goes on: people told again',
      effects: activity.effects,
      events: activity.events,
    }));
    this.activities.clear();
    return entries;
  }
}
