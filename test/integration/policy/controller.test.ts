/**
 * The policy controller against the real API server, as the controller role's ServiceAccount with
 * only the permissions granted here (the ones the Helm chart must grant): it lists and watches
 * policies through the shared list-watch, and writes their status with server-side apply.
 * Pods and nodes reach the index from real list-watches, as the actor registry will feed them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { startListWatch } from '../../../src/adapters/kubernetes/list-watch.ts';
import { PODS } from '../../../src/adapters/kubernetes/resource.ts';
import { PolicyController, type PolicyStatusWriter } from '../../../src/policy/controller.ts';
import {
  KubernetesPolicySource,
  KubernetesPolicyStatusWriter,
} from '../../../src/policy/kubernetes.ts';
import type { PolicyRef } from '../../../src/policy/policy.ts';
import { PolicyIndex } from '../../../src/policy/policy-index.ts';
import type { PolicyStatus } from '../../../src/policy/status.ts';
import { adminClient, createPod, freshNamespace, waitFor } from '../../cluster/fixtures.ts';
import { adminKubeConfig, roleKubeConfig } from '../../support/kube.ts';
import { captureLogger } from '../../support/logger.ts';
import {
  createPolicy,
  installCrd,
  policiesPath,
  TEST_MANAGER,
  type StoredPolicy,
} from './support.ts';

const AGENT_NAMESPACE = 'kube-remedy-system';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const run = promisify(execFile);

/** The real writer, counting its calls, so a test can tell a write that did not happen. */
class CountingWriter implements PolicyStatusWriter {
  readonly inner: PolicyStatusWriter;
  writes = 0;

  constructor(inner: PolicyStatusWriter) {
    this.inner = inner;
  }

  async applyStatus(ref: PolicyRef, status: PolicyStatus, signal?: AbortSignal): Promise<void> {
    this.writes += 1;
    await this.inner.applyStatus(ref, status, signal);
  }
}

const condition = (policy: StoredPolicy, type: string) =>
  policy.status?.conditions?.find((c) => c.type === type);

