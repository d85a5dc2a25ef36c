/**
 * Structured logs: one JSON object per line for machines, coloured lines for people. Loggers are
 * created once per process and handed down; components bind their context with `child()`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { REDACT_PATHS, censor } from './redaction.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Least severe level written. Default: `info`. */
  level?: pino.LevelWithSilent;
  /** `json`, `pretty`, or `auto` (pretty on a terminal). Default: `auto`. */
  format?: 'auto' | 'json' | 'pretty';
  /** Where records go. Default: standard error, so standard output stays for command results. */
  destination?: DestinationStream;
  /** Whether the destination is a terminal. Default: asks standard error. */
  isTerminal?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  const isTerminal = options.isTerminal ?? process.stderr.isTTY;
  const format = options.format ?? 'auto';
  const wantsPretty = format === 'pretty' || (format === 'auto' && isTerminal);
  const stream = wantsPretty
    ? pretty({ destination, colorize: isTerminal, sync: true, translateTime: 'SYS:HH:MM:ss.l' })
    : destination;
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'kube-remedy' },
      redact: { paths: [...REDACT_PATHS], censor },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** A child logger bound to one watched object, keyed as its actor is: `Kind/namespace/name`. */
export function objectLogger(parent: Logger, key: string): Logger {
  return parent.child({ object: key });
}
