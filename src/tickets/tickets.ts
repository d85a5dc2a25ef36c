/**
 * Tickets for incidents people must handle, one per problem: the fingerprint (the workload of a
 * pod's incident, else the actor key; and the detection type) is stored in the ticket and searched
 * for, so a recurrence, a later level of the escalation ladder or another pod of the workload
 * comments on the open ticket instead of opening another. An update comments; resolution comments
 * and moves it to done. Every comment carries the job's marker, so a retried job never comments
 * twice; a ticket opened by a try whose result was lost is found by its fingerprint.
 */
import { createHash } from 'node:crypto';
import { workloadKeyName } from '../observe/workload.ts';
import type { Block, Inline, TicketDocument } from './document.ts';
import type { Ticket, TicketTracker } from './tracker.ts';

export const TICKET_LABEL = 'kube-remedy';

/**
 * 16 hex characters of sha256(key, detection): stable across incidents of one problem. The key
 * is the workload of a pod's incident (`shop/Deployment/web`), else the actor key (`Node/n1`).
 */
export function ticketFingerprint(key: string, detection: string): string {
  return createHash('sha256').update(`${key}\n${detection}`).digest('hex').slice(0, 16);
}

/**
 * The fingerprints a problem's open ticket may carry, newest rule first: the workload's, then the
 * actor key's, under which tickets of pods were opened before incidents belonged to workloads (so
 * such a ticket is still commented on, and closed, by the pod that opened it).
 */
export function ticketFingerprints(
  facts: Pick<TicketFacts, 'actorKey' | 'workload' | 'detection'>,
): string[] {
  const byActor = ticketFingerprint(facts.actorKey, facts.detection);
  return facts.workload === undefined
    ? [byActor]
    : [ticketFingerprint(facts.workload, facts.detection), byActor];
}

/** The label that carries the fingerprint (GitHub allows 50 characters; this is 31). */
export function fingerprintLabel(fingerprint: string): string {
  return `kube-remedy-fp-${fingerprint}`;
}

export interface TicketFacts {
  actorKey: string;
  /**
   * `namespace/Kind/name` of the workload whose incident this is: the ticket is the workload's,
   * whichever of its pods files, comments on or resolves it.
   */
  workload?: string | undefined;
  /** `Kind namespace/name`, as people read it. */
  object: string;
  detection: string;
  incidentId: string;
  reason: string;
  policy?: string | undefined;
  /** Escalation level (0-based), when the ticket is a rung of the ladder. */
  level?: number | undefined;
  links: { evidence?: string | undefined; proposal?: string | undefined };
}

function linkLine(label: string, href: string | undefined): Inline[] {
  return href === undefined
    ? [{ text: `${label}: ` }, { text: 'none yet' }]
    : [{ text: `${label}: ` }, { text: href, href }];
}

function factsList(facts: TicketFacts): Block {
  return {
    type: 'list',
    items: [
      ...(facts.workload === undefined
        ? []
        : [[{ text: 'Workload: ' }, { text: workloadKeyName(facts.workload), code: true }]]),
      [
        { text: facts.workload === undefined ? 'Object: ' : 'Pod: ' },
        { text: facts.object, code: true },
      ],
      [{ text: 'Detection: ' }, { text: facts.detection, code: true }],
      [{ text: 'Incident: ' }, { text: facts.incidentId, code: true }],
      ...(facts.policy === undefined
        ? []
        : [[{ text: 'Policy: ' }, { text: facts.policy, code: true }]]),
      ...(facts.level === undefined ? [] : [[{ text: `Escalation level: ${facts.level + 1}` }]]),
      linkLine('Evidence', facts.links.evidence),
      ...(facts.links.proposal === undefined
        ? []
        : [linkLine('Proposed change', facts.links.proposal)]),
    ],
  };
}

/** The title names what people fix: the workload of a pod's incident, else the object. */
export function ticketTitle(facts: TicketFacts): string {
  const what = facts.workload === undefined ? facts.object : workloadKeyName(facts.workload);
  return `[kube-remedy] ${facts.detection}: ${what}`;
}

export function openingDocument(facts: TicketFacts, marker: string): TicketDocument {
  return {
    marker,
    blocks: [
      {
        type: 'paragraph',
        content: [{ text: 'kube-remedy needs people for this incident.', strong: true }],
      },
      { type: 'paragraph', content: [{ text: facts.reason }] },
      factsList(facts),
      {
        type: 'paragraph',
        content: [
          {
            text: 'This ticket is kept up to date: a recurrence adds a comment here, and kube-remedy resolves it once the object stays healthy.',
          },
        ],
      },
    ],
  };
}

