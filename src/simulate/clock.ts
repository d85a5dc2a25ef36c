/**
 * The simulation's clock: xstate's SimulatedClock, which the actors arm their `after` timers on,
 * plus the one thing the simulation needs that it does not tell: when the next timer is due. The
 * simulation then jumps straight to the earlier of that and its own next event, so an hour of
 * incidents takes milliseconds, and every timer fires at exactly the time it was armed for.
 */
import { SimulatedClock } from 'xstate';
import type { TellingClock } from '../machines/index.ts';

export class SimulationClock implements TellingClock {
  private readonly inner = new SimulatedClock();
  private readonly due = new Map<number, number>();

  constructor(start: number) {
    this.inner.set(start);
  }

  now(): number {
    return this.inner.now();
  }

  setTimeout(fn: () => void, timeout: number): number {
    const id: number = this.inner.setTimeout(() => {
      this.due.delete(id);
      fn();
    }, timeout);
    this.due.set(id, this.inner.now() + timeout);
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id !== 'number') return;
    this.due.delete(id);
    this.inner.clearTimeout(id);
  }

  /** When the next armed timer is due, ms since the epoch; undefined when none is armed. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const at of this.due.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  /** Moves the clock to `time` (never back), firing every timer due by then, in order. */
  advanceTo(time: number): void {
    this.inner.set(Math.max(time, this.inner.now()));
  }
}
