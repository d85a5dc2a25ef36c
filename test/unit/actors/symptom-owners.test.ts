/**
 * Which role acts on which symptom: a node's readiness is judged from outside (the controller),
 * its pressure on the node (its agent), and each role compiles a node policy with only its own
 * rules, so exactly one actor acts on a given symptom.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { agentActsOn, agentSees, controllerActsOn } from '../../../src/actors/symptom-owners.ts';
import { analyzeObject } from '../../../src/analyzers/index.ts';
import { parsePolicy, type PolicyResource } from '../../../src/policy/index.ts';
import { DETECTION_KIND, DETECTION_TYPES } from '../../../src/policy/vocabulary.ts';

const example = parse(
  readFileSync(
    new URL('../../../examples/policies/node-pressure-cordon-drain.yaml', import.meta.url),
    'utf8',
  ),
) as PolicyResource;

function node(conditions: Record<string, string>) {
  return {
    kind: 'Node' as const,
    metadata: { name: 'worker-1' },
    spec: {},
    status: {
      conditions: Object.entries(conditions).map(([type, status]) => ({ type, status })),
    },
  };
}

describe('the owner of each symptom', () => {
  it('is exactly one role for every node symptom, the controller for readiness only', () => {
    for (const type of DETECTION_TYPES.filter((t) => DETECTION_KIND[t] === 'Node')) {
      expect([agentActsOn(type), controllerActsOn(type)].filter(Boolean)).toHaveLength(1);
    }
    expect(controllerActsOn('NotReady')).toBe(true);
    expect(agentActsOn('MemoryPressure')).toBe(true);
    // Pods stay with the agents, Deployments with the controller, as before.
    expect(agentActsOn('CrashLoopBackOff')).toBe(true);
    expect(controllerActsOn('RolloutFailed')).toBe(true);
  });

  it("splits the example node policy between the node's agent and the controller", () => {
    const parsed = parsePolicy(example);
    if (!parsed.ok) throw new Error('the example does not parse');
    const agent = toMachinePolicy(parsed.policy, agentActsOn);
    const controller = toMachinePolicy(parsed.policy, controllerActsOn);
    expect(Object.keys(agent.detections).sort()).toEqual([
      'DiskPressure',
      'MemoryPressure',
      'PIDPressure',
    ]);
    expect(Object.keys(controller.detections)).toEqual(['NotReady']);
    expect(controller.detections.NotReady?.action).toBe('cordon');
    // Nobody drains under this policy: no rule of either role says drain.
    expect([agent.node.drainAllowed, controller.node.drainAllowed]).toEqual([false, false]);
  });

  it('hides a node that is not Ready from its agent, and nothing else', () => {
    const gone = analyzeObject(
      node({ Ready: 'Unknown', MemoryPressure: 'Unknown', DiskPressure: 'True' }),
    ).detections;
    expect(gone.map((d) => d.type)).toEqual(['NotReady', 'DiskPressure']);
    expect(agentSees(gone)).toBeNull();
    const pressed = analyzeObject(node({ Ready: 'True', MemoryPressure: 'True' })).detections;
    expect(agentSees(pressed)).toBe(pressed);
  });
});
