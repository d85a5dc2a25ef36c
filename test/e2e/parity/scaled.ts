/**
 * A scenario's time, shrunk by one factor for the live cluster: every duration of its policies
 * (windows, cooldowns, verification, quarantine and budget windows, escalation delays) and every
 * moment of its timeline. Nothing else changes, so a live run and `simulate` decide on the same
 * numbers, only faster.
 */
import { formatDuration, parseDuration } from '../../../src/util/duration.ts';

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

/** Fields that hold names, labels or text, never durations. */
const NOT_DURATIONS = new Set(['selector', 'matchLabels', 'metadata', 'query', 'channel']);

/** A duration divided by `factor`, written as a policy would ("10m" / 60 → "10s"). */
export function scaledDuration(text: string, factor: number): string {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  if (parsed.ms === 0) return '0s';
  return formatDuration(Math.max(1, Math.round(parsed.ms / factor)));
}

/** A copy of a policy's spec with every duration divided by `factor`. */
export function scaledSpec(value: unknown, factor: number, field = ''): unknown {
  if (NOT_DURATIONS.has(field)) return value;
  if (typeof value === 'string') {
    return DURATION.test(value.trim()) ? scaledDuration(value, factor) : value;
  }
  if (Array.isArray(value)) return value.map((v) => scaledSpec(v, factor, field));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, scaledSpec(v, factor, key)]),
    );
  }
  return value;
}

type Spec = Record<string, unknown>;
const obj = (value: unknown): Spec =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Spec) : {};

/**
 * A policy spec with the durations the CRD would default written out, so that they are scaled
 * too (a default of ten minutes would otherwise stay ten minutes on the faster clock). The
 * values are the schema's defaults (src/policy/schema.ts); a unit test holds them to it.
 */
export function withDurationDefaults(spec: Spec): Spec {
  const out: Spec = { ...spec, cooldown: spec['cooldown'] ?? '10m' };
  out['verification'] = { window: '5m', ...obj(spec['verification']) };
  out['budget'] = { window: '1h', ...obj(spec['budget']) };
  out['quarantine'] = { window: '1h', ...obj(spec['quarantine']) };
  if (Array.isArray(spec['detections'])) {
    out['detections'] = spec['detections'].map((d) => ({ window: '10m', ...obj(d) }));
  }
  if (spec['scaling'] !== undefined) {
    const scaling = obj(spec['scaling']);
    out['scaling'] = {
      cooldown: '3m',
      ...scaling,
      stabilization: { scaleUp: '1m', scaleDown: '5m', ...obj(scaling['stabilization']) },
    };
  }
  return out;
}
