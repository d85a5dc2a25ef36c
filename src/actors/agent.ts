/**
 * The agent role: one per node. It watches the pods on its node and its own Node, runs their
 * actors, and carries out node-local actions (restart, evict, cordon, drain) with its own
 * ServiceAccount. Start-up order matters: policies first (to know who governs what), then the
 * actors restored from Redis with their deadlines, then the object watches, so nothing decides
 * on a half-known world.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { InspectionEvent, Observer } from 'xstate';
import type { ConnectionOptions } from 'bullmq';
import { EventRecorder } from '../adapters/kubernetes/events.ts';
import { startListWatch, type RunningListWatch } from '../adapters/kubernetes/list-watch.ts';
import { NODES, PODS } from '../adapters/kubernetes/resource.ts';
import type { Redis } from '../adapters/redis.ts';
import { Budgets } from '../budgets/budgets.ts';
import { Storms } from '../budgets/storms.ts';
import type { Config } from '../config/index.ts';
import {
  publishControl,
  startControlConsumer,
  type ControlConsumer,
} from '../effects/control-stream.ts';
import { kubernetesProcessors } from '../effects/kubernetes/index.ts';
import { EffectQueues } from '../effects/queues.ts';
import { ActionLog } from '../effects/action-log.ts';
import { startEffectWorkers, type EffectWorkers } from '../effects/workers.ts';
import { inhibitionFromNode, type Inhibition, type TellingClock } from '../machines/index.ts';
import type { ObservableObject } from '../observe/index.ts';
import { PolicyIndex } from '../policy/index.ts';
import { syncIndex } from '../policy/controller.ts';
import { KubernetesPolicySource } from '../policy/kubernetes.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import { controlDelivery } from './command-forwarding.ts';
import { toMachineEvent } from './control-events.ts';
import { agentOwner } from './effect-jobs.ts';
import { ActorHost } from './host.ts';
import { ActorRegistry } from './registry.ts';
import { restoreActors } from './restore.ts';
import { roleHostOptions, roleNodeKeepers, roleSafetyMonitor } from './role-wiring.ts';
import { untilSucceeds } from './retry.ts';
import { governingPolicy, safetySettings, type SafetyMonitor } from './safety.ts';
import { agentActsOn, agentSees } from './symptom-owners.ts';
import { SnapshotStore } from './snapshot-store.ts';
import { UnsentNotificationStore } from './unsent-notifications.ts';
import { WorkloadKeeper } from './workload-memory.ts';
import { podWorkloadKey } from '../observe/workload.ts';
import { RedisWorkloadStore } from '../workloads/store.ts';

export interface RoleDeps {
  config: Config;
  kc: KubeConfig;
  /** A connection for commands (snapshots, budgets, publishing). */
  redis: Redis;
  /** Connection options for BullMQ (it opens blocking connections of its own). */
  bullConnection: ConnectionOptions;
  logger: Logger;
  metrics: RuntimeMetrics;
  clock: TellingClock;
  /** This process's identity (pod name), for Events and leases. */
  identity: string;
  /** The inspector's observer for an actor key (`--inspect`), or undefined. */
  inspect?: (key: string) => Observer<InspectionEvent> | undefined;
}

export interface RunningRole {
  /** Watches synced and actors restored. */
  ready: () => boolean;
  stop: () => Promise<void>;
  /** For tests and status answers. */
  host: ActorHost;
}

function podKeyPrefix(): string {
  return 'Pod/';
}

