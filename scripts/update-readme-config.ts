/** Rewrites the configuration reference in README.md from the schema (`npm run docs:config`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '../src/cli/commands/config.ts';
import { format } from 'prettier';
import { replaceConfigSection } from './readme-sections.ts';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = await format(replaceConfigSection(before, configReference()), {
  filepath: 'README.md',
});
writeFileSync(path, after);
process.stdout.write(before === after ? 'README.md already up to date\n' : 'README.md updated\n');
