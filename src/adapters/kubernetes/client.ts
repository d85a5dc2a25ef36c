/** Loading the Kubernetes client configuration once per process. */
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../../config/index.ts';

/**
 * The kubeconfig named by the configuration, else the client's defaults: in-cluster
 * ServiceAccount inside a pod, ~/.kube/config elsewhere.
 */
export function loadKubeConfig(config: Pick<Config, 'kubeconfig'>): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  if (kc.getCurrentCluster() === null) {
    throw new Error(
      'the kubeconfig has no current cluster: set --kubeconfig or KUBECONFIG, or run in a pod',
    );
  }
  return kc;
}
