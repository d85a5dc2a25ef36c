/**
 * The workload's memory of one symptom, and the one rule set that changes it
 * (docs/adr/0014-incidents-belong-to-workloads.md, part 4). Pods are replaced; the workload a
 * person names (a Deployment, a StatefulSet, a CronJob…) is not, so what an incident needs to
 * outlive a pod is kept here: the open incident and which pod actor decides it, how far its
 * ladder went, the remediations quarantine counts, the cooldown and quarantine deadlines.
 *
 * Pure: Redis applies these functions in an optimistic transaction (store.ts) and `simulate`
 * applies them to a map (MemoryWorkloadStore, in store.ts too), so both engines follow the same
 * rules.
 */
import type { Detection } from '../analyzers/types.ts';

/** Where the incident is, as far as the other pods of the workload need to know. */
export type WorkloadPhase = 'deciding' | 'remediating' | 'verifying' | 'escalated' | 'quarantined';

export interface WorkloadIncident {
  id: string;
  openedAt: number;
  /** The pod actor deciding it; null once its pod is gone and nobody has taken it over yet. */
  holder: string | null;
  /**
   * Whose control stream reaches the holder's actor (`agent-<node>`), so that a person's command
   * for the incident finds the pod that holds it now. Null without a holder, and in memory
   * written before it was kept (the holder's next transition writes it).
   */
  holderOwner: string | null;
  phase: WorkloadPhase;
  /** Remediations asked for in this incident so far: the position on the policy's ladder. */
  attempts: number;
  /** When the latest remediation was asked for: pods created after it are its replacements. */
  actedAt: number | null;
  /** The latest remediation replaces the pod (restart, delete, evict): its deletion is its result. */
  replacesPod: boolean;
  /** The end of the verification in progress (absolute), or null. */
  verifyUntil: number | null;
  /** The verification window of the governing policy, for a verification its pod's deletion starts. */
  verificationWindowMs: number;
  /** People were told about it, so they are told when it ends. */
  announced: boolean;
  /** What opened it. */
  trigger: Detection;
  /**
   * The governing policy (`namespace/name`) as its holder last said: whoever ends an incident no
   * pod holds tells the people and the ticket that policy names. Absent in older memory.
   */
  policy?: string;
  /** The pod actor that held it last, once none does: its message in the thread is the one updated. */
  lastHolder?: string;
}

export interface WorkloadMemory {
  incident: WorkloadIncident | null;
  /** When remediations of the symptom were asked for, oldest first, at most REMEDIATION_MEMORY. */
  remediations: number[];
  /** No new incident of the symptom before then (the cooldown after the last one). */
  quietUntil: number | null;
  /** Hands off the symptom until then: the workload is quarantined. */
  quarantinedUntil: number | null;
  /**
   * A ticket of the symptom was asked for and not resolved since (docs/adr/0016): the pod that
   * resolves the symptom closes it, whichever pod of the workload opened it.
   */
  ticket: boolean;
}

/** More remediations than any quarantine counts is never useful; the memory stays bounded. */
export const REMEDIATION_MEMORY = 32;

export const EMPTY_MEMORY: WorkloadMemory = {
  incident: null,
  remediations: [],
  quietUntil: null,
  quarantinedUntil: null,
  ticket: false,
};

/** What a pod actor learns when it confirms the symptom and asks who decides. */
export type ClaimAnswer =
  | {
      role: 'lead';
      /** The open incident it continues (its id, ladder position), or null for a new one. */
      continues: WorkloadIncident | null;
      remediations: number[];
      /** The symptom has an open ticket: resolving it closes the ticket. */
      ticket: boolean;
      /**
       * The pod whose verification this claim ended: the claimant came after the remediation
       * and shows the symptom, so the remediation did not hold and the claimant goes on with it.
       */
      displaced?: string;
    }
  | { role: 'member'; incident: WorkloadIncident; remediations: number[] }
  | { role: 'held'; why: 'quarantined' | 'coolingDown'; until: number; remediations: number[] };

export interface ClaimRequest {
  actorKey: string;
  /** Whose control stream reaches the asking actor (`agent-<node>`). */
  owner?: string;
  /** The id the actor gave its incident; the workload's incident takes it when there is none. */
  incidentId: string;
  trigger: Detection;
  verificationWindowMs: number;
  now: number;
  /** When the asking pod was created; unknown, it never counts as a result of a remediation. */
  createdAt?: number;
}

