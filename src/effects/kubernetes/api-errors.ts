/** Turns API server answers into the effect errors that decide retries. */
import { httpStatus } from '../../adapters/kubernetes/errors.ts';
import { RetryLaterError, TerminalEffectError } from '../errors.ts';

function retryAfterMs(error: unknown, fallbackMs: number): number {
  const headers = (error as { headers?: Record<string, string> } | undefined)?.headers;
  const seconds = Number(headers?.['retry-after']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallbackMs;
}

/** Maps an API error for `what` (e.g. "evict pod shop/cart") to a typed effect error. */
export function classify(error: unknown, what: string): Error {
  const status = httpStatus(error);
  if (status === 403)
    return new TerminalEffectError('forbidden', `not allowed to ${what}`, { cause: error });
  if (status === 409) {
    return new TerminalEffectError(
      'precondition-failed',
      `${what}: the object changed since the decision`,
      { cause: error },
    );
  }
  if (status === 422 || status === 400)
    return new TerminalEffectError('invalid', `${what} was rejected as invalid`, { cause: error });
  if (status === 429)
    return new RetryLaterError(
      `${what}: the API server asked to retry later`,
      retryAfterMs(error, 10_000),
      { cause: error },
    );
  return new Error(`${what} failed${status === undefined ? '' : ` with status ${status}`}`, {
    cause: error,
  });
}

function isConflict(error: unknown): boolean {
  if (httpStatus(error) === 409) return true;
  return error instanceof TerminalEffectError && httpStatus(error.cause) === 409;
}

/**
 * Runs a read-modify-write again when the object changed between the read and the write (409),
 * as client-go's RetryOnConflict does: controllers update status all the time, which moves the
 * resourceVersion without changing what the decision was about.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConflict(error) || i >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * i));
    }
  }
}
