/**
 * Plays a scenario file on the test control plane, with the real agent (one per node of the
 * scenario), controller and workers as processes on a scratch Redis, and returns what they did.
 *
 * The scenario's world becomes real objects: its nodes kwok nodes, a ReplicaSet's pods a
 * Deployment (the real Deployment and ReplicaSet controllers make and replace them), a
 * StatefulSet's pods a StatefulSet, a bare pod a pod. Its namespaces and node names get a suffix
 * of this run (tests share the cluster); its timeline runs with every moment divided by
 * `factor`, and so do its policies' durations. A step's status change is written as the kubelet
 * writes it (the status subresource, after taking the status over from kwok). A step that names
 * a pod that was replaced acts on its replacement, as in `simulate`. The scenario's effect rules
 * (`then` steps) fire when the workers report the matching job done.
 */
import { Queue } from 'bullmq';
import { inject } from 'vitest';
import { podWorkloadKey } from '../../../src/observe/workload.ts';
import { RedisWorkloadStore } from '../../../src/workloads/store.ts';
import { stateText } from '../../../src/simulate/engine.ts';
import type { Scenario } from '../../../src/simulate/index.ts';
import type { Change, EffectRule, KubeManifest, Step } from '../../../src/simulate/model.ts';
import {
  adminClient,
  createFakeNode,
  freshNamespace,
  KubeApiError,
  makePodCrashLoop,
  makePodHealthy,
  makePodImagePullBackOff,
  makePodOOMKilled,
  setNodeConditions,
  STATUS_OWNER_ANNOTATION,
  type KubeClient,
  type List,
  type Pod,
} from '../../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../../integration/policy/support.ts';
import {
  blockActionsBody,
  buttonsOf,
  postSigned,
  shownText,
  BOT_TOKEN,
  BUTTON_SECRET,
  SIGNING_SECRET,
} from '../../integration/slack/support.ts';
import type { ChatOpsApp } from '../../../src/chatops/app.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { parseDocument, stringify } from 'yaml';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from '../../support/process.ts';
import type { RedisForTest } from '../../support/redis.ts';
import { NOT_ACTIONS, type ActionOutcome, type LiveAction, type LiveRecord } from './story.ts';
import { rawPolicies } from './raw-policies.ts';
import { scaledSpec, withDurationDefaults } from './scaled.ts';

const RUN_LABEL = 'parity.kube-remedy.test/run';
/** The memory limit of every container of the scenario's pods. */
const POD_MEMORY_LIMIT = '128Mi';
/** The scenario's name of a node of this run. */
const NODE_LABEL = 'parity.kube-remedy.test/node';
/** Which release of a Deployment's history a pod template is. */
const RELEASE_ANNOTATION = 'parity.kube-remedy.test/release';

/** Live pods as the driver last saw them. */
interface SeenPod {
  name: string;
  namespace: string;
  workload: string;
  created: number;
  gone: boolean;
  image: string;
}

export interface LiveRun {
  record: LiveRecord;
  /** Names an actor key's workload in the scenario's words. */
  workloadOf: (actorKey: string) => string;
  /** What went wrong on the way (a step that could not be written…), for the failure message. */
  problems: string[];
  /** Every Event kube-remedy recorded, oldest first, for the failure message. */
  events: string[];
}

export interface LiveScenarioOptions {
  scenario: Scenario;
  redis: RedisForTest;
  /** Scenario time ÷ live time. */
  factor: number;
  /** Processes started, for the caller to kill. */
  processes: RunningKubeRemedy[];
  /** Environment of the workers beyond Redis (their integrations). */
  workersEnv?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keyOf(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return object.metadata.namespace === undefined
    ? `${object.kind}/${object.metadata.name}`
    : `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`;
}

export class LiveScenario {
  private readonly client: KubeClient = adminClient();
  private readonly scenario: Scenario;
  private readonly options: LiveScenarioOptions;
  private readonly run = Math.random().toString(36).slice(2, 7);
  /** Scenario namespace → live namespace. */
  private readonly namespaces = new Map<string, string>();
  private home = '';
  /** Scenario pod key → the live pod that stands for it now (`namespace/name`). */
  private readonly alias = new Map<string, string>();
  private readonly pods = new Map<string, SeenPod>();
  /** Live pod → the workload incident it held when last seen (from the workload memory). */
  private readonly heldIncident = new Map<string, string>();
  private workloadStore: RedisWorkloadStore | undefined;
  /** Workload incident → the live pod that holds it now. */
  private readonly incidentHolder = new Map<string, string>();
  private readonly problems: string[] = [];
  /** Jobs whose completion was already matched against the effect rules. */
  private readonly seenJobs = new Set<string>();
  private readonly ruleMatches = new Map<EffectRule, number>();
  private readonly agenda: { at: number; object: string | null; change: Change; source: string }[] =
    [];
  private t0 = 0;
  /** Per object: its steps being written, in order. */
  private readonly writing = new Map<string, Promise<void>>();
  private expectedPods = 0;
  private slack: FakeSlack | undefined;
  private github: FakeGitHub | undefined;
  /** Repositories the policies propose changes to: repository → its file and values key. */
  private readonly repositories = new Map<string, { path: string; valuesKey: string }>();
  private slackEndpoint: string | undefined;

