/**
 * What an incident's story comes to, told the same way for `simulate` and for a live run, so
 * the two can be compared: per workload (what a person names: the Deployment, the StatefulSet,
 * the bare pod, the Node), the actions in the order they were asked for with how each turned
 * out, how many times people were escalated to, and the states its objects ended in.
 *
 * Pod names are not compared: Kubernetes names a ReplicaSet's replacement pods at random. Nor
 * is the order of actions across workloads, which on a real cluster depends on which agent
 * sees what first.
 */
import type { SimulationResult } from '../../../src/simulate/index.ts';

export type ActionOutcome = 'done' | 'failed' | 'refused' | 'pending';

export interface Story {
  /** Workload → its actions in order: `restartPod done`, `rollback done`, `restartPod refused`. */
  actions: Record<string, string[]>;
  /** Workload → how many times an incident of it was escalated to people. */
  escalations: Record<string, number>;
  /** Workload → the states of its objects at the end (sorted; objects gone are left out). */
  finalStates: Record<string, string[]>;
}

/** Effects that tell or record rather than change the cluster (not actions). */
export const NOT_ACTIONS: ReadonlySet<string> = new Set([
  'notify',
  'escalate',
  'openTicket',
  'updateTicket',
  'collectEvidence',
  'suggestCause',
]);

function push<T>(map: Record<string, T[]>, key: string, value: T): void {
  (map[key] ??= []).push(value);
}

function sorted(story: Story): Story {
  const finalStates: Record<string, string[]> = {};
  for (const key of Object.keys(story.finalStates).sort())
    finalStates[key] = [...(story.finalStates[key] ?? [])].sort();
  const ordered = <T>(record: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return {
    actions: ordered(story.actions),
    escalations: ordered(story.escalations),
    finalStates,
  };
}

/** The story `simulate` tells. */
export function simulatedStory(result: SimulationResult): Story {
  const workloadOf = new Map(result.summary.objects.map((o) => [o.object, o.workload]));
  const story: Story = { actions: {}, escalations: {}, finalStates: {} };
  for (const effect of result.effects) {
    if (NOT_ACTIONS.has(effect.kind)) continue;
    const outcome: ActionOutcome =
      effect.outcome === 'none' || effect.outcome === 'sent' ? 'pending' : effect.outcome;
    push(
      story.actions,
      workloadOf.get(effect.object) ?? effect.object,
      `${effect.kind} ${outcome}`,
    );
  }
  for (const entry of result.timeline) {
    if (entry.type !== 'machine') continue;
    const escalated = entry.events.filter((e) => e.reason === 'Escalated').length;
    if (escalated === 0) continue;
    const workload = workloadOf.get(entry.object) ?? entry.object;
    story.escalations[workload] = (story.escalations[workload] ?? 0) + escalated;
  }
  for (const object of result.summary.objects) {
    if (object.state === 'stopped') continue;
    push(story.finalStates, object.workload, object.state);
  }
  return sorted(story);
}

/** One effect job as the workers' queues kept it. */
export interface LiveAction {
  kind: string;
  /** The actor that asked, as the live cluster names it. */
  actorKey: string;
  /** When it was asked for (the job's creation), ms since the epoch. */
  at: number;
  outcome: ActionOutcome;
}

export interface LiveRecord {
  actions: LiveAction[];
  /** Each `Escalated` Event kube-remedy recorded, on which object (live name), how many times. */
  escalated: { object: string; count: number }[];
  /** Actor key → its state at the end, for the objects that still exist. */
  states: Map<string, string>;
}

/**
 * The story a live run tells. `workloadOf` names an actor key's workload in the scenario's
 * words (namespaces and node names mapped back to the scenario's).
 */
export function liveStory(record: LiveRecord, workloadOf: (actorKey: string) => string): Story {
  const story: Story = { actions: {}, escalations: {}, finalStates: {} };
  for (const action of [...record.actions].sort((a, b) => a.at - b.at)) {
    if (NOT_ACTIONS.has(action.kind)) continue;
    push(story.actions, workloadOf(action.actorKey), `${action.kind} ${action.outcome}`);
  }
  for (const { object, count } of record.escalated) {
    const workload = workloadOf(object);
    story.escalations[workload] = (story.escalations[workload] ?? 0) + count;
  }
  for (const [key, state] of record.states) push(story.finalStates, workloadOf(key), state);
  return sorted(story);
}
