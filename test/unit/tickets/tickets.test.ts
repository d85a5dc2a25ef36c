import { AuthError, ForbiddenError, ApiError, RateLimitError, ServerError } from 'jira.js';
import { describe, expect, it } from 'vitest';
import { adfText, toAdf } from '../../../src/adapters/jira/adf.ts';
import { classifyJiraError } from '../../../src/adapters/jira/errors.ts';
import { RetryLaterError, TerminalEffectError } from '../../../src/effects/errors.ts';
import { toMarkdown, type TicketDocument } from '../../../src/tickets/document.ts';
import {
  fingerprintLabel,
  openingDocument,
  ticketFingerprint,
  ticketFingerprints,
  ticketTitle,
  type TicketFacts,
} from '../../../src/tickets/tickets.ts';

const doc: TicketDocument = {
  marker: 'job=abc123',
  blocks: [
    { type: 'heading', level: 2, text: 'What happened' },
    {
      type: 'paragraph',
      content: [
        { text: 'Pod ', strong: false },
        { text: 'shop/web', code: true },
        { text: ' crashed', strong: true },
      ],
    },
    { type: 'list', items: [[{ text: 'Evidence: ' }, { text: 's3://ev/x/', href: 's3://ev/x/' }]] },
    { type: 'code', text: 'exit code 137' },
  ],
};

describe('ticket documents', () => {
  it('render as Markdown with a hidden marker', () => {
    expect(toMarkdown(doc)).toBe(
      [
        '## What happened',
        'Pod `shop/web` **crashed**',
        '- Evidence: [s3://ev/x/](s3://ev/x/)',
        '```\nexit code 137\n```',
        '<!-- kube-remedy:job=abc123 -->',
      ].join('\n\n') + '\n',
    );
  });

  it('escape Markdown in plain text', () => {
    expect(
      toMarkdown({
        marker: 'm',
        blocks: [{ type: 'paragraph', content: [{ text: 'a *b* <c> [d]' }] }],
      }),
    ).toContain('a \\*b\\* \\<c\\> \\[d\\]');
  });

  it('render as Atlassian Document Format, marker last', () => {
    const adf = toAdf(doc);
    expect(adf).toEqual({
      type: 'doc',
      version: 1,
      content: [
        {
          type: 'heading',
          attrs: { level: 2 },
          content: [{ type: 'text', text: 'What happened' }],
        },
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Pod ' },
            { type: 'text', text: 'shop/web', marks: [{ type: 'code' }] },
            { type: 'text', text: ' crashed', marks: [{ type: 'strong' }] },
          ],
        },
        {
          type: 'bulletList',
          content: [
            {
              type: 'listItem',
              content: [
                {
                  type: 'paragraph',
                  content: [
                    { type: 'text', text: 'Evidence: ' },
                    {
                      type: 'text',
                      text: 's3://ev/x/',
                      marks: [{ type: 'link', attrs: { href: 's3://ev/x/' } }],
                    },
                  ],
                },
              ],
            },
          ],
        },
        { type: 'codeBlock', content: [{ type: 'text', text: 'exit code 137' }] },
        {
          type: 'paragraph',
          content: [{ type: 'text', text: 'kube-remedy:job=abc123', marks: [{ type: 'em' }] }],
        },
      ],
    });
    expect(adfText(adf).split('\n')).toEqual([
      'What happened',
      'Pod shop/web crashed',
      'Evidence: s3://ev/x/',
      'exit code 137',
      'kube-remedy:job=abc123',
    ]);
  });

  it('never write empty text nodes (Jira refuses them)', () => {
    const adf = toAdf({ marker: 'm', blocks: [{ type: 'paragraph', content: [{ text: '' }] }] });
    expect(adf.content[0]).toEqual({ type: 'paragraph' });
  });
});

