/**
 * Runs every benchmark script in bench/ (`*.bench.ts`), one after another so they do not compete
 * for the two cores, each in its own Node process with `--expose-gc`. Results are printed;
 * recorded numbers live in bench/RESULTS.md with the machine and date.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => only.length === 0 || only.some((wanted) => name.includes(wanted)))
  .sort();

if (scripts.length === 0) {
  process.stdout.write(
    only.length ? `no benchmark matches ${only.join(', ')}\n` : 'no benchmarks in bench/\n',
  );
  process.exit(only.length ? 2 : 0);
}
let failed = 0;
for (const script of scripts) {
  process.stdout.write(`\n## ${script}\n\n`);
  const result = spawnSync(process.execPath, ['--expose-gc', `${dir}${script}`], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed += 1;
    process.stderr.write(`${script} failed with status ${String(result.status)}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
