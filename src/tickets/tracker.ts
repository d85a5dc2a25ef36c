/**
 * What ticketing needs from a tracker, whatever the provider: find the open ticket of a
 * fingerprint, open one carrying it, comment, and resolve. The adapters (src/adapters/jira,
 * src/adapters/github) implement it and turn provider answers into effect errors.
 */
import type { TicketDocument } from './document.ts';

export type TicketProvider = 'jira' | 'github';

export interface Ticket {
  /** `OPS-12` (Jira) or `#12` (GitHub). */
  key: string;
  url: string;
  status: string;
}

export interface NewTicket {
  title: string;
  body: TicketDocument;
  /** The dedup fingerprint, stored in the ticket (label, plus an issue property on Jira). */
  fingerprint: string;
  /** What the fingerprint stands for, stored next to it where the provider allows. */
  about: { actorKey: string; detection: string; workload?: string };
}

export interface TicketTracker {
  readonly provider: TicketProvider;
  /** The newest open ticket carrying the fingerprint in `project`, if any. */
  findOpen(project: string, fingerprint: string, signal?: AbortSignal): Promise<Ticket | null>;
  create(project: string, ticket: NewTicket, signal?: AbortSignal): Promise<Ticket>;
  /** Whether the ticket's description or one of its comments carries this marker already. */
  hasMarker(
    project: string,
    ticket: Ticket,
    marker: string,
    signal?: AbortSignal,
  ): Promise<boolean>;
  comment(
    project: string,
    ticket: Ticket,
    body: TicketDocument,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Moves the ticket to a done state (Jira transition, GitHub close); returns the new status. */
  resolve(
    project: string,
    ticket: Ticket,
    signal?: AbortSignal,
  ): Promise<{ status: string; resolved: boolean }>;
}
