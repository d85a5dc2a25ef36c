import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubCodeHost } from '../../../src/adapters/github/code-host.ts';
import { createGitHubClient } from '../../../src/adapters/github/client.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer, type ControlMessage } from '../../../src/effects/control-stream.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import { gitopsProcessors } from '../../../src/effects/gitops/index.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import {
  startEffectWorkers,
  type EffectProcessor,
  type ProcessorContext,
} from '../../../src/effects/workers.ts';
import { branchName } from '../../../src/gitops/text.ts';
import {
  checkProposals,
  ProposalRegistry,
  startProposalWatcher,
} from '../../../src/gitops/watcher.ts';
import { checkGitHubRequest, FakeGitHub } from '../../support/fake-github.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const REPO = 'shop/deploy';
const FILE = 'apps/web/workloads.yaml';
const MANIFESTS = `# The shop's web tier. Owned by team-shop.
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3 # see capacity plan
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: "registry.example.com/shop/web:1.4.2"
        resources:
          requests: {cpu: 250m, memory: 256Mi}
          limits:
            memory: 512Mi  # raised after INC-231
      - name: proxy
        image: envoy:1.30
`;

function lineDiff(before: string, after: string): [string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return a.flatMap((line, i) =>
    line === b[i] ? [] : [[line, b[i] as string] as [string, string]],
  );
}

function job(
  step: string,
  effect: Record<string, unknown> = {},
  incidentId = 'Deployment/shop/web#4@1732000000000',
): EffectJob {
  return {
    owner: 'controller',
    actorKey: 'Deployment/shop/web',
    incidentId,
    step,
    policy: 'shop/web-policy',
    requestedAt: 1_732_000_000_000,
    effect: {
      kind: 'openPullRequest',
      target: {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        uid: 'u-1',
        resourceVersion: '7',
      },
      reason: 'container app was OOMKilled 3 times in 30m (limit 512Mi)',
      proposes: { kind: 'increaseMemory', containers: ['app'], increasePercent: 50, max: '2Gi' },
      gitops: { provider: 'github', repository: REPO, branch: 'main', path: FILE },
      evidence: { s3: { bucket: 'evidence', prefix: 'prod' } },
      ...effect,
    },
  };
}

