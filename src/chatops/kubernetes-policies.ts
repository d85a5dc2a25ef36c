/**
 * The Slack settings of a policy, read from the Kubernetes API. Jobs carry their policy's channel
 * and approvers, so this is for what no job carried: `/kube-remedy trigger` on an object Slack was
 * never told about, where the approvers must still be checked. The workers may read policies
 * (their Role allows it) and nothing else about them.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { isNotFound } from '../adapters/kubernetes/errors.ts';
import { API_GROUP, API_VERSION, PLURAL } from '../policy/vocabulary.ts';
import { parsePolicy, type PolicyResource } from '../policy/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { PolicyLookup } from './model.ts';

export function kubernetesPolicyLookup(kubeConfig: KubeConfig, logger: Logger): PolicyLookup {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (policy) => {
    const [namespace, name, ...rest] = (policy ?? '').split('/');
    if (!namespace || !name || rest.length > 0) return undefined;
    let resource: PolicyResource;
    try {
      resource = (await api.getNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as PolicyResource;
    } catch (error) {
      // Unknown or unreadable: the caller refuses the command, saying it does not know the policy.
      if (!isNotFound(error)) logger.warn({ err: error, policy }, 'could not read the policy');
      return undefined;
    }
    const parsed = parsePolicy(resource);
    if (!parsed.ok) {
      logger.warn({ policy, problems: parsed.problems }, 'the policy does not parse');
      return undefined;
    }
    const { approvers, slack } = parsed.policy;
    return {
      approvers: approvers ?? { users: [], groups: [] },
      ...(slack === undefined ? {} : { channel: slack.channel }),
    };
  };
}
