/** What every Kubernetes action needs besides its parameters. */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/index.ts';

export interface ActionContext {
  core: CoreV1Api;
  apps: AppsV1Api;
  /** `All` asks the API server to validate and admit the request but persist nothing. */
  dryRun: 'All' | undefined;
  logger: Logger;
  signal: AbortSignal;
  /** When the decision was made (ms); used where an action must be repeatable (restartedAt). */
  requestedAt: number;
}

export interface KubeApis {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function kubeApis(kc: KubeConfig): KubeApis {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}
