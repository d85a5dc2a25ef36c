/**
 * A simulation as one self-contained HTML page (`simulate --html FILE`): the timeline, the
 * summary and the diagrams of the machines involved, generated from their definitions
 * (src/machines/diagrams). No script, no external stylesheet, font or image: it opens offline and
 * can be attached to a ticket or a pull request as it is.
 */
import type { AnyStateMachine } from 'xstate';
import { chartOf, toSvg } from '../machines/diagrams/index.ts';
import { MACHINES } from '../machines/index.ts';
import { clockText, entryText } from './report.ts';
import type { SimulationResult, TimelineEntry } from './result.ts';
import { formatDuration } from '../util/duration.ts';

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; }
td.time, td.object { white-space: nowrap; font-family: ui-monospace, monospace; font-size: 12px; }
tr.world td { color: #57606a; } tr.person td { color: #8250df; } tr.scaler td { color: #0969da; }
tr.safety td { color: #9a6700; }
tr.result.failed td { color: #cf222e; } tr.result.done td { color: #1a7f37; }
ul.effects { margin: 4px 0 0; padding-left: 1.2rem; color: #57606a; }
.diagram { overflow-x: auto; border: 1px solid #d0d7de; margin: 1rem 0; padding: 8px; }
`;

function row(entry: TimelineEntry, start: number): string {
  const cls = entry.type === 'result' ? `result ${entry.outcome}` : entry.type;
  const items =
    entry.type === 'machine' || entry.type === 'safety'
      ? entry.effects.map(
          (e) =>
            `<li>asks for <code>${escape(e.kind)}</code> (${escape(e.step)}): ${escape(e.description)}</li>`,
        )
      : [];
  if (entry.type === 'safety') {
    for (const e of entry.events)
      items.push(
        `<li>records a ${escape(e.type)} Event <code>${escape(e.reason)}</code> on the policy: ${escape(e.message)}</li>`,
      );
  }
  const effects = items.length > 0 ? `<ul class="effects">${items.join('')}</ul>` : '';
  return `<tr class="${cls}"><td class="time">${clockText(entry.at - start)}</td><td class="object">${escape(entry.object)}</td><td>${escape(entryText(entry))}${effects}</td></tr>`;
}

function section(result: SimulationResult): string {
  const { scenario, summary } = result;
  const objects = summary.objects
    .map(
      (o) =>
        `<tr><td class="object">${escape(o.object)}</td><td>${escape(o.policy ?? '')}</td><td>${escape(o.state)}</td><td>${o.incidents}</td><td>${escape(o.actions.map((a) => `${a.kind} (${a.outcome})`).join(', '))}</td><td>${o.escalations}</td></tr>`,
    )
    .join('');
  return `<h2 id="${escape(scenario.name)}">${escape(scenario.name)}</h2>
<p>${escape(scenario.description)}</p>
<p>${scenario.replay ? 'Replayed' : 'Simulated'} ${formatDuration(scenario.end - scenario.start)} from ${escape(new Date(scenario.start).toISOString())} under ${escape(scenario.policies.map((p) => `${p.name} (${p.mode})`).join(', ') || 'no policies')}; source <code>${escape(scenario.source)}</code>.</p>
<table><thead><tr><th>time</th><th>object</th><th>what happened</th></tr></thead><tbody>
${result.timeline.map((e) => row(e, scenario.start)).join('\n')}
</tbody></table>
<table><thead><tr><th>object</th><th>policy</th><th>ends</th><th>incidents</th><th>actions</th><th>escalations</th></tr></thead><tbody>${objects}</tbody></table>
<p>${summary.incidents} incidents, ${summary.actions.requested} actions (${summary.actions.done} done, ${summary.actions.failed} failed, ${summary.actions.refusedByBudget} refused by the budget), ${summary.escalations} escalations, ${summary.notifications} notifications.</p>
${result.warnings.map((w) => `<p><strong>warning:</strong> ${escape(w)}</p>`).join('\n')}`;
}

/** The page for one or more simulations, with the diagrams of the machines they ran. */
export async function formatHtml(results: readonly SimulationResult[]): Promise<string> {
  const kinds = new Set<keyof typeof MACHINES>();
  for (const result of results) {
    for (const entry of result.timeline) {
      const kind = entry.object.split('/')[0];
      if (entry.type === 'machine' && (kind === 'Pod' || kind === 'Node' || kind === 'Deployment'))
        kinds.add(kind);
    }
  }
  const diagrams: string[] = [];
  for (const kind of ['Pod', 'Node', 'Deployment'] as const) {
    if (!kinds.has(kind)) continue;
    const machine: AnyStateMachine = MACHINES[kind];
    const chart = chartOf(machine);
    diagrams.push(
      `<h3>${escape(kind)}: <code>${escape(chart.name)}</code></h3><p>${escape(chart.description ?? '')}</p><div class="diagram">${await toSvg(chart)}</div>`,
    );
  }
  const title =
    results.length === 1
      ? `kube-remedy simulation: ${results[0]?.scenario.name ?? ''}`
      : 'kube-remedy simulations';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escape(title)}</h1>
${results.length > 1 ? `<ul>${results.map((r) => `<li><a href="#${escape(r.scenario.name)}">${escape(r.scenario.name)}</a></li>`).join('')}</ul>` : ''}
${results.map(section).join('\n')}
<h2>The machines</h2>
<p>Generated from the machine definitions in src/machines, as in visualizations/.</p>
${diagrams.join('\n')}
</body>
</html>
`;
}
