/**
 * `kube-remedy simulate`: scripted incidents run through the real machines, analyzers, policy
 * index and scaler on a simulated clock, in seconds, without a cluster or Redis. See
 * docs/adr/0010-simulation.md and examples/scenarios/.
 */
import { Simulation } from './engine.ts';
import type { Scenario } from './model.ts';
import type { SimulationResult } from './result.ts';

export { loadPolicyFile, loadScenarioFile, parseScenario } from './load.ts';
export { withPolicies, type Scenario } from './model.ts';
export { formatJson, formatText } from './report.ts';
export type { EffectRecord, SimulationResult, TimelineEntry } from './result.ts';
export { scenarioJsonSchema } from './schema.ts';
export { formatProblem, ScenarioError, type Problem } from './source.ts';

/** Runs a scenario to its end. */
export function simulate(scenario: Scenario): Promise<SimulationResult> {
  return new Simulation(scenario).run();
}
