/**
 * Writes visualizations/ from the machine definitions: `npm run visualize` (node runs this
 * TypeScript directly). Deterministic: running it twice changes nothing.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { renderVisualizations } from '../src/machines/diagrams/index.ts';

const directory = new URL('../visualizations/', import.meta.url);

const files = await renderVisualizations();
await mkdir(directory, { recursive: true });
// Diagrams of machines that no longer exist must not linger.
for (const name of await readdir(directory)) {
  if (!files.has(name) && /\.(mmd|svg)$/.test(name)) await rm(new URL(name, directory));
}
for (const [name, content] of files) await writeFile(new URL(name, directory), content);
process.stdout.write(`visualizations: wrote ${[...files.keys()].join(', ')}\n`);
