import { readFileSync } from 'node:fs';

/** The package version; read at run time so the compiled and the source CLI agree. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