export async function startAgent(deps: RoleDeps): Promise<RunningRole> {
  const { config, kc, redis, logger, metrics, clock } = deps;
  // Without a node name (role all, in small clusters and local runs) one agent covers every node.
  const node = config.nodeName;
  const owner = node === undefined ? 'agent' : agentOwner(node);
  const log = logger.child({ role: 'agent', node: node ?? '(all)' });
  const abort = new AbortController();
  const store = new SnapshotStore({ redis, keyPrefix: config.redis.keyPrefix, owner });
  const queues = new EffectQueues({
    connection: deps.bullConnection,
    keyPrefix: config.redis.keyPrefix,
  });
  const budgets = new Budgets(redis, config.redis.keyPrefix);
  const settings = safetySettings(config.budget);
  const recorder = new EventRecorder(kc, {
    component: 'kube-remedy-agent',
    instance: deps.identity,
    logger: log,
  });
  const unsent = new UnsentNotificationStore({
    redis,
    keyPrefix: config.redis.keyPrefix,
    logger: log,
  });
  const slackChannel = config.slack?.channel;
  /** What each node's machine says about the pods on it, and which node each pod is on. */
  const inhibitions = new Map<string, Inhibition | null>();
  const podNodes = new Map<string, string>();
  // The healthy nodes each node policy selects, and the node slots; the index, the host and the
  // registry are created below, before any actor exists.
  const { healthyNodes, nodeSlots } = roleNodeKeepers({
    kc,
    index: () => index,
    host: () => host,
    registry: () => registry,
    budgets,
    logger: log,
  });
  const countNodes = (): Promise<void> => healthyNodes.count();
  const workloadStore = new RedisWorkloadStore(redis, config.redis.keyPrefix);
  const workloads: WorkloadKeeper = new WorkloadKeeper({
    store: workloadStore,
    owner,
    // The registry is created below, before any actor exists.
    deliver: (key, event): Promise<void> => registry.deliver(key, event),
    facts: (key, facts): Promise<void> => registry.facts(key, facts),
    now: () => clock.now(),
    logger: log,
    policyOf: (key) => governingPolicy(index, key),
  });
  const inhibitionOf = (podKey: string): Inhibition | null =>
    inhibitions.get(podNodes.get(podKey) ?? '') ?? null;
  const host: ActorHost = new ActorHost(
    roleHostOptions({
      owner,
      clock,
      store,
      logger: log,
      metrics,
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
      queues,
      workloads,
      limits: settings.limits,
      evidenceWaitMs: config.evidence.waitBeforeActionMs,
      slackChannel,
      unsent,
      recorder,
      // Both are created below, before any actor exists.
      index: () => index,
      registry: () => registry,
      onTransition: (key, snapshot) => {
        // The safety monitor is created below, before any actor exists.
        safety.noteTransition(key, snapshot.context);
        if (key.startsWith(podKeyPrefix())) workloads.noteTransition(key, snapshot);
        if (!key.startsWith('Node/')) return;
        nodeSlots.noteTransition(key, snapshot);
        const nodeName = key.slice('Node/'.length);
        const next = inhibitionFromNode(snapshot);
        if (JSON.stringify(next) === JSON.stringify(inhibitions.get(nodeName) ?? null)) return;
        inhibitions.set(nodeName, next);
        for (const [podKey, podNode] of podNodes) {
          if (podNode === nodeName && host.has(podKey))
            void registry.facts(podKey, { inhibited: next });
        }
      },
    }),
  );
  const index = new PolicyIndex({
    agentNamespace: config.namespace,
    onChange: (change) => registry.governanceChanged(change),
  });
  const registry: ActorRegistry = new ActorRegistry({
    host,
    index,
    now: () => clock.now(),
    logger: log,
    metrics,
    // Its node's readiness is the controller's to judge (docs/adr/0017-dead-nodes.md).
    actsOn: agentActsOn,
    sees: agentSees,
    factsFor: (key) => {
      const ref = governingPolicy(index, key);
      return {
        ...(key.startsWith(podKeyPrefix())
          ? { inhibited: inhibitionOf(key), workloadMemory: true }
          : healthyNodes.factsOf(key)),
        ...(ref === undefined ? {} : safety.factsFor(ref)),
      };
    },
    onSpawn: async (key, object) => {
      if (!key.startsWith(podKeyPrefix())) return undefined;
      const workload = podWorkloadKey(object);
      const created = Date.parse(String(object.metadata?.creationTimestamp ?? ''));
      if (workload === null || Number.isNaN(created)) return undefined;
      return workloads.adoptFor(key, workload, created);
    },
  });
  const reg = registry;
  const safety: SafetyMonitor = roleSafetyMonitor({
    owner,
    settings,
    budgets,
    storms: new Storms(redis, config.redis.keyPrefix),
    index,
    host,
    registry,
    queues,
    slackChannel,
    unsent,
    recorder,
    metrics,
    now: () => clock.now(),
    logger: log,
  });

  // 1. Policies.
  let policiesSynced!: () => void;
  const policiesReady = new Promise<void>((resolve) => (policiesSynced = resolve));
  const policySource = new KubernetesPolicySource(kc, {
    logger: log,
    onSynced: () => policiesSynced(),
  });
  const policiesRunning = policySource.run((event) => {
    const parsed = syncIndex(index, event, log);
    if (parsed.ok && event.type === 'upsert') {
      // A new or changed node policy counts its nodes before it decides on them.
      if (parsed.policy.selector.kinds.includes('Node')) void countNodes();
      reg.policyChanged(parsed.policy);
    }
  }, abort.signal);
  await policiesReady;

  // 2. Actors as they were, deadlines re-armed.
  const restored = await untilSucceeds(
    'restoring actors from Redis',
    () => restoreActors(host, store, { logger: log }),
    { logger: log, signal: abort.signal },
  );
  log.info({ actors: restored.restored, dropped: restored.dropped }, 'actors restored');

  // 3. Facts, watches, then the ways back to the actors.
  await countNodes();
  await safety.start();
  healthyNodes.start(config.budget.nodeCountInterval);
  const workloadPoll = setInterval(
    () =>
      void workloads
        .poll()
        .catch((error: unknown) =>
          log.warn(
            { err: error },
            'could not read the workload memory; pods waiting on it keep waiting',
          ),
        ),
    settings.refreshIntervalMs,
  );
  const synced = { pods: false, node: false };
  const watch = (
    resource: typeof PODS,
    fieldSelector: string | undefined,
    name: 'pods' | 'node',
  ): RunningListWatch => {
    const present = new Set<string>();
    let first = true;
    return startListWatch<KubernetesObject>(kc, {
      resource,
      ...(fieldSelector === undefined ? {} : { fieldSelector }),
      logger: log,
      onEvent: (event) => {
        const received = clock.now();
        const object = event.object as unknown as ObservableObject;
        if (resource === PODS) {
          const podKey = `Pod/${event.object.metadata?.namespace ?? ''}/${event.object.metadata?.name ?? ''}`;
          const podNode = (object as { spec?: { nodeName?: string } }).spec?.nodeName;
          if (event.type === 'delete') podNodes.delete(podKey);
          else if (podNode) podNodes.set(podKey, podNode);
          // A pod going away lets go of the workload incident it holds: its replacement takes over.
          const workload = podWorkloadKey(event.object);
          if (
            workload !== null &&
            (event.type === 'delete' || event.object.metadata?.deletionTimestamp)
          )
            void workloads
              .release(podKey, workload, received)
              .catch((error: unknown) =>
                log.warn(
                  { err: error, object: podKey },
                  'could not let go of the workload incident',
                ),
              );
          if (event.type === 'delete') workloads.forget(podKey);
        }
        // A deleted Node keeps no slot: nothing else would let go of it.
        if (resource === NODES && event.type === 'delete')
          nodeSlots.forget(event.object.metadata?.name ?? '');
        if (event.type === 'delete') void reg.delete(object);
        else {
          if (first)
            present.add(
              `${resource.kind}/${event.object.metadata?.namespace ? `${event.object.metadata.namespace}/` : ''}${event.object.metadata?.name ?? ''}`,
            );
          void reg.upsert(object, received);
        }
      },
      onSynced: () => {
        if (first) {
          first = false;
          void reg
            .forgetMissing(present, new Set([resource.kind as 'Pod' | 'Node']))
            .then((gone) => {
              if (gone.length > 0)
                log.info({ gone }, 'forgot actors of objects deleted while the agent was down');
            });
        }
        synced[name] = true;
        metrics.watchSynced.set({ resource: name }, 1);
      },
      onRestart: (reason) => metrics.watchRestarts.inc({ resource: name, reason }),
    });
  };
  const podWatch = watch(PODS, node === undefined ? undefined : `spec.nodeName=${node}`, 'pods');
  const nodeWatch = watch(NODES, node === undefined ? undefined : `metadata.name=${node}`, 'node');

  const deliverControl = controlDelivery({
    owner,
    workloads: workloadStore,
    deliver: (key, event) => reg.deliver(key, event),
    runs: (key) => host.has(key),
    publish: (to, message) => publishControl(redis, config.redis.keyPrefix, to, message),
    logger: log,
  });
  const controlRedis = redis.duplicate();
  const consumer: ControlConsumer = startControlConsumer({
    redis: controlRedis,
    keyPrefix: config.redis.keyPrefix,
    owner,
    logger: log,
    handle: async (message) => {
      void safety.effectResult(message);
      const translated = toMachineEvent(message, clock.now());
      if ('ignored' in translated) {
        log.warn({ message: message.id, why: translated.ignored }, 'control message ignored');
        return;
      }
      await deliverControl(message, translated.event);
    },
  });
  const workers: EffectWorkers = startEffectWorkers({
    connection: deps.bullConnection,
    redis,
    keyPrefix: config.redis.keyPrefix,
    integrations: ['kubernetes'],
    owner,
    processors: kubernetesProcessors({ kc, budgets }),
    actionLog: new ActionLog(redis, config.redis.keyPrefix),
    logger: log,
    onOutcome: (integration, kind, outcome) =>
      metrics.effectOutcomes.inc({ integration, kind, outcome }),
  });

  return {
    host,
    ready: () => synced.pods && synced.node,
    stop: async () => {
      healthyNodes.stop();
      clearInterval(workloadPoll);
      abort.abort();
      await Promise.all([podWatch.stop(), nodeWatch.stop(), consumer.stop(), policiesRunning]);
      await safety.stop();
      await workers.close();
      await reg.settled();
      await host.stopAll();
      await queues.close();
      await budgets.close();
      await workloadStore.close();
      controlRedis.disconnect();
    },
  };
}
