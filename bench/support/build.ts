/**
 * The compiled program as the container image runs it (dist/, plain JavaScript), built into a
 * temporary directory so the checkout's own dist/ is left alone. Also strips the types of a
 * benchmark helper script, so baselines run as plain JavaScript too.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from './report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CompiledBuild {
  dir: string;
  /** `<dir>/dist/cli/main.js`. */
  main: string;
  /** Writes `script` (TypeScript without relative imports) as JavaScript into the build; returns its path. */
  strip: (script: string) => string;
  remove: () => void;
}

function luaFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? luaFiles(file) : name.endsWith('.lua') ? [file] : [];
  });
}

export function buildCompiled(): CompiledBuild {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-remedy-bench-build-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  progress(`compiling src/ into ${dir} (tsc -p tsconfig.build.json)`);
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      path.join(dir, 'dist'),
      '--sourceMap',
      'false',
    ],
    { encoding: 'utf8' },
  );
  const main = path.join(dir, 'dist/cli/main.js');
  try {
    statSync(main);
  } catch {
    remove();
    throw new Error(`tsc emitted no ${main}:\n${tsc.stdout}${tsc.stderr}`);
  }
  // Type errors elsewhere in a tree others are editing do not stop the emit; say so and go on.
  if (tsc.status !== 0)
    progress(`tsc reported errors (emitted anyway):\n${tsc.stdout.slice(0, 2000)}`);
  for (const file of luaFiles(path.join(ROOT, 'src'))) {
    cpSync(file, path.join(dir, 'dist', path.relative(path.join(ROOT, 'src'), file)));
  }
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    dir,
    main,
    strip: (script) => {
      const target = path.join(dir, `${path.basename(script, '.ts')}.mjs`);
      writeFileSync(target, stripTypeScriptTypes(readFileSync(script, 'utf8')));
      return target;
    },
    remove,
  };
}
