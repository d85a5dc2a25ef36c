/**
 * GitHub's answers as the effect errors that decide retries. Rate limits (primary: 403/429 with
 * `x-ratelimit-remaining: 0`, wait until `x-ratelimit-reset`; secondary: `retry-after`) are
 * retried later at the time GitHub names; bad credentials (401) and missing rights (403) are
 * terminal; validation failures (422) are terminal unless the caller recognised "already
 * exists" first; anything else (5xx, 409 races, network) is retried with backoff.
 */
import { RetryLaterError, TerminalEffectError } from '../../effects/errors.ts';

interface HttpishError {
  status?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export function githubStatus(error: unknown): number | undefined {
  const status = (error as HttpishError | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

function header(error: unknown, name: string): string | undefined {
  const value = (error as HttpishError | undefined)?.response?.headers?.[name];
  return value === undefined ? undefined : String(value);
}

/** The error messages GitHub put in a 4xx body (`message` and each `errors[].message`). */
export function githubMessages(error: unknown): string[] {
  const data = (error as HttpishError | undefined)?.response?.data as
    { message?: unknown; errors?: { message?: unknown; code?: unknown }[] } | undefined;
  const out: string[] = [];
  if (typeof data?.message === 'string') out.push(data.message);
  for (const e of data?.errors ?? []) {
    if (typeof e.message === 'string') out.push(e.message);
    else if (typeof e.code === 'string') out.push(e.code);
  }
  return out;
}

/** A 422 saying the thing being created exists already (a ref, a pull request for the branch). */
export function isAlreadyExists(error: unknown): boolean {
  return (
    githubStatus(error) === 422 && githubMessages(error).some((m) => /already exists/i.test(m))
  );
}

/** How long GitHub asks us to wait, if it does. */
export function githubRetryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const retryAfter = Number(header(error, 'retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (header(error, 'x-ratelimit-remaining') === '0') {
    const reset = Number(header(error, 'x-ratelimit-reset'));
    if (Number.isFinite(reset) && reset > 0) return Math.max(reset * 1000 - now, 1000);
  }
  return undefined;
}

/** Maps an error from Octokit for `what` (e.g. "open a pull request in shop/deploy"). */
export function classifyGitHubError(error: unknown, what: string): Error {
  const status = githubStatus(error);
  const detail = githubMessages(error)[0];
  const suffix = detail === undefined ? '' : `: ${detail}`;
  if (status === 403 || status === 429) {
    const wait = githubRetryAfterMs(error);
    if (wait !== undefined || status === 429) {
      return new RetryLaterError(`GitHub rate limit while trying to ${what}`, wait ?? 60_000, {
        cause: error,
      });
    }
    return new TerminalEffectError('forbidden', `GitHub refused to ${what}${suffix}`, {
      cause: error,
    });
  }
  if (status === 401) {
    return new TerminalEffectError(
      'unauthorized',
      `GitHub did not accept the token while trying to ${what} (check github.token)`,
      { cause: error },
    );
  }
  if (status === 404) {
    return new TerminalEffectError(
      'not-found',
      `GitHub found nothing while trying to ${what} (the repository may not exist or the token cannot see it)${suffix}`,
      { cause: error },
    );
  }
  if (status === 422 || status === 400) {
    return new TerminalEffectError('invalid', `GitHub rejected the request to ${what}${suffix}`, {
      cause: error,
    });
  }
  return new Error(
    `could not ${what} on GitHub${status === undefined ? '' : ` (status ${status})`}${suffix}`,
    { cause: error },
  );
}
