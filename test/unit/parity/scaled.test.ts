/**
 * The scenario-parity tier scales every duration of a policy, the CRD's defaults included: the
 * defaults it writes out must be the schema's, and scaling must divide each duration by the
 * factor and leave everything else alone.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../src/policy/index.ts';
import { rawPolicies } from '../../e2e/parity/raw-policies.ts';
import { scaledSpec, withDurationDefaults } from '../../e2e/parity/scaled.ts';

const files = readdirSync('examples/scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('examples/scenarios', f));

describe('scaling a policy for the parity tier', () => {
  it.each(files)('writes out the defaults the schema gives (%s)', (file) => {
    for (const policy of rawPolicies(file)) {
      const as = (spec: unknown) => parsePolicy({ ...policy, spec });
      expect(as(withDurationDefaults(policy.spec ?? {}))).toEqual(as(policy.spec));
    }
  });

  it('divides every duration by the factor and leaves names, labels and queries alone', () => {
    const spec = scaledSpec(
      withDurationDefaults({
        selector: { kinds: ['Pod'], matchLabels: { window: '5m' } },
        detections: [{ type: 'CrashLoopBackOff', threshold: 3, action: 'restartPod' }],
        slack: { channel: '#ops' },
        escalation: { levels: [{ after: '15m', targets: [{ type: 'slack', channel: '#ops' }] }] },
      }),
      60,
    ) as Record<string, unknown>;
    expect(spec).toMatchObject({
      selector: { matchLabels: { window: '5m' } },
      detections: [{ window: '10s', threshold: 3 }],
      cooldown: '10s',
      verification: { window: '5s' },
      budget: { window: '1m' },
      quarantine: { window: '1m' },
      slack: { channel: '#ops' },
      escalation: { levels: [{ after: '15s' }] },
    });
  });
});
