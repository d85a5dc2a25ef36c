import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  parseSampleValue,
  PrometheusBadQueryError,
  PrometheusUnavailableError,
} from '../../../src/adapters/prometheus/index.ts';
import { effectJobId, integrationFor } from '../../../src/effects/catalogue.ts';
import { openPullRequestParams } from '../../../src/effects/gitops/index.ts';
import { parseParams } from '../../../src/effects/kubernetes/params.ts';
import type { Mode } from '../../../src/policy/vocabulary.ts';
import {
  HpaIndex,
  hpaTarget,
  renderQuery,
  scaleProposedEvent,
  scalingEffectJob,
  scalingProblems,
  signalFromError,
  signalFromSeries,
  type ScaledDeployment,
  type ScalingDecision,
} from '../../../src/scaling/index.ts';
import { NOW, policy } from './support.ts';

const decision: ScalingDecision = {
  decision: 'scaleOut',
  from: 2,
  to: 4,
  reason: 'scale out from 2 to 4 replicas: 2 of 3 signals have been above their up threshold',
  signals: [],
};

function deployment(mode: Mode, changes: Partial<ScaledDeployment> = {}): ScaledDeployment {
  return {
    namespace: 'shop',
    name: 'checkout',
    uid: 'uid-1',
    replicas: 2,
    policy: {
      ref: { namespace: 'shop', name: 'checkout-scaling' },
      mode,
      scaling: policy(),
      gitops: {
        provider: 'github',
        repository: 'acme/deploy',
        branch: 'main',
        path: 'shop/checkout.yaml',
      },
    },
    ...changes,
  };
}

describe('what a scale decision becomes', () => {
  it('is a SCALE.PROPOSED event for the Deployment actor', () => {
    expect(scaleProposedEvent(decision, NOW)).toEqual({
      type: 'SCALE.PROPOSED',
      at: NOW,
      from: 2,
      to: 4,
      reason: decision.reason,
    });
  });

  it.each<[Mode, boolean]>([
    ['auto', false],
    ['dryRun', true],
  ])(
    'in mode %s, a scale job the Kubernetes processor accepts, with the count the decision saw',
    (mode, dryRun) => {
      const job = scalingEffectJob(deployment(mode), decision, NOW);
      expect(job).not.toBeNull();
      expect(job?.effect.kind).toBe('scale');
      expect(integrationFor(job?.effect.kind ?? '')).toBe('kubernetes');
      expect(parseParams('scale', job?.effect)).toEqual({
        namespace: 'shop',
        name: 'checkout',
        uid: 'uid-1',
        replicas: 4,
        fromReplicas: 2,
      });
      expect(job).toMatchObject({
        owner: 'controller',
        actorKey: 'Deployment/shop/checkout',
        policy: 'shop/checkout-scaling',
        requestedAt: NOW,
      });
      expect(job?.dryRun === true).toBe(dryRun);
      expect(`${job?.incidentId}${job?.step}`).not.toContain(':');
    },
  );

  it('in mode gitops, an openPullRequest job proposing the change, not a scale', () => {
    const job = scalingEffectJob(deployment('gitops'), decision, NOW);
    expect(integrationFor(job?.effect.kind ?? '')).toBe('gitops');
    expect(job?.effect).toEqual({
      kind: 'openPullRequest',
      target: {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'checkout',
        uid: 'uid-1',
        resourceVersion: '',
      },
      reason: decision.reason,
      proposes: { kind: 'scale', from: 2, to: 4 },
      workload: { kind: 'Deployment', name: 'checkout' },
      gitops: {
        provider: 'github',
        repository: 'acme/deploy',
        branch: 'main',
        path: 'shop/checkout.yaml',
      },
    });
    // The GitOps processor accepts it as it is.
    expect(openPullRequestParams.safeParse(job?.effect).success).toBe(true);
    expect(job?.dryRun).toBeUndefined();
  });

  it('in mode approval, no job: a person approves through the Deployment actor first', () => {
    expect(scalingEffectJob(deployment('approval'), decision, NOW)).toBeNull();
  });

  it('gives the same decision the same job id, and another decision another', () => {
    const first = scalingEffectJob(deployment('auto'), decision, NOW);
    const again = scalingEffectJob(deployment('auto'), decision, NOW);
    const later = scalingEffectJob(deployment('auto'), decision, NOW + 15_000);
    if (!first || !again || !later) throw new Error('expected jobs');
    expect(effectJobId(first)).toBe(effectJobId(again));
    expect(effectJobId(first)).not.toBe(effectJobId(later));
  });
});

