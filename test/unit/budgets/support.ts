/** Policies as the index holds them (parsed, defaulted), for budget and storm tests. */
import { parsePolicy, type Policy } from '../../../src/policy/index.ts';

export function parsedPolicy(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): Policy {
  const parsed = parsePolicy({
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    metadata: { name, namespace, generation: 1, uid: `uid-${name}` },
    spec: {
      selector: { kinds: ['Pod'] },
      mode: 'auto',
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
      ...spec,
    },
  });
  if (!parsed.ok) throw new Error(`policy does not parse: ${parsed.problems.join('; ')}`);
  return parsed.policy;
}