  constructor(options: LiveScenarioOptions) {
    this.options = options;
    this.scenario = options.scenario;
  }

  private liveNode(name: string): string {
    return `${name}-${this.run}`;
  }

  private liveNamespace(namespace: string): string {
    if (namespace === this.scenario.namespace) return this.home;
    const live = this.namespaces.get(namespace);
    if (live === undefined) throw new Error(`namespace ${namespace} is not in the scenario`);
    return live;
  }

  /** A live name back in the scenario's words. */
  private scenarioName(text: string): string {
    let out = text;
    for (const [mine, live] of this.namespaces) out = out.split(`/${live}/`).join(`/${mine}/`);
    out = out.split(`/${this.home}/`).join(`/${this.scenario.namespace}/`);
    return out.split(`-${this.run}`).join('');
  }

  // -------------------------------------------------------------------------------------------
  // The world

  async setUp(): Promise<void> {
    const { client, scenario } = this;
    await installCrd(client);
    this.home = await freshNamespace(client, { prefix: 'parity-home' });
    const namespaces = new Set<string>();
    for (const o of scenario.objects)
      if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
    for (const p of scenario.policies) namespaces.add(p.ref.namespace);
    namespaces.delete(scenario.namespace);
    for (const ns of namespaces)
      this.namespaces.set(ns, await freshNamespace(client, { prefix: ns }));

    for (const node of scenario.objects.filter((o) => o.kind === 'Node')) {
      await createFakeNode(client, {
        name: this.liveNode(node.metadata.name),
        dedicated: false,
        labels: {
          ...node.metadata.labels,
          [RUN_LABEL]: this.run,
          [NODE_LABEL]: node.metadata.name,
        },
      });
    }
    for (const policy of rawPolicies(scenario.source)) {
      const spec = scaledSpec(
        withDurationDefaults(policy.spec ?? {}),
        this.options.factor,
      ) as Record<string, unknown>;
      const selector = (spec['selector'] ?? {}) as { kinds?: string[]; matchLabels?: object };
      // Node policies select this run's nodes only: other tests' nodes share the cluster.
      if (selector.kinds?.includes('Node')) {
        spec['selector'] = {
          ...selector,
          matchLabels: { ...selector.matchLabels, [RUN_LABEL]: this.run },
        };
      }
      await createPolicy(
        client,
        this.liveNamespace(policy.metadata.namespace ?? 'default'),
        policy.metadata.name,
        spec,
      );
    }
    await this.createWorkloads();
  }

