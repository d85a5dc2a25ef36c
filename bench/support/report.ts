/**
 * What every benchmark prints with its numbers: the machine, the date and the load average (other
 * engineers' test runs share the two cores), plus the small statistics and formatting helpers the
 * scripts have in common.
 */
import { execSync } from 'node:child_process';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';

const gcFn = (globalThis as { gc?: () => void }).gc;

/** Exits with a hint when the script was started without --expose-gc. */
export function requireGc(script: string): () => void {
  if (gcFn === undefined) {
    process.stderr.write(`run with --expose-gc: node --expose-gc ${script}\n`);
    process.exit(2);
  }
  return gcFn;
}

/** Heap used after full collections, in bytes. */
export function heapUsed(): number {
  for (let i = 0; i < 4; i++) gcFn?.();
  return process.memoryUsage().heapUsed;
}

export function nproc(): string {
  try {
    return execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(availableParallelism());
  }
}

export function load(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
}

/** One line naming the machine, for the top of every result. */
export function machineLine(): string {
  const gib = (totalmem() / 1024 ** 3).toFixed(1);
  return (
    `Machine: nproc ${nproc()}, ${gib} GiB, Node ${process.version}, kernel ${release()}; ` +
    `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC; load average (1/5/15 min) ${load()}.`
  );
}

/** The p-th percentile (0–100) of the values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export const mb = (bytes: number): string => fmt(bytes / 1024 / 1024, 1);

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export const verdict = (met: boolean): string => (met ? 'met' : '**missed**');

/** Progress on stderr, so stdout stays the Markdown result. */
export function progress(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
