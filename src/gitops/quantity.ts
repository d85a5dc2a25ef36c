/**
 * Kubernetes memory quantities (`512Mi`, `1G`, `1.5Gi`, `268435456`) as bytes and back, for
 * proposing a raised memory limit. The result is written in the unit the manifest used, rounded
 * up to a whole number of that unit, so a reviewer reads `512Mi → 768Mi`, not a byte count.
 */

const BINARY: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Readonly<Record<string, number>> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const SUFFIXES: Readonly<Record<string, number>> = { '': 1, ...BINARY, ...DECIMAL };

export interface Quantity {
  bytes: number;
  /** The suffix it was written with (`Mi`, `G`, or '' for bytes). */
  unit: string;
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Parses a memory quantity; undefined for anything else (exponents and milli are not memory). */
export function parseMemory(text: string | number): Quantity | undefined {
  const match = QUANTITY.exec(String(text).trim());
  if (match === null) return undefined;
  const unit = match[2] ?? '';
  const factor = SUFFIXES[unit];
  if (factor === undefined) return undefined;
  return { bytes: Number(match[1]) * factor, unit };
}

/** Bytes as a whole number of `unit`: rounded up, or down (to stay under a ceiling). */
export function formatMemory(bytes: number, unit: string, round: 'up' | 'down' = 'up'): string {
  const factor = SUFFIXES[unit] ?? 1;
  const amount =
    round === 'up' ? Math.ceil(bytes / factor - 1e-9) : Math.floor(bytes / factor + 1e-9);
  return `${amount}${unit}`;
}

export type RaiseResult =
  { ok: true; from: string; to: string; capped: boolean } | { ok: false; reason: string };

/**
 * The limit raised by `percent`, in the same unit, never above `max`. Refuses when the limit is
 * already at (or above) the ceiling, since a proposal that changes nothing helps nobody.
 */
export function raiseMemory(
  current: string | number,
  percent: number,
  max?: string | null,
): RaiseResult {
  const from = parseMemory(current);
  if (from === undefined) return { ok: false, reason: `"${current}" is not a memory quantity` };
  if (!(percent > 0)) return { ok: false, reason: `increase of ${percent}% is not an increase` };
  let target = from.bytes * (1 + percent / 100);
  let capped = false;
  if (max !== undefined && max !== null) {
    const ceiling = parseMemory(max);
    if (ceiling === undefined)
      return { ok: false, reason: `maximum "${max}" is not a memory quantity` };
    if (from.bytes >= ceiling.bytes) {
      return {
        ok: false,
        reason: `the limit ${String(current)} is already at the policy's maximum ${max}`,
      };
    }
    if (target > ceiling.bytes) {
      target = ceiling.bytes;
      capped = true;
    }
  }
  // Capped: the largest whole number of the manifest's unit that stays under the maximum.
  const to = formatMemory(target, from.unit, capped ? 'down' : 'up');
  return { ok: true, from: String(current), to, capped };
}
