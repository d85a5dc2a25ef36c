/** The configuration as shown to people: secrets masked, durations written as durations. */
import { formatDuration } from '../util/duration.ts';
import { CONFIG_FIELDS } from './fields.ts';
import type { Config } from './schema.ts';

export const MASK = '********';

/**
 * A URL keeps everything but its password (a Redis URL without one is not secret); any other
 * secret is replaced whole. Only values written as `scheme://…` count as URLs, because a token
 * such as `xoxb-1:abc` also parses as one.
 */
export function maskSecret(value: string): string {
  if (value.includes('://') && URL.canParse(value)) {
    const url = new URL(value);
    if (url.password) url.password = MASK;
    return url.toString();
  }
  return MASK;
}

export function displayConfig(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const field of CONFIG_FIELDS) {
    const keys = field.path.split('.');
    const parent = keys
      .slice(0, -1)
      .reduce<Record<string, unknown> | undefined>(
        (node, key) => node?.[key] as Record<string, unknown> | undefined,
        copy,
      );
    const key = keys[keys.length - 1] as string;
    const value = parent?.[key];
    if (parent === undefined || value === undefined) continue;
    if (field.secret && typeof value === 'string') parent[key] = maskSecret(value);
    else if (field.kind === 'duration' && typeof value === 'number')
      parent[key] = formatDuration(value);
  }
  return copy;
}
