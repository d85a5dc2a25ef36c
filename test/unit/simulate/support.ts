/** Running example scenarios and reading their decisions back as small tables. */
import { join } from 'node:path';
import {
  loadScenarioFile,
  parseScenario,
  simulate,
  type SimulationResult,
  type TimelineEntry,
} from '../../../src/simulate/index.ts';
import { EXAMPLES_DIR } from '../../../src/simulate/demo.ts';
import { clockText } from '../../../src/simulate/report.ts';

export function examplePath(name: string): string {
  return join(EXAMPLES_DIR, name);
}

export async function runExample(name: string): Promise<SimulationResult> {
  return simulate(loadScenarioFile(examplePath(name)));
}

/** A scenario written in a test; policy files are read relative to examples/scenarios/. */
export async function runText(text: string): Promise<SimulationResult> {
  return simulate(parseScenario(text, examplePath('inline.yaml')));
}

const NOTIFICATIONS = new Set([
  'notify',
  'escalate',
  'openTicket',
  'updateTicket',
  'collectEvidence',
]);

/** `[time since start, object, step, kind, outcome]` of every action (notifications left out). */
export function actions(result: SimulationResult): string[][] {
  return result.effects
    .filter((e) => !NOTIFICATIONS.has(e.kind))
    .map((e) => [clockText(e.at - result.scenario.start), e.object, e.step, e.kind, e.outcome]);
}

/** `[time, object, step, description]` of notifications and records. */
export function notifications(result: SimulationResult): string[][] {
  return result.effects
    .filter((e) => NOTIFICATIONS.has(e.kind))
    .map((e) => [clockText(e.at - result.scenario.start), e.object, e.step, e.description]);
}

type MachineEntry = Extract<TimelineEntry, { type: 'machine' }>;

/** The state changes of one object: `[time, from → to]`, with the reasons kept alongside. */
export function moves(
  result: SimulationResult,
  object: string,
): { at: string; move: string; reason: string }[] {
  return result.timeline
    .filter((e): e is MachineEntry => e.type === 'machine' && e.object === object)
    .map((e) => ({
      at: clockText(e.at - result.scenario.start),
      move: `${e.from ?? 'new'} → ${e.to}`,
      reason: e.reason,
    }));
}

/** What the safety monitor said of each policy: `[time, policy, text]`. */
export function safetyLines(result: SimulationResult): string[][] {
  return result.timeline.flatMap((e) =>
    e.type === 'safety' ? [[clockText(e.at - result.scenario.start), e.object, e.text]] : [],
  );
}

export function entriesOf(result: SimulationResult, type: TimelineEntry['type']): TimelineEntry[] {
  return result.timeline.filter((e) => e.type === type);
}
