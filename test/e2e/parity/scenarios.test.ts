/**
 * Scenario parity: every example scenario, played on the test control plane with the real
 * agent, controller and workers, takes the same actions (kind, workload, order, count, outcome),
 * escalates as often, and leaves its objects in the same states as `simulate` says it does.
 * Time runs FACTOR times faster than the scenario says (its policies' durations too).
 *
 * A scenario that cannot be played on a cluster says why in its `offCluster` field; at most
 * one may.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadScenarioFile, simulate } from '../../../src/simulate/index.ts';
import type { RunningKubeRemedy } from '../../support/process.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';
import { LiveScenario } from './live-scenario.ts';
import { liveStory, simulatedStory } from './story.ts';

/** Scenario time ÷ live time: a scenario minute is a live second. */
const FACTOR = 60;
const DIRECTORY = 'examples/scenarios';
const files = readdirSync(DIRECTORY)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(DIRECTORY, f));
const scenarios = files.map((file) => loadScenarioFile(file));

describe('every example scenario plays out on a real cluster as simulate tells it', () => {
  const processes: RunningKubeRemedy[] = [];
  let redis: RedisForTest | undefined;
  let live: LiveScenario | undefined;
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill();
    await live?.close();
    live = undefined;
    await redis?.cleanup();
    redis = undefined;
  });

  it('leaves at most one scenario off the cluster, saying why', () => {
    const off = scenarios.filter((s) => s.offCluster !== null);
    expect(off.length).toBeLessThanOrEqual(1);
    for (const s of off) expect(s.offCluster?.length).toBeGreaterThan(20);
  });

  for (const scenario of scenarios.filter((s) => s.offCluster === null)) {
    const liveMs = (scenario.end - scenario.start) / FACTOR;
    it(
      scenario.name,
      async () => {
        const expected = simulatedStory(await simulate(scenario));
        redis = await redisForTest();
        const scene = new LiveScenario({ scenario, redis, factor: FACTOR, processes });
        live = scene;
        await scene.setUp();
        await scene.startRoles();
        const run = await scene.play();
        const told = `kube-remedy's Events on the cluster:\n${run.events.join('\n')}`;
        expect(run.problems, told).toEqual([]);
        expect(liveStory(run.record, run.workloadOf), told).toEqual(expected);
      },
      // Setting up (processes, Deployments with a history) takes longer on a loaded machine.
      liveMs + 300_000,
    );
  }
});
