/**
 * The controller's decisions (what to write, when) with an in-memory status store behind its own
 * PolicyStatusWriter port. The same controller against the real API server, through the
 * client-node writer and list-watch, is test/integration/policy/controller.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  PolicyController,
  type PolicyEvent,
  type PolicySource,
  type PolicyStatusWriter,
  syncIndex,
} from '../../../src/policy/controller.ts';
import type { PolicyRef, PolicyResource } from '../../../src/policy/policy.ts';
import { PolicyIndex } from '../../../src/policy/policy-index.ts';
import type { PolicyStatus } from '../../../src/policy/status.ts';
import { eventually } from '../../support/logger.ts';
import { minimalSpec } from './corpus.ts';

/** Stores what was written, like the status subresource would; can be told to fail. */
class StatusStore implements PolicyStatusWriter {
  readonly written: { policy: string; status: PolicyStatus }[] = [];
  failuresLeft = 0;

  applyStatus(ref: PolicyRef, status: PolicyStatus): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      return Promise.reject(new Error('the API server is away'));
    }
    this.written.push({ policy: `${ref.namespace}/${ref.name}`, status });
    return Promise.resolve();
  }

  last(policy: string): PolicyStatus | undefined {
    return this.written.filter((w) => w.policy === policy).at(-1)?.status;
  }
}

function resource(
  name: string,
  generation: number,
  spec: Record<string, unknown> = minimalSpec(),
  status?: unknown,
): PolicyResource {
  return {
    apiVersion: 'remedy.kube-remedy.io/v1alpha1',
    kind: 'AutoRemediationPolicy',
    metadata: { name, namespace: 'shop', generation },
    spec,
    status,
  };
}

function setup() {
  const index = new PolicyIndex({ agentNamespace: 'kube-remedy-system' });
  const store = new StatusStore();
  const warnings: string[] = [];
  const controller = new PolicyController({
    index,
    writer: store,
    now: () => new Date('2026-11-28T12:00:00Z'),
    logger: { warn: (_details, message) => warnings.push(message), debug: () => undefined },
  });
  return { index, store, controller, warnings };
}

const readyOf = (status: PolicyStatus | undefined) =>
  status?.conditions.find((c) => c.type === 'Ready');

