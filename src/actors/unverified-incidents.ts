/**
 * The leading controller ends the verifications nobody is left to hold (rules.ts, `expire`): a
 * restart's pod went away and no replacement came up where an agent could take the verification
 * over. No pod actor is left to say so, so the controller does, from the workload memory: an
 * Event on the workload, a notice in the incident's thread when people heard of it, a comment on
 * its ticket (which stays open).
 *
 * People are told before the memory lets go: the requests' job ids follow from the incident, so a
 * sweep that fails half-way and runs again tells nobody twice, and one that cannot enqueue leaves
 * the incident for the next sweep instead of ending it in silence.
 */
import type { EffectRequest, RecordedEvent } from '../machines/effects.ts';
import type { Logger } from '../telemetry/index.ts';
import { expire, isUnheldVerification, unverifiedAt } from '../workloads/rules.ts';
import type { UnheldVerification, WorkloadStore } from '../workloads/store.ts';
import { unverifiedEnd, workloadObject, type WorkloadObject } from '../workloads/unverified.ts';

export interface UnverifiedIncidentsOptions {
  store: WorkloadStore;
  /** Never sooner than this after a verification's end (the agents' adoption poll, twice). */
  floorMs: number;
  now: () => number;
  /** Enqueues a request under the incident's policy (`namespace/name`, when the memory says). */
  enqueue: (request: EffectRequest, policyRef: string | undefined) => Promise<void>;
  record: (target: WorkloadObject, event: RecordedEvent) => Promise<void>;
  logger: Logger;
  /** At most this many per sweep; the rest wait for the next one. */
  batch?: number;
}

const DEFAULT_BATCH = 100;

export class UnverifiedIncidents {
  private readonly options: UnverifiedIncidentsOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(options: UnverifiedIncidentsOptions) {
    this.options = options;
  }

  /** Sweeps every `intervalMs` until stopped; a sweep never overlaps the one before. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() =>
        this.sweep().catch((error: unknown) =>
          this.options.logger.warn(
            { err: error },
            'could not look for verifications nobody holds; trying again on the next sweep',
          ),
        ),
      );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Ends what is due; returns the incidents it ended. */
  async sweep(): Promise<string[]> {
    const { store, floorMs } = this.options;
    const now = this.options.now();
    const ended: string[] = [];
    for (const entry of await store.unheld(now, this.options.batch ?? DEFAULT_BATCH)) {
      const memory = (await store.read(entry.workload))[entry.type];
      const incident = memory?.incident ?? null;
      if (memory === undefined || incident === null || !isUnheldVerification(incident)) {
        await store.forgetUnheld(entry);
        continue;
      }
      const at = unverifiedAt(incident, floorMs);
      if (at === null || at > now) continue;
      await this.tell(entry, incident, memory.ticket, now);
      const expired = await store.change(entry.workload, entry.type, (m) => {
        const result = expire(m, now, floorMs);
        return { memory: result.memory, result: result.expired };
      });
      if (expired !== null) ended.push(expired.id);
    }
    return ended;
  }

  private async tell(
    entry: UnheldVerification,
    incident: Parameters<typeof unverifiedEnd>[0]['incident'],
    ticket: boolean,
    now: number,
  ): Promise<void> {
    const end = unverifiedEnd({
      incident,
      workload: entry.workload,
      type: entry.type,
      ticket,
      now,
    });
    this.options.logger.warn(
      { workload: entry.workload, incident: incident.id, policy: incident.policy },
      end.message,
    );
    for (const request of end.requests) await this.options.enqueue(request, incident.policy);
    const target = workloadObject(entry.workload);
    // The Event is part of the story, not a condition of ending: a workload already deleted has
    // no object to hang it on.
    if (target !== null) {
      await this.options
        .record(target, end.event)
        .catch((error: unknown) =>
          this.options.logger.warn(
            { err: error, workload: entry.workload },
            'could not record the Event of an incident that ended unverified',
          ),
        );
    }
  }
}
