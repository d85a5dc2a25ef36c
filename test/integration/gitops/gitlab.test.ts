import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabClient } from '../../../src/adapters/gitlab/client.ts';
import { GitLabCodeHost } from '../../../src/adapters/gitlab/code-host.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer, type ControlMessage } from '../../../src/effects/control-stream.ts';
import { RetryLaterError } from '../../../src/effects/errors.ts';
import { gitopsProcessors } from '../../../src/effects/gitops/index.ts';
import type { ProcessorContext } from '../../../src/effects/workers.ts';
import { checkProposals } from '../../../src/gitops/watcher.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const PROJECT = 'platform/charts/shop';
const VALUES = `# Values of the shop chart in production.
web:
  replicaCount: 3   # peak is 5
  image:
    repository: registry.example.com/shop/web
    tag: "1.4.2"
  resources:
    limits:
      memory: 512Mi
worker:
  replicaCount: 1
`;

const T0 = Date.parse('2026-11-01T00:00:00Z');

function job(step: string, effect: Record<string, unknown> = {}): EffectJob {
  return {
    owner: 'controller',
    actorKey: 'Deployment/shop/web',
    incidentId: 'Deployment/shop/web#2@1732000000000',
    step,
    requestedAt: 1_732_000_000_000,
    effect: {
      kind: 'openPullRequest',
      target: { kind: 'Deployment', namespace: 'shop', name: 'web' },
      reason: 'p99 latency and queue depth agree: scale out',
      proposes: { kind: 'scale', from: 3, to: 5 },
      gitops: {
        provider: 'gitlab',
        repository: PROJECT,
        branch: 'main',
        path: 'values/prod.yaml',
        valuesKey: 'web',
      },
      ...effect,
    },
  };
}

function context(jobId: string): ProcessorContext {
  return {
    jobId,
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  };
}

describe('GitOps merge requests on GitLab', () => {
  let gitlab: FakeGitLab;
  let scratch: RedisForTest;

  beforeEach(async () => {
    gitlab = new FakeGitLab();
    await gitlab.start();
    gitlab.createProject(PROJECT, { 'values/prod.yaml': VALUES, 'Chart.yaml': 'name: shop\n' });
    scratch = await redisForTest();
  });

  afterEach(async () => {
    await gitlab.stop();
    await scratch.cleanup();
    expect(gitlab.violations).toEqual([]);
  });

  function host(): GitLabCodeHost {
    return new GitLabCodeHost(createGitLabClient({ token: gitlab.token, baseUrl: gitlab.url }));
  }

  function processor() {
    return gitopsProcessors({
      hosts: { gitlab: host() },
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      now: () => T0,
    }).openPullRequest;
  }

  it('changes one key of a Helm values file in one merge request, and reports the merge', async () => {
    const open = processor();
    const first = await open(job('propose-1'), context('job-1'));
    expect(first).toMatchObject({
      created: true,
      number: 1,
      provider: 'gitlab',
      url: `https://gitlab.example/${PROJECT}/-/merge_requests/1`,
    });
    const branch = String(first['branch']);
    const changed = gitlab.file(PROJECT, branch, 'values/prod.yaml')!;
    expect(changed).toBe(
      VALUES.replace('replicaCount: 3   # peak is 5', 'replicaCount: 5   # peak is 5'),
    );
    const [mr] = gitlab.mergeRequests(PROJECT);
    expect(mr).toMatchObject({
      sourceBranch: branch,
      targetBranch: 'main',
      labels: ['kube-remedy'],
      state: 'opened',
    });
    expect(mr!.description).toContain(
      '| replicas | `values/prod.yaml` line 3 (helm-values) | `3` | `5` |',
    );

    // A rerun and a recurrence: still one merge request; the recurrence leaves one note.
    await open(job('propose-1'), context('job-1'));
    await open(job('propose-2'), context('job-2'));
    await open(job('propose-2'), context('job-2'));
    expect(gitlab.mergeRequests(PROJECT)).toHaveLength(1);
    expect(mr!.notes.map((n) => n.body.split('\n')[0])).toEqual([
      'The symptom recurred (step `propose-2`): p99 latency and queue depth agree: scale out',
    ]);

    const reader = new Redis(scratch.url);
    const messages: ControlMessage[] = [];
    const consumer = startControlConsumer({
      redis: reader,
      keyPrefix: scratch.prefix,
      owner: 'controller',
      handle: (m) => void messages.push(m),
      logger: captureLogger().logger,
      blockMs: 100,
    });
    try {
      gitlab.merge(PROJECT, 1, 'bob');
      const pass = await checkProposals({
        redis: scratch.redis,
        keyPrefix: scratch.prefix,
        hosts: { gitlab: host() },
        logger: captureLogger().logger,
        now: T0 + 60_000,
      });
      expect(pass.published.map((p) => p.type)).toEqual(['PROPOSAL.MERGED']);
      await eventually(() => expect(messages).toHaveLength(1));
      // The latest step that asked is the one the actor waits for.
      expect(messages[0]).toMatchObject({
        id: 'job-2-merged',
        type: 'PROPOSAL.MERGED',
        payload: {
          effectId: 'job-2',
          step: 'propose-2',
          by: 'bob',
          provider: 'gitlab',
          repository: PROJECT,
          number: 1,
        },
      });
      expect(gitlab.file(PROJECT, 'main', 'values/prod.yaml')).toBe(changed);
    } finally {
      await consumer.stop();
      await reader.quit();
    }
  });

  it('retries later when GitLab says so, and fails at once on a bad token', async () => {
    gitlab.failNext({
      path: /./,
      status: 429,
      body: { message: 'Retry later' },
      headers: { 'retry-after': '30' },
    });
    const limited = await processor()(job('p'), context('j')).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(30_000);
    // One request only: the requester does not retry behind the effect worker's back.
    expect(gitlab.log.filter((r) => r.status === 429)).toHaveLength(1);

    gitlab.failNext({ path: /./, status: 401, body: { message: '401 Unauthorized' } });
    await expect(processor()(job('p'), context('j'))).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });

  it('reuses the merge request GitLab says already exists', async () => {
    await processor()(job('propose-1'), context('job-1'));
    gitlab.failNext({ method: 'GET', path: /\/merge_requests$/, status: 200, body: [] });
    const again = await processor()(job('propose-2'), context('job-2'));
    expect(again).toMatchObject({ created: false, number: 1 });
    expect(
      gitlab.log
        .filter((r) => r.method === 'POST' && r.path.endsWith('/merge_requests'))
        .map((r) => r.status),
    ).toEqual([201, 409]);
  });
});
