/**
 * A role's actors at start: every snapshot its owner stored, restored a page at a time. Each page
 * is restored (deadlines re-armed, see ActorHost.restore) and persisted again before the next is
 * read, so memory holds one page of records rather than all of them: 50,000 snapshots loaded at
 * once peaked at ~860 MB resident for a 261 MB heap (bench/RESULTS.md, restore).
 */
import type { Logger } from '../telemetry/index.ts';
import { MACHINE_TAGS, UnknownPolicyError, type ActorHost } from './host.ts';
import type { ActorSnapshotStore } from './snapshot-store.ts';

export interface RestoredActors {
  restored: number;
  /**
   * Records of another machine version, unreadable, or governed by a policy that is gone,
   * removed from the store.
   */
  dropped: number;
}

function policyRefOf(snapshot: unknown): string {
  return (snapshot as { context?: { policy?: { name?: string } } }).context?.policy?.name ?? '';
}

/**
 * Restores every stored actor not already in the host. Safe to call again after a failure: the
 * actors restored before it are kept and skipped.
 */
export async function restoreActors(
  host: ActorHost,
  store: ActorSnapshotStore,
  options: { logger: Logger; pageSize?: number },
): Promise<RestoredActors> {
  let restored = 0;
  let dropped = 0;
  for await (const page of store.loadPages(MACHINE_TAGS, options.pageSize)) {
    for (const { key, reason } of page.dropped) {
      options.logger.warn({ object: key, reason }, 'snapshot dropped');
    }
    dropped += page.dropped.length;
    const keys: string[] = [];
    for (const [key, record] of page.snapshots) {
      // HSCAN may return a field twice, and a retried restore meets what it restored before.
      if (host.has(key)) continue;
      try {
        host.restore(key, record.snapshot, undefined, policyRefOf(record.snapshot));
      } catch (error) {
        if (!(error instanceof UnknownPolicyError)) throw error;
        // Its policy was deleted while we were down: no policy selects the object any more.
        options.logger.warn({ object: key, reason: error.message }, 'snapshot dropped');
        await store.remove(key);
        dropped += 1;
        continue;
      }
      keys.push(key);
    }
    restored += keys.length;
    await host.settled(keys);
  }
  return { restored, dropped };
}
