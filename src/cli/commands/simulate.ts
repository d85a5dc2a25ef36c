/**
 * `kube-remedy simulate`: runs scenarios (or a recording) through the real machines, analyzers,
 * policy index and scaler on a simulated clock, and prints what kube-remedy would do, when and
 * why. No cluster, no Redis, no network: it is the first thing to run.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { Option, type Command } from 'commander';
import {
  formatJson,
  formatText,
  loadPolicyFile,
  loadScenarioFile,
  scenarioJsonSchema,
  ScenarioError,
  simulate,
  withPolicies,
  type Scenario,
  type SimulationResult,
} from '../../simulate/index.ts';
import { exampleScenarios } from '../../simulate/demo.ts';
import { parseRecording } from '../../simulate/recording.ts';
import type { ProgramIO } from '../program.ts';

export interface SimulateOptions {
  policy: string[];
  output: 'text' | 'json';
  html?: string;
  replay?: string;
  demo?: boolean;
  schema?: boolean;
}

/** Paths as the user would type them from the current directory. */
function shown(file: string, cwd: string): string {
  const path = relative(cwd, file);
  return path.startsWith('..') ? file : path;
}

function readRecording(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ScenarioError([
      { file, line: 1, column: 1, path: '', message: `cannot read it (${reason})` },
    ]);
  }
  return parseRecording(text, file);
}

/** The scenarios the options name, with `--policy` files replacing or adding policies. */
export function scenariosFor(
  files: readonly string[],
  options: SimulateOptions,
  cwd: string,
): Scenario[] {
  const sources: string[] = options.demo
    ? exampleScenarios().map((file) => shown(file, cwd))
    : [...files];
  if (
    [
      options.demo === true,
      options.replay !== undefined,
      sources.length > 0 && !options.demo,
    ].filter(Boolean).length !== 1
  ) {
    throw new UsageError('give one of: scenario files, --replay FILE.jsonl, or --demo');
  }
  const policies = options.policy.flatMap((file) => loadPolicyFile(file));
  const scenarios =
    options.replay !== undefined
      ? [readRecording(options.replay)]
      : sources.map((file) => loadScenarioFile(file));
  return scenarios.map((scenario) => withPolicies(scenario, policies));
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function demoFooter(results: readonly SimulationResult[]): string {
  const sum = (pick: (r: SimulationResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const refused = sum((r) => r.summary.actions.refusedByBudget);
  return `${results.length} scenarios: ${sum((r) => r.summary.incidents)} incidents, ${sum((r) => r.summary.actions.requested)} actions (${sum((r) => r.summary.actions.done)} done${refused > 0 ? `, ${refused} refused by a budget` : ''}), ${sum((r) => r.summary.escalations)} escalations. Each is a file in examples/scenarios/: change one, or write your own, and run kube-remedy simulate FILE.\n`;
}

/** Runs the command; returns what to print. */
export async function runSimulate(
  files: readonly string[],
  options: SimulateOptions,
  cwd: string,
): Promise<string> {
  if (options.schema) return formatJson(scenarioJsonSchema());
  const scenarios = scenariosFor(files, options, cwd);
  const results: SimulationResult[] = [];
  for (const scenario of scenarios) results.push(await simulate(scenario));
  if (options.html !== undefined) {
    const { formatHtml } = await import('../../simulate/html.ts');
    await writeFile(options.html, await formatHtml(results));
  }
  if (options.output === 'json')
    return formatJson(results.length === 1 && !options.demo ? results[0] : results);
  const text = results.map(formatText).join('\n');
  return options.demo ? `${text}\n${demoFooter(results)}` : text;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSimulateCommand(
  program: Command,
  io: ProgramIO,
  cwd: () => string = () => process.cwd(),
): Command {
  return program
    .command('simulate')
    .description(
      'show what kube-remedy would do with a scripted scenario or recorded history, on a simulated clock',
    )
    .argument(
      '[scenario...]',
      'scenario files (YAML; see examples/scenarios/ and schemas/scenario.schema.json)',
    )
    .addOption(
      new Option(
        '--policy <file>',
        'AutoRemediationPolicy YAML that replaces the policy of the same name, or is added (repeatable)',
      )
        .default([])
        .argParser(collect),
    )
    .option(
      '--replay <file>',
      'replay a recording made with kube-remedy record instead of a scenario',
    )
    .option(
      '--html <file>',
      'also write a self-contained HTML page with the timeline and the machine diagrams',
    )
    .option('--demo', 'run every scenario in examples/scenarios/ (what npm run demo does)')
    .option('--schema', 'print the JSON Schema of scenario files and exit')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      `
The machines, analyzers, policy index, safety monitor (the budget fact and the storm breaker)
and scaler are the ones the agent runs; the cluster, the workers, Prometheus and people are
played by the scenario. Every effect succeeds after a short delay unless the scenario says
otherwise; disruptive ones take a token of the policy's budget first, as the workers do. The same
scenario always gives the same output.

Exit status: 0 success, 2 bad input (every problem with its file, line and what was expected).

Examples:
  kube-remedy simulate --demo
  kube-remedy simulate examples/scenarios/01-crash-loop-restart.yaml --html crash-loop.html
  kube-remedy simulate examples/scenarios/07-storm-held-by-breaker.yaml --policy my-policy.yaml
  kube-remedy record --duration 7d -o last-week.jsonl && \\
    kube-remedy simulate --replay last-week.jsonl --policy new-policy.yaml -o json`,
    )
    .action(async function (this: Command, files: string[], options: SimulateOptions) {
      try {
        io.stdout(await runSimulate(files, options, cwd()));
      } catch (error) {
        if (error instanceof ScenarioError || error instanceof UsageError) {
          this.error(`error: ${error.message}`, {
            exitCode: 2,
            code: 'kube-remedy.simulate.input',
          });
        }
        throw error;
      }
    });
}