describe('GitOps pull requests on GitHub', () => {
  let github: FakeGitHub;
  let scratch: RedisForTest;
  const closers: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    github.createRepo(REPO, { [FILE]: MANIFESTS, 'README.md': '# deploy\n' });
    scratch = await redisForTest();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await github.stop();
    await scratch.cleanup();
    // Every request kube-remedy made is one GitHub documents, with the body it requires.
    expect(github.violations).toEqual([]);
  });

  /** The processors' clock: fixed, so staleness is computed from known times. */
  const T0 = Date.parse('2026-11-01T00:00:00Z');

  function processor(): EffectProcessor {
    const host = new GitHubCodeHost(
      createGitHubClient({ token: github.token, baseUrl: github.url }),
    );
    return gitopsProcessors({
      hosts: { github: host },
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      now: () => T0,
    }).openPullRequest;
  }

  function context(jobId: string): ProcessorContext {
    return {
      jobId,
      signal: new AbortController().signal,
      logger: captureLogger().logger,
      attempt: 1,
    };
  }

  function host(): GitHubCodeHost {
    return new GitHubCodeHost(createGitHubClient({ token: github.token, baseUrl: github.url }));
  }

  function controlStream(owner: string): ControlMessage[] {
    const reader = new Redis(scratch.url);
    const messages: ControlMessage[] = [];
    const consumer = startControlConsumer({
      redis: reader,
      keyPrefix: scratch.prefix,
      owner,
      handle: (m) => void messages.push(m),
      logger: captureLogger().logger,
      blockMs: 100,
    });
    closers.push(
      () => reader.quit(),
      () => consumer.stop(),
    );
    return messages;
  }

  it('opens one pull request whose only change is the memory line, and tells the actor', async () => {
    const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
    closers.push(() => connection.quit());
    const queues = new EffectQueues({
      connection,
      keyPrefix: scratch.prefix,
      attempts: 3,
      backoffMs: 10,
    });
    closers.push(() => queues.close());
    const workers = startEffectWorkers({
      connection,
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      integrations: ['gitops'],
      owner: 'controller',
      processors: { openPullRequest: processor() },
      logger: captureLogger().logger,
    });
    closers.push(() => workers.close());
    const messages = controlStream('controller');

    const { jobId } = await queues.enqueue(job('propose-1'));
    await eventually(() => expect(messages.map((m) => m.type)).toEqual(['EFFECT.DONE']));

    const pulls = github.pulls(REPO);
    expect(pulls).toHaveLength(1);
    const pull = pulls[0]!;
    const branch = branchName(
      { kind: 'Deployment', namespace: 'shop', name: 'web' },
      'Deployment/shop/web#4@1732000000000',
    );
    expect(pull).toMatchObject({
      head: branch,
      base: 'main',
      state: 'open',
      labels: ['kube-remedy'],
    });
    expect(branch).toMatch(/^kube-remedy\/deployment\/shop\/web-[0-9a-f]{8}$/);
    expect(pull.title).toBe('kube-remedy: raise the memory limit by 50% of Deployment shop/web');
    expect(pull.body).toContain('container app was OOMKilled 3 times in 30m (limit 512Mi)');
    expect(pull.body).toContain('s3://evidence/prod/shop/Deployment/web/4-1732000000000/');
    expect(pull.body).toContain(
      '| memory limit of container app | `apps/web/workloads.yaml` line 31 (manifest) | `512Mi` | `768Mi` |',
    );

    // The diff: exactly one line, with its comment and indentation kept; main is untouched.
    expect(lineDiff(MANIFESTS, github.file(REPO, branch, FILE)!)).toEqual([
      [
        '            memory: 512Mi  # raised after INC-231',
        '            memory: 768Mi  # raised after INC-231',
      ],
    ]);
    expect(github.file(REPO, 'main', FILE)).toBe(MANIFESTS);

    expect(messages[0]).toMatchObject({
      actorKey: 'Deployment/shop/web',
      type: 'EFFECT.DONE',
      payload: {
        effectId: jobId,
        step: 'propose-1',
        result: {
          url: 'https://github.example/shop/deploy/pull/1',
          number: 1,
          created: true,
          branch,
        },
      },
    });
    // Registered for the watcher, under the job that asked.
    expect(await new ProposalRegistry(scratch.redis, scratch.prefix).all()).toMatchObject([
      {
        provider: 'github',
        repository: REPO,
        number: 1,
        owner: 'controller',
        jobId,
        step: 'propose-1',
      },
    ]);
  });

  it('updates the same pull request on a rerun and on recurrence instead of opening another', async () => {
    const open = processor();
    const first = await open(job('propose-1'), context('job-1'));
    expect(first).toMatchObject({ created: true, number: 1 });
    const branch = String(first['branch']);
    const commitsAfterFirst = github.requests('PUT', /\/contents\//).length;

    // The same job again (a lost result): nothing new at all.
    const rerun = await open(job('propose-1'), context('job-1'));
    expect(rerun).toMatchObject({ created: false, number: 1, commit: null });
    expect(github.comments(REPO, 1)).toEqual([]);

    // A later step of the incident asking the same: a comment, no new commit.
    const again = await open(job('propose-2', { reason: 'OOMKilled again' }), context('job-2'));
    expect(again).toMatchObject({ created: false, number: 1, commit: null });
    expect(github.requests('PUT', /\/contents\//)).toHaveLength(commitsAfterFirst);
    expect(github.comments(REPO, 1)).toHaveLength(1);
    expect(github.comments(REPO, 1)[0]).toContain(
      'The symptom recurred (step `propose-2`): OOMKilled again',
    );

    // A recurrence asking for more: a new commit on the same branch, and another comment.
    const more = await open(
      job('propose-3', {
        proposes: { kind: 'increaseMemory', containers: ['app'], increasePercent: 100, max: '2Gi' },
      }),
      context('job-3'),
    );
    expect(more).toMatchObject({ created: false, number: 1 });
    expect(more['commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(github.file(REPO, branch, FILE)).toContain('memory: 1024Mi  # raised after INC-231');
    expect(github.comments(REPO, 1)).toHaveLength(2);
    expect(github.pulls(REPO)).toHaveLength(1);
    expect(github.branches(REPO).sort()).toEqual([branch, 'main'].sort());
  });

  it('returns the merged state to the actor as PROPOSAL.MERGED, once', async () => {
    const messages = controlStream('controller');
    await processor()(job('propose-1'), context('job-1'));
    const before = await checkProposals({
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      hosts: { github: host() },
      logger: captureLogger().logger,
      now: T0 + 60_000,
    });
    expect(before).toEqual({ checked: 1, published: [], failed: 0 });

    github.merge(REPO, 1, 'alice');
    expect(github.file(REPO, 'main', FILE)).toContain('memory: 768Mi  # raised after INC-231');
    const after = await checkProposals({
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      hosts: { github: host() },
      logger: captureLogger().logger,
      now: T0 + 60_000,
    });
    expect(after.published).toEqual([
      {
        type: 'PROPOSAL.MERGED',
        url: 'https://github.example/shop/deploy/pull/1',
        actorKey: 'Deployment/shop/web',
      },
    ]);
    await eventually(() => expect(messages).toHaveLength(1));
    expect(messages[0]).toEqual({
      id: 'job-1-merged',
      actorKey: 'Deployment/shop/web',
      type: 'PROPOSAL.MERGED',
      payload: {
        effectId: 'job-1',
        step: 'propose-1',
        incidentId: 'Deployment/shop/web#4@1732000000000',
        kind: 'openPullRequest',
        by: 'alice',
        at: Date.parse(github.pulls(REPO)[0]!.mergedAt!),
        url: 'https://github.example/shop/deploy/pull/1',
        number: 1,
        provider: 'github',
        repository: REPO,
      },
    });
    // Unregistered: the next pass has nothing to say.
    const later = await checkProposals({
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      hosts: { github: host() },
      logger: captureLogger().logger,
      now: T0 + 60_000,
    });
    expect(later).toEqual({ checked: 0, published: [], failed: 0 });
  });

  it('publishes from a running watcher, one replica polling at a time', async () => {
    const messages = controlStream('controller');
    await processor()(job('propose-1'), context('job-1'));
    github.merge(REPO, 1, 'carol');
    const options = {
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      hosts: { github: host() },
      logger: captureLogger().logger,
      intervalMs: 200,
    };
    const watchers = [startProposalWatcher(options), startProposalWatcher(options)];
    try {
      await eventually(() => expect(messages.map((m) => m.type)).toEqual(['PROPOSAL.MERGED']));
    } finally {
      await Promise.all(watchers.map((w) => w.stop()));
    }
    // The lock let one of the two poll: GitHub was asked about #1 once.
    expect(github.requests('GET', /\/pulls\/1$/)).toHaveLength(1);
    expect(messages[0]).toMatchObject({ payload: { by: 'carol' } });
  });

  it('tells the actor when a pull request is closed unmerged, or goes stale', async () => {
    const messages = controlStream('controller');
    await processor()(job('propose-1'), context('job-1'));
    await processor()(
      job('propose-1', {}, 'Deployment/shop/web#5@1733000000000'),
      context('job-9'),
    );
    expect(github.pulls(REPO).map((p) => p.number)).toEqual([1, 2]);
    github.close(REPO, 1);
    const options = {
      redis: scratch.redis,
      keyPrefix: scratch.prefix,
      hosts: { github: host() },
      logger: captureLogger().logger,
    };
    // Three days without activity (the default) make an open request stale; a day does not.
    const quiet = await checkProposals({
      ...options,
      now: Date.parse(github.pulls(REPO)[1]!.updatedAt) + 24 * 3600_000,
    });
    expect(quiet.published.map((p) => p.type)).toEqual(['PROPOSAL.CLOSED']);
    const staleAt = Math.max(T0, Date.parse(github.pulls(REPO)[1]!.updatedAt)) + 3 * 24 * 3600_000;
    const pass = await checkProposals({ ...options, now: staleAt });
    expect(pass.published.map((p) => p.type)).toEqual(['PROPOSAL.STALE']);
    expect((await checkProposals({ ...options, now: staleAt + 1 })).published).toEqual([]);
    await eventually(() => expect(messages).toHaveLength(2));
    expect(messages.find((m) => m.type === 'PROPOSAL.CLOSED')).toMatchObject({
      id: 'job-1-closed',
      payload: { number: 1 },
    });
    expect(messages.find((m) => m.type === 'PROPOSAL.STALE')).toMatchObject({
      id: 'job-9-stale',
      payload: { number: 2 },
    });
  });

  it('reuses the pull request GitHub says already exists when the list missed it', async () => {
    const open = processor();
    await open(job('propose-1'), context('job-1'));
    // The next list of open pull requests comes back empty (a replica lagging), so the processor
    // tries to open another: GitHub answers 422 "already exists" and the existing one is reused.
    github.failNext({ method: 'GET', path: /\/pulls$/, status: 200, body: [] });
    const again = await open(job('propose-2'), context('job-2'));
    expect(again).toMatchObject({ created: false, number: 1 });
    expect(github.requests('POST', /\/pulls$/).map((r) => r.status)).toEqual([201, 422]);
    expect(github.pulls(REPO)).toHaveLength(1);
  });

  it('turns provider errors into terminal, retry-later and retried failures', async () => {
    const open = processor();
    github.failNext({ path: /./, status: 401, body: { message: 'Bad credentials' } });
    await expect(open(job('p'), context('j'))).rejects.toMatchObject({
      name: 'TerminalEffectError',
      code: 'unauthorized',
    });

    github.failNext({
      path: /./,
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    await expect(open(job('p'), context('j'))).rejects.toMatchObject({ code: 'forbidden' });

    github.failNext({
      path: /./,
      status: 429,
      body: { message: 'slow down' },
      headers: { 'retry-after': '7' },
    });
    const limited = await open(job('p'), context('j')).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(7000);

    const reset = Math.floor(Date.now() / 1000) + 120;
    github.failNext({
      path: /./,
      status: 403,
      body: { message: 'API rate limit exceeded' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
    });
    const primary = await open(job('p'), context('j')).catch((e: unknown) => e);
    expect(primary).toBeInstanceOf(RetryLaterError);
    expect((primary as RetryLaterError).retryAfterMs).toBeGreaterThan(60_000);

    // A stale read of the file (someone pushed in between): a plain error, retried with backoff.
    github.failNext({
      method: 'PUT',
      path: /\/contents\//,
      status: 409,
      body: { message: 'does not match' },
    });
    const conflict = await open(job('p'), context('j')).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(Error);
    expect(conflict).not.toBeInstanceOf(TerminalEffectError);
    expect(conflict).not.toBeInstanceOf(RetryLaterError);
    // …and the retry succeeds.
    await expect(open(job('p'), context('j'))).resolves.toMatchObject({ created: true });
  });

  it('fails as terminal when the manifest is not where the policy says', async () => {
    await expect(
      processor()(
        job('p', {
          gitops: { provider: 'github', repository: REPO, path: 'apps/api/deploy.yaml' },
        }),
        context('j'),
      ),
    ).rejects.toMatchObject({ code: 'manifest-not-found' });
    await expect(
      processor()(
        job('p', {
          proposes: {
            kind: 'increaseMemory',
            containers: ['app'],
            increasePercent: 50,
            max: '512Mi',
          },
        }),
        context('j'),
      ),
    ).rejects.toMatchObject({
      code: 'nothing-to-change',
      message: "the limit 512Mi is already at the policy's maximum 512Mi",
    });
    expect(github.pulls(REPO)).toEqual([]);
  });

  it("checks requests against GitHub's OpenAPI description", () => {
    const none = new URLSearchParams();
    expect(
      checkGitHubRequest('POST', '/repos/o/r/pulls', none, { title: 't', head: 'h', base: 'main' }),
    ).toEqual([]);
    expect(checkGitHubRequest('POST', '/repos/o/r/pulls', none, { title: 't', head: 'h' })).toEqual(
      ['POST /repos/o/r/pulls: the body lacks required property base'],
    );
    expect(
      checkGitHubRequest('PUT', '/repos/o/r/contents/a%2Fb.yaml', none, {
        message: 'm',
        content: 3,
      }),
    ).toEqual(['PUT /repos/o/r/contents/a%2Fb.yaml: body property content has the wrong type']);
    expect(
      checkGitHubRequest(
        'GET',
        '/repos/o/r/pulls',
        new URLSearchParams({ state: 'merged' }),
        undefined,
      ),
    ).toEqual(['GET /repos/o/r/pulls: state=merged is not one of open, closed, all']);
    expect(checkGitHubRequest('DELETE', '/repos/o/r/pulls/1', none, undefined)).toEqual([
      "DELETE /repos/o/r/pulls/1: no such operation in GitHub's OpenAPI description",
    ]);
  });
});
