/**
 * The policy controller's two I/O ports on @kubernetes/client-node 2.x: every
 * AutoRemediationPolicy through the shared resilient list-watch (src/adapters/kubernetes), and a
 * server-side-apply writer for their status subresource.
 */
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startListWatch } from '../adapters/kubernetes/list-watch.ts';
import type { ResourceType } from '../adapters/kubernetes/resource.ts';
import type { Logger } from '../telemetry/index.ts';
import type { PolicyEvent, PolicySource, PolicyStatusWriter } from './controller.ts';
import type { PolicyRef, PolicyResource } from './policy.ts';
import type { PolicyStatus } from './status.ts';
import { API_GROUP, API_VERSION, FIELD_MANAGER, KIND, PLURAL } from './vocabulary.ts';

export const POLICIES: ResourceType = {
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: KIND,
  plural: PLURAL,
};

export interface KubernetesPolicySourceOptions {
  logger: Logger;
  /** Called after each complete list has been delivered (tests wait for the first). */
  onSynced?: () => void;
  /** Time between full relists. Default: the list-watch's (5 minutes). */
  relistIntervalMs?: number;
}

type PolicyObject = KubernetesObject & PolicyResource;

/** Every AutoRemediationPolicy in the cluster: a full list, then changes, relisting as needed. */
export class KubernetesPolicySource implements PolicySource {
  private readonly kubeConfig: KubeConfig;
  private readonly options: KubernetesPolicySourceOptions;

  constructor(kubeConfig: KubeConfig, options: KubernetesPolicySourceOptions) {
    this.kubeConfig = kubeConfig;
    this.options = options;
  }

  async run(onEvent: (event: PolicyEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const listWatch = startListWatch<PolicyObject>(this.kubeConfig, {
      resource: POLICIES,
      logger: this.options.logger,
      onEvent: (event) => onEvent({ type: event.type, resource: event.object }),
      ...(this.options.onSynced === undefined ? {} : { onSynced: this.options.onSynced }),
      ...(this.options.relistIntervalMs === undefined
        ? {}
        : { relistIntervalMs: this.options.relistIntervalMs }),
    });
    await new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await listWatch.stop();
  }
}

export class KubernetesPolicyStatusWriter implements PolicyStatusWriter {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /**
   * Server-side apply of the whole status kube-remedy owns. `force`: the controller is the only
   * writer of a policy's status, so it takes over fields someone else set by hand (kubectl edit
   * --subresource=status) instead of failing on the conflict forever.
   */
  async applyStatus(ref: PolicyRef, status: PolicyStatus, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.api.patchNamespacedCustomObjectStatus(
      {
        group: API_GROUP,
        version: API_VERSION,
        plural: PLURAL,
        namespace: ref.namespace,
        name: ref.name,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: KIND,
          metadata: { name: ref.name, namespace: ref.namespace },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }
}
