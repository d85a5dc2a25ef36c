/**
 * The simulation's scripted events: steps, effect results, scaler rounds and the safety
 * monitor's refreshes, each at a moment of simulated time, run in order of time and then of
 * scheduling. Periodic work can say when it would do nothing, so the simulation moves past it
 * without settling anything.
 */

interface Queued {
  at: number;
  seq: number;
  run: () => void | Promise<void>;
  /** For periodic work: whether it would do nothing now, so nothing needs settling. */
  idle?: (() => boolean) | undefined;
}

export class Agenda {
  private items: Queued[] = [];
  private seq = 0;

  add(at: number, run: Queued['run'], idle?: Queued['idle']): void {
    const item = { at, seq: (this.seq += 1), run, idle };
    // Sorted insert: items are few, and most arrive in order.
    let i = this.items.length;
    while (i > 0 && (this.items[i - 1] as Queued).at > at) i -= 1;
    this.items.splice(i, 0, item);
  }

  nextAt(): number | undefined {
    return this.items[0]?.at;
  }

  takeAt(at: number): Queued | undefined {
    return this.items[0]?.at === at ? this.items.shift() : undefined;
  }

  /** Whether everything scheduled at `at` is periodic work that would do nothing. */
  onlyIdleAt(at: number): boolean {
    for (const item of this.items) {
      if (item.at !== at) break;
      if (item.idle?.() !== true) return false;
    }
    return true;
  }

  /**
   * Runs `run` every `intervalMs` from `from`, until the returned function is called; a moment
   * at which `idle` says it would do nothing is left out (and told to the loop as idle).
   */
  every(from: number, intervalMs: number, run: () => void, idle: () => boolean): () => void {
    let cancelled = false;
    const tick = (at: number): void => {
      this.add(
        at,
        () => {
          if (cancelled) return;
          if (!idle()) run();
          tick(at + intervalMs);
        },
        () => cancelled || idle(),
      );
    };
    tick(from + intervalMs);
    return () => {
      cancelled = true;
    };
  }
}
