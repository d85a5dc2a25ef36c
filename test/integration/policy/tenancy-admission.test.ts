/**
 * crds/tenancy-admission-policy.yaml on the real API server: a policy selecting Nodes outside
 * kube-remedy's namespace is refused at admission, with a message naming it and the rule.
 *
 * The ValidatingAdmissionPolicy is applied exactly as shipped. Its binding is the shipped one with
 * one test-only change: it also requires a label on the namespace, so that other test files on the
 * same cluster (which create such policies on purpose, to see the controller ignore them) are
 * unaffected.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, freshNamespace, KubeApiError, waitFor } from '../../cluster/fixtures.ts';
import { createPolicy, installCrd, TEST_MANAGER, tenancyDocuments } from './support.ts';

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';
const nodePolicy = {
  selector: { kinds: ['Node'] },
  mode: 'auto',
  detections: [{ type: 'NotReady', action: 'drain' }],
};

interface Binding {
  metadata: { name: string };
  spec: {
    matchResources: {
      namespaceSelector: {
        matchExpressions: { key: string; operator: string; values?: string[] }[];
      };
    };
  };
}

describe('the tenancy admission policy', () => {
  const admin = adminClient();
  const label = `kube-remedy.test/tenancy-${randomBytes(3).toString('hex')}`;
  const [policy, shippedBinding] = tenancyDocuments() as [
    Record<string, unknown> & { metadata: { name: string } },
    Binding,
  ];
  const binding: Binding = {
    ...shippedBinding,
    metadata: { name: `${shippedBinding.metadata.name}-${label.slice(-6)}` },
    spec: {
      ...shippedBinding.spec,
      matchResources: {
        namespaceSelector: {
          matchExpressions: [
            ...shippedBinding.spec.matchResources.namespaceSelector.matchExpressions,
            { key: label, operator: 'Exists' },
          ],
        },
      },
    },
  };

  beforeAll(async () => {
    await installCrd(admin);
    await admin.patch(
      `${ADMISSION}/validatingadmissionpolicies/${policy.metadata.name}?fieldManager=${TEST_MANAGER}&force=true`,
      policy,
      'apply',
    );
    await admin.create(`${ADMISSION}/validatingadmissionpolicybindings`, binding);
  });

  afterAll(async () => {
    await admin.delete(`${ADMISSION}/validatingadmissionpolicybindings/${binding.metadata.name}`);
  });

  it('excludes only the agent namespace in the shipped binding', () => {
    expect(shippedBinding.spec.matchResources.namespaceSelector.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-remedy-system'] },
    ]);
  });

  it('refuses a team policy that selects Nodes, naming it and the rule', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-vap', labels: { [label]: '' } });
    // The API server loads new admission policies asynchronously: wait until this one bites.
    const error = await waitFor(
      'the admission policy to refuse node policies',
      async () => {
        const name = `nodes-${randomBytes(3).toString('hex')}`;
        return createPolicy(admin, namespace, name, nodePolicy).then(
          () => undefined,
          (caught: unknown) => caught,
        );
      },
      { timeoutMs: 30_000 },
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(403);
    expect((error as KubeApiError).message).toContain(
      `selects Nodes, but only policies in kube-remedy's namespace may select Nodes (a team with rights in one namespace must not cordon, drain or taint nodes); select Pods or Deployments of ${namespace}, or ask the cluster admins for a node policy`,
    );
  });

  it('lets the same team create policies for its Pods and Deployments', async () => {
    const namespace = await freshNamespace(admin, { prefix: 'arp-vap', labels: { [label]: '' } });
    const stored = await createPolicy(admin, namespace, 'pods', {
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    });
    expect(stored.metadata.name).toBe('pods');
  });
});
