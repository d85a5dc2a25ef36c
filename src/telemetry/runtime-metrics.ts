/**
 * kube-remedy's own metrics, defined in one place so the dashboard (deploy/grafana) and the
 * code agree on names. Created on the process's registry and handed to the components.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './metrics.ts';

export interface RuntimeMetrics {
  actors: Gauge<'machine' | 'state'>;
  transitions: Counter<'machine' | 'from' | 'to'>;
  eventToDecision: Histogram<'machine'>;
  eventToPersisted: Histogram<'machine'>;
  snapshotWrites: Counter;
  watchRestarts: Counter<'resource' | 'reason'>;
  watchSynced: Gauge<'resource'>;
  effectsEnqueued: Counter<'integration' | 'kind'>;
  effectOutcomes: Counter<'integration' | 'kind' | 'outcome'>;
  queueDepth: Gauge<'queue' | 'state'>;
  budgetDenials: Counter<'reason'>;
  eventsRecorded: Counter<'type' | 'reason'>;
  eventsDropped: Counter;
  leader: Gauge<'lease'>;
}

/** Seconds, from a millisecond to a few seconds: around the 20 ms decision target. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const registers = [registry];
  const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
  return {
    actors: new Gauge({
      name: name('actors'),
      help: 'Live actors by machine and current state.',
      labelNames: ['machine', 'state'] as const,
      registers,
    }),
    transitions: new Counter({
      name: name('transitions_total'),
      help: 'State transitions, by machine and the states left and entered.',
      labelNames: ['machine', 'from', 'to'] as const,
      registers,
    }),
    eventToDecision: new Histogram({
      name: name('event_to_decision_seconds'),
      help: 'Time from a watch event arriving to its actor having taken the transition (decided), before it is persisted.',
      labelNames: ['machine'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventToPersisted: new Histogram({
      name: name('event_to_persisted_seconds'),
      help: "Time from a watch event arriving to its actor's transition persisted in Redis and its effects enqueued.",
      labelNames: ['machine'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    snapshotWrites: new Counter({
      name: name('snapshot_writes_total'),
      help: 'Actor snapshots written to Redis.',
      registers,
    }),
    watchRestarts: new Counter({
      name: name('watch_restarts_total'),
      help: 'Watch restarts by resource and reason (error, gone, relist).',
      labelNames: ['resource', 'reason'] as const,
      registers,
    }),
    watchSynced: new Gauge({
      name: name('watch_synced'),
      help: '1 once a watch has delivered its first complete list.',
      labelNames: ['resource'] as const,
      registers,
    }),
    effectsEnqueued: new Counter({
      name: name('effects_enqueued_total'),
      help: 'Effect jobs enqueued, by integration and effect kind.',
      labelNames: ['integration', 'kind'] as const,
      registers,
    }),
    effectOutcomes: new Counter({
      name: name('effect_outcomes_total'),
      help: 'Effect outcomes in the workers: done, failed, deferred.',
      labelNames: ['integration', 'kind', 'outcome'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: name('queue_jobs'),
      help: 'Jobs in each effect queue by state (waiting, active, delayed, failed).',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    budgetDenials: new Counter({
      name: name('budget_denials_total'),
      help: 'Disruptive actions refused by a budget, node slot or storm breaker.',
      labelNames: ['reason'] as const,
      registers,
    }),
    eventsRecorded: new Counter({
      name: name('kubernetes_events_total'),
      help: 'Kubernetes Events written on objects, by type and reason.',
      labelNames: ['type', 'reason'] as const,
      registers,
    }),
    eventsDropped: new Counter({
      name: name('kubernetes_events_dropped_total'),
      help: 'Kubernetes Events not written because of the per-object rate limit.',
      registers,
    }),
    leader: new Gauge({
      name: name('leader'),
      help: '1 while this process holds the lease.',
      labelNames: ['lease'] as const,
      registers,
    }),
  };
}
