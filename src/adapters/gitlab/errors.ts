/**
 * GitLab's answers as the effect errors that decide retries: 429 is retried at the server's
 * `Retry-After` (or `RateLimit-Reset`); 401 and 403 are terminal; 400/422 validation failures are
 * terminal unless the caller recognised "already exists" first; 5xx and network errors retry.
 */
import { RetryLaterError, TerminalEffectError } from '../../effects/errors.ts';

interface GitbeakerCause {
  description?: string;
  response?: Response;
}

function cause(error: unknown): GitbeakerCause | undefined {
  const c = (error as { cause?: unknown } | undefined)?.cause;
  return typeof c === 'object' && c !== null ? c : undefined;
}

export function gitlabStatus(error: unknown): number | undefined {
  const status = cause(error)?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

export function gitlabMessage(error: unknown): string {
  return cause(error)?.description ?? (error instanceof Error ? error.message : String(error));
}

/** Creating a branch or a merge request that exists already. */
export function isAlreadyExists(error: unknown): boolean {
  const status = gitlabStatus(error);
  return (
    (status === 400 || status === 409 || status === 422) &&
    /already exists/i.test(gitlabMessage(error))
  );
}

export function gitlabRetryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const headers = cause(error)?.response?.headers;
  const retryAfter = Number(headers?.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  const reset = Number(headers?.get('ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(reset * 1000 - now, 1000);
  return undefined;
}

export function classifyGitLabError(error: unknown, what: string): Error {
  const status = gitlabStatus(error);
  const detail = status === undefined ? '' : `: ${gitlabMessage(error)}`;
  if (status === 429) {
    return new RetryLaterError(
      `GitLab rate limit while trying to ${what}`,
      gitlabRetryAfterMs(error) ?? 60_000,
      {
        cause: error,
      },
    );
  }
  if (status === 401) {
    return new TerminalEffectError(
      'unauthorized',
      `GitLab did not accept the token while trying to ${what} (check gitlab.token)`,
      { cause: error },
    );
  }
  if (status === 403) {
    return new TerminalEffectError('forbidden', `GitLab refused to ${what}${detail}`, {
      cause: error,
    });
  }
  if (status === 404) {
    return new TerminalEffectError(
      'not-found',
      `GitLab found nothing while trying to ${what} (the project may not exist or the token cannot see it)${detail}`,
      { cause: error },
    );
  }
  if (status === 400 || status === 422) {
    return new TerminalEffectError('invalid', `GitLab rejected the request to ${what}${detail}`, {
      cause: error,
    });
  }
  return new Error(
    `could not ${what} on GitLab${status === undefined ? '' : ` (status ${status})`}${detail}`,
    {
      cause: error,
    },
  );
}
