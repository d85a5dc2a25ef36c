/** The policies of a scenario file as written (not parsed): what the parity tier applies. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import type { KubeManifest } from '../../../src/simulate/model.ts';

/** The raw policy manifests of a scenario file (inline, or from the files it names). */
export function rawPolicies(file: string): KubeManifest[] {
  const document = parseDocument(readFileSync(file, 'utf8')).toJS() as {
    policies?: (KubeManifest | { file: string })[];
  };
  const out: KubeManifest[] = [];
  for (const entry of document.policies ?? []) {
    if ('file' in entry && typeof entry.file === 'string') {
      const text = readFileSync(resolve(dirname(file), entry.file), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const manifest = doc.toJS() as KubeManifest | null;
        if (manifest?.kind === 'AutoRemediationPolicy') out.push(manifest);
      }
    } else out.push(entry as KubeManifest);
  }
  return out;
}
