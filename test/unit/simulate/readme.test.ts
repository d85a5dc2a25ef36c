import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe("the README's quick start", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const quickStart = readme.slice(
    readme.indexOf('## Quick start'),
    readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1),
  );
  const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]?.trim());

  it('opens with two commands: the demo, then the tests', () => {
    const first = (commands[0] ?? '').split('\n').map((line) => line.replace(/#.*$/, '').trim());
    expect(first).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  it('runs the demo as kube-remedy simulate --demo', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['demo']).toBe('node src/cli/main.ts simulate --demo');
  });

  it('names only example scenarios that exist', () => {
    for (const [path] of quickStart.matchAll(/examples\/scenarios\/[\w.-]+\.yaml/g)) {
      expect(() => readFileSync(new URL(`../../../${path}`, import.meta.url)), path).not.toThrow();
    }
  });
});
