/** Reading the HTTP status out of client-node's errors without string matching. */
import { ApiException } from '@kubernetes/client-node';

export function httpStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const candidate = error as { statusCode?: unknown; code?: unknown } | undefined;
  if (typeof candidate?.statusCode === 'number') return candidate.statusCode;
  if (typeof candidate?.code === 'number') return candidate.code;
  return undefined;
}

export const isNotFound = (error: unknown): boolean => httpStatus(error) === 404;
export const isConflict = (error: unknown): boolean => httpStatus(error) === 409;
export const isGone = (error: unknown): boolean => httpStatus(error) === 410;
export const isForbidden = (error: unknown): boolean => httpStatus(error) === 403;
