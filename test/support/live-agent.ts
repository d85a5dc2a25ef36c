/**
 * An agent process on a live test cluster, for e2e tests: started for one node with the test's
 * own Redis prefix, ready before it is returned and killed after the test; and the Kubernetes
 * Events it recorded on an object.
 */
import { inject } from 'vitest';
import { adminClient, type List } from '../cluster/fixtures.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from './process.ts';
import type { RedisForTest } from './redis.ts';

export interface KubeEvent {
  reason?: string;
  message?: string;
  involvedObject?: { name?: string };
  reportingComponent?: string;
}

/** Starts `kube-remedy run --role agent` for `node`; the caller kills it (kept in `processes`). */
export async function startLiveAgent(
  node: string,
  redis: RedisForTest,
  processes: RunningKubeRemedy[],
  /** More of the agent's environment (configuration), e.g. a faster refresh interval. */
  env: Record<string, string> = {},
): Promise<RunningKubeRemedy> {
  const running = await startKubeRemedy(
    ['--role', 'agent', '--node-name', node, '--kubeconfig', inject('kube').kubeconfig],
    {
      REDIS_URL: redis.url,
      KUBE_REMEDY_REDIS_KEY_PREFIX: redis.prefix,
      KUBE_REMEDY_IDENTITY: `agent-${node}`,
      ...env,
    },
  );
  processes.push(running);
  await waitReady(running);
  return running;
}

/** The Events an agent recorded on the object `name` (`default` for nodes). */
export async function agentEvents(namespace: string, name: string): Promise<KubeEvent[]> {
  const list = await adminClient().get<List<KubeEvent>>(
    `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`,
  );
  return list.items.filter((e) => e.reportingComponent === 'kube-remedy.io/kube-remedy-agent');
}

/** Every Event the agents recorded in a namespace, oldest first. */
export async function namespaceAgentEvents(namespace: string): Promise<KubeEvent[]> {
  const list = await adminClient().get<List<KubeEvent>>(`/api/v1/namespaces/${namespace}/events`);
  return list.items.filter((e) => e.reportingComponent === 'kube-remedy.io/kube-remedy-agent');
}
