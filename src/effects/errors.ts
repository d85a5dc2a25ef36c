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

  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryLaterError';
    this.retryAfterMs = retryAfterMs;
  }
}
