/**
 * The controller role: Deployments (with the pods of their newest ReplicaSets), policies and their
 * status, leader-elected. Every replica campaigns for the Lease; only the leader runs deployment
 * actors, consumes the controller's control stream and writes policy status. On losing the lease
 * it stops all of that at once (snapshots stay in Redis), and the next leader restores the actors
 * with their deadlines.
 */
import { DeadNodePods, podsOnNode } from './dead-node-pods.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import { EventRecorder } from '../adapters/kubernetes/events.ts';
import { startLeaderElection } from '../adapters/kubernetes/leader-election.ts';
import { startListWatch, type RunningListWatch } from '../adapters/kubernetes/list-watch.ts';
import { DEPLOYMENTS, NODES, PODS, REPLICASETS } from '../adapters/kubernetes/resource.ts';
import { Budgets } from '../budgets/budgets.ts';
import { Storms } from '../budgets/storms.ts';
import { startControlConsumer } from '../effects/control-stream.ts';
import { kubernetesProcessors } from '../effects/kubernetes/index.ts';
import { integrationFor } from '../effects/catalogue.ts';
import { EffectQueues } from '../effects/queues.ts';
import { ActionLog, type PolicyActions } from '../effects/action-log.ts';
import { startEffectWorkers } from '../effects/workers.ts';
import type { KubeObject, ObservableObject } from '../observe/index.ts';
import {
  parsePolicy,
  PolicyController,
  PolicyIndex,
  policyKey,
  type PolicySource,
  type UnsentNotifications,
} from '../policy/index.ts';
import { KubernetesPolicySource, KubernetesPolicyStatusWriter } from '../policy/kubernetes.ts';
import { prometheusFromConfig } from '../adapters/prometheus/index.ts';
import {
  HpaIndex,
  PROMETHEUS_NOT_CONFIGURED,
  Scaler,
  type ScaledDeployment,
} from '../scaling/index.ts';
import type { RoleDeps, RunningRole } from './agent.ts';
import { toMachineEvent } from './control-events.ts';
import { WorkloadKeeper } from './workload-memory.ts';
import { RedisWorkloadStore } from '../workloads/store.ts';
import { CONTROLLER_OWNER, planEffectJob, unsentNotice } from './effect-jobs.ts';
import { policyRefOf } from './machine-policy.ts';
import { ActorHost } from './host.ts';
import { ActorRegistry, parsePolicyRef } from './registry.ts';
import { restoreActors } from './restore.ts';
import {
  DEPLOYMENT_MADE_SELECTOR,
  RolloutPods,
  summarisePod,
  summariseReplicaSet,
  type PodSummary,
  type ReplicaSetSummary,
} from './rollout-pods.ts';
import { roleHostOptions, roleNodeKeepers, roleSafetyMonitor } from './role-wiring.ts';
import { untilSucceeds } from './retry.ts';
import { governingPolicy, safetySettings, type SafetyMonitor } from './safety.ts';
import { SnapshotStore } from './snapshot-store.ts';
import { UnsentNotificationStore, unsentProblems } from './unsent-notifications.ts';
import { UnverifiedIncidents } from './unverified-incidents.ts';
import { controllerActsOn } from './symptom-owners.ts';

export const CONTROLLER_LEASE = 'kube-remedy-controller';

/** The Deployments whose governing policy scales them, as the scaler reads them. */
function scaledDeployments(host: ActorHost, index: PolicyIndex): ScaledDeployment[] {
  const out: ScaledDeployment[] = [];
  for (const key of host.keys()) {
    if (!key.startsWith('Deployment/')) continue;
    const governance = index.governanceOf(key);
    if (governance.state !== 'governed') continue;
    const policy = index.policy(governance.policy);
    const observation = host.snapshot(key)?.context.observation;
    if (policy?.scaling === undefined || observation?.kind !== 'Deployment') continue;
    out.push({
      namespace: observation.namespace ?? '',
      name: observation.name,
      uid: observation.uid,
      replicas: observation.replicas,
      policy: {
        ref: policy.ref,
        mode: policy.mode,
        scaling: policy.scaling,
        ...(policy.gitops === undefined ? {} : { gitops: policy.gitops }),
      },
    });
  }
  return out;
}

