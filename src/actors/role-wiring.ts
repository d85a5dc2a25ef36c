/**
 * What the agent and the controller wire the same way around their actors: effect jobs through
 * the role's queues and Kubernetes Events on the actors' objects (both counted in the role's
 * metrics), and the safety monitor that keeps their budget and storm facts.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder } from '../adapters/kubernetes/events.ts';
import type { Budgets } from '../budgets/budgets.ts';
import type { StormStore } from '../budgets/storms.ts';
import { integrationFor, type EffectJob } from '../effects/catalogue.ts';
import type { MachinePolicy } from '../machines/index.ts';
import type { Policy, PolicyIndex } from '../policy/index.ts';
import type { ObjectKind } from '../policy/vocabulary.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import { roleEffectSink } from './effect-jobs.ts';
import type { ActorHost, ActorHostOptions, EffectSink, EventSink } from './host.ts';
import { parsePolicyRef, type ActorRegistry } from './registry.ts';
import { HealthyNodeCounts } from './healthy-node-counts.ts';
import { NodeSlotKeeper } from './node-slots.ts';
import {
  governingPolicy,
  liveContexts,
  policyEventTarget,
  SafetyMonitor,
  type SafetySettings,
} from './safety.ts';
import type { UnsentNotificationStore } from './unsent-notifications.ts';

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

/**
 * The ActorHost options the agent and the controller share: effects through the role's queues
 * (with the governing policy's integration blocks), Events on the actors' objects, and snapshots
 * that keep their policy by reference, compiled again by the registry on restore. The index and
 * the registry need the host, so they come after it: both are reached through functions, called
 * only once actors exist.
 */
export function roleHostOptions(
  options: Omit<ActorHostOptions, 'effects' | 'events' | 'policyOf'> & {
    owner: string;
    metrics: RuntimeMetrics;
    queues: RoleEffectSinkOptions['queues'];
    limits: RoleEffectSinkOptions['limits'];
    evidenceWaitMs: number;
    /** The installation's Slack channel (configuration `slack.channel`). */
    slackChannel: string | undefined;
    /** Where notifications not sent for want of Slack are counted. */
    unsent: UnsentNotificationStore;
    recorder: EventRecorder;
    index: () => PolicyIndex;
    registry: () => ActorRegistry;
  },
): ActorHostOptions {
  const {
    owner,
    queues,
    limits,
    evidenceWaitMs,
    slackChannel,
    unsent,
    recorder,
    index,
    registry,
    ...host
  } = options;
  const policyOf = (ref: string): Policy | undefined => {
    const parsed = parsePolicyRef(ref);
    return parsed === undefined ? undefined : index().policy(parsed);
  };
  return {
    ...host,
    policyOf: (ref): MachinePolicy | undefined => registry().machinePolicyOf(ref),
    effects: countedEffectSink({
      owner,
      queues,
      policyOf,
      limits,
      evidenceWaitMs,
      slackChannel,
      onUnsent: (ref, notice) => unsent.record(ref, notice),
      logger: host.logger,
      metrics: host.metrics,
    }),
    events: actorEventSink(recorder, host.metrics),
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

/** The safety monitor of a role: its policies, its live actors, storms recorded on the policy. */
export function roleSafetyMonitor(options: {
  owner: string;
  settings: SafetySettings;
  budgets: Budgets;
  storms: StormStore;
  index: PolicyIndex;
  host: ActorHost;
  registry: ActorRegistry;
  queues: { enqueue: (job: EffectJob) => Promise<unknown> };
  /** The installation's Slack channel (configuration `slack.channel`). */
  slackChannel: string | undefined;
  unsent: UnsentNotificationStore;
  recorder: EventRecorder;
  metrics: RuntimeMetrics;
  now: () => number;
  logger: Logger;
}): SafetyMonitor {
  const { index, host, registry, queues, recorder, metrics, unsent } = options;
  return new SafetyMonitor({
    owner: options.owner,
    settings: options.settings,
    budgets: options.budgets,
    storms: options.storms,
    policies: () => index.policies(),
    actors: () => liveContexts(host),
    sendFacts: (key, facts) => registry.facts(key, facts),
    enqueue: async (job) => {
      await queues.enqueue(job);
      metrics.effectsEnqueued.inc({ integration: 'slack', kind: job.effect.kind });
    },
    slackChannel: options.slackChannel,
    onUnsent: (ref, notice) => unsent.record(ref, notice),
    recordStorm: (policy, message) =>
      void recorder.record(policyEventTarget(policy), {
        type: 'Warning',
        reason: 'StormDetected',
        message,
      }),
    now: options.now,
    logger: options.logger,
  });
}

/**
 * What a role that runs node actors keeps beside them (the agent for its node's pressure, the
 * controller for every node's readiness): the healthy nodes each node policy selects, for the
 * minHealthyNodes guard, and the node slots let go once an incident no longer holds them.
 */
export function roleNodeKeepers(options: {
  kc: KubeConfig;
  index: () => PolicyIndex;
  host: () => ActorHost;
  registry: () => ActorRegistry;
  budgets: Budgets;
  logger: Logger;
}): { healthyNodes: HealthyNodeCounts; nodeSlots: NodeSlotKeeper } {
  const { budgets, logger: log } = options;
  const core = options.kc.makeApiClient(CoreV1Api);
  const healthyNodes = new HealthyNodeCounts({
    listNodes: async () => (await core.listNode({ resourceVersion: '0' })).items,
    policies: () => options.index().policies(),
    nodeActors: () => [...options.host().keys()].filter((key) => key.startsWith('Node/')),
    governingPolicy: (key) => governingPolicy(options.index(), key),
    tell: (key, count, selected) =>
      void options.registry().facts(key, { healthyNodes: count, selectedNodes: selected }),
    logger: log,
  });
  const nodeSlots = new NodeSlotKeeper((nodeName, incidentId) =>
    budgets.releaseNodeSlot(nodeName, incidentId).then(
      (released) => {
        if (released) log.info({ node: nodeName, incident: incidentId }, 'node slot released');
      },
      (error: unknown) =>
        log.warn({ err: error, node: nodeName }, 'could not release the node slot; it stays held'),
    ),
  );
  return { healthyNodes, nodeSlots };
}
