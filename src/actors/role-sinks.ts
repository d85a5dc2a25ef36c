/**
 * Where the agent's and the controller's actors send what they decide: effect jobs through the
 * role's queues, and Kubernetes Events on the actors' objects, both counted in the role's metrics.
 */
import type { EventRecorder } from '../adapters/kubernetes/events.ts';
import { integrationFor } from '../effects/catalogue.ts';
import type { ObjectKind } from '../policy/vocabulary.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import { roleEffectSink } from './effect-jobs.ts';
import type { EffectSink, EventSink } from './host.ts';

type RoleEffectSinkOptions = Parameters<typeof roleEffectSink>[0];

/** Effect jobs through the role's queues, each counted by integration and kind. */
export function countedEffectSink(
  options: Omit<RoleEffectSinkOptions, 'onEnqueued'> & { metrics: RuntimeMetrics },
): EffectSink {
  const { metrics, ...sink } = options;
  return {
    enqueue: roleEffectSink({
      ...sink,
      onEnqueued: (job) =>
        metrics.effectsEnqueued.inc({
          integration: integrationFor(job.effect.kind),
          kind: job.effect.kind,
        }),
    }),
  };
}

const API_VERSIONS: Record<ObjectKind, string> = {
  Pod: 'v1',
  Node: 'v1',
  Deployment: 'apps/v1',
};

/** Events on the object an actor stands for (`Kind/namespace/name`, or `Kind/name`). */
export function actorEventSink(recorder: EventRecorder, metrics: RuntimeMetrics): EventSink {
  return {
    record: async (actor, event) => {
      const [kind = '', first = '', second] = actor.key.split('/');
      const apiVersion = API_VERSIONS[kind as ObjectKind];
      await recorder.record(
        second === undefined
          ? { apiVersion, kind, name: first }
          : { apiVersion, kind, namespace: first, name: second },
        event,
      );
      metrics.eventsRecorded.inc({ type: event.type, reason: event.reason });
    },
  };
}