const later = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);

function mergeTimes(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y).slice(-REMEDIATION_MEMORY);
}

/** The incident as a pod takes it: held again, so nobody is its last holder. */
function heldBy(open: WorkloadIncident, holder: string, owner: string | null): WorkloadIncident {
  const { lastHolder: _gone, ...rest } = open;
  return { ...rest, holder, holderOwner: owner };
}

/**
 * A pod actor confirmed the symptom: it leads the workload's incident (a new one, or the open
 * one nobody holds, which it continues), joins the one another pod leads, or is held off by a
 * quarantine or cooldown of the workload.
 */
export function claim(
  memory: WorkloadMemory,
  request: ClaimRequest,
): { memory: WorkloadMemory; answer: ClaimAnswer } {
  const { remediations, ticket } = memory;
  const owner = request.owner ?? null;
  const open = memory.incident;
  // A quarantined workload holds every pod off until the quarantine ends, in one wait.
  if (
    open !== null &&
    open.holder !== request.actorKey &&
    open.phase === 'quarantined' &&
    memory.quarantinedUntil !== null &&
    memory.quarantinedUntil > request.now
  ) {
    return {
      memory,
      answer: { role: 'held', why: 'quarantined', until: memory.quarantinedUntil, remediations },
    };
  }
  if (open !== null && open.holder !== null && open.holder !== request.actorKey) {
    if (contradicts(open, request)) {
      // The verification is the workload's, not only its holder's pod's: a pod that came after
      // the remediation shows the symptom, so it did not hold. The claimant goes on with the
      // incident (the next step of the ladder, quarantine or people); the holder lets go.
      const taken: WorkloadIncident = {
        ...heldBy(open, request.actorKey, owner),
        phase: 'deciding',
        verifyUntil: null,
      };
      return {
        memory: { ...memory, incident: taken },
        answer: { role: 'lead', continues: taken, remediations, ticket, displaced: open.holder },
      };
    }
    return { memory, answer: { role: 'member', incident: open, remediations } };
  }
  if (open !== null) {
    const taken = heldBy(open, request.actorKey, owner);
    return {
      memory: { ...memory, incident: taken },
      answer: { role: 'lead', continues: taken, remediations, ticket },
    };
  }
  if (memory.quarantinedUntil !== null && memory.quarantinedUntil > request.now) {
    return {
      memory,
      answer: { role: 'held', why: 'quarantined', until: memory.quarantinedUntil, remediations },
    };
  }
  if (memory.quietUntil !== null && memory.quietUntil > request.now) {
    return {
      memory,
      answer: { role: 'held', why: 'coolingDown', until: memory.quietUntil, remediations },
    };
  }
  const incident: WorkloadIncident = {
    id: request.incidentId,
    openedAt: request.now,
    holder: request.actorKey,
    holderOwner: owner,
    phase: 'deciding',
    attempts: 0,
    actedAt: null,
    replacesPod: false,
    verifyUntil: null,
    verificationWindowMs: request.verificationWindowMs,
    announced: false,
    trigger: request.trigger,
  };
  return {
    memory: { ...memory, incident },
    answer: { role: 'lead', continues: null, remediations, ticket },
  };
}

/** How much earlier than the remediation a replacement may say it was created (seconds only). */
export const CREATION_SLACK_MS = 1_000;

/** Whether a pod created at `createdAt` came after the incident's latest remediation. */
export function cameAfterAction(
  incident: WorkloadIncident,
  createdAt: number | undefined,
): boolean {
  return (
    createdAt !== undefined &&
    incident.actedAt !== null &&
    createdAt + CREATION_SLACK_MS >= incident.actedAt
  );
}

/**
 * Whether a claim proves the incident's verification failed: it is under way, not over, and the
 * claimant is one of the remediation's results (a replacement, a pod of the rolled-back
 * revision). Pods older than the remediation were not touched by it (the pods a rollback is
 * removing among them), so they only wait on the incident.
 */
function contradicts(open: WorkloadIncident, request: ClaimRequest): boolean {
  return (
    open.phase === 'verifying' &&
    (open.verifyUntil === null || request.now < open.verifyUntil) &&
    cameAfterAction(open, request.createdAt)
  );
}

