/**
 * The embedded demo: every scenario in examples/scenarios/, in order of file name, run through
 * the simulation. `npm run demo` (`kube-remedy simulate --demo`) prints their timelines.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** examples/scenarios/ of this checkout or package (src/simulate and dist/simulate alike). */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/scenarios/', import.meta.url));

/** The example scenario files, sorted by name. */
export function exampleScenarios(directory: string = EXAMPLES_DIR): string[] {
  return readdirSync(directory)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(directory, name));
}
