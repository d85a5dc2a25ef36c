/**
 * A simulation as people read it: one line per thing that happened (the time since the start, the
 * object, what happened and why), each effect a machine asked for on a line of its own under the
 * decision, then a summary. Plain text without colours, the same bytes on every run.
 */
import { formatDuration } from '../util/duration.ts';
import type { EffectRecord, SimulationResult, Summary, TimelineEntry } from './result.ts';

/** `01:02:03` since the start; days as `1d02:03:04`. */
export function clockText(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days > 0 ? `${days}d` : ''}${pad(h)}:${pad(m)}:${pad(s)}`;
}

function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** What one entry says after its time and object. */
export function entryText(entry: TimelineEntry): string {
  switch (entry.type) {
    case 'world':
      return `~ ${entry.text}`;
    case 'person':
      return `@ ${entry.text}`;
    case 'result':
      return `${entry.outcome === 'done' ? '✓' : '✗'} ${entry.text}`;
    case 'scaler':
      return `⇡ scaler: ${entry.text}`;
    case 'safety':
      return `! ${entry.text}`;
    case 'machine': {
      const move =
        entry.from === null
          ? `→ ${entry.to}`
          : entry.from === entry.to
            ? entry.to
            : `${entry.from} → ${entry.to}`;
      return entry.reason === '' ? move : `${move}: ${entry.reason}`;
    }
  }
}

const OUTCOME_WORDS: Record<EffectRecord['outcome'], string> = {
  done: 'done',
  failed: 'failed',
  refused: 'refused by the budget',
  none: 'no answer',
  sent: 'sent',
  pending: 'no answer yet',
};

function summaryLines(summary: Summary): string[] {
  const { actions } = summary;
  const outcomes = [
    actions.done > 0 ? `${actions.done} done` : '',
    actions.failed > 0 ? `${actions.failed} failed` : '',
    actions.refusedByBudget > 0 ? `${actions.refusedByBudget} refused by the budget` : '',
    actions.unanswered > 0 ? `${actions.unanswered} without an answer` : '',
  ].filter(Boolean);
  const people = summary.people.accepted + summary.people.refused;
  const lines = [
    `Summary: ${plural(summary.incidents, 'incident')}, ${plural(actions.requested, 'action')}${outcomes.length > 0 ? ` (${outcomes.join(', ')})` : ''}, ${plural(summary.escalations, 'escalation')}, ${plural(summary.notifications, 'notification')}${people > 0 ? `, ${plural(people, 'command')} from people (${summary.people.refused} refused)` : ''}.`,
  ];
  const width = Math.max(0, ...summary.objects.map((o) => o.object.length));
  for (const o of summary.objects) {
    const actionsText =
      o.actions.length > 0
        ? `actions: ${o.actions.map((a) => (a.outcome === 'done' ? a.kind : `${a.kind} (${OUTCOME_WORDS[a.outcome]})`)).join(', ')}`
        : 'no actions';
    lines.push(
      `  ${o.object.padEnd(width)}  ends ${o.state}; ${plural(o.incidents, 'incident')}, ${actionsText}${o.escalations > 0 ? `, ${plural(o.escalations, 'escalation')}` : ''}`,
    );
  }
  return lines;
}

function effectLine(effect: { kind: string; step: string; description: string }): string {
  return `↳ asks for ${effect.kind} (${effect.step}): ${effect.description}`;
}

/** The whole report of one simulation. */
export function formatText(result: SimulationResult): string {
  const { scenario } = result;
  const width = Math.min(44, Math.max(6, ...result.timeline.map((e) => e.object.length)));
  const indent = ' '.repeat(2 + 8 + 2 + width + 2);
  const lines: string[] = [];
  lines.push(`== ${scenario.name} (${scenario.source})`);
  lines.push(scenario.description);
  const policies =
    scenario.policies.length === 0
      ? 'no policies'
      : scenario.policies.map((p) => `${p.name} (${p.mode})`).join(', ');
  lines.push(
    `${scenario.replay ? 'Replayed' : 'Simulated'} ${formatDuration(scenario.end - scenario.start)} from ${new Date(scenario.start).toISOString().replace('.000Z', 'Z')} under ${policies}.`,
  );
  lines.push('');
  for (const entry of result.timeline) {
    lines.push(
      `  ${clockText(entry.at - scenario.start)}  ${entry.object.padEnd(width)}  ${entryText(entry)}`,
    );
    if (entry.type === 'machine' || entry.type === 'safety')
      for (const effect of entry.effects) lines.push(`${indent}${effectLine(effect)}`);
    // A machine's Events are in the words of its line; the policy's are said apart.
    if (entry.type === 'safety')
      for (const event of entry.events)
        lines.push(`${indent}↳ records a ${event.type} Event ${event.reason} on the policy`);
  }
  lines.push('');
  lines.push(...summaryLines(result.summary));
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