/** What the holder's actor says about the symptom after one of its transitions. */
export interface WorkloadReport {
  holder: string;
  /** Whose control stream reaches the reporting actor (`agent-<node>`). */
  owner?: string;
  /** Its incident of the symptom as it stands, or null when it has none (it ended). */
  incident: Omit<WorkloadIncident, 'holder' | 'holderOwner'> | null;
  remediations: number[];
  quietUntil: number | null;
  quarantinedUntil: number | null;
  /** Whether it remembers an open ticket of the symptom (absent: it does not say). */
  ticket?: boolean;
}

/**
 * The holder's actor moved on. Only the holder writes the incident and whether the symptom has a
 * ticket (its report that ends the incident included): a pod actor that lost it (its pod is going
 * away, another pod took over) can still add remediations and deadlines, which only ever grow,
 * but never brings back an incident that moved on without it, nor a ticket another pod resolved.
 */
export function report(memory: WorkloadMemory, update: WorkloadReport): WorkloadMemory {
  const open = memory.incident;
  let incident = open;
  let ticket = memory.ticket;
  if (open !== null && open.holder === update.holder) {
    incident =
      update.incident !== null && update.incident.id === open.id
        ? {
            ...update.incident,
            holder: update.holder,
            holderOwner: update.owner ?? open.holderOwner,
          }
        : null;
    ticket = update.ticket ?? ticket;
  }
  return {
    incident,
    remediations: mergeTimes(memory.remediations, update.remediations),
    quietUntil: later(memory.quietUntil, update.quietUntil),
    quarantinedUntil: later(memory.quarantinedUntil, update.quarantinedUntil),
    ticket,
  };
}

/**
 * The pod of `holder` is going away (deleted, or terminating). Its incident waits for another pod
 * of the workload. When the pod goes because the incident's own restart asked for it, that is the
 * restart's result: the verification starts now, on the replacements.
 */
export function release(memory: WorkloadMemory, holder: string, at: number): WorkloadMemory {
  const open = memory.incident;
  if (open === null || open.holder !== holder) return memory;
  const restarted = open.phase === 'remediating' && open.replacesPod;
  return {
    ...memory,
    incident: {
      ...open,
      holder: null,
      holderOwner: null,
      lastHolder: holder,
      ...(restarted ? { phase: 'verifying', verifyUntil: at + open.verificationWindowMs } : {}),
    },
  };
}

/**
 * A new pod of the workload appeared: when it replaces the pod a remediation removed and nobody
 * holds the verification, it takes it over (with its absolute deadline).
 */
export function adopt(
  memory: WorkloadMemory,
  actorKey: string,
  createdAt: number,
  owner?: string,
): { memory: WorkloadMemory; adopted: WorkloadIncident | null } {
  const open = memory.incident;
  if (
    open === null ||
    open.holder !== null ||
    open.phase !== 'verifying' ||
    !cameAfterAction(open, createdAt)
  ) {
    return { memory, adopted: null };
  }
  const adopted = heldBy(open, actorKey, owner ?? null);
  return { memory: { ...memory, incident: adopted }, adopted };
}

/** A verification its pod's deletion started and no replacement has taken over (yet). */
export function isUnheldVerification(incident: WorkloadIncident | null): boolean {
  return incident !== null && incident.holder === null && incident.phase === 'verifying';
}

/**
 * When a verification nobody holds ends unverified: a verification window after its own end
 * (a replacement that adopts late still verifies it at once), and never sooner than `floorMs`
 * (the agents look for replacements on an interval).
 */
export function unverifiedAt(incident: WorkloadIncident, floorMs: number): number | null {
  if (!isUnheldVerification(incident) || incident.verifyUntil === null) return null;
  return incident.verifyUntil + Math.max(incident.verificationWindowMs, floorMs);
}

/**
 * A verification nobody holds, long after it should have ended: no replacement of the restarted
 * pod came up where an agent could verify it (the workload was scaled to zero, the replacement
 * cannot be scheduled, or it runs on a node without an agent). Nobody can say whether the
 * restart helped, so the incident ends unverified: the caller tells the people who heard of it
 * and comments on its ticket, which stays open (`ticket` is kept) until an incident of the
 * symptom resolves. Its remediations still count towards quarantine, and its cooldown holds.
 */
export function expire(
  memory: WorkloadMemory,
  now: number,
  floorMs: number,
): { memory: WorkloadMemory; expired: WorkloadIncident | null } {
  const open = memory.incident;
  const at = open === null ? null : unverifiedAt(open, floorMs);
  if (open === null || at === null || at > now) return { memory, expired: null };
  return { memory: { ...memory, incident: null }, expired: open };
}