describe('fingerprints', () => {
  it('depend on the actor and the detection only', () => {
    const a = ticketFingerprint('Pod/shop/web-1', 'OOMKilled');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(ticketFingerprint('Pod/shop/web-1', 'OOMKilled')).toBe(a);
    expect(ticketFingerprint('Pod/shop/web-1', 'CrashLoopBackOff')).not.toBe(a);
    expect(ticketFingerprint('Pod/shop/web-2', 'OOMKilled')).not.toBe(a);
    expect(fingerprintLabel(a).length).toBeLessThanOrEqual(50);
  });

  it("are the workload's for a pod's incident, then the pod's, under which older tickets were opened", () => {
    const facts = {
      actorKey: 'Pod/shop/web-7d9f8-abcde',
      workload: 'shop/Deployment/web',
      detection: 'OOMKilled',
    };
    expect(ticketFingerprints(facts)).toEqual([
      ticketFingerprint('shop/Deployment/web', 'OOMKilled'),
      ticketFingerprint('Pod/shop/web-7d9f8-abcde', 'OOMKilled'),
    ]);
    // Every pod of the Deployment files the problem under the same first fingerprint.
    expect(ticketFingerprints({ ...facts, actorKey: 'Pod/shop/web-7d9f8-zzzzz' })[0]).toBe(
      ticketFingerprints(facts)[0],
    );
    expect(ticketFingerprints({ actorKey: 'Node/n1', detection: 'NotReady' })).toEqual([
      ticketFingerprint('Node/n1', 'NotReady'),
    ]);
  });

  it("name the workload a pod's ticket is about, and the pod that wrote each part", () => {
    const facts: TicketFacts = {
      actorKey: 'Pod/shop/web-7d9f8-abcde',
      workload: 'shop/Deployment/web',
      object: 'Pod shop/web-7d9f8-abcde',
      detection: 'CrashLoopBackOff',
      incidentId: 'Pod/shop/web-7d9f8-abcde#1@5',
      reason: 'restarts did not hold',
      links: {},
    };
    expect(ticketTitle(facts)).toBe('[kube-remedy] CrashLoopBackOff: Deployment shop/web');
    const text = toMarkdown(openingDocument(facts, 'job=j'));
    expect(text).toContain('- Workload: `Deployment shop/web`');
    expect(text).toContain('- Pod: `Pod shop/web-7d9f8-abcde`');
  });

  it('are in the words of the ticket', () => {
    const facts: TicketFacts = {
      actorKey: 'Node/n1',
      object: 'Node n1',
      detection: 'NotReady',
      incidentId: 'Node/n1#1@5',
      reason: 'node NotReady for 5m',
      links: {},
    };
    expect(ticketTitle(facts)).toBe('[kube-remedy] NotReady: Node n1');
    expect(toMarkdown(openingDocument(facts, 'job=j'))).toContain('Evidence: none yet');
  });
});

describe('Jira errors', () => {
  it.each([
    [
      new RateLimitError('429', 'Too Many Requests', {}, { retryAfterMs: 9000 }),
      RetryLaterError,
      9000,
    ],
    [new RateLimitError('429', 'Too Many Requests', {}), RetryLaterError, 60_000],
  ])('%s is retried later', (error, type, wait) => {
    const mapped = classifyJiraError(error, 'open a ticket');
    expect(mapped).toBeInstanceOf(type);
    expect((mapped as RetryLaterError).retryAfterMs).toBe(wait);
  });

  it.each([
    [new AuthError('401', 'Unauthorized', ''), 'unauthorized'],
    [new ForbiddenError('403', 'Forbidden', { errorMessages: ['no permission'] }), 'forbidden'],
    [
      new ApiError('400', 400, 'Bad Request', {
        errorMessages: [],
        errors: { issuetype: 'valid issue type is required' },
      }),
      'invalid',
    ],
  ])('%s is terminal', (error, code) => {
    const mapped = classifyJiraError(error, 'open a ticket');
    expect(mapped).toBeInstanceOf(TerminalEffectError);
    expect(mapped).toMatchObject({ code });
  });

  it('names the fields Jira rejected', () => {
    const mapped = classifyJiraError(
      new ApiError('400', 400, 'Bad Request', {
        errorMessages: [],
        errors: { issuetype: 'valid issue type is required' },
      }),
      'open a ticket in OPS',
    );
    expect(mapped.message).toBe(
      'Jira rejected the request to open a ticket in OPS: issuetype: valid issue type is required',
    );
  });

  it('retries server errors with backoff', () => {
    const mapped = classifyJiraError(new ServerError('502', 502, 'Bad Gateway', ''), 'comment');
    expect(mapped).not.toBeInstanceOf(TerminalEffectError);
    expect(mapped).not.toBeInstanceOf(RetryLaterError);
  });
});
