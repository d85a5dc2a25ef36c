/**
 * Tickets for incidents people must handle, one per problem: the fingerprint (actor key and
 * detection type) is stored in the ticket and searched for, so a recurrence or a later level of
 * the escalation ladder comments on the open ticket instead of opening another. An update
 * comments; resolution comments and moves it to done. Every comment carries the job's marker, so a retried job never
 * comments twice; a ticket opened by a try whose result was lost is found by its fingerprint.
 */
import { createHash } from 'node:crypto';
import type { Block, Inline, TicketDocument } from './document.ts';
import type { Ticket, TicketTracker } from './tracker.ts';

export const TICKET_LABEL = 'kube-remedy';

/** 16 hex characters of sha256(actorKey, detection): stable across incidents of one problem. */
export function ticketFingerprint(actorKey: string, detection: string): string {
  return createHash('sha256').update(`${actorKey}\n${detection}`).digest('hex').slice(0, 16);
}

/** The label that carries the fingerprint (GitHub allows 50 characters; this is 31). */
export function fingerprintLabel(fingerprint: string): string {
  return `kube-remedy-fp-${fingerprint}`;
}

export interface TicketFacts {
  actorKey: string;
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
      [{ text: 'Object: ' }, { text: facts.object, code: true }],
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

export function ticketTitle(facts: TicketFacts): string {
  return `[kube-remedy] ${facts.detection}: ${facts.object}`;
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

export interface TicketOutcome {
  ticket: Ticket | null;
  created: boolean;
  commented: boolean;
  resolved: boolean;
}

/** Opens the fingerprint's ticket, or comments once per job on the open one. */
export async function openOrComment(input: {
  tracker: TicketTracker;
  project: string;
  facts: TicketFacts;
  jobId: string;
  signal?: AbortSignal | undefined;
}): Promise<TicketOutcome> {
  const { tracker, project, facts, signal } = input;
  const fingerprint = ticketFingerprint(facts.actorKey, facts.detection);
  const marker = `job=${input.jobId}`;
  const open = await tracker.findOpen(project, fingerprint, signal);
  if (open === null) {
    const ticket = await tracker.create(
      project,
      {
        title: ticketTitle(facts),
        body: openingDocument(facts, marker),
        fingerprint,
        about: { actorKey: facts.actorKey, detection: facts.detection },
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

/** Comments on the fingerprint's open ticket and, when asked, resolves it. */
export async function updateTicket(input: {
  tracker: TicketTracker;
  project: string;
  facts: TicketFacts;
  jobId: string;
  resolve: boolean;
  signal?: AbortSignal | undefined;
}): Promise<TicketOutcome> {
  const { tracker, project, facts, signal } = input;
  const fingerprint = ticketFingerprint(facts.actorKey, facts.detection);
  const marker = `job=${input.jobId}`;
  const open = await tracker.findOpen(project, fingerprint, signal);
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
