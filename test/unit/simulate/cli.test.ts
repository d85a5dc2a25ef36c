import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SimulationResult } from '../../../src/simulate/index.ts';
import { runCli } from '../../support/cli.ts';
import { examplePath } from './support.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kube-remedy-simulate-'));
}

describe('kube-remedy simulate', () => {
  it('runs the demo: every example timeline, then a summary of them all, the same bytes every time', async () => {
    const [first, second] = await Promise.all([
      runCli(['simulate', '--demo']),
      runCli(['simulate', '--demo']),
    ]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    for (const name of ['crash-loop-restart', 'storm-held-by-breaker', 'approval-in-slack']) {
      expect(first.stdout).toContain(`== ${name} (examples/scenarios/`);
    }
    expect(first.stdout).toMatch(/\n12 scenarios: \d+ incidents, \d+ actions/);
    expect(second.stdout).toBe(first.stdout);
  });

  it('prints one scenario as JSON for tools, and writes an HTML page with the machines’ diagrams', async () => {
    const dir = await tempDir();
    const html = join(dir, 'report.html');
    const { status, stdout } = await runCli([
      'simulate',
      examplePath('07-storm-held-by-breaker.yaml'),
      '-o',
      'json',
      '--html',
      html,
    ]);
    expect(status).toBe(0);
    const result = JSON.parse(stdout) as SimulationResult;
    expect(result.scenario.name).toBe('storm-held-by-breaker');
    expect(result.effects.filter((e) => e.kind === 'escalate')).toHaveLength(1);
    const page = await readFile(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('storm: automation held, each incident asks a person');
    expect(page).toContain('records a Warning Event <code>StormDetected</code> on the policy');
    expect(page).toContain('<svg');
    // Self-contained: nothing fetched from elsewhere.
    expect(page).not.toMatch(/<(script|link)\b|src="http/);
  });

  it('replaces a policy with --policy: the same scenario under a dry-run policy changes nothing', async () => {
    const dir = await tempDir();
    const policy = join(dir, 'dry-run.yaml');
    await writeFile(
      policy,
      `apiVersion: remedy.kube-remedy.io/v1alpha1
kind: AutoRemediationPolicy
metadata: { name: restart-cart, namespace: shop }
spec:
  selector: { kinds: [Pod], matchLabels: { app: cart } }
  mode: dryRun
  detections: [{ type: CrashLoopBackOff, threshold: 3, window: 10m, action: restartPod }]
`,
    );
    const { status, stdout } = await runCli([
      'simulate',
      examplePath('01-crash-loop-restart.yaml'),
      '--policy',
      policy,
    ]);
    expect(status).toBe(0);
    expect(stdout).toContain('under shop/restart-cart (dryRun)');
    expect(stdout).toContain(
      'suspect → coolingDown: dry run: would restart Pod shop/cart-7d9f-x2x4q',
    );
    // Nothing restarts the pod, so it is still crash-looping when the cooldown ends: a second dry run.
    expect(stdout).toContain('Summary: 2 incidents, 0 actions');
  });

  it('refuses bad input with exit status 2, naming the file, the line and what was expected', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'name: bad\ndescription: x\ntimeline:\n  - { at: soon, object: Pod/a/b, healthy: true }\n',
    );
    const { status, stdout, stderr } = await runCli(['simulate', file]);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${file}:4:11: timeline[0].at: expected a duration such as 30s`);
  });

  it('asks for exactly one source of scenarios', async () => {
    const { status, stderr } = await runCli(['simulate']);
    expect(status).toBe(2);
    expect(stderr).toContain('give one of: scenario files, --replay FILE.jsonl, or --demo');
  });

  it('prints the JSON Schema of scenario files', async () => {
    const { status, stdout } = await runCli(['simulate', '--schema']);
    expect(status).toBe(0);
    const committed = await readFile(
      new URL('../../../schemas/scenario.schema.json', import.meta.url),
      'utf8',
    );
    expect(JSON.parse(stdout)).toEqual(JSON.parse(committed));
  });
});

describe('kube-remedy record', () => {
  it('refuses a duration it cannot read, with exit status 2', async () => {
    const { status, stderr } = await runCli(['record', '--duration', 'a week', '-o', '/dev/null']);
    expect(status).toBe(2);
    expect(stderr).toContain('--duration: "a week" is not a duration');
  });
});
