import { GitbeakerRequestError } from '@gitbeaker/rest';
import { describe, expect, it } from 'vitest';
import {
  classifyGitHubError,
  isAlreadyExists as githubAlreadyExists,
} from '../../../src/adapters/github/errors.ts';
import {
  classifyGitLabError,
  isAlreadyExists as gitlabAlreadyExists,
} from '../../../src/adapters/gitlab/errors.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import {
  branchName,
  openedByOf,
  proposalBody,
  type ProposalText,
} from '../../../src/gitops/text.ts';

describe('proposal branches', () => {
  const web = { kind: 'Deployment', namespace: 'shop', name: 'web' };

  it('are one per incident, the same every time', () => {
    const a = branchName(web, 'Deployment/shop/web#1@1');
    expect(a).toBe(branchName(web, 'Deployment/shop/web#1@1'));
    expect(a).toMatch(/^kube-remedy\/deployment\/shop\/web-[0-9a-f]{8}$/);
    expect(branchName(web, 'Deployment/shop/web#2@9')).not.toBe(a);
  });

  it('are valid git ref names whatever the input', () => {
    const odd = branchName({ kind: 'Weird..Kind', namespace: null, name: '.hidden.lock' }, 'x');
    expect(odd).not.toMatch(/\.\.|\/\.|\.lock$|@\{|\s/);
  });
});

describe('proposal bodies', () => {
  const text: ProposalText = {
    workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
    summary: 'scale to 5 replicas',
    reason: 'queue depth and latency agree',
    incidentId: 'Deployment/shop/web#1@1',
    actorKey: 'Deployment/shop/web',
    edits: [
      {
        file: 'values.yaml',
        line: 3,
        field: 'replicas',
        before: '3',
        after: '5',
        style: 'helm-values',
      },
    ],
    links: { evidence: 's3://ev/shop/Deployment/web/1-1/' },
    trail: ['values.yaml'],
    openedBy: 'job-1',
  };

  it('explain the reason and link the evidence, and remember who opened them', () => {
    const body = proposalBody(text);
    expect(body).toContain('**Why:** queue depth and latency agree');
    expect(body).toContain('- Evidence: s3://ev/shop/Deployment/web/1-1/');
    expect(body).toContain('| replicas | `values.yaml` line 3 (helm-values) | `3` | `5` |');
    expect(openedByOf(body)).toBe('job-1');
  });

  it('say when evidence was not collected', () => {
    expect(proposalBody({ ...text, links: {} })).toContain(
      '- Evidence: _not collected for this incident_',
    );
  });
});

function githubError(status: number, data: unknown, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`HTTP ${status}`), { status, response: { headers, data } });
}

describe('GitHub errors', () => {
  it.each([
    [githubError(401, { message: 'Bad credentials' }), 'unauthorized'],
    [githubError(403, { message: 'Resource not accessible by integration' }), 'forbidden'],
    [githubError(404, { message: 'Not Found' }), 'not-found'],
    [
      githubError(422, {
        message: 'Validation Failed',
        errors: [{ code: 'invalid', field: 'base' }],
      }),
      'invalid',
    ],
  ])('%s is terminal (%s)', (error, code) => {
    expect(classifyGitHubError(error, 'x')).toMatchObject({ name: 'TerminalEffectError', code });
  });

  it.each([
    [githubError(429, {}, { 'retry-after': '5' }), 5_000],
    [
      githubError(
        403,
        { message: 'You have exceeded a secondary rate limit' },
        { 'retry-after': '60' },
      ),
      60_000,
    ],
    [githubError(429, {}), 60_000],
  ])('%s is retried later', (error, wait) => {
    const mapped = classifyGitHubError(error, 'x');
    expect(mapped).toBeInstanceOf(RetryLaterError);
    expect((mapped as RetryLaterError).retryAfterMs).toBe(wait);
  });

  it('waits for the primary rate limit to reset', () => {
    const reset = Math.floor(Date.now() / 1000) + 600;
    const mapped = classifyGitHubError(
      githubError(
        403,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      ),
      'x',
    );
    expect(mapped).toBeInstanceOf(RetryLaterError);
    expect((mapped as RetryLaterError).retryAfterMs).toBeGreaterThan(500_000);
  });

  it('retries conflicts and server errors with backoff', () => {
    for (const status of [409, 500, 502]) {
      const mapped = classifyGitHubError(githubError(status, {}), 'x');
      expect(mapped).not.toBeInstanceOf(TerminalEffectError);
      expect(mapped).not.toBeInstanceOf(RetryLaterError);
    }
  });

  it('recognises "already exists" in the message or in the errors', () => {
    expect(githubAlreadyExists(githubError(422, { message: 'Reference already exists' }))).toBe(
      true,
    );
    expect(
      githubAlreadyExists(
        githubError(422, {
          message: 'Validation Failed',
          errors: [{ message: 'A pull request already exists for o:b.' }],
        }),
      ),
    ).toBe(true);
    expect(
      githubAlreadyExists(
        githubError(422, { message: 'Validation Failed', errors: [{ code: 'invalid' }] }),
      ),
    ).toBe(false);
  });
});

function gitlabError(status: number, message: unknown, headers: Record<string, string> = {}) {
  const description = typeof message === 'string' ? message : JSON.stringify(message);
  return new GitbeakerRequestError(description, {
    cause: {
      description,
      request: new Request('http://gitlab.test/api/v4'),
      response: new Response(null, { status, headers }),
    },
  });
}

describe('GitLab errors', () => {
  it('maps status and headers', () => {
    expect(classifyGitLabError(gitlabError(401, '401 Unauthorized'), 'x')).toMatchObject({
      code: 'unauthorized',
    });
    expect(classifyGitLabError(gitlabError(403, '403 Forbidden'), 'x')).toMatchObject({
      code: 'forbidden',
    });
    const limited = classifyGitLabError(
      gitlabError(429, 'Retry later', { 'retry-after': '17' }),
      'x',
    );
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(17_000);
    expect(classifyGitLabError(gitlabError(503, 'down'), 'x')).not.toBeInstanceOf(
      TerminalEffectError,
    );
  });

  it('recognises existing branches and merge requests', () => {
    expect(gitlabAlreadyExists(gitlabError(400, 'Branch already exists'))).toBe(true);
    expect(
      gitlabAlreadyExists(
        gitlabError(409, ['Another open merge request already exists for this source branch: !4']),
      ),
    ).toBe(true);
    expect(gitlabAlreadyExists(gitlabError(400, 'Invalid reference name'))).toBe(false);
  });
});
