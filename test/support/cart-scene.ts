/**
 * The scene of the end-to-end tests that run the roles as processes: a namespace with a policy
 * governing pod cart-1 on a kwok node of its own, the workers, and that node's agent, sharing one
 * scratch Redis. Processes are killed and Redis cleaned by `close`.
 */
import { expect, inject } from 'vitest';
import {
  adminClient,
  createFakeNode,
  createPod,
  freshNamespace,
  type KubeClient,
} from '../cluster/fixtures.ts';
import { createPolicy, installCrd } from '../integration/policy/support.ts';
import { eventually } from './logger.ts';
import { startKubeRemedy, waitReady, type RunningKubeRemedy } from './process.ts';
import { redisForTest } from './redis.ts';

export interface CartScene {
  client: KubeClient;
  ns: string;
  node: string;
  workers: RunningKubeRemedy;
  agent: RunningKubeRemedy;
  /** The workers' Slack endpoint, when Slack is configured. */
  slackEndpoint: () => Promise<string>;
  /** HTTP status of GET on pod cart-1: 404 once it is deleted. */
  podStatus: () => Promise<number>;
  close: () => Promise<void>;
}

export async function startCartScene(options: {
  prefix: string;
  /** spec of the policy, beside its selector of app=cart pods. */
  policy: Record<string, unknown>;
  /** Environment of the workers beyond Redis (their integrations). */
  workersEnv?: Record<string, string>;
}): Promise<CartScene> {
  const scratch = await redisForTest();
  const processes: RunningKubeRemedy[] = [];
  const close = async (): Promise<void> => {
    for (const p of processes.splice(0)) await p.kill();
    await scratch.cleanup();
  };
  try {
    const client = adminClient();
    await installCrd(client);
    const ns = await freshNamespace(client, { prefix: options.prefix });
    const node = (await createFakeNode(client, { dedicated: false })).metadata.name;
    await createPolicy(client, ns, 'cart', {
      selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
      ...options.policy,
    });
    await createPod(client, ns, { name: 'cart-1', nodeName: node, labels: { app: 'cart' } });

    const common = { REDIS_URL: scratch.url, KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix };
    const kubeconfig = inject('kube').kubeconfig;
    const workers = await startKubeRemedy(['--role', 'workers', '--kubeconfig', kubeconfig], {
      ...common,
      ...options.workersEnv,
    });
    processes.push(workers);
    await waitReady(workers);
    const agent = await startKubeRemedy(
      ['--role', 'agent', '--node-name', node, '--kubeconfig', kubeconfig],
      common,
    );
    processes.push(agent);
    await waitReady(agent);
    return {
      client,
      ns,
      node,
      workers,
      agent,
      slackEndpoint: () =>
        eventually(() => {
          const started = workers.logs.find((l) => l['msg'] === 'workers started');
          expect(started?.['slackEndpoint']).toEqual(expect.stringMatching(/^http:\/\//));
          return started?.['slackEndpoint'] as string;
        }),
      podStatus: async () =>
        (await client.request('GET', `/api/v1/namespaces/${ns}/pods/cart-1`)).status,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
