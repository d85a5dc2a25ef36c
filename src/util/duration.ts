/**
 * Kubernetes-style durations ("90s", "5m", "1h30m", "250ms"), the form policies and
 * configuration use, converted to milliseconds. Days are allowed ("7d") because budgets and
 * cooldowns are often stated in days; months and years are not, since their length varies.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: string): DurationResult {
  const trimmed = text.trim();
  if (trimmed === '0') return { ok: true, ms: 0 };
  if (!WHOLE.test(trimmed)) {
    return {
      ok: false,
      reason: `"${text}" is not a duration; use a number with a unit: ms, s, m, h or d (e.g. "30s", "5m", "1h30m")`,
    };
  }
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    ms += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  }
  return { ok: true, ms: Math.round(ms) };
}

/** Formats milliseconds the way people write durations: 90_000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1_000) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}
