/**
 * Tickets as GitHub Issues. The fingerprint is a label, and the open ticket of a fingerprint is
 * found with the issues list filtered by that label (consistent right after a write, unlike the
 * search API). Resolving closes the issue as completed.
 */
import { toMarkdown, type TicketDocument } from '../../tickets/document.ts';
import { fingerprintLabel, TICKET_LABEL } from '../../tickets/tickets.ts';
import type { NewTicket, Ticket, TicketTracker } from '../../tickets/tracker.ts';
import { splitRepo, type Octokit } from './client.ts';
import { classifyGitHubError } from './errors.ts';

export class GitHubIssueTracker implements TicketTracker {
  readonly provider = 'github' as const;
  private readonly octokit: Octokit;

  constructor(octokit: Octokit) {
    this.octokit = octokit;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyGitHubError(error, what);
    }
  }

  private number(ticket: Ticket): number {
    return Number(ticket.key.replace(/^#/, ''));
  }

  async findOpen(
    project: string,
    fingerprint: string,
    signal?: AbortSignal,
  ): Promise<Ticket | null> {
    const { data } = await this.call(`list issues of ${project}`, () =>
      this.octokit.issues.listForRepo({
        ...splitRepo(project),
        labels: fingerprintLabel(fingerprint),
        state: 'open',
        sort: 'created',
        direction: 'desc',
        per_page: 5,
        request: { signal },
      }),
    );
    const issue = data.find((i) => i.pull_request === undefined || i.pull_request === null);
    return issue === undefined
      ? null
      : { key: `#${issue.number}`, url: issue.html_url, status: issue.state };
  }

  async create(project: string, ticket: NewTicket, signal?: AbortSignal): Promise<Ticket> {
    const { data } = await this.call(`open an issue in ${project}`, () =>
      this.octokit.issues.create({
        ...splitRepo(project),
        title: ticket.title,
        body: toMarkdown(ticket.body),
        labels: [TICKET_LABEL, fingerprintLabel(ticket.fingerprint)],
        request: { signal },
      }),
    );
    return { key: `#${data.number}`, url: data.html_url, status: data.state };
  }

  async hasMarker(
    project: string,
    ticket: Ticket,
    marker: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const needle = `kube-remedy:${marker}`;
    const { data: issue } = await this.call(`read issue ${ticket.key} of ${project}`, () =>
      this.octokit.issues.get({
        ...splitRepo(project),
        issue_number: this.number(ticket),
        request: { signal },
      }),
    );
    if ((issue.body ?? '').includes(needle)) return true;
    const comments = await this.call(`read comments of ${ticket.key} in ${project}`, () =>
      this.octokit.paginate(this.octokit.issues.listComments, {
        ...splitRepo(project),
        issue_number: this.number(ticket),
        per_page: 100,
        request: { signal },
      }),
    );
    return comments.some((c) => (c.body ?? '').includes(needle));
  }

  async comment(
    project: string,
    ticket: Ticket,
    body: TicketDocument,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(`comment on ${ticket.key} in ${project}`, () =>
      this.octokit.issues.createComment({
        ...splitRepo(project),
        issue_number: this.number(ticket),
        body: toMarkdown(body),
        request: { signal },
      }),
    );
  }

  async resolve(
    project: string,
    ticket: Ticket,
    signal?: AbortSignal,
  ): Promise<{ status: string; resolved: boolean }> {
    const { data } = await this.call(`close ${ticket.key} in ${project}`, () =>
      this.octokit.issues.update({
        ...splitRepo(project),
        issue_number: this.number(ticket),
        state: 'closed',
        state_reason: 'completed',
        request: { signal },
      }),
    );
    return { status: data.state, resolved: data.state === 'closed' };
  }
}