/**
 * Where a person's command for an incident of the workload goes: to the pod actor that holds the
 * incident now, which is not always the pod whose message the person answered (a replacement
 * takes a verification over; the next pod to confirm the symptom continues an incident whose pod
 * went away).
 */
export type CommandRoute =
  /** The incident is open: its holder, through its owner's control stream. */
  | { route: 'holder'; actorKey: string; owner: string }
  /** Open, but its pod went away and no pod of the workload has taken it over yet. */
  | { route: 'betweenPods'; phase: WorkloadPhase }
  /** Open, held by a pod whose owner the memory does not say (written by an older version). */
  | { route: 'holderUnknown'; actorKey: string }
  /** The workload has no open incident by that id: it ended, or a pod decides it alone. */
  | { route: 'notOpen' };

export function commandRoute(
  symptoms: Readonly<Partial<Record<string, WorkloadMemory>>>,
  incidentId: string,
  addressed: { actorKey: string; owner: string },
): CommandRoute {
  const open = Object.values(symptoms).find((m) => m?.incident?.id === incidentId)?.incident;
  if (open === undefined || open === null) return { route: 'notOpen' };
  if (open.holder === null) return { route: 'betweenPods', phase: open.phase };
  const owner = open.holderOwner ?? (open.holder === addressed.actorKey ? addressed.owner : null);
  return owner === null
    ? { route: 'holderUnknown', actorKey: open.holder }
    : { route: 'holder', actorKey: open.holder, owner };
}

const PHASES: ReadonlySet<unknown> = new Set<WorkloadPhase>([
  'deciding',
  'remediating',
  'verifying',
  'escalated',
  'quarantined',
]);

const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

const timeOrNull = (value: unknown): number | null => (isTime(value) ? value : null);

/**
 * The stored incident, or null when it is not one: an incident the rules cannot read would make
 * every pod of the workload a member of it, waiting for a holder that never decides.
 */
function incidentOf(value: unknown): WorkloadIncident | null {
  if (typeof value !== 'object' || value === null) return null;
  const i = value as Partial<Record<keyof WorkloadIncident, unknown>>;
  const trigger = i.trigger as Partial<Record<keyof Detection, unknown>> | null | undefined;
  const readable =
    typeof i.id === 'string' &&
    isTime(i.openedAt) &&
    (i.holder === null || typeof i.holder === 'string') &&
    PHASES.has(i.phase) &&
    isTime(i.attempts) &&
    (i.actedAt === null || isTime(i.actedAt)) &&
    typeof i.replacesPod === 'boolean' &&
    (i.verifyUntil === null || isTime(i.verifyUntil)) &&
    isTime(i.verificationWindowMs) &&
    typeof i.announced === 'boolean' &&
    typeof trigger === 'object' &&
    trigger !== null &&
    typeof trigger.type === 'string' &&
    typeof trigger.reason === 'string';
  if (!readable) return null;
  // Kept since the holder's command routing (memory written before reads as not known).
  const holderOwner = typeof i.holderOwner === 'string' ? i.holderOwner : null;
  const { policy, lastHolder, ...rest } = value as WorkloadIncident;
  return {
    ...rest,
    holderOwner,
    ...(typeof policy === 'string' ? { policy } : {}),
    ...(typeof lastHolder === 'string' ? { lastHolder } : {}),
  };
}

/**
 * Reads what Redis or a map holds; anything unreadable is no memory (never a reason to act), and
 * so is any part of it that is not what the rules wrote (another version, a person's edit).
 */
export function parseMemory(text: string | null | undefined): WorkloadMemory {
  if (text === null || text === undefined || text === '') return EMPTY_MEMORY;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return EMPTY_MEMORY;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return EMPTY_MEMORY;
  const stored = value as Partial<Record<keyof WorkloadMemory, unknown>>;
  return {
    incident: incidentOf(stored.incident),
    remediations: Array.isArray(stored.remediations)
      ? mergeTimes([], stored.remediations.filter(isTime))
      : [],
    quietUntil: timeOrNull(stored.quietUntil),
    quarantinedUntil: timeOrNull(stored.quarantinedUntil),
    ticket: stored.ticket === true,
  };
}
