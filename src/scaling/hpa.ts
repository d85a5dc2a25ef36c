/**
 * HorizontalPodAutoscalers that target Deployments. The scaler never fights one: a Deployment
 * with an HPA is held, and the conflict reported. The index is fed by a list-watch of
 * autoscaling/v2 HPAs and answers "which HPA targets this Deployment" from memory.
 */
import type { KubeConfig, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import {
  startListWatch,
  type RunningListWatch,
  type WatchEvent,
} from '../adapters/kubernetes/list-watch.ts';
import type { ResourceType } from '../adapters/kubernetes/resource.ts';
import type { Logger } from '../telemetry/index.ts';
import type { HpaRef } from './types.ts';

export const HORIZONTAL_POD_AUTOSCALERS: ResourceType = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
};

/** Answers which HPA (if any) targets a Deployment. */
export type HpaLookup = (namespace: string, deployment: string) => HpaRef | null;

/** `namespace/name` of the Deployment an HPA scales, or null when it scales something else. */
export function hpaTarget(hpa: V2HorizontalPodAutoscaler): string | null {
  const namespace = hpa.metadata?.namespace;
  const ref = hpa.spec?.scaleTargetRef;
  if (namespace === undefined || ref === undefined || ref.kind !== 'Deployment') return null;
  // apps/v1 today; older manifests said extensions/v1beta1 or apps/v1beta1: all are Deployments.
  const group = ref.apiVersion?.split('/')[0] ?? 'apps';
  if (group !== 'apps' && group !== 'extensions') return null;
  return `${namespace}/${ref.name}`;
}

export class HpaIndex {
  /** Deployment `namespace/name` → names of the HPAs targeting it. */
  private readonly byTarget = new Map<string, Set<string>>();
  /** HPA `namespace/name` → the Deployment it targets. */
  private readonly targetOf = new Map<string, string>();

  /** Applies one watch event (whole object; level-triggered). */
  apply(event: WatchEvent<V2HorizontalPodAutoscaler>): void {
    const namespace = event.object.metadata?.namespace ?? '';
    const name = event.object.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    const previous = this.targetOf.get(key);
    if (previous !== undefined) {
      const names = this.byTarget.get(previous);
      names?.delete(name);
      if (names?.size === 0) this.byTarget.delete(previous);
      this.targetOf.delete(key);
    }
    if (event.type === 'delete') return;
    const target = hpaTarget(event.object);
    if (target === null) return;
    this.targetOf.set(key, target);
    let names = this.byTarget.get(target);
    if (names === undefined) {
      names = new Set();
      this.byTarget.set(target, names);
    }
    names.add(name);
  }

  /** The HPA targeting the Deployment (the first by name if several do), or null. */
  hpaFor(namespace: string, deployment: string): HpaRef | null {
    const names = this.byTarget.get(`${namespace}/${deployment}`);
    if (names === undefined || names.size === 0) return null;
    return { name: [...names].sort()[0] as string };
  }

  /** The lookup the scaler takes. */
  readonly lookup: HpaLookup = (namespace, deployment) => this.hpaFor(namespace, deployment);

  /** Keeps the index in step with the cluster's HPAs (one namespace, or all) until stopped. */
  watch(kc: KubeConfig, options: { logger: Logger; namespace?: string }): RunningListWatch {
    return startListWatch<V2HorizontalPodAutoscaler>(kc, {
      resource: HORIZONTAL_POD_AUTOSCALERS,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      logger: options.logger,
      onEvent: (event) => this.apply(event),
    });
  }
}