describe('PolicyController', () => {
  it('writes the status of a new policy once, and not again while nothing changes', async () => {
    const { store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    await controller.flush();
    expect(store.written.map((w) => w.policy)).toEqual(['shop/web']);
    expect(store.last('shop/web')).toMatchObject({
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Active' },
        { type: 'Conflict', status: 'False' },
        { type: 'Degraded', status: 'False' },
      ],
    });
  });

  it('does not write when the watch brings back the status it wrote', async () => {
    const { store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    const written = JSON.parse(JSON.stringify(store.last('shop/web'))) as unknown;
    controller.handle({ type: 'upsert', resource: resource('web', 1, minimalSpec(), written) });
    await controller.flush();
    expect(store.written).toHaveLength(1);
  });

  it('follows a spec change with observedGeneration, keeping lastTransitionTime', async () => {
    const { store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    const first = store.last('shop/web');
    controller.handle({
      type: 'upsert',
      resource: resource('web', 2, { ...minimalSpec(), mode: 'dryRun' }, first),
    });
    await controller.flush();
    expect(store.last('shop/web')?.observedGeneration).toBe(2);
    expect(readyOf(store.last('shop/web'))).toMatchObject({
      observedGeneration: 2,
      lastTransitionTime: readyOf(first)?.lastTransitionTime,
      message: 'in force in mode dryRun for Pod in namespace shop',
    });
  });

  it('takes an invalid spec out of the index and says why', async () => {
    const { index, store, controller, warnings } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    index.setObject({ kind: 'Pod', namespace: 'shop', name: 'web-1' });
    controller.handle({
      type: 'upsert',
      resource: resource('web', 2, { ...minimalSpec(), mode: 'gitops' }),
    });
    await controller.flush();
    expect(index.governanceOf('Pod/shop/web-1')).toEqual({ state: 'ungoverned' });
    expect(readyOf(store.last('shop/web'))).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
    });
    expect(warnings).toEqual(['policy ignored: invalid spec']);
  });

  it('writes new matched counts when objects come and go', async () => {
    const { index, store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    index.setObject({ kind: 'Pod', namespace: 'shop', name: 'web-1' });
    index.setObject({ kind: 'Pod', namespace: 'shop', name: 'web-2' });
    await controller.flush();
    expect(store.written.map((w) => w.status.matched.total)).toEqual([0, 2]);
  });

  it('marks both sides of a tie as Conflict', async () => {
    const { index, store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('a', 1) });
    controller.handle({ type: 'upsert', resource: resource('b', 1) });
    index.setObject({ kind: 'Pod', namespace: 'shop', name: 'web-1' });
    await controller.flush();
    for (const [policy, other] of [
      ['shop/a', 'b'],
      ['shop/b', 'a'],
    ] as const) {
      const status = store.last(policy);
      expect(status?.conditions[1]).toMatchObject({ type: 'Conflict', status: 'True' });
      expect(status?.conflictingPolicies).toEqual([other]);
    }
  });

  it('forgets a deleted policy', async () => {
    const { index, store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    controller.handle({ type: 'delete', resource: resource('web', 1) });
    await controller.flush();
    expect(store.written).toEqual([]);
    expect(index.policies()).toEqual([]);
    expect(controller.statusOf({ namespace: 'shop', name: 'web' })).toBeUndefined();
  });

  it('retries a failed write at the next flush', async () => {
    const { store, controller, warnings } = setup();
    store.failuresLeft = 1;
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    expect(store.written).toEqual([]);
    await controller.flush();
    expect(store.written).toHaveLength(1);
    expect(warnings).toEqual(['could not write policy status']);
  });

  it('shares one pass between concurrent flushes and runs one more for calls during it', async () => {
    const { store, controller } = setup();
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    const first = controller.flush();
    controller.handle({ type: 'upsert', resource: resource('web', 2) });
    const second = controller.flush();
    await Promise.all([first, second]);
    expect(store.written.map((w) => w.status.observedGeneration)).toEqual([1, 2]);
  });

  it('puts reports of other components into the status', async () => {
    const index = new PolicyIndex({ agentNamespace: 'kube-remedy-system' });
    const store = new StatusStore();
    const controller = new PolicyController({
      index,
      writer: store,
      reports: () => ({
        problems: [{ reason: 'HorizontalPodAutoscalerPresent', message: 'HPA shop/web scales it' }],
        actions24h: 2,
      }),
    });
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    await controller.flush();
    expect(store.last('shop/web')).toMatchObject({
      actions24h: 2,
      conditions: [
        { type: 'Ready' },
        { type: 'Conflict' },
        { type: 'Degraded', status: 'True', message: 'HPA shop/web scales it' },
      ],
    });
  });

  it('gathers what reports answer from once before each flush, and flushes anyway when that fails', async () => {
    const index = new PolicyIndex({ agentNamespace: 'kube-remedy-system' });
    const store = new StatusStore();
    let gathered = 0;
    let failing = false;
    const controller = new PolicyController({
      index,
      writer: store,
      beforeFlush: () => {
        if (failing) return Promise.reject(new Error('redis is away'));
        gathered += 1;
        return Promise.resolve();
      },
      reports: () => ({
        problems: gathered === 0 ? [] : [{ reason: 'Gathered', message: `gathered ${gathered}` }],
      }),
    });
    controller.handle({ type: 'upsert', resource: resource('web', 1) });
    controller.handle({ type: 'upsert', resource: resource('db', 1) });
    await controller.flush();
    expect(gathered).toBe(1);
    expect(store.last('shop/web')?.conditions[2]?.message).toBe('gathered 1');
    failing = true;
    controller.handle({ type: 'upsert', resource: resource('web', 2) });
    await controller.flush();
    expect(store.last('shop/web')).toMatchObject({
      observedGeneration: 2,
      conditions: [{}, {}, { message: 'gathered 1' }],
    });
  });

  it('runs a source until aborted, flushing after events and then periodically', async () => {
    const { index, store } = setup();
    let deliver: (event: PolicyEvent) => void = () => undefined;
    const source: PolicySource = {
      run: (onEvent, signal) => {
        deliver = onEvent;
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    };
    const controller = new PolicyController({ index, writer: store, debounceMs: 1, resyncMs: 5 });
    const stop = new AbortController();
    const running = controller.run(source, stop.signal);
    deliver({ type: 'upsert', resource: resource('web', 1) });
    await eventually(() => expect(store.written).toHaveLength(1));
    // No policy event announces a new object; the periodic flush picks it up.
    index.setObject({ kind: 'Pod', namespace: 'shop', name: 'web-1' });
    await eventually(() => expect(store.last('shop/web')?.matched.total).toBe(1));
    stop.abort();
    await running;
    expect(store.written).toHaveLength(2);
  });
});

describe('syncIndex (agents read policies, never write their status)', () => {
  it('keeps an index in step with policy events', () => {
    const index = new PolicyIndex({ agentNamespace: 'kube-remedy-system' });
    const pod = { kind: 'Pod' as const, namespace: 'shop', name: 'web-1' };
    index.setObject(pod);
    expect(syncIndex(index, { type: 'upsert', resource: resource('web', 1) }).ok).toBe(true);
    expect(index.governanceOf('Pod/shop/web-1')).toEqual({
      state: 'governed',
      policy: { namespace: 'shop', name: 'web' },
    });
    const invalid = syncIndex(index, {
      type: 'upsert',
      resource: resource('web', 2, { ...minimalSpec(), mode: 'gitops' }),
    });
    expect(invalid.ok).toBe(false);
    expect(index.governanceOf('Pod/shop/web-1')).toEqual({ state: 'ungoverned' });
    syncIndex(index, { type: 'upsert', resource: resource('web', 3) });
    syncIndex(index, { type: 'delete', resource: resource('web', 3) });
    expect(index.policies()).toEqual([]);
  });
});
