import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { podMachine } from '../../src/machines/index.ts';
import { chartOf, renderVisualizations, toMermaid } from '../../src/machines/diagrams/index.ts';

const directory = new URL('../../visualizations/', import.meta.url);

describe('the committed diagrams', () => {
  it('are what the machine definitions generate (run npm run visualize if not)', async () => {
    const expected = await renderVisualizations();
    const committed = new Set((await readdir(directory)).filter((n) => /\.(mmd|svg|md)$/.test(n)));
    expect([...committed].sort(), 'run npm run visualize: the list of diagrams is stale').toEqual(
      [...expected.keys()].sort(),
    );
    for (const [name, content] of expected) {
      const onDisk = await readFile(new URL(name, directory), 'utf8');
      expect(onDisk === content, `visualizations/${name} is stale: run npm run visualize`).toBe(
        true,
      );
    }
  });

  it('come out the same every time', async () => {
    const [first, second] = await Promise.all([renderVisualizations(), renderVisualizations()]);
    expect(second).toEqual(first);
  });
});

describe('a machine read as a chart', () => {
  const chart = chartOf(podMachine);

  it('has every state with its description, nested states included', () => {
    const escalated = chart.root.children.find((s) => s.key === 'escalated');
    expect(escalated?.kind).toBe('parallel');
    expect(escalated?.children.map((s) => s.key)).toEqual(['ladder', 'recovery']);
    expect(chart.root.children.every((s) => s.description !== null)).toBe(true);
  });

  it('labels edges with their event, delay and guard, and leaves out RESUME', () => {
    const labels = chart.edges.map((e) => `${e.source} -> ${e.target}: ${e.label}`);
    expect(labels).toContain('suspect -> detected: after untilWindowEnds [symptomPersists]');
    expect(labels).toContain('detected -> remediating: [decision = remediate]');
    expect(labels).toContain('awaitingApproval -> detected: APPROVE [isFreshCommand]');
    expect(labels.some((l) => l.includes('RESUME'))).toBe(false);
  });

  it('writes Mermaid stateDiagram-v2 with composite and concurrent states', () => {
    const mermaid = toMermaid(chart);
    expect(mermaid).toMatch(/^---\ntitle: pod - /);
    expect(mermaid).toContain('stateDiagram-v2\n  [*] --> healthy\n');
    expect(mermaid).toContain('  state escalated {\n');
    expect(mermaid).toMatch(/\n {4}--\n {4}state "recovery" as escalated_recovery\n/);
    // Mermaid reads ':' as syntax: descriptions and labels never carry one of their own.
    for (const line of mermaid.split('\n').filter((l) => l.includes(' : '))) {
      expect(line.split(' : ')[1]).not.toContain(':');
    }
  });
});
