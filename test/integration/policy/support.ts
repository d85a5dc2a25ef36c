/** Installing the policy CRD on the test control plane, and paths and manifests for policies. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../../../src/policy/vocabulary.ts';
import { waitFor, type KubeClient } from '../../cluster/fixtures.ts';
import { CRD_FILE } from '../../unit/policy/corpus.ts';

export const CRD_NAME = `${PLURAL}.${API_GROUP}`;
export const TENANCY_FILE = fileURLToPath(
  new URL('../../../crds/tenancy-admission-policy.yaml', import.meta.url),
);
/** Field manager of the test's own writes, distinct from the product's `kube-remedy`. */
export const TEST_MANAGER = 'kube-remedy-tests';

interface Crd {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/**
 * Applies crds/autoremediationpolicies.yaml (server-side apply: idempotent, so test files running
 * in parallel may all call it) and waits until the API server serves the resource.
 */
export async function installCrd(client: KubeClient): Promise<void> {
  const crd: unknown = parse(readFileSync(CRD_FILE, 'utf8'));
  await client.patch(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}?fieldManager=${TEST_MANAGER}&force=true`,
    crd,
    'apply',
  );
  await waitFor(`CRD ${CRD_NAME} to be Established`, async () => {
    const current = await client.get<Crd>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
    );
    return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  // Established can precede discovery by a moment; the collection answering is what tests need.
  await waitFor(`${PLURAL} to be served`, async () => {
    const res = await client.request('GET', `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}?limit=1`);
    return res.status === 200;
  });
}

export function tenancyDocuments(): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(TENANCY_FILE, 'utf8')).map(
    (document) => document.toJS() as Record<string, unknown>,
  );
}

export function policiesPath(namespace: string, name?: string): string {
  const collection = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${PLURAL}`;
  return name === undefined ? collection : `${collection}/${name}`;
}

export interface StoredPolicy {
  metadata: {
    name: string;
    namespace: string;
    generation: number;
    resourceVersion: string;
    managedFields?: { manager: string; operation: string; subresource?: string }[];
  };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration: number;
      lastTransitionTime: string;
    }[];
    matched?: { pods: number; deployments: number; nodes: number; total: number };
    conflictingPolicies?: string[];
  };
}

export function policyManifest(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: KIND,
    metadata: { name, namespace },
    spec,
  };
}

/** Creates a policy with strict field validation, as `kubectl apply` does; returns the stored object. */
export function createPolicy(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<StoredPolicy> {
  return client.create<StoredPolicy>(
    `${policiesPath(namespace)}?fieldValidation=Strict`,
    policyManifest(namespace, name, spec),
  );
}