export function recurrenceDocument(facts: TicketFacts, marker: string): TicketDocument {
  return {
    marker,
    blocks: [
      {
        type: 'paragraph',
        content: [
          {
            text:
              facts.level === undefined
                ? 'The problem occurred again.'
                : `The problem occurred again (escalation level ${facts.level + 1}).`,
            strong: true,
          },
        ],
      },
      { type: 'paragraph', content: [{ text: facts.reason }] },
      factsList(facts),
    ],
  };
}

/** What happened to the problem without resolving it (a quarantine lifted, a node left cordoned). */
export function updateDocument(facts: TicketFacts, marker: string): TicketDocument {
  return {
    marker,
    blocks: [
      {
        type: 'paragraph',
        content: [{ text: 'Update: ', strong: true }, { text: facts.reason }],
      },
      factsList(facts),
    ],
  };
}

export function resolutionDocument(facts: TicketFacts, marker: string): TicketDocument {
  return {
    marker,
    blocks: [
      {
        type: 'paragraph',
        content: [{ text: 'Resolved: ', strong: true }, { text: facts.reason }],
      },
      factsList(facts),
    ],
  };
}

/** The open ticket of the problem, under the first of its fingerprints that has one. */
async function findOpen(
  tracker: TicketTracker,
  project: string,
  facts: TicketFacts,
  signal: AbortSignal | undefined,
): Promise<Ticket | null> {
  for (const fingerprint of ticketFingerprints(facts)) {
    const open = await tracker.findOpen(project, fingerprint, signal);
    if (open !== null) return open;
  }
  return null;
}

export interface TicketOutcome {
  ticket: Ticket | null;
  created: boolean;
  commented: boolean;
  resolved: boolean;
}

/** Opens the problem's ticket, or comments once per job on the open one. */
export async function openOrComment(input: {
  tracker: TicketTracker;
  project: string;
  facts: TicketFacts;
  jobId: string;
  signal?: AbortSignal | undefined;
}): Promise<TicketOutcome> {
  const { tracker, project, facts, signal } = input;
  const marker = `job=${input.jobId}`;
  const open = await findOpen(tracker, project, facts, signal);
  if (open === null) {
    const [fingerprint] = ticketFingerprints(facts) as [string];
    const ticket = await tracker.create(
      project,
      {
        title: ticketTitle(facts),
        body: openingDocument(facts, marker),
        fingerprint,
        about: {
          actorKey: facts.actorKey,
          detection: facts.detection,
          ...(facts.workload === undefined ? {} : { workload: facts.workload }),
        },
      },
      signal,
    );
    return { ticket, created: true, commented: false, resolved: false };
  }
  // Found by this job's marker: a try of this job opened the ticket or commented (and its result was lost).
  if (await tracker.hasMarker(project, open, marker, signal)) {
    return { ticket: open, created: false, commented: false, resolved: false };
  }
  await tracker.comment(project, open, recurrenceDocument(facts, marker), signal);
  return { ticket: open, created: false, commented: true, resolved: false };
}

/** Comments on the problem's open ticket and, when asked, resolves it. */
export async function updateTicket(input: {
  tracker: TicketTracker;
  project: string;
  facts: TicketFacts;
  jobId: string;
  resolve: boolean;
  signal?: AbortSignal | undefined;
}): Promise<TicketOutcome> {
  const { tracker, project, facts, signal } = input;
  const marker = `job=${input.jobId}`;
  const open = await findOpen(tracker, project, facts, signal);
  if (open === null) return { ticket: null, created: false, commented: false, resolved: false };
  let commented = false;
  if (!(await tracker.hasMarker(project, open, marker, signal))) {
    const doc = input.resolve ? resolutionDocument(facts, marker) : updateDocument(facts, marker);
    await tracker.comment(project, open, doc, signal);
    commented = true;
  }
  if (!input.resolve) return { ticket: open, created: false, commented, resolved: false };
  const result = await tracker.resolve(project, open, signal);
  return {
    ticket: { ...open, status: result.status },
    created: false,
    commented,
    resolved: result.resolved,
  };
}
