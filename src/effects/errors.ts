/**
 * How a processor says what kind of failure it met. The class decides the retry, never the
 * message text: `TerminalEffectError` will not succeed on retry (bad input, forbidden, the
 * object is no longer what the decision saw); anything else is retried with backoff.
 */
import { UnrecoverableError } from 'bullmq';

/** Never retried: the input or the world makes this effect impossible. */
export class TerminalEffectError extends UnrecoverableError {
  /** A short machine-readable cause, e.g. `precondition-failed`, `forbidden`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'TerminalEffectError';
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Retried later without counting as a failure of the effect (e.g. a PDB's 429). */
export class RetryLaterError extends Error {
  readonly retryAfterMs: number;
  /**
   * A short, expected wait polled often (an action waiting for its incident's evidence): logged
   * at debug and not counted as a deferral, so it does not drown the real ones.
   */
  readonly quiet: boolean;

  constructor(
    message: string,
    retryAfterMs: number,
    options?: { cause?: unknown; quiet?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryLaterError';
    this.retryAfterMs = retryAfterMs;
    this.quiet = options?.quiet ?? false;
  }
}
