/**
 * Tickets in Jira Cloud through jira.js (REST v3, ADF bodies). The fingerprint is a label (what
 * JQL searches) and, with what it stands for, the issue property `kube-remedy`. Resolving takes
 * the configured transition, or else the first one into the `done` status category.
 *
 * Jira's search index can lag a write by a few seconds: a ticket opened by a try whose result was
 * lost may not be found by the very next try. Effect retries back off for longer than that.
 */
import { createCloudClient, type SchemaMismatchBehavior } from 'jira.js';
import type { TicketDocument } from '../../tickets/document.ts';
import { fingerprintLabel, TICKET_LABEL } from '../../tickets/tickets.ts';
import type { NewTicket, Ticket, TicketTracker } from '../../tickets/tracker.ts';
import { adfText, toAdf } from './adf.ts';
import { classifyJiraError } from './errors.ts';

export type JiraClient = ReturnType<typeof createCloudClient>;

export interface JiraClientOptions {
  /** The site, e.g. https://example.atlassian.net (no API path). */
  baseUrl: string;
  email: string;
  apiToken: string;
  /** What to do when Jira answers in a shape jira.js does not expect. Default: warn. */
  onSchemaMismatch?: SchemaMismatchBehavior;
}

export function createJiraClient(options: JiraClientOptions): JiraClient {
  return createCloudClient({
    host: options.baseUrl,
    auth: { type: 'basic', email: options.email, apiToken: options.apiToken },
    onSchemaMismatch: options.onSchemaMismatch ?? 'warn',
  });
}

export interface JiraTrackerOptions {
  client: JiraClient;
  baseUrl: string;
  /** Issue type of new tickets. Default: Task. */
  issueType?: string;
  /** Name of the transition that resolves a ticket; default: the first into a done status. */
  resolveTransition?: string | undefined;
}

export const FINGERPRINT_PROPERTY = 'kube-remedy';

/** JQL string literal. */
function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export class JiraTracker implements TicketTracker {
  readonly provider = 'jira' as const;
  private readonly client: JiraClient;
  private readonly options: JiraTrackerOptions;

  constructor(options: JiraTrackerOptions) {
    this.client = options.client;
    this.options = options;
  }

  private url(key: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, '')}/browse/${key}`;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyJiraError(error, what);
    }
  }

  async findOpen(project: string, fingerprint: string): Promise<Ticket | null> {
    const jql = [
      `project = ${quote(project)}`,
      `labels = ${quote(fingerprintLabel(fingerprint))}`,
      'statusCategory != Done',
    ].join(' AND ');
    const result = await this.call(`search ${project} for fingerprint ${fingerprint}`, () =>
      this.client.issueSearch.searchAndReconsileIssuesUsingJql({
        jql: `${jql} ORDER BY created DESC`,
        fields: ['summary', 'status'],
        maxResults: 5,
      }),
    );
    const issue = result.issues?.[0];
    if (issue?.key === undefined) return null;
    const status =
      (issue.fields as { status?: { name?: string } } | undefined)?.status?.name ?? 'open';
    return { key: issue.key, url: this.url(issue.key), status };
  }

  async create(project: string, ticket: NewTicket): Promise<Ticket> {
    const created = await this.call(`open a ticket in ${project}`, () =>
      this.client.issues.createIssue({
        fields: {
          project: { key: project },
          issuetype: { name: this.options.issueType ?? 'Task' },
          summary: ticket.title.slice(0, 254),
          description: toAdf(ticket.body),
          labels: [TICKET_LABEL, fingerprintLabel(ticket.fingerprint)],
        },
        properties: [
          {
            key: FINGERPRINT_PROPERTY,
            value: { fingerprint: ticket.fingerprint, ...ticket.about },
          },
        ],
      }),
    );
    const key = created.key;
    if (key === undefined)
      throw new Error(`Jira opened a ticket in ${project} but did not say its key`);
    return { key, url: this.url(key), status: 'open' };
  }

  async hasMarker(_project: string, ticket: Ticket, marker: string): Promise<boolean> {
    const needle = `kube-remedy:${marker}`;
    const issue = await this.call(`read ${ticket.key}`, () =>
      this.client.issues.getIssue({ issueIdOrKey: ticket.key, fields: ['description'] }),
    );
    if (
      adfText((issue.fields as { description?: unknown } | undefined)?.description).includes(needle)
    )
      return true;
    const comments = await this.call(`read comments of ${ticket.key}`, () =>
      this.client.issueComments.getComments({
        issueIdOrKey: ticket.key,
        orderBy: '-created',
        maxResults: 100,
      }),
    );
    return (comments.comments ?? []).some((c) => adfText(c.body).includes(needle));
  }

  async comment(_project: string, ticket: Ticket, body: TicketDocument): Promise<void> {
    await this.call(`comment on ${ticket.key}`, () =>
      this.client.issueComments.addComment({ issueIdOrKey: ticket.key, body: toAdf(body) }),
    );
  }

  async resolve(_project: string, ticket: Ticket): Promise<{ status: string; resolved: boolean }> {
    const { transitions = [] } = await this.call(`read transitions of ${ticket.key}`, () =>
      this.client.issues.getTransitions({ issueIdOrKey: ticket.key }),
    );
    const wanted = this.options.resolveTransition?.toLowerCase();
    const transition =
      (wanted === undefined
        ? undefined
        : transitions.find((t) => t.name?.toLowerCase() === wanted)) ??
      transitions.find((t) => t.to?.statusCategory?.key === 'done');
    if (transition?.id === undefined) return { status: ticket.status, resolved: false };
    await this.call(`resolve ${ticket.key}`, () =>
      this.client.issues.doTransition({
        issueIdOrKey: ticket.key,
        transition: { id: transition.id },
      }),
    );
    return { status: transition.to?.name ?? transition.name ?? 'Done', resolved: true };
  }
}