export interface ControllerOptions {
  /** Lease timings; defaults are controller-runtime's (15 s, 10 s, 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface Leading {
  host: ActorHost;
  synced: () => boolean;
  stop: () => Promise<void>;
}

export function startController(
  deps: RoleDeps,
  options: ControllerOptions = {},
): RunningRole & { isLeader: () => boolean } {
  const { config, kc, redis, logger, metrics, clock } = deps;
  const log = logger.child({ role: 'controller', identity: deps.identity });
  const owner = CONTROLLER_OWNER;
  const queues = new EffectQueues({
    connection: deps.bullConnection,
    keyPrefix: config.redis.keyPrefix,
  });
  const budgets = new Budgets(redis, config.redis.keyPrefix);
  // The controller holds no pod actors; it only lets go of the workload incident of a pod that
  // goes away, which its node's agent may not see (the agent is down, or its node is gone).
  const workloadStore = new RedisWorkloadStore(redis, config.redis.keyPrefix);
  const workloads = new WorkloadKeeper({
    store: workloadStore,
    owner,
    deliver: () => Promise.resolve(),
    facts: () => Promise.resolve(),
    now: () => clock.now(),
    logger: log,
  });
  const settings = safetySettings(config.budget);
  const recorder = new EventRecorder(kc, {
    component: 'kube-remedy-controller',
    instance: deps.identity,
    logger: log,
  });
  const unsent = new UnsentNotificationStore({
    redis,
    keyPrefix: config.redis.keyPrefix,
    logger: log,
  });
  const slackChannel = config.slack?.channel;
  // Workers for the controller's queue run on every replica: jobs are locked, so any may take one.
  const workers = startEffectWorkers({
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

  let leading: Leading | undefined;
  let transition: Promise<void> = Promise.resolve();
  let placeholder: ActorHost | undefined;

  async function lead(): Promise<Leading> {
    const abort = new AbortController();
    const store = new SnapshotStore({ redis, keyPrefix: config.redis.keyPrefix, owner });
    const host: ActorHost = new ActorHost(
      roleHostOptions({
        owner,
        clock,
        store,
        logger: log,
        metrics,
        ...(deps.inspect ? { inspect: deps.inspect } : {}),
        queues,
        limits: settings.limits,
        evidenceWaitMs: config.evidence.waitBeforeActionMs,
        slackChannel,
        unsent,
        recorder,
        // Both are created below, before any actor exists.
        index: () => index,
        registry: () => registry,
        // The safety monitor is created below, before any actor exists.
        onTransition: (key, snapshot) => {
          safety.noteTransition(key, snapshot.context);
          nodeSlots.noteTransition(key, snapshot);
          deadNodePods.noteTransition(key, snapshot);
        },
      }),
    );
    const index = new PolicyIndex({
      agentNamespace: config.namespace,
      onChange: (change) => registry.governanceChanged(change),
    });
    // What the Deployment analyzer reads beside a Deployment: its newest ReplicaSet's pods.
    const rollouts = new RolloutPods();
    const registry = new ActorRegistry({
      host,
      index,
      now: () => clock.now(),
      logger: log,
      metrics,
      factsFor: (key) => {
        const ref = governingPolicy(index, key);
        return {
          ...(key.startsWith('Node/') ? healthyNodes.factsOf(key) : {}),
          ...(ref === undefined ? {} : safety.factsFor(ref)),
        };
      },
      analyzerFactsFor: (_key, observation) =>
        observation.kind === 'Deployment' ? rollouts.factsFor(observation) : undefined,
      // Deployments, and the readiness of nodes: a node that is not Ready usually has no agent
      // left to judge it (docs/adr/0017-dead-nodes.md).
      actsOn: controllerActsOn,
    });
    // What a node gone NotReady holds, for its escalation (the controller may list pods).
    const deadNodePods = new DeadNodePods({
      list: podsOnNode(kc),
      facts: (key, facts) => registry.facts(key, facts),
      logger: log,
    });
    // The healthy nodes each node policy selects, and the node slots of readiness incidents.
    const { healthyNodes, nodeSlots } = roleNodeKeepers({
      kc,
      index: () => index,
      host: () => host,
      registry: () => registry,
      budgets,
      logger: log,
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

    let policiesSynced!: () => void;
    const policiesReady = new Promise<void>((resolve) => (policiesSynced = resolve));
    const inner = new KubernetesPolicySource(kc, { logger: log, onSynced: () => policiesSynced() });
    // The status controller applies each event to the index; the registry then updates actors.
    const source: PolicySource = {
      run: (onEvent, signal) =>
        inner.run((event) => {
          onEvent(event);
          if (event.type !== 'upsert') return;
          const parsed = parsePolicy(event.resource);
          if (!parsed.ok) return;
          // A new or changed node policy counts its nodes before it decides on them.
          if (parsed.policy.selector.kinds.includes('Node')) void healthyNodes.count();
          reg.policyChanged(parsed.policy);
        }, signal),
    };
    // Multi-signal scaling, when Prometheus is configured: proposals go to the Deployment's actor,
    // whose machine applies the policy's mode (approval, dry run, gitops) and the HPA guard.
    const hpas = new HpaIndex();
    const hpaWatch = hpas.watch(kc, { logger: log });
    const prometheus = prometheusFromConfig(config.prometheus);
    const scaler =
      prometheus === undefined
        ? undefined
        : new Scaler({
            prometheus,
            deployments: () => scaledDeployments(host, index),
            hpas: hpas.lookup,
            logger: log,
            sink: async (proposal) => {
              if (proposal.kind !== 'scale') {
                log.warn({ reason: proposal.decision.reason }, 'scaling signals need a person');
                return;
              }
              const { namespace, name } = proposal.deployment;
              await reg.facts(proposal.actorKey, { hpa: hpas.hpaFor(namespace, name) });
              await reg.deliver(proposal.actorKey, proposal.event);
            },
          });
    // Notifications the agents and this controller did not send for want of Slack, read once
    // per flush; a policy that now configures Slack has nothing to say of them.
    let unsentByPolicy = new Map<string, UnsentNotifications>();
    // What was done under each policy, by whichever process, read once per flush too.
    const actionLog = new ActionLog(redis, config.redis.keyPrefix);
    let actionsByPolicy = new Map<string, PolicyActions>();
    const statusController = new PolicyController({
      index,
      writer: new KubernetesPolicyStatusWriter(kc),
      logger: log,
      beforeFlush: async () => {
        const refs = [...index.policies()].map(policyRefOf);
        unsentByPolicy = await unsent.read(refs);
        const now = Date.now();
        actionsByPolicy = new Map(
          await Promise.all(
            refs.map(async (ref) => [ref, await actionLog.read(ref, now)] as const),
          ),
        );
      },
      reports: (ref) => {
        const policy = index.policy(ref);
        const actions = actionsByPolicy.get(policyKey(ref));
        return {
          problems: [
            ...(scaler?.problems(ref) ??
              (policy?.scaling === undefined ? [] : [PROMETHEUS_NOT_CONFIGURED])),
            ...unsentProblems(policy, slackChannel, unsentByPolicy.get(policyKey(ref))),
          ],
          ...(actions === undefined
            ? {}
            : { actions24h: actions.actions24h, recentActions: actions.recent }),
        };
      },
    });
    const policiesRunning = statusController.run(source, abort.signal);
    await policiesReady;

    const restored = await untilSucceeds(
      'restoring actors from Redis',
      () => restoreActors(host, store, { logger: log }),
      { logger: log, signal: abort.signal },
    );
    log.info(
      { actors: restored.restored, dropped: restored.dropped },
      'deployment actors restored',
    );
    await healthyNodes.count();
    healthyNodes.start(config.budget.nodeCountInterval);
    await safety.start();

    // Every node, for the readiness of the nodes node policies select: judged from here, where a
    // node's death does not take the judge with it.
    let nodesSynced = false;
    const presentNodes = new Set<string>();
    const nodeWatch = startListWatch<KubernetesObject>(kc, {
      resource: NODES,
      logger: log,
      onEvent: (event) => {
        const received = clock.now();
        const object = event.object as unknown as ObservableObject;
        const name = event.object.metadata?.name ?? '';
        if (event.type === 'delete') {
          void reg.delete(object);
          // A deleted Node keeps no slot: nothing else would let go of it.
          nodeSlots.forget(name);
          deadNodePods.forget(`Node/${name}`);
          return;
        }
        if (!nodesSynced) presentNodes.add(`Node/${name}`);
        void reg.upsert(object, received);
      },
      onSynced: () => {
        if (!nodesSynced) void reg.forgetMissing(presentNodes, new Set(['Node']));
        nodesSynced = true;
        metrics.watchSynced.set({ resource: 'nodes' }, 1);
      },
      onRestart: (reason) => metrics.watchRestarts.inc({ resource: 'nodes', reason }),
    });

    // The pods of every Deployment's newest ReplicaSet (image pulls failing in a new rollout).
    // Cluster-wide, only what ReplicaSets of Deployments made, and each object reduced to what
    // the analyzer reads as it arrives: a summary per pod, never the object
    // (docs/adr/0015-deployment-rollout-pods.md). A change analyzes the Deployment again.
    const reanalyze = (keys: readonly string[]): void => {
      const received = clock.now();
      for (const key of keys) void reg.reanalyze(key, received);
    };
    const replicaSetWatch = startListWatch<ReplicaSetSummary>(kc, {
      resource: REPLICASETS,
      labelSelector: DEPLOYMENT_MADE_SELECTOR,
      transform: summariseReplicaSet,
      logger: log,
      onEvent: (event) =>
        reanalyze(
          event.type === 'delete'
            ? rollouts.deleteReplicaSet(event.object)
            : rollouts.setReplicaSet(event.object),
        ),
      onSynced: () => metrics.watchSynced.set({ resource: 'replicasets' }, 1),
      onRestart: (reason) => metrics.watchRestarts.inc({ resource: 'replicasets', reason }),
    });
    const podWatch = startListWatch<PodSummary>(kc, {
      resource: PODS,
      labelSelector: DEPLOYMENT_MADE_SELECTOR,
      transform: (object) => summarisePod(object as unknown as KubeObject),
      logger: log,
      onEvent: (event) => {
        const { observation } = event.object;
        if (event.type === 'delete' || observation.terminating) {
          const workload = observation.workload;
          if (workload?.kind === 'Deployment') {
            const podKey = `Pod/${observation.namespace}/${observation.name}`;
            void workloads
              .release(podKey, `${observation.namespace}/Deployment/${workload.name}`, clock.now())
              .catch((error: unknown) =>
                log.warn(
                  { err: error, object: podKey },
                  'could not let go of the workload incident',
                ),
              );
            if (event.type === 'delete') workloads.forget(podKey);
          }
        }
        reanalyze(
          event.type === 'delete'
            ? rollouts.deletePod(event.object)
            : rollouts.setPod(event.object),
        );
      },
      onSynced: () => metrics.watchSynced.set({ resource: 'rollout-pods' }, 1),
      onRestart: (reason) => metrics.watchRestarts.inc({ resource: 'rollout-pods', reason }),
    });

    let synced = false;
    const present = new Set<string>();
    const watchDeployments = (): RunningListWatch =>
      startListWatch<KubernetesObject>(kc, {
        resource: DEPLOYMENTS,
        logger: log,
        onEvent: (event) => {
          const received = clock.now();
          const object = event.object as unknown as ObservableObject;
          if (event.type === 'delete') void reg.delete(object);
          else {
            if (!synced)
              present.add(
                `Deployment/${event.object.metadata?.namespace ?? ''}/${event.object.metadata?.name ?? ''}`,
              );
            void reg.upsert(object, received);
          }
        },
        onSynced: () => {
          if (!synced) void reg.forgetMissing(present, new Set(['Deployment']));
          synced = true;
          metrics.watchSynced.set({ resource: 'deployments' }, 1);
        },
        onRestart: (reason) => metrics.watchRestarts.inc({ resource: 'deployments', reason }),
      });
    // Deployments once their pods are known: analyzed without them, a restored actor would see
    // its rollout's problem vanish and come back. Not awaited, so a watch that cannot list (its
    // rights missing) leaves the controller unready but still able to stop.
    let deploymentWatch: RunningListWatch | undefined;
    void Promise.all([replicaSetWatch.synced, podWatch.synced]).then(() => {
      if (!abort.signal.aborted) deploymentWatch = watchDeployments();
    });
    scaler?.start();
    // Restarts whose pod went away with no replacement where an agent could verify it end
    // unverified, told from here: no pod actor is left to tell it (docs/adr/0014).
    const unverified = new UnverifiedIncidents({
      store: workloadStore,
      floorMs: 2 * config.budget.refreshInterval,
      now: () => clock.now(),
      logger: log,
      record: (target, event) => recorder.record(target, event),
      enqueue: async (request, policyRef) => {
        const parsed = policyRef === undefined ? undefined : parsePolicyRef(policyRef);
        const planned = planEffectJob(request, {
          owner,
          policyRef: policyRef ?? '',
          policy: parsed === undefined ? undefined : index.policy(parsed),
          limits: settings.limits,
          slackChannel,
        });
        if ('job' in planned) {
          await queues.enqueue(planned.job);
          metrics.effectsEnqueued.inc({
            integration: integrationFor(planned.job.effect.kind),
            kind: planned.job.effect.kind,
          });
        } else if (planned.skipped.integration === 'slack' && policyRef !== undefined) {
          await unsent.record(
            policyRef,
            unsentNotice(request.effect, request.actorKey, request.requestedAt),
          );
        }
      },
    });
    unverified.start(config.budget.refreshInterval);
    const controlRedis = redis.duplicate();
    const consumer = startControlConsumer({
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
        await reg.deliver(message.actorKey, translated.event);
      },
    });
    return {
      host,
      synced: () => synced,
      stop: async () => {
        abort.abort();
        await Promise.all([
          deploymentWatch?.stop(),
          nodeWatch.stop(),
          replicaSetWatch.stop(),
          podWatch.stop(),
          hpaWatch.stop(),
          consumer.stop(),
          scaler?.stop(),
          unverified.stop(),
          policiesRunning,
        ]);
        healthyNodes.stop();
        await safety.stop();
        await reg.settled();
        await host.stopAll();
        controlRedis.disconnect();
        for (const resource of ['deployments', 'nodes', 'replicasets', 'rollout-pods'])
          metrics.watchSynced.set({ resource }, 0);
      },
    };
  }

  const elector = startLeaderElection(kc, {
    name: CONTROLLER_LEASE,
    namespace: config.namespace,
    identity: deps.identity,
    ...(options.leaseDurationMs === undefined ? {} : { leaseDurationMs: options.leaseDurationMs }),
    ...(options.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: options.renewDeadlineMs }),
    ...(options.retryPeriodMs === undefined ? {} : { retryPeriodMs: options.retryPeriodMs }),
    logger: log,
    onStartedLeading: () => {
      metrics.leader.set({ lease: CONTROLLER_LEASE }, 1);
      transition = transition.then(async () => {
        leading = await lead().catch((error: unknown) => {
          log.error({ err: error }, 'could not start leading');
          return undefined;
        });
      });
    },
    onStoppedLeading: () => {
      metrics.leader.set({ lease: CONTROLLER_LEASE }, 0);
      transition = transition.then(async () => {
        const was = leading;
        leading = undefined;
        await was?.stop();
      });
    },
  });

  return {
    get host(): ActorHost {
      // Tests and status answers read the leader's host; a standby has no actors.
      placeholder ??= new ActorHost({
        clock,
        store: new SnapshotStore({ redis, keyPrefix: config.redis.keyPrefix, owner }),
        logger: log,
        effects: { enqueue: () => Promise.resolve() },
      });
      return leading?.host ?? placeholder;
    },
    isLeader: () => elector.isLeader(),
    // A standby is ready: it serves and campaigns; a leader once its watch has synced.
    ready: () => !elector.isLeader() || (leading?.synced() ?? false),
    stop: async () => {
      await elector.stop();
      await transition;
      await leading?.stop();
      await workers.close();
      await queues.close();
      await budgets.close();
      await workloadStore.close();
    },
  };
}
