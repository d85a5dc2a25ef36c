import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../../src/cli/commands/config.ts';
import { configSection, normalizeTable } from '../../../scripts/readme-sections.ts';

describe('the README', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('documents exactly the configuration the program reads (run npm run docs:config to refresh)', () => {
    expect(normalizeTable(configSection(readme) ?? '')).toBe(normalizeTable(configReference()));
  });

  it('opens its quick start with the test command', () => {
    expect(readme).toMatch(/## Quick start[\s\S]*npm test/);
  });
});
