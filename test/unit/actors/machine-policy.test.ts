import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { parsePolicy, type PolicyResource } from '../../../src/policy/index.ts';

const dir = new URL('../../../examples/policies/', import.meta.url);
const examples = readdirSync(dir).filter((name) => name.endsWith('.yaml'));

function load(name: string): PolicyResource[] {
  return parseAllDocuments(readFileSync(new URL(name, dir), 'utf8')).map(
    (doc) => doc.toJS() as PolicyResource,
  );
}

describe('compiling a policy for the machines', () => {
  it.each(examples)('turns example %s into a policy the machines accept', (name) => {
    for (const resource of load(name)) {
      const parsed = parsePolicy(resource);
      if (!parsed.ok) throw new Error(`example ${name} does not parse`);
      const machine = toMachinePolicy(parsed.policy);
      expect(machine.name).toBe(`${resource.metadata?.namespace}/${resource.metadata?.name}`);
      expect(machine.mode).toBe(parsed.policy.mode);
      for (const d of parsed.policy.detections) {
        expect(machine.detections[d.type]).toMatchObject({
          threshold: d.threshold,
          windowMs: d.windowMs,
          action: d.action,
        });
      }
    }
  });

  it('keeps durations, escalation and node limits from the spec', () => {
    const parsed = parsePolicy({
      apiVersion: 'remedy.kube-remedy.io/v1alpha1',
      kind: 'AutoRemediationPolicy',
      metadata: { name: 'nodes', namespace: 'kube-remedy-system', generation: 1 },
      spec: {
        selector: { kinds: ['Node'] },
        mode: 'auto',
        detections: [{ type: 'MemoryPressure', threshold: 2, window: '3m', action: 'drain' }],
        cooldown: '20m',
        verification: { window: '7m' },
        escalation: { levels: [{ after: '0s', targets: [{ type: 'page', service: 'infra' }] }] },
        budget: { minHealthyNodes: 4 },
      },
    });
    if (!parsed.ok) throw new Error('does not parse');
    expect(toMachinePolicy(parsed.policy)).toMatchObject({
      cooldownMs: 20 * 60_000,
      verificationWindowMs: 7 * 60_000,
      escalation: [{ afterMs: 0, targets: [{ type: 'page', service: 'infra' }] }],
      node: { drainAllowed: true, minHealthyNodes: 4 },
      detections: { MemoryPressure: { threshold: 2, windowMs: 3 * 60_000, action: 'drain' } },
    });
  });

  it('keeps a floor given as a percentage as a percentage, for the count of selected nodes', () => {
    const parsed = parsePolicy({
      metadata: { name: 'nodes', namespace: 'kube-remedy-system', generation: 1 },
      spec: {
        selector: { kinds: ['Node'] },
        detections: [{ type: 'NotReady', action: 'cordon' }],
        budget: { minHealthyNodes: '60%' },
      },
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(toMachinePolicy(parsed.policy).node).toEqual({
      drainAllowed: false,
      minHealthyNodes: 0,
      minHealthyPercent: 60,
    });
  });
});