describe('policy status problems', () => {
  const held: ScalingDecision = { ...decision, decision: 'hold', to: 2, signals: [] };

  it('reports an HPA on a scaled Deployment', () => {
    expect(
      scalingProblems([
        { deployment: deployment('auto'), decision: held, hpa: { name: 'checkout-hpa' } },
      ]),
    ).toEqual([
      {
        reason: 'HorizontalPodAutoscalerConflict',
        message:
          'HorizontalPodAutoscaler shop/checkout-hpa targets Deployment checkout; kube-remedy does not scale a Deployment an HPA owns (remove the HPA, or select the Deployment out of spec.scaling)',
      },
    ]);
  });

  it('reports unreadable signals, at most five of them', () => {
    const signals = Array.from({ length: 7 }, (_, i) => ({
      name: `s${i}`,
      value: null,
      threshold: null,
      verdict: 'unavailable' as const,
      why: 'no data',
    }));
    const [problem] = scalingProblems([
      { deployment: deployment('auto'), decision: { ...held, signals }, hpa: null },
    ]);
    expect(problem?.reason).toBe('SignalsUnavailable');
    expect(problem?.message).toMatch(
      /^signal s0 for Deployment checkout: no data; .*; and 2 more$/,
    );
  });

  it('reports nothing when every signal reads and no HPA interferes', () => {
    expect(
      scalingProblems([{ deployment: deployment('auto'), decision: held, hpa: null }]),
    ).toEqual([]);
  });
});

describe('signals from queries', () => {
  it.each([
    [
      'sum(rate(x{namespace="$namespace",deployment="$deployment"}[2m]))',
      'sum(rate(x{namespace="shop",deployment="checkout"}[2m]))',
    ],
    ['x{ns="${namespace}",d="${deployment}"}', 'x{ns="shop",d="checkout"}'],
    ['$namespace_total + $deploymentx', '$namespace_total + $deploymentx'],
  ])('renders %s', (query, rendered) => {
    expect(renderQuery(query, { namespace: 'shop', name: 'checkout' })).toBe(rendered);
  });

  it('takes one series as it is, says when there were several, and calls none no data', () => {
    const one = { labels: { a: '1' }, samples: [{ t: 1, v: 2 }] };
    expect(signalFromSeries([one])).toEqual({ ok: true, samples: one.samples });
    expect(signalFromSeries([one, { labels: { a: '2' }, samples: [] }])).toMatchObject({
      ok: true,
      samples: one.samples,
      note: 'the query returned 2 series and the first, {a="1"}, was used: aggregate it to one (sum, max, avg)',
    });
    expect(signalFromSeries([])).toEqual({
      ok: false,
      error: 'no data: the query returned no series (check the metric name and its labels)',
    });
  });

  it("keeps Prometheus's words for a failed query", () => {
    const bad = new PrometheusBadQueryError('Prometheus rejected the query "x[": parse error', {
      query: 'x[',
      detail: 'parse error',
      status: 400,
      errorType: 'bad_data',
    });
    expect(signalFromError(bad)).toEqual({
      ok: false,
      error: 'Prometheus rejected the query "x[": parse error',
    });
    expect(bad.retryable).toBe(false);
    expect(new PrometheusUnavailableError('down', { query: 'x', detail: 'down' }).retryable).toBe(
      true,
    );
  });

  it.each([
    ['1.5', 1.5],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
    ['NaN', Number.NaN],
    ['1e3', 1000],
  ])('reads the sample value %s', (text, value) => {
    expect(parseSampleValue(text)).toBe(value);
  });
});

describe('HPAs targeting Deployments', () => {
  function hpa(
    name: string,
    target: { kind: string; name: string; apiVersion?: string },
  ): V2HorizontalPodAutoscaler {
    return {
      metadata: { namespace: 'shop', name },
      spec: { scaleTargetRef: target, maxReplicas: 5 },
    };
  }

  it.each<[string, { kind: string; name: string; apiVersion?: string }, string | null]>([
    [
      'an apps/v1 Deployment',
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      'shop/web',
    ],
    [
      'an old extensions Deployment',
      { apiVersion: 'extensions/v1beta1', kind: 'Deployment', name: 'web' },
      'shop/web',
    ],
    ['a StatefulSet', { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web' }, null],
    [
      'a custom resource called Deployment',
      { apiVersion: 'example.com/v1', kind: 'Deployment', name: 'web' },
      null,
    ],
  ])('an HPA scaling %s targets %s', (_name, target, expected) => {
    expect(hpaTarget(hpa('h', target))).toBe(expected);
  });

  it('follows HPAs as they appear, retarget and go', () => {
    const index = new HpaIndex();
    index.apply({
      type: 'upsert',
      object: hpa('web-hpa', { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }),
    });
    expect(index.lookup('shop', 'web')).toEqual({ name: 'web-hpa' });
    expect(index.lookup('shop', 'api')).toBeNull();
    expect(index.lookup('other', 'web')).toBeNull();

    index.apply({
      type: 'upsert',
      object: hpa('web-hpa', { kind: 'Deployment', name: 'api', apiVersion: 'apps/v1' }),
    });
    expect(index.lookup('shop', 'web')).toBeNull();
    expect(index.lookup('shop', 'api')).toEqual({ name: 'web-hpa' });

    index.apply({
      type: 'delete',
      object: hpa('web-hpa', { kind: 'Deployment', name: 'api', apiVersion: 'apps/v1' }),
    });
    expect(index.lookup('shop', 'api')).toBeNull();
  });
});
