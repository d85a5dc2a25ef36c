/**
 * Jira's answers (jira.js typed errors) as the effect errors that decide retries: 429 retried at
 * Atlassian's `Retry-After`; 401 and 403 terminal; 400 (a bad field, an unknown project or issue
 * type) terminal; 5xx and network failures retried with backoff.
 */
import {
  isApiError,
  isAuthError,
  isForbiddenError,
  isNotFoundError,
  isRateLimitError,
} from 'jira.js';
import { RetryLaterError, TerminalEffectError } from '../../effects/errors.ts';

function detail(error: unknown): string {
  if (!isApiError(error)) return '';
  const body = error.body as { errorMessages?: unknown; errors?: unknown } | string | undefined;
  if (typeof body === 'string') return body ? `: ${body.slice(0, 300)}` : '';
  const messages: string[] = [];
  if (Array.isArray(body?.errorMessages)) messages.push(...body.errorMessages.map(String));
  if (typeof body?.errors === 'object' && body.errors !== null) {
    messages.push(...Object.entries(body.errors).map(([k, v]) => `${k}: ${String(v)}`));
  }
  return messages.length === 0 ? '' : `: ${messages.join('; ')}`;
}

export function classifyJiraError(error: unknown, what: string): Error {
  if (isRateLimitError(error)) {
    return new RetryLaterError(
      `Jira rate limit while trying to ${what}`,
      error.retryAfterMs ?? 60_000,
      {
        cause: error,
      },
    );
  }
  if (isAuthError(error)) {
    return new TerminalEffectError(
      'unauthorized',
      `Jira did not accept the credentials while trying to ${what} (check jira.email and jira.apiToken)`,
      { cause: error },
    );
  }
  if (isForbiddenError(error)) {
    return new TerminalEffectError('forbidden', `Jira refused to ${what}${detail(error)}`, {
      cause: error,
    });
  }
  if (isNotFoundError(error)) {
    return new TerminalEffectError(
      'not-found',
      `Jira found nothing while trying to ${what}${detail(error)}`,
      {
        cause: error,
      },
    );
  }
  if (isApiError(error) && (error.status === 400 || error.status === 422)) {
    return new TerminalEffectError(
      'invalid',
      `Jira rejected the request to ${what}${detail(error)}`,
      {
        cause: error,
      },
    );
  }
  const status = isApiError(error) ? ` (status ${error.status})` : '';
  return new Error(`could not ${what} on Jira${status}${detail(error)}`, { cause: error });
}
