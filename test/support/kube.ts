/** client-node configurations for the test control plane, as admin or as one role. */
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { Role } from '../cluster/controlplane.ts';

export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kube').kubeconfig);
  return kc;
}

export function roleKubeConfig(role: Role): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kube').roles[role].kubeconfig);
  return kc;
}
