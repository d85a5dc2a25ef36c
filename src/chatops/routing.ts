/**
 * Where a person's command goes. A Slack message names the actor and the incident it was sent
 * for; by the time someone clicks or types, that may no longer be where the incident is:
 *
 * - a pod's incident belongs to its workload (docs/adr/0014): a replacement pod takes a
 *   verification over, the next pod to confirm the symptom continues an incident whose pod went
 *   away. The command goes to the pod actor that holds the incident now, on the control stream of
 *   the agent that runs it (the workload's memory says which);
 * - the incident ended, or the actor is gone (its object deleted, or no policy selects it): the
 *   person is told so, and nothing is sent.
 *
 * The agent that receives a command checks again (src/actors/command-forwarding.ts): the holder
 * may change between this answer and the command's arrival.
 */
import type { Redis } from '../adapters/redis.ts';
import { commandRoute, type WorkloadPhase } from '../workloads/rules.ts';
import type { WorkloadStore } from '../workloads/store.ts';
import { actorStateOf } from './actor-states.ts';
import type { Subject } from './model.ts';

export interface RoutingDeps {
  redis: Redis;
  keyPrefix: string;
  /** The workloads' memory, read to find the pod that holds an incident now. */
  workloads?: Pick<WorkloadStore, 'read'> | undefined;
}

export type CommandDestination =
  | {
      ok: true;
      actorKey: string;
      owner: string;
      /** The actor the message was sent for, when another holds its incident now. */
      movedFrom?: string;
    }
  | {
      ok: false;
      /** `ended`: nothing holds the incident any more; the others pass with time. */
      code: 'ended' | 'betweenPods' | 'holderUnknown';
      /** What the actor the message was sent for is doing now, when it is still watched. */
      actorNow?: string;
      /** Why the incident ended, in the actor's words, when its history still says. */
      endedBecause?: string;
      /** The actor that holds the incident, when its agent has not said where it runs. */
      holder?: string;
      /** Where the incident stands while no pod holds it. */
      phase?: WorkloadPhase;
    };

/** Actors that keep snapshots; a storm's policy-wide notice has no actor behind it. */
const ACTOR_KINDS: ReadonlySet<string> = new Set(['Pod', 'Node', 'Deployment']);

export async function routeCommand(
  deps: RoutingDeps,
  subject: Pick<Subject, 'actorKey' | 'owner' | 'incidentId' | 'workload'>,
): Promise<CommandDestination> {
  const addressed = { actorKey: subject.actorKey, owner: subject.owner };
  if (subject.workload != null && deps.workloads !== undefined) {
    const symptoms = await deps.workloads.read(subject.workload);
    const route = commandRoute(symptoms, subject.incidentId, addressed);
    switch (route.route) {
      case 'holder':
        return route.actorKey === subject.actorKey
          ? { ok: true, ...addressed, owner: route.owner }
          : { ok: true, actorKey: route.actorKey, owner: route.owner, movedFrom: subject.actorKey };
      case 'betweenPods':
        return { ok: false, code: 'betweenPods', phase: route.phase };
      case 'holderUnknown':
        return { ok: false, code: 'holderUnknown', holder: route.actorKey };
      case 'notOpen':
        // Ended, or decided by the pod alone (its workload did not answer): its actor says.
        break;
    }
  }
  if (!ACTOR_KINDS.has(subject.actorKey.split('/')[0] ?? '')) return { ok: true, ...addressed };
  const state = await actorStateOf(deps, subject.owner, subject.actorKey);
  if (state !== null && state.incidentId === subject.incidentId) return { ok: true, ...addressed };
  const closed = state?.history.findLast(
    (entry) => entry.incidentId === subject.incidentId && entry.decision === 'close',
  );
  return {
    ok: false,
    code: 'ended',
    ...(state === null ? {} : { actorNow: state.state }),
    ...(closed === undefined ? {} : { endedBecause: closed.reason }),
  };
}
