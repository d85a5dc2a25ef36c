export { createLogger, objectLogger, type Logger, type LoggerOptions } from './logger.ts';
export { REDACT_PATHS, SECRET_KEY_NAMES } from './redaction.ts';
