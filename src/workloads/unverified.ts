/**
 * What an incident that ends unverified tells (rules.ts, `expire`): the restart's pod went away,
 * and no replacement came up where an agent could verify it. Pure: the controller enqueues the
 * requests and records the Event.
 */
import type { EffectRequest, ObjectRef, RecordedEvent } from '../machines/effects.ts';
import { workloadKeyName } from '../observe/workload.ts';
import { formatDuration } from '../util/duration.ts';
import type { DetectionType } from '../policy/vocabulary.ts';
import type { WorkloadIncident } from './rules.ts';

/** The step of the requests: one per incident, so a sweep that runs twice enqueues nothing twice. */
export const UNVERIFIED_STEP = 'unverified';

/** The Kubernetes object a workload key (`namespace/Kind/name`) names, for its Event. */
export interface WorkloadObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

const API_VERSIONS: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Pod: 'v1',
};

export function workloadObject(workload: string): WorkloadObject | null {
  const [namespace, kind, ...rest] = workload.split('/');
  const name = rest.join('/');
  const apiVersion = API_VERSIONS[kind ?? ''];
  if (namespace === undefined || apiVersion === undefined || name === '') return null;
  return { apiVersion, kind: kind ?? '', namespace, name };
}

/** The pod actor whose message the incident's thread holds: the last holder, else the opener. */
function podKeyOf(incident: WorkloadIncident): string {
  return incident.lastHolder ?? incident.id.split('#')[0] ?? incident.id;
}

function podRef(key: string): ObjectRef {
  const [, namespace = '', ...name] = key.split('/');
  return { kind: 'Pod', namespace, name: name.join('/'), uid: '', resourceVersion: '' };
}

export interface UnverifiedEnd {
  /** Said on the workload's Event, in the thread and on the ticket. */
  message: string;
  event: RecordedEvent;
  /** A notice to the incident's thread (when people heard of it) and a comment on its ticket. */
  requests: EffectRequest[];
}

/**
 * The story of an incident that ended unverified: `ticket` says whether the symptom has an open
 * ticket (it gets a comment and stays open: nobody knows that the problem is gone).
 */
export function unverifiedEnd(options: {
  incident: WorkloadIncident;
  workload: string;
  type: DetectionType;
  ticket: boolean;
  now: number;
}): UnverifiedEnd {
  const { incident, workload, type, ticket, now } = options;
  const podKey = podKeyOf(incident);
  const pod = podKey.split('/').slice(1).join('/');
  const waited = incident.verifyUntil === null ? 0 : Math.max(0, now - incident.verifyUntil);
  const message =
    `ended unverified: ${pod} was restarted for ${type}, and no pod of ${workloadKeyName(workload)} ` +
    `came back where a kube-remedy agent could verify it (${formatDuration(waited)} after its ` +
    `verification window ended): the workload may be scaled to zero, its new pods may not be ` +
    `schedulable, or they run on a node without an agent. Nobody can say whether the restart helped.`;
  const request = (effect: EffectRequest['effect'], step: string): EffectRequest => ({
    actorKey: podKey,
    incidentId: incident.id,
    step,
    effectId: `${incident.id}/${step}`,
    requestedAt: now,
    effect,
    workload,
  });
  const target = podRef(podKey);
  const requests: EffectRequest[] = [];
  if (incident.announced) {
    requests.push(
      request(
        { kind: 'notify', purpose: 'unverified', to: null, level: null, target, reason: message },
        UNVERIFIED_STEP,
      ),
    );
  }
  if (ticket) {
    requests.push(
      request(
        { kind: 'updateTicket', detection: type, resolve: false, target, reason: message },
        `${UNVERIFIED_STEP}-ticket`,
      ),
    );
  }
  return {
    message,
    event: {
      type: 'Warning',
      reason: 'IncidentUnverified',
      message: `incident ${incident.id} ${message}`,
    },
    requests,
  };
}