describe('the policy controller on a real API server', () => {
  const admin = adminClient();
  const suffix = randomBytes(3).toString('hex');
  const clusterRole = `kube-remedy-test-policy-controller-${suffix}`;
  const stop = new AbortController();
  const index = new PolicyIndex({ agentNamespace: AGENT_NAMESPACE });
  const logs = captureLogger('warn');
  let writer: CountingWriter;
  let controller: PolicyController;
  let running: Promise<void>;

  const getPolicy = (namespace: string, name: string) =>
    admin.get<StoredPolicy>(policiesPath(namespace, name));
  const until = (
    what: string,
    namespace: string,
    name: string,
    check: (policy: StoredPolicy) => boolean,
  ) =>
    waitFor(
      what,
      async () => {
        const policy = await getPolicy(namespace, name);
        return check(policy) ? policy : undefined;
      },
      { timeoutMs: 30_000 },
    );

  /** Feeds the index the pods of a namespace, as the actor registry will. */
  async function feedPods(namespace: string): Promise<void> {
    const watch = startListWatch<V1Pod>(adminKubeConfig(), {
      resource: PODS,
      namespace,
      logger: logs.logger,
      onEvent: ({ type, object }) => {
        const identity = {
          kind: 'Pod' as const,
          namespace,
          name: object.metadata?.name ?? '',
          labels: object.metadata?.labels ?? {},
        };
        if (type === 'delete') index.removeObject(identity);
        else index.setObject(identity);
      },
    });
    onTestFinished(() => watch.stop());
    await watch.synced;
  }

  beforeAll(async () => {
    await installCrd(admin);
    // What the controller needs, and nothing more: read policies, apply their status.
    await admin.create(`${RBAC}/clusterroles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: clusterRole },
      rules: [
        {
          apiGroups: ['remedy.kube-remedy.io'],
          resources: ['autoremediationpolicies'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['remedy.kube-remedy.io'],
          resources: ['autoremediationpolicies/status'],
          verbs: ['patch'],
        },
      ],
    });
    await admin.create(`${RBAC}/clusterrolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: clusterRole },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects: [
        { kind: 'ServiceAccount', name: 'kube-remedy-controller', namespace: AGENT_NAMESPACE },
      ],
    });
    const controllerConfig = roleKubeConfig('controller');
    writer = new CountingWriter(new KubernetesPolicyStatusWriter(controllerConfig));
    controller = new PolicyController({
      index,
      writer,
      logger: logs.logger,
      debounceMs: 50,
      resyncMs: 300,
    });
    running = controller.run(
      new KubernetesPolicySource(controllerConfig, { logger: logs.logger }),
      stop.signal,
    );
  });

  afterAll(async () => {
    stop.abort();
    await running;
    await admin.delete(`${RBAC}/clusterrolebindings/${clusterRole}`);
    await admin.delete(`${RBAC}/clusterroles/${clusterRole}`);
  });

  it('makes a new policy Ready for its generation, through server-side apply as kube-remedy', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-ready' });
    await createPolicy(admin, namespace, 'web', {
      selector: { kinds: ['Pod'] },
      mode: 'auto',
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    });
    const policy = await until('status for generation 1', namespace, 'web', (p) =>
      Boolean(p.status?.observedGeneration === 1 && condition(p, 'Ready')),
    );
    expect(policy.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Active'],
      ['Conflict', 'False', 'NoConflict'],
      ['Degraded', 'False', 'AsExpected'],
    ]);
    expect(condition(policy, 'Ready')?.message).toBe(
      `in force in mode auto for Pod in namespace ${namespace}`,
    );
    expect(policy.metadata.managedFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          manager: 'kube-remedy',
          operation: 'Apply',
          subresource: 'status',
        }),
      ]),
    );
  });

  it('follows spec changes with observedGeneration, and writes nothing while nothing changes', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-generation' });
    await createPolicy(admin, namespace, 'web', {
      selector: { kinds: ['Pod'] },
      mode: 'auto',
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    });
    const first = await until(
      'generation 1',
      namespace,
      'web',
      (p) => p.status?.observedGeneration === 1,
    );

    await admin.patch(`${policiesPath(namespace, 'web')}?fieldManager=${TEST_MANAGER}`, {
      spec: { mode: 'dryRun' },
    });
    const second = await until(
      'generation 2',
      namespace,
      'web',
      (p) => p.status?.observedGeneration === 2,
    );
    expect(second.metadata.generation).toBe(2);
    expect(condition(second, 'Ready')).toMatchObject({
      status: 'True',
      observedGeneration: 2,
      message: `in force in mode dryRun for Pod in namespace ${namespace}`,
      // Ready stayed True, so it did not transition.
      lastTransitionTime: condition(first, 'Ready')?.lastTransitionTime,
    });

    const writes = writer.writes;
    await controller.flush();
    await controller.flush();
    const after = await getPolicy(namespace, 'web');
    expect(after.metadata.resourceVersion).toBe(second.metadata.resourceVersion);
    expect(writer.writes).toBe(writes);
  });

  it('reports two equally specific policies as Conflict on both, until one is made more specific', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-conflict' });
    await createPod(admin, namespace, { name: 'web-1', labels: { tier: 'web' } });
    await createPod(admin, namespace, { name: 'web-2', labels: { tier: 'web' } });
    await createPod(admin, namespace, { name: 'batch-1', labels: { tier: 'batch' } });
    await feedPods(namespace);
    const spec = {
      selector: { kinds: ['Pod'] },
      mode: 'dryRun',
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    };
    await createPolicy(admin, namespace, 'team', spec);
    await createPolicy(admin, namespace, 'web', spec);

    for (const [name, other] of [
      ['team', 'web'],
      ['web', 'team'],
    ] as const) {
      const policy = await until(
        `Conflict on ${name}`,
        namespace,
        name,
        (p) => condition(p, 'Conflict')?.status === 'True',
      );
      expect(condition(policy, 'Conflict')).toMatchObject({
        reason: 'TiedSelectors',
        message: `3 objects selected by ${namespace}/${name} are selected as specifically by ${namespace}/${other} (3 objects); no policy acts on them until one selector is more specific (add a label term or narrow spec.selector.kinds)`,
      });
      expect(policy.status?.conflictingPolicies).toEqual([other]);
      expect(policy.status?.matched?.total).toBe(0);
    }

    await admin.patch(`${policiesPath(namespace, 'web')}?fieldManager=${TEST_MANAGER}`, {
      spec: { selector: { matchLabels: { tier: 'web' } } },
    });
    const web = await until(
      'web to win its pods',
      namespace,
      'web',
      (p) => p.status?.matched?.pods === 2,
    );
    const team = await until(
      'team to keep the rest',
      namespace,
      'team',
      (p) => p.status?.matched?.pods === 1,
    );
    for (const policy of [web, team]) {
      expect(condition(policy, 'Conflict')).toMatchObject({
        status: 'False',
        reason: 'NoConflict',
      });
      expect(policy.status?.conflictingPolicies ?? []).toEqual([]);
    }

    // What `kubectl get arp` prints, from the printer columns and the status just written.
    const kube = inject('kube');
    const { stdout } = await run(path.join(kube.binDir, 'kubectl'), [
      `--kubeconfig=${kube.kubeconfig}`,
      'get',
      'arp',
      '-n',
      namespace,
    ]);
    const [header, ...rows] = stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'MODE', 'READY', 'MATCHED', 'ACTIONS 24H', 'AGE']);
    expect(rows.map((row) => row.slice(0, 5))).toEqual([
      ['team', 'dryRun', 'True', '1', '0'],
      ['web', 'dryRun', 'True', '2', '0'],
    ]);
  });

  it('ignores a policy selecting Nodes outside the agent namespace, saying why', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-tenant' });
    await createPolicy(admin, namespace, 'drain-everything', {
      selector: { kinds: ['Node'] },
      mode: 'auto',
      detections: [{ type: 'NotReady', action: 'drain' }],
    });
    const policy = await until(
      'NodesNotAllowedHere',
      namespace,
      'drain-everything',
      (p) => condition(p, 'Ready')?.status === 'False',
    );
    expect(condition(policy, 'Ready')).toMatchObject({
      reason: 'NodesNotAllowedHere',
      message: `this policy selects Nodes but lives in namespace ${namespace}; only policies in ${AGENT_NAMESPACE} may select nodes, so it is ignored. Move it to ${AGENT_NAMESPACE}, or select Pods or Deployments of ${namespace} instead.`,
    });
    expect(policy.status?.matched).toEqual({ pods: 0, deployments: 0, nodes: 0, total: 0 });
    expect(index.nodesNotAllowed({ namespace, name: 'drain-everything' })).toBe(true);
  });

  it("governs the nodes with a node policy in the agent's namespace", async () => {
    const nodes = inject('kube').nodes;
    for (const name of nodes) {
      const node = await admin.get<V1Node>(`/api/v1/nodes/${name}`);
      index.setObject({ kind: 'Node', name, labels: node.metadata?.labels ?? {} });
    }
    const name = `node-pressure-${suffix}`;
    await createPolicy(admin, AGENT_NAMESPACE, name, {
      selector: { kinds: ['Node'], matchLabels: { type: 'kwok' } },
      mode: 'dryRun',
      detections: [{ type: 'NotReady', action: 'cordon' }],
    });
    onTestFinished(() => admin.delete(policiesPath(AGENT_NAMESPACE, name)));
    const policy = await until(
      'node policy Ready',
      AGENT_NAMESPACE,
      name,
      (p) => p.status?.matched?.nodes === nodes.length,
    );
    expect(condition(policy, 'Ready')).toMatchObject({
      status: 'True',
      message: 'in force in mode dryRun for Node cluster-wide',
    });
  });

  it("never lets a policy govern another namespace's pods", async () => {
    const teamA = await freshNamespace(admin, { prefix: 'arp-team-a' });
    const teamB = await freshNamespace(admin, { prefix: 'arp-team-b' });
    await createPod(admin, teamB, { name: 'b-1' });
    await createPod(admin, teamA, { name: 'a-1' });
    await feedPods(teamA);
    await feedPods(teamB);
    await createPolicy(admin, teamA, 'everything', {
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    });
    const policy = await until(
      'matched counts',
      teamA,
      'everything',
      (p) => p.status?.matched !== undefined,
    );
    expect(policy.status?.matched).toEqual({ pods: 1, deployments: 0, nodes: 0, total: 1 });
    expect(index.governanceOf(`Pod/${teamB}/b-1`)).toEqual({ state: 'ungoverned' });
  });

  it('logged no failure while doing all this', () => {
    expect(logs.records().filter((record) => record['level'] !== 'info')).toEqual([]);
  });
});
