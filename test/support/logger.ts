/** A real logger whose records tests can read back (no mocks: pino writing to memory). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/telemetry/index.ts';

export interface CapturedLogger {
  logger: Logger;
  records: () => Record<string, unknown>[];
}

export function captureLogger(level: 'debug' | 'info' | 'warn' = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return {
    logger: createLogger({ format: 'json', level, destination }),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Waits until `check` passes, polling; fails with the last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