  /** The pods of the scenario, made by the controllers a cluster would have. */
  private async createWorkloads(): Promise<void> {
    const { client, scenario } = this;
    const byWorkload = new Map<string, KubeManifest[]>();
    for (const pod of scenario.objects.filter((o) => o.kind === 'Pod')) {
      const workload = podWorkloadKey(pod) ?? `${pod.metadata.namespace}/Pod/${pod.metadata.name}`;
      byWorkload.set(workload, [...(byWorkload.get(workload) ?? []), pod]);
    }
    for (const [workload, pods] of byWorkload) {
      const [namespace = '', kind = '', name = ''] = workload.split('/');
      const ns = this.liveNamespace(namespace);
      const first = pods[0] as KubeManifest;
      const podSpec = this.livePodSpec(first, kind === 'Pod');
      const labels = { ...first.metadata.labels };
      delete labels['pod-template-hash'];
      if (kind === 'Pod') {
        this.expectedPods += 1;
        await client.create(`/api/v1/namespaces/${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, labels },
          spec: podSpec,
        });
        this.alias.set(keyOf(first), `${ns}/${name}`);
        continue;
      }
      const declared = scenario.objects.find(
        (o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace,
      );
      const declaredSpec = declared?.spec ?? {};
      const template = (declaredSpec['template'] ?? {}) as { spec?: { containers?: object[] } };
      const containers = template.spec?.containers ?? podSpec['containers'];
      const replicas =
        typeof declaredSpec['replicas'] === 'number' ? declaredSpec['replicas'] : pods.length;
      this.expectedPods += replicas;
      const common = {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { ...podSpec, containers: this.containers(containers) },
        },
      };
      if (kind === 'Deployment') {
        // The Deployment controller's own clock runs as fast as the scenario's (600 s is its
        // default).
        const deadline = declaredSpec['progressDeadlineSeconds'] ?? 600;
        // A Deployment past its first revision has a ReplicaSet before the current one (what a
        // rollback goes back to): a release before this one, rolled out first.
        const revision = Number(
          (declared?.metadata['annotations'] as Record<string, string> | undefined)?.[
            'deployment.kubernetes.io/revision'
          ] ?? '1',
        );
        const release = (which: string) => ({
          ...common.template,
          metadata: { labels, annotations: { [RELEASE_ANNOTATION]: which } },
        });
        const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
        await client.create(path, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name, labels: { ...declared?.metadata.labels, ...labels } },
          spec: {
            ...common,
            template: release(revision > 1 ? 'previous' : 'current'),
            ...(typeof deadline === 'number'
              ? { progressDeadlineSeconds: Math.max(1, Math.round(deadline / this.options.factor)) }
              : {}),
          },
        });
        if (revision > 1) {
          await this.rolledOut(ns, name);
          await client.patch(
            `${path}/${name}`,
            { spec: { template: release('current') } },
            'strategic',
          );
        }
        await this.rolledOut(ns, name);
      } else if (kind === 'StatefulSet') {
        await client.create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name, labels },
          spec: { ...common, serviceName: name, podManagementPolicy: 'Parallel' },
        });
      } else {
        throw new Error(`no live counterpart for a pod owned by a ${kind} (${workload})`);
      }
    }
    // Every pod of every workload, there before the clock starts.
    const expected = this.expectedPods;
    const deadline = Date.now() + 90_000;
    for (;;) {
      await this.refreshPods();
      const running = [...this.pods.values()].filter((p) => !p.gone).length;
      if (running >= expected) break;
      if (Date.now() > deadline) throw new Error(`only ${running} of ${expected} pods appeared`);
      await sleep(500);
    }
    // A scenario pod of another release (one a later step rolls out) stands for no pod yet.
    for (const pod of scenario.objects.filter((o) => o.kind === 'Pod')) {
      if (!this.alias.has(keyOf(pod))) this.resolvePod(keyOf(pod), { sameImage: true });
    }
  }

  /** Waits until a Deployment's current release runs every replica and no older pod is left. */
  private async rolledOut(namespace: string, name: string): Promise<void> {
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const d = await this.client.get<{
        metadata: { generation?: number };
        spec: { replicas?: number };
        status?: {
          observedGeneration?: number;
          replicas?: number;
          updatedReplicas?: number;
          availableReplicas?: number;
        };
      }>(path);
      const want = d.spec.replicas ?? 1;
      const s = d.status ?? {};
      if (
        s.observedGeneration === d.metadata.generation &&
        s.updatedReplicas === want &&
        s.replicas === want &&
        s.availableReplicas === want
      )
        return;
      if (Date.now() > deadline)
        throw new Error(`Deployment ${namespace}/${name} did not roll out`);
      await sleep(300);
    }
  }

  private containers(list: unknown): object[] {
    return ((list as { name: string; image?: string }[] | undefined) ?? [{ name: 'app' }]).map(
      (c) => ({
        name: c.name,
        image: c.image ?? 'registry.k8s.io/pause:3.10',
        resources: {
          requests: { cpu: '100m', memory: '64Mi' },
          limits: { memory: POD_MEMORY_LIMIT },
        },
      }),
    );
  }

  /**
   * A bare pod is bound to its node. A controller's pods are scheduled, as they would be: onto
   * this run's nodes only, preferring the node the scenario puts them on, so that a pod evicted
   * from a drained node comes back on another (bound to the drained node, it would come back
   * there and the drain would never end).
   */
  private livePodSpec(pod: KubeManifest, bare: boolean): Record<string, unknown> {
    const spec = (pod.spec ?? {}) as { nodeName?: string; containers?: unknown };
    const placement =
      spec.nodeName === undefined
        ? { nodeSelector: { [RUN_LABEL]: this.run } }
        : bare
          ? { nodeName: this.liveNode(spec.nodeName) }
          : {
              nodeSelector: { [RUN_LABEL]: this.run },
              affinity: {
                nodeAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      preference: {
                        matchExpressions: [
                          { key: NODE_LABEL, operator: 'In', values: [spec.nodeName] },
                        ],
                      },
                    },
                  ],
                },
              },
            };
    return {
      terminationGracePeriodSeconds: 1,
      ...placement,
      containers: this.containers(spec.containers),
    };
  }

  /** Lists the scenario's pods; a pod missing from the list is gone. */
  private async refreshPods(): Promise<void> {
    const seen = new Set<string>();
    for (const ns of this.namespaces.values()) {
      const list = await this.client.get<List<Pod>>(`/api/v1/namespaces/${ns}/pods`);
      for (const pod of list.items) {
        const id = `${ns}/${pod.metadata.name}`;
        seen.add(id);
        const known = this.pods.get(id);
        const gone = pod.metadata.deletionTimestamp !== undefined;
        if (known) {
          known.gone = gone;
          continue;
        }
        const workload = podWorkloadKey(pod) ?? `${ns}/Pod/${pod.metadata.name}`;
        this.pods.set(id, {
          name: pod.metadata.name,
          namespace: ns,
          workload,
          created: Date.parse(pod.metadata.creationTimestamp ?? '') || Date.now(),
          gone,
          image: pod.spec.containers[0]?.image ?? '',
        });
      }
    }
    for (const [id, pod] of this.pods) if (!seen.has(id)) pod.gone = true;
    await this.refreshHolders();
  }

  /**
   * Which live pod holds each workload incident, from the workload memory the agents keep. A
   * replacement that took a verification over is, in kube-remedy's words, the pod that replaces
   * the one it took it from, and `simulate` names it so too: the scenario's steps for the
   * replaced pod go to it (resolvePod), whichever of a rollout's new pods its agent saw first.
   */
  private async refreshHolders(): Promise<void> {
    const { redis } = this.options;
    this.workloadStore ??= new RedisWorkloadStore(redis.redis, redis.prefix);
    const workloads = new Set([...this.pods.values()].map((p) => p.workload));
    this.incidentHolder.clear();
    for (const workload of workloads) {
      if (workload.split('/')[1] === 'Pod') continue;
      for (const memory of Object.values(await this.workloadStore.read(workload))) {
        const incident = memory?.incident;
        if (incident?.holder == null) continue;
        const id = incident.holder.split('/').slice(1).join('/');
        this.incidentHolder.set(incident.id, id);
        if (this.pods.get(id)?.gone === false) this.heldIncident.set(id, incident.id);
      }
    }
  }

  /**
   * The live pod a scenario pod stands for now: the one it was given, or, once that one is gone,
   * a pod of the same workload no other scenario pod stands for (the replacement). A
   * StatefulSet's pod keeps its name.
   */
  private resolvePod(scenarioKey: string, options: { sameImage?: boolean } = {}): string | null {
    const current = this.alias.get(scenarioKey);
    if (current !== undefined && this.pods.get(current)?.gone === false) return current;
    const object = this.scenario.objects.find((o) => keyOf(o) === scenarioKey);
    const [, namespace = '', name = ''] = scenarioKey.split('/');
    const ns = this.liveNamespace(namespace);
    const workload = object ? podWorkloadKey(object) : null;
    const liveWorkload =
      workload === null ? `${ns}/Pod/${name}` : `${ns}/${workload.split('/').slice(1).join('/')}`;
    const taken = new Set(this.alias.values());
    const image =
      (object?.spec as { containers?: { image?: string }[] } | undefined)?.containers?.[0]?.image ??
      '';
    const candidates = [...this.pods.entries()]
      .filter(([id, p]) => !p.gone && p.workload === liveWorkload && !taken.has(id))
      .sort(([a, p], [b, q]) => {
        // A pod of the scenario pod's own image first (a release's pods), then the oldest.
        const imageA = p.image === image ? 0 : 1;
        const imageB = q.image === image ? 0 : 1;
        return imageA - imageB || p.created - q.created || a.localeCompare(b);
      });
    const sameName = candidates.find(([, p]) => p.name === name);
    // The pod that took over the incident the gone pod held replaces it.
    const held = current === undefined ? undefined : this.heldIncident.get(current);
    const adopter = held === undefined ? undefined : this.incidentHolder.get(held);
    const adopted = candidates.find(([id]) => id === adopter);
    const chosen =
      sameName ??
      adopted ??
      (options.sameImage === true ? candidates.find(([, p]) => p.image === image) : candidates[0]);
    if (chosen === undefined) return null;
    this.alias.set(scenarioKey, chosen[0]);
    return chosen[0];
  }

  // -------------------------------------------------------------------------------------------
  // The roles

  /**
   * The local Slack, when the scenario's policies name a channel or its people act: its channels
   * those the policies name, its users and groups the scenario's people.
   */
  private async startSlack(): Promise<Record<string, string>> {
    const channels: Record<string, string> = {};
    const collect = (value: unknown): void => {
      if (typeof value === 'string' && /^#[a-z0-9-_]+$/.test(value))
        channels[value] = `C0${value
          .slice(1)
          .replace(/[^a-z0-9]/g, '')
          .toUpperCase()}`;
      else if (Array.isArray(value)) value.forEach(collect);
      else if (typeof value === 'object' && value !== null) Object.values(value).forEach(collect);
    };
    for (const policy of rawPolicies(this.scenario.source)) collect(policy.spec);
    if (Object.keys(channels).length === 0 && this.scenario.people.size === 0) return {};
    const people = [...this.scenario.people.values()];
    const groups = [...new Set(people.flatMap((p) => p.groups))];
    this.slack = await startFakeSlack({
      token: BOT_TOKEN,
      channels,
      users: people.map((p) => ({
        id: p.slackId,
        name: p.handle,
        ...(p.email ? { email: p.email } : {}),
      })),
      userGroups: groups.map((g) => ({
        id: `S0${g.replace(/[^a-z0-9]/gi, '').toUpperCase()}`,
        handle: g,
        name: g,
        users: people.filter((p) => p.groups.includes(g)).map((p) => p.slackId),
      })),
    });
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      KUBE_REMEDY_SLACK_BUTTON_SECRET: BUTTON_SECRET,
      KUBE_REMEDY_SLACK_API_URL: this.slack.apiUrl,
      KUBE_REMEDY_SLACK_PORT: '0',
    };
  }

  /**
   * Takes the scenario's policies away first, so that no controller of a later test (they watch
   * every namespace) acts on objects of this one while its namespaces are being deleted.
   */
  async close(): Promise<void> {
    for (const ns of [this.home, ...this.namespaces.values()]) {
      await this.client
        .delete(`/apis/remedy.kube-remedy.io/v1alpha1/namespaces/${ns}/autoremediationpolicies`)
        .catch(() => undefined);
    }
    await this.slack?.close();
    await this.github?.stop();
    for (const queue of this.queueByName.values()) await queue.close();
    this.queueConnection?.disconnect();
  }

  async startRoles(): Promise<void> {
    const { redis, processes } = this.options;
    const kubeconfig = inject('kube').kubeconfig;
    const slackEnv = { ...(await this.startSlack()), ...(await this.startGitHub()) };
    const common = {
      REDIS_URL: redis.url,
      KUBE_REMEDY_REDIS_KEY_PREFIX: redis.prefix,
      KUBE_REMEDY_NAMESPACE: this.home,
      // Runtime intervals a scenario minute long, as the scenario's clock runs.
      KUBE_REMEDY_BUDGET_REFRESH_INTERVAL: '1s',
      KUBE_REMEDY_BUDGET_NODE_COUNT_INTERVAL: '1s',
      KUBE_REMEDY_GITOPS_POLL_INTERVAL: '1s',
    };
    const started = [
      startKubeRemedy(['--role', 'workers', '--kubeconfig', kubeconfig], {
        ...common,
        ...slackEnv,
        ...this.options.workersEnv,
      }),
      startKubeRemedy(['--role', 'controller', '--kubeconfig', kubeconfig], {
        ...common,
        KUBE_REMEDY_IDENTITY: `controller-${this.run}`,
      }),
      ...this.scenario.objects
        .filter((o) => o.kind === 'Node')
        .map((node) =>
          startKubeRemedy(
            [
              '--role',
              'agent',
              '--node-name',
              this.liveNode(node.metadata.name),
              '--kubeconfig',
              kubeconfig,
            ],
            { ...common, KUBE_REMEDY_IDENTITY: `agent-${this.liveNode(node.metadata.name)}` },
          ),
        ),
    ];
    const running = await Promise.all(started);
    for (const p of running) processes.push(p);
    await Promise.all(processes.map((p) => waitReady(p)));
    if (this.slack !== undefined) {
      const workers = running[0] as RunningKubeRemedy;
      const line = workers.logs.find((l) => l['msg'] === 'workers started');
      this.slackEndpoint = line?.['slackEndpoint'] as string | undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The timeline

  private liveAt(scenarioAt: number): number {
    return this.t0 + (scenarioAt - this.scenario.start) / this.options.factor;
  }

  async play(): Promise<LiveRun> {
    this.t0 = Date.now();
    for (const step of this.scenario.steps) this.agenda.push({ ...step, at: this.liveAt(step.at) });
    const end = this.liveAt(this.scenario.end);
    while (Date.now() < end) {
      await this.refreshPods();
      await this.matchEffectRules();
      this.agenda.sort((a, b) => a.at - b.at);
      while ((this.agenda[0]?.at ?? Infinity) <= Date.now()) {
        const step = this.agenda.shift() as Step;
        // Steps of one object in order; a write that waits (a pod kwok has not started yet)
        // holds up no other object, nor the clock.
        const key = step.object ?? '';
        const previous = this.writing.get(key) ?? Promise.resolve();
        this.writing.set(
          key,
          previous.then(() =>
            this.runStepOnLivePod(step).catch((error: unknown) => {
              this.problems.push(`${step.source}: ${String(error)}`);
            }),
          ),
        );
      }
      await sleep(Math.max(0, Math.min(200, (this.agenda[0]?.at ?? end) - Date.now())));
    }
    await Promise.race([Promise.all(this.writing.values()), sleep(30_000)]);
    return this.collect();
  }

  /**
   * A step, written again to the pod that stands for the scenario pod now when the one it was
   * written to went away in between (a rollout replaced it while the step was on its way).
   */
  private async runStepOnLivePod(step: Pick<Step, 'object' | 'change' | 'source'>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.runStep(step);
        return;
      } catch (error) {
        const gone = error instanceof KubeApiError && error.status === 404;
        if (!gone || !(step.object ?? '').startsWith('Pod/') || attempt >= 5) throw error;
        await sleep(200);
        await this.refreshPods();
      }
    }
  }

  private async runStep(step: Pick<Step, 'object' | 'change' | 'source'>): Promise<void> {
    const { change } = step;
    const object = step.object ?? '';
    const [kind] = object.split('/');
    if (
      change.type === 'approve' ||
      change.type === 'reject' ||
      change.type === 'escalate' ||
      change.type === 'ack'
    ) {
      await this.click(change.type, change.by, object);
      return;
    }
    if (change.type === 'merge') {
      await this.merge(object, change.by);
      return;
    }
    if (kind === 'Pod') {
      const live = this.resolvePod(object);
      if (live === null) throw new Error(`no live pod stands for ${object}`);
      const [ns = '', name = ''] = live.split('/');
      switch (change.type) {
        case 'crashLoop':
          await makePodCrashLoop(this.client, ns, name, {
            restartCount: change.restarts,
            ...(change.container ? { container: change.container } : {}),
          });
          return;
        case 'oomKilled':
          await makePodOOMKilled(this.client, ns, name, {
            restartCount: change.restarts,
            ...(change.container ? { container: change.container } : {}),
          });
          return;
        case 'imagePullBackOff':
          await makePodImagePullBackOff(this.client, ns, name, {
            ...(change.container ? { container: change.container } : {}),
          });
          return;
        case 'healthy':
          await makePodHealthy(this.client, ns, name);
          return;
        default:
          break;
      }
    }
    if (kind === 'Deployment' && change.type === 'patch') {
      await this.patchDeployment(object, change.patch);
      return;
    }
    if (kind === 'Deployment' && change.type === 'rolloutFailed') {
      // The real Deployment controller says so itself, once the release has made no progress
      // for progressDeadlineSeconds (scaled like every other duration): nothing to write.
      return;
    }
    if (kind === 'Node' && change.type === 'condition') {
      const name = this.liveNode(object.split('/')[1] ?? '');
      await setNodeConditions(this.client, name, [
        {
          type: change.condition.type,
          status: change.condition.status,
          reason: change.condition.reason ?? '',
          message: change.condition.message ?? '',
        },
      ]);
      return;
    }
    if (kind === 'Node' && change.type === 'patch') {
      // What a person or a fencing system writes on a Node: its annotations, nothing else.
      const { metadata, ...rest } = change.patch as { metadata?: { annotations?: unknown } };
      const others = Object.keys(rest).concat(
        Object.keys(metadata ?? {}).filter((k) => k !== 'annotations'),
      );
      if (others.length > 0 || metadata?.annotations === undefined)
        throw new Error(`only a Node's annotations can be patched on a live cluster (${object})`);
      const name = this.liveNode(object.split('/')[1] ?? '');
      await this.client.patch(`/api/v1/nodes/${name}`, {
        metadata: { annotations: metadata.annotations },
      });
      return;
    }
    throw new Error(`cannot play ${change.type} on ${object} on a live cluster yet`);
  }

  /**
   * The local GitHub, when a policy proposes changes there: each repository holds the Helm
   * values the policy names, with the limits the live workload runs with.
   */
  private async startGitHub(): Promise<Record<string, string>> {
    for (const policy of rawPolicies(this.scenario.source)) {
      const gitops = policy.spec?.['gitops'] as
        { provider?: string; repository?: string; path?: string; valuesKey?: string } | undefined;
      if (gitops === undefined) continue;
      if (gitops.provider !== 'github' || !gitops.repository || !gitops.path || !gitops.valuesKey)
        throw new Error('the parity tier plays GitOps through Helm values on GitHub only');
      this.repositories.set(gitops.repository, { path: gitops.path, valuesKey: gitops.valuesKey });
    }
    if (this.repositories.size === 0) return {};
    // On the cluster's clock: kube-remedy verifies a merged change from the moment it was merged.
    const github = new FakeGitHub({ now: () => Date.now() });
    this.github = github;
    await github.start();
    for (const [repository, { path, valuesKey }] of this.repositories) {
      const values = { [valuesKey]: { resources: { limits: { memory: POD_MEMORY_LIMIT } } } };
      github.createRepo(repository, { [path]: stringify(values), 'README.md': '# deploy\n' });
    }
    return { KUBE_REMEDY_GITHUB_TOKEN: github.token, KUBE_REMEDY_GITHUB_BASE_URL: github.url };
  }

  /**
   * A person merges the open pull request; then, as a GitOps controller would once the merge is
   * seen, the merged values reach the workload (its pods roll out with the new limit). It waits
   * for kube-remedy to have seen the merge, as `simulate` applies the change then.
   */
  private async merge(object: string, by: string): Promise<void> {
    const github = this.github;
    if (github === undefined) throw new Error('no GitOps repository to merge in');
    for (const [repository, { path, valuesKey }] of this.repositories) {
      const open = github.pulls(repository).filter((p) => p.state === 'open');
      for (const pull of open) {
        github.merge(repository, pull.number, by);
        const values = parseDocument(github.file(repository, 'main', path) ?? '').toJS() as Record<
          string,
          { resources?: { limits?: { memory?: string } } }
        >;
        const memory = values[valuesKey]?.resources?.limits?.memory;
        if (memory === undefined) throw new Error(`the merged ${path} has no memory limit`);
        await this.untilEvent(object, 'ProposalMerged');
        await this.applyMemoryLimit(object, memory);
      }
    }
  }

  private async untilEvent(object: string, reason: string): Promise<void> {
    const live = object.startsWith('Pod/') ? this.resolvePod(object) : null;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      for (const ns of this.namespaces.values()) {
        const list = await this.client.get<
          List<{ reason?: string; involvedObject?: { name?: string } }>
        >(`/api/v1/namespaces/${ns}/events`);
        if (
          list.items.some(
            (e) =>
              e.reason === reason &&
              (live === null || e.involvedObject?.name === live.split('/')[1]),
          )
        )
          return;
      }
      await sleep(200);
    }
    throw new Error(`kube-remedy never recorded ${reason} on ${object}`);
  }

  /** The workload of a scenario pod rolls out with a new memory limit on its containers. */
  private async applyMemoryLimit(object: string, memory: string): Promise<void> {
    const live = this.resolvePod(object);
    const pod = live === null ? undefined : this.pods.get(live);
    if (pod === undefined) throw new Error(`no live pod stands for ${object}`);
    const [, kind = '', name = ''] = pod.workload.split('/');
    const plural =
      kind === 'Deployment' ? 'deployments' : kind === 'StatefulSet' ? 'statefulsets' : '';
    if (plural === '') throw new Error(`cannot roll a new limit out to a ${kind}`);
    const path = `/apis/apps/v1/namespaces/${pod.namespace}/${plural}/${name}`;
    const current = await this.client.get<{
      spec: { template: { spec: { containers: { name: string }[] } } };
    }>(path);
    await this.client.patch(
      path,
      {
        spec: {
          template: {
            spec: {
              containers: current.spec.template.spec.containers.map((c) => ({
                name: c.name,
                resources: { limits: { memory } },
              })),
            },
          },
        },
      },
      'strategic',
    );
  }

  /**
   * A change to a Deployment as its owner makes it: the spec only (the controller writes the
   * status and the generation). A new pod template is a release: its pods are left to the
   * scenario (the kubelet's part), so they show what the scenario says of them (an image that
   * cannot be pulled) and not what kwok would (Running at once).
   */
  private async patchDeployment(object: string, patch: Record<string, unknown>): Promise<void> {
    const [, namespace = '', name = ''] = object.split('/');
    const spec = structuredClone(patch['spec'] ?? {}) as {
      template?: { metadata?: { annotations?: Record<string, string> } };
    };
    if (spec.template !== undefined) {
      spec.template.metadata = {
        ...spec.template.metadata,
        annotations: {
          ...spec.template.metadata?.annotations,
          [STATUS_OWNER_ANNOTATION]: 'parity',
        },
      };
    }
    await this.client.patch(
      `/apis/apps/v1/namespaces/${this.liveNamespace(namespace)}/deployments/${name}`,
      { spec },
      'strategic',
    );
  }

  /**
   * A person clicks a button in Slack: the newest message of this run that offers it for the
   * step's object (its live name; a workload's message may name another of its pods, so a
   * message of the run's namespaces is the fallback).
   */
  private async click(action: string, by: string, object: string): Promise<void> {
    const { slack } = this;
    const person = this.scenario.people.get(by);
    if (slack === undefined || this.slackEndpoint === undefined || person === undefined)
      throw new Error(`${by} cannot act in Slack: no Slack, or no such person`);
    const actionId = `kube-remedy-${action}`;
    const offering = slack
      .messages()
      .filter((m) => buttonsOf(m)[actionId] !== undefined)
      .filter((m) => [...this.namespaces.values()].some((ns) => shownText(m).includes(ns)));
    const live = object.startsWith('Pod/') ? this.resolvePod(object) : null;
    const name = live?.split('/')[1];
    const message =
      (name === undefined
        ? undefined
        : offering.filter((m) => shownText(m).includes(name)).at(-1)) ?? offering.at(-1);
    if (message === undefined) throw new Error(`no Slack message offers ${action} to ${by}`);
    const response = await postSigned(
      { url: this.slackEndpoint } as ChatOpsApp,
      blockActionsBody(slack, {
        userId: person.slackId,
        actionId,
        value: buttonsOf(message)[actionId] ?? '',
        responseName: `${by}-${action}-${Date.now()}`,
      }),
    );
    if (response.status !== 200)
      throw new Error(`Slack answered ${by}'s ${action} with ${response.status}`);
  }

  // -------------------------------------------------------------------------------------------
  // What the roles did

  /** The effect queues of this run, opened once each on one connection (found by their keys). */
  private readonly queueByName = new Map<string, Queue>();
  private queueConnection: ReturnType<RedisForTest['redis']['duplicate']> | undefined;

  private async queues(): Promise<Queue[]> {
    const { redis } = this.options;
    this.queueConnection ??= redis.redis.duplicate();
    let cursor = '0';
    do {
      const [next, keys] = await redis.redis.scan(
        cursor,
        'MATCH',
        `${redis.prefix}:bull:*:meta`,
        'COUNT',
        500,
      );
      for (const key of keys) {
        const name = key.slice(`${redis.prefix}:bull:`.length, -':meta'.length);
        if (!this.queueByName.has(name))
          this.queueByName.set(
            name,
            new Queue(name, { connection: this.queueConnection, prefix: `${redis.prefix}:bull` }),
          );
      }
      cursor = next;
    } while (cursor !== '0');
    return [...this.queueByName.values()];
  }

  private async jobs(): Promise<LiveAction[]> {
    const out: LiveAction[] = [];
    for (const queue of await this.queues()) {
      const jobs = await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
      for (const job of jobs) {
        const data = job.data as { actorKey: string; effect: { kind: string; target?: object } };
        const outcome: ActionOutcome =
          job.finishedOn === undefined
            ? 'pending'
            : job.failedReason !== undefined && job.failedReason !== null
              ? /budget|node.*(busy|slot)|healthy nodes/i.test(job.failedReason)
                ? 'refused'
                : 'failed'
              : 'done';
        out.push({
          kind: data.effect.kind,
          actorKey: data.actorKey,
          at: job.timestamp,
          outcome,
          ...{
            id: `${queue.name}/${job.id ?? ''}`,
            finishedOn: job.finishedOn ?? null,
            target: data.effect.target,
          },
        });
      }
    }
    return out;
  }

  /** The scenario's effect rules, applied to jobs the workers finished since the last look. */
  private async matchEffectRules(): Promise<void> {
    if (this.scenario.effects.length === 0) return;
    const jobs = (await this.jobs()) as (LiveAction & {
      id: string;
      finishedOn: number | null;
      target?: { kind: string; namespace: string | null; name: string };
    })[];
    for (const job of jobs.sort((a, b) => a.at - b.at)) {
      if (this.seenJobs.has(job.id) || job.finishedOn === null || NOT_ACTIONS.has(job.kind))
        continue;
      this.seenJobs.add(job.id);
      if (job.outcome !== 'done') continue;
      const actor = this.scenarioKeyOfLive(job.actorKey);
      const rule = this.scenario.effects.find((r) => {
        if (r.object !== undefined && r.object !== actor) return false;
        if (r.kind !== undefined && r.kind !== job.kind) return false;
        const count = (this.ruleMatches.get(r) ?? 0) + 1;
        this.ruleMatches.set(r, count);
        return r.nth === undefined || r.nth === count;
      });
      const target = job.target
        ? this.scenarioKeyOfLive(
            job.target.namespace === null
              ? `${job.target.kind}/${job.target.name}`
              : `${job.target.kind}/${job.target.namespace}/${job.target.name}`,
          )
        : actor;
      for (const then of rule?.then ?? []) {
        this.agenda.push({
          at: job.finishedOn + then.afterMs / this.options.factor,
          object: then.object ?? target,
          change: then.change,
          source: then.source,
        });
      }
    }
  }

  /** The scenario key a live key stands for (a replaced pod's, for its replacement). */
  private scenarioKeyOfLive(liveKey: string): string {
    const [kind, ns, name] = liveKey.split('/');
    if (kind === 'Pod') {
      for (const [scenarioKey, live] of this.alias)
        if (live === `${ns}/${name}`) return scenarioKey;
    }
    return this.scenarioName(liveKey);
  }

  /** Whether an actor is of this run (other tests' objects share the cluster and its roles). */
  private isMine(actorKey: string): boolean {
    const [kind, ns] = actorKey.split('/');
    if (kind === 'Node') return actorKey.endsWith(`-${this.run}`);
    return ns === this.home || [...this.namespaces.values()].includes(ns ?? '');
  }

  private workloadOf = (actorKey: string): string => {
    const [kind, ns, name] = actorKey.split('/');
    if (kind === 'Pod') {
      const pod = this.pods.get(`${ns}/${name}`);
      if (pod !== undefined) {
        const [wns = '', wkind = '', ...rest] = pod.workload.split('/');
        return this.scenarioName(`${wkind}/${wns}/${rest.join('/')}`);
      }
    }
    return this.scenarioName(actorKey);
  };

  private async collect(): Promise<LiveRun> {
    await this.refreshPods();
    const { redis } = this.options;
    const actions = await this.jobs();
    const escalated: { object: string; count: number }[] = [];
    const events: { at: string; line: string }[] = [];
    // Events of Nodes live in `default`.
    for (const ns of [this.home, 'default', ...this.namespaces.values()]) {
      const list = await this.client.get<
        List<{
          reason?: string;
          message?: string;
          lastTimestamp?: string;
          eventTime?: string;
          count?: number;
          series?: { count?: number };
          reportingComponent?: string;
          involvedObject?: { kind?: string; name?: string; namespace?: string };
        }>
      >(`/api/v1/namespaces/${ns}/events`);
      for (const e of list.items) {
        if (!e.reportingComponent?.startsWith('kube-remedy.io/')) continue;
        const o = e.involvedObject ?? {};
        if (o.kind === 'Node' && !(o.name ?? '').endsWith(`-${this.run}`)) continue;
        const at = e.lastTimestamp ?? e.eventTime ?? '';
        events.push({
          at,
          line: `${at} ${o.kind ?? ''}/${o.name ?? ''} ${e.reason ?? ''} ×${e.count ?? 1}: ${e.message ?? ''}`,
        });
        if (e.reason !== 'Escalated') continue;
        const object =
          o.kind === 'Node'
            ? `Node/${o.name ?? ''}`
            : `${o.kind ?? ''}/${o.namespace ?? ns}/${o.name ?? ''}`;
        escalated.push({ object, count: e.series?.count ?? e.count ?? 1 });
      }
    }
    const states = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.redis.scan(
        cursor,
        'MATCH',
        `${redis.prefix}:snapshots:*`,
        'COUNT',
        100,
      );
      for (const key of keys) {
        for (const [actorKey, raw] of Object.entries(await redis.redis.hgetall(key))) {
          const record = JSON.parse(raw) as { snapshot?: { value?: unknown } };
          const [kind, ns, name] = actorKey.split('/');
          if (!this.isMine(actorKey)) continue;
          if (kind === 'Pod' && this.pods.get(`${ns}/${name}`)?.gone !== false) continue;
          states.set(actorKey, stateText(record.snapshot?.value));
        }
      }
      cursor = next;
    } while (cursor !== '0');
    return {
      record: { actions: actions.filter((a) => this.isMine(a.actorKey)), escalated, states },
      workloadOf: this.workloadOf,
      problems: this.problems,
      events: events.sort((a, b) => a.at.localeCompare(b.at)).map((e) => e.line),
    };
  }
}
