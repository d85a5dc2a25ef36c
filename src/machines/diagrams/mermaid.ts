/** A chart as Mermaid `stateDiagram-v2` source. */
import type { Chart, ChartState } from './chart.ts';

/** Mermaid reads `:` and `;` as syntax in labels and descriptions. */
function safe(text: string): string {
  return text.replaceAll(';', ',').replaceAll(':', ' -').replaceAll('`', "'").replaceAll('"', "'");
}

function writeState(state: ChartState, indent: string, out: string[]): void {
  out.push(`${indent}state "${state.key}" as ${state.id}`);
  if (state.description) out.push(`${indent}${state.id} : ${safe(state.description)}`);
  if (state.children.length === 0) return;
  out.push(`${indent}state ${state.id} {`);
  writeChildren(state, `${indent}  `, out);
  out.push(`${indent}}`);
}

function writeChildren(state: ChartState, indent: string, out: string[]): void {
  if (state.kind === 'parallel') {
    state.children.forEach((region, i) => {
      if (i > 0) out.push(`${indent}--`);
      writeState(region, indent, out);
    });
    return;
  }
  if (state.initial) out.push(`${indent}[*] --> ${state.initial}`);
  for (const child of state.children) writeState(child, indent, out);
}

export function toMermaid(chart: Chart): string {
  const out = [
    '---',
    `title: ${chart.name}${chart.description ? ` - ${safe(chart.description)}` : ''}`,
    '---',
    'stateDiagram-v2',
  ];
  writeChildren(chart.root, '  ', out);
  for (const edge of chart.edges) {
    out.push(`  ${edge.source} --> ${edge.target}${edge.label ? ` : ${safe(edge.label)}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
