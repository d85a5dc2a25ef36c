/** Start-up steps that must wait for a dependency (Redis) instead of crashing the process. */
import type { Logger } from '../telemetry/index.ts';

export async function untilSucceeds<T>(
  what: string,
  attempt: () => Promise<T>,
  options: { logger: Logger; signal?: AbortSignal; firstDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  let delay = options.firstDelayMs ?? 200;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      options.logger.warn({ err: error, retryInMs: delay }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
    }
  }
}
