/**
 * deploy/Dockerfile read as Docker reads it (no engine runs here to build it): a multi-stage
 * build on Node 24 whose final stage holds only what `kube-remedy` needs at run time, runs as a
 * numeric non-root user and starts the CLI; and a .dockerignore that keeps everything else out of
 * the build context.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const repo = (path: string) => new URL(`../../../${path}`, import.meta.url);

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions (continuation lines joined, comments dropped), grouped by stage. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { op: op.toUpperCase(), args: rest.replace(/\s+/g, ' ') };
    if (instruction.op === 'FROM') {
      const [, image = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ from: image, name, instructions: [] });
    } else if (stages.length === 0 && instruction.op === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const { args, stages } = parseDockerfile(readFileSync(repo('deploy/Dockerfile'), 'utf8'));
const final = stages.at(-1)!;
const stage = (name: string) => stages.find((s) => s.name === name);
const ops = (s: Stage | undefined, op: string) =>
  (s?.instructions ?? []).filter((i) => i.op === op).map((i) => i.args);

describe('the container image (deploy/Dockerfile)', () => {
  it('builds on Node 24 in every stage', () => {
    expect(args.get('NODE_IMAGE')).toMatch(/^node:24-bookworm-slim(@sha256:[a-f0-9]{64})?$/);
    expect(stages.map((s) => s.from)).toEqual(['${NODE_IMAGE}', '${NODE_IMAGE}', '${NODE_IMAGE}']);
  });

  it('installs every dependency and builds dist/ in the build stage', () => {
    expect(ops(stage('build'), 'RUN')).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
    const pkg = JSON.parse(readFileSync(repo('package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['build']).toContain('tsconfig.build.json');
    // What the build reads is copied in, and exists.
    for (const copy of ops(stage('build'), 'COPY')) {
      for (const source of copy.split(' ').slice(0, -1))
        expect(existsSync(repo(source))).toBe(true);
    }
  });

  it('installs only production dependencies for the image', () => {
    expect(ops(stage('deps'), 'RUN')).toEqual([
      'npm ci --omit=dev --no-audit --no-fund && npm cache clean --force',
    ]);
  });

  it('puts only node_modules, dist/, bin/, crds/ and package.json in the final image', () => {
    expect(final.name).toBeUndefined();
    expect(ops(final, 'COPY')).toEqual([
      '--from=deps /app/node_modules ./node_modules',
      '--from=build /app/dist ./dist',
      'bin ./bin',
      'crds ./crds',
      'package.json ./',
    ]);
    expect(ops(final, 'RUN')).toEqual([]);
    expect(ops(final, 'WORKDIR')).toEqual(['/app']);
  });

  it('runs as a numeric non-root user, the one the chart runs it as', () => {
    const users = ops(final, 'USER');
    expect(users).toEqual(['65532:65532']);
    const values = readFileSync(repo('deploy/helm/kube-remedy/values.yaml'), 'utf8');
    expect(values).toMatch(/runAsUser: 65532\n\s+runAsGroup: 65532/);
  });

  it('starts the kube-remedy CLI, all roles unless told otherwise', () => {
    expect(ops(final, 'ENTRYPOINT')).toEqual(['["node", "bin/kube-remedy.js"]']);
    expect(ops(final, 'CMD')).toEqual(['["run", "--role", "all"]']);
    expect(existsSync(repo('bin/kube-remedy.js'))).toBe(true);
  });

  it('keeps everything but the build inputs out of the context (.dockerignore)', () => {
    const rules = readFileSync(repo('.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(rules[0]).toBe('*');
    const allowed = rules.slice(1).map((r) => {
      expect(r.startsWith('!')).toBe(true);
      return r.slice(1).replace(/\/$/, '');
    });
    // Every path a COPY takes from the context is allowed, and nothing else is.
    const fromContext = stages
      .flatMap((s) => ops(s, 'COPY'))
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.split(' ').slice(0, -1))
      .map((p) => p.replace(/\/$/, ''));
    expect([...new Set(fromContext)].sort()).toEqual([...allowed].sort());
  });
});
