/**
 * Evidence bundles on a mounted filesystem (EFS or any shared volume). Only directories inside
 * the configured root are written: a policy is written by a namespace's team and must not be able
 * to make the workers write anywhere else. Each file is written to a temporary name and renamed,
 * so a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { TerminalEffectError } from '../../effects/errors.ts';
import type { BundleFile, EvidenceStore } from '../../evidence/store.ts';

export interface FilesystemEvidenceStoreOptions {
  /** The only directory (and its descendants) bundles may be written to; unset: none at all. */
  root: string | undefined;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export class FilesystemEvidenceStore implements EvidenceStore {
  private readonly root: string | undefined;

  constructor(options: FilesystemEvidenceStoreOptions) {
    this.root = options.root === undefined ? undefined : resolve(options.root);
  }

  async write(directory: string, key: string, files: readonly BundleFile[]): Promise<void> {
    if (this.root === undefined) {
      throw new TerminalEffectError(
        'not-configured',
        `evidence to ${directory} refused: evidence.efsRoot is not set, so no filesystem path may be written`,
      );
    }
    const base = resolve(directory);
    if (!inside(this.root, base)) {
      throw new TerminalEffectError(
        'forbidden',
        `evidence to ${directory} refused: it is outside evidence.efsRoot (${this.root})`,
      );
    }
    for (const file of files) {
      const target = resolve(join(base, key, file.name));
      if (!inside(base, target)) {
        throw new TerminalEffectError('invalid', `bundle file ${file.name} would leave ${base}`);
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o750 });
      const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, file.body, { mode: 0o640 });
        await rename(temporary, target);
      } catch (error) {
        await rm(temporary, { force: true });
        throw new Error(`writing ${target} failed`, { cause: error });
      }
    }
  }
}
