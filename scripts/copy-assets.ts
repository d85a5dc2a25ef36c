/** Copies the non-TypeScript files the sources read at run time (Lua scripts) into dist/. */
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ASSET = /\.(lua)$/;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : ASSET.test(name) ? [path] : [];
  });
}

for (const file of walk(join(root, 'src'))) {
  const target = join(root, 'dist', relative(join(root, 'src'), file));
  cpSync(file, target);
  process.stdout.write(`copied ${relative(root, target)}\n`);
}
