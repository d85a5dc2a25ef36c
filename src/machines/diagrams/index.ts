/**
 * The files of visualizations/, generated from the machine definitions: for each machine a
 * Mermaid source and an SVG, and a README listing them. `npm run visualize` writes them; a unit
 * test regenerates them in memory and fails when the committed ones are stale.
 */
import type { AnyStateMachine } from 'xstate';
import { deploymentMachine } from '../deployment.ts';
import { nodeMachine } from '../node.ts';
import { podMachine } from '../pod.ts';
import { chartOf, type Chart } from './chart.ts';
import { toMermaid } from './mermaid.ts';
import { toSvg } from './svg.ts';

export { chartOf, toMermaid, toSvg };
export type { Chart };

export const DIAGRAM_MACHINES: readonly AnyStateMachine[] = [
  podMachine,
  nodeMachine,
  deploymentMachine,
];

function countStates(chart: Chart): number {
  const count = (s: Chart['root']): number => s.children.reduce((n, c) => n + 1 + count(c), 0);
  return count(chart.root);
}

function readme(charts: readonly Chart[]): string {
  const rows = charts.map(
    (c) =>
      `| \`${c.name}\` | ${c.description ?? ''} | ${countStates(c)} | ${c.edges.length} | [${c.name}.svg](${c.name}.svg) · [${c.name}.mmd](${c.name}.mmd) |`,
  );
  const internal = charts.map(
    (c) => `- \`${c.name}\`: ${c.internal.map((e) => `\`${e}\``).join(', ')}`,
  );
  return [
    '# State machine diagrams',
    '',
    'Generated from the machine definitions in `src/machines/` by `npm run visualize`; do not edit.',
    'A unit test (`test/unit/visualizations.test.ts`) fails when these files are stale.',
    '',
    '| machine | what it does | states | transitions | diagram |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Not drawn, to keep the diagrams readable:',
    '',
    '- `RESUME`, which every state that waits on a deadline handles by re-entering itself, so that',
    '  a restored actor re-arms its timer for the time left (docs/adr/0004-statecharts.md).',
    '- Events handled without a change of state: they update the context (`OBSERVED`, `FACTS`,',
    '  `POLICY`) or are kept in the history as ignored (results and commands that do not apply):',
    ...internal.map((line) => `  ${line}`),
    '',
    'Edge labels: `EVENT [guard]`; `after delay` for a deadline (each delay waits for an absolute',
    'deadline kept in context); `[decision = …]` routes on the decision taken in `detected`.',
    '',
  ].join('\n');
}

/** Every file of visualizations/, by file name. */
export async function renderVisualizations(
  machines: readonly AnyStateMachine[] = DIAGRAM_MACHINES,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const charts = machines.map(chartOf);
  for (const chart of charts) {
    files.set(`${chart.name}.mmd`, toMermaid(chart));
    files.set(`${chart.name}.svg`, await toSvg(chart));
  }
  files.set('README.md', readme(charts));
  return files;
}
