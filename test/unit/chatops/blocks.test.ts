import { describe, expect, it } from 'vitest';
import {
  escapeMrkdwn,
  overallStatus,
  renderNotice,
  renderParent,
  renderSuggestionNotice,
  type RenderContext,
} from '../../../src/chatops/blocks.ts';
import type { MemberStatus, MemberView, ThreadView } from '../../../src/chatops/model.ts';
import { parseButtonToken, signButtonToken } from '../../../src/chatops/tokens.ts';
import { createRedactor } from '../../../src/redaction/index.ts';
import { blockProblems } from '../../support/fake-slack.ts';

const SECRET = 'button-secret-for-unit-tests-0123456789';
const context: RenderContext = {
  sign: (claim) => signButtonToken(claim, SECRET),
  redactor: createRedactor(),
};
const AT = 1_800_000_000_000;

function member(overrides: Partial<MemberView> = {}): MemberView {
  return {
    actorKey: 'Pod/shop/web-1',
    incidentId: 'Pod/shop/web-1#1@1799999000000',
    owner: 'agent-node-1',
    object: 'Pod shop/web-1',
    namespace: 'shop',
    status: 'awaitingApproval',
    reason: 'CrashLoopBackOff: restarted 5 times in 10m',
    proposes: 'restart Pod shop/web-1',
    updatedAt: AT,
    buttons: { kind: 'approval', expiresAt: AT + 30 * 60_000 },
    ...overrides,
  };
}

function view(members: MemberView[], overrides: Partial<ThreadView> = {}): ThreadView {
  return {
    threadKey: members[0]?.incidentId ?? 'x',
    group: null,
    policy: 'shop/web-policy',
    channel: 'C0INCIDENTS',
    ts: '1800000000.000001',
    openedAt: AT,
    members,
    links: [],
    suggestion: null,
    noSuggestion: null,
    activity: [],
    ...overrides,
  };
}

function actionIds(blocks: readonly unknown[]): string[] {
  return (blocks as { type: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));
}

describe('the parent message of an incident', () => {
  it.each<[MemberStatus, MemberView['buttons'], string[]]>([
    [
      'awaitingApproval',
      { kind: 'approval', expiresAt: AT },
      ['approve', 'reject', 'escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
    ],
    [
      'escalated',
      { kind: 'escalation', expiresAt: AT },
      ['ack', 'escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
    ],
    [
      'acknowledged',
      { kind: 'acknowledged', expiresAt: AT },
      ['escalate', 'snooze-1h', 'snooze-4h', 'snooze-24h'],
    ],
    ['approved', null, []],
    ['resolved', null, []],
    ['unverified', null, []],
  ])('when %s offers exactly the buttons that apply', (status, buttons, expected) => {
    const rendered = renderParent(view([member({ status, buttons })]), context);
    expect(actionIds(rendered.blocks)).toEqual(expected.map((a) => `kube-remedy-${a}`));
    expect(blockProblems(rendered.blocks)).toEqual([]);
  });

  it.each([
    ['agent-node-1', 'decided by the agent on node node-1'],
    ['controller', 'decided by the controller'],
  ])('says which process decided (%s)', (owner, words) => {
    const rendered = renderParent(view([member({ owner })]), context);
    const footer = (rendered.blocks as { type: string; elements?: { text?: string }[] }[])
      .filter((b) => b.type === 'context')
      .at(-1)?.elements?.[0]?.text;
    expect(footer).toMatch(new RegExp(`^kube-remedy · incident \`.+\` · ${words}$`));
  });

  it('signs every button for its own action, incident and expiry', () => {
    const rendered = renderParent(view([member()]), context);
    const values = (
      rendered.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]
    )
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? []);
    for (const { action_id: id, value } of values) {
      const parsed = parseButtonToken(value);
      expect(parsed.ok && `kube-remedy-${parsed.token.action}`).toBe(id);
      expect(parsed.ok && parsed.token.expiresAt).toBe(AT + 30 * 60_000);
    }
  });

  it('shows an evidence location that is not a web link as text to copy', () => {
    const rendered = renderParent(
      view([member()], {
        links: [
          { label: 'Evidence', url: 's3://evidence/shop/Pod/web-1/3-1732000000000/' },
          { label: 'Evidence', url: '/evidence/shop/Pod/web-1/3-1732000000000/' },
        ],
      }),
      context,
    );
    const shown = JSON.stringify(rendered.blocks);
    expect(shown).toContain(
      '*Evidence:* Evidence `s3://evidence/shop/Pod/web-1/3-1732000000000/` · Evidence `/evidence/shop/Pod/web-1/3-1732000000000/`',
    );
  });

  it('shows a web link whatever the case of its scheme, never as text that could break out', () => {
    const rendered = renderParent(
      view([member()], { links: [{ label: 'Evidence', url: 'HTTPS://console.example.com/b' }] }),
      context,
    );
    expect(JSON.stringify(rendered.blocks)).toContain('<HTTPS://console.example.com/b|Evidence>');
  });

  it('shows what, where, status, the proposed action, evidence and the suggestion', () => {
    const rendered = renderParent(
      view([member({ by: '<@U1>' })], {
        links: [{ label: 'evidence bundle', url: 'https://s3.example.com/b/incident.tar.gz' }],
        suggestion: {
          probableCause: 'DNS fails',
          confidence: 0.7,
          suggestedSteps: ['check CoreDNS'],
          model: 'm',
        },
        activity: [{ at: AT, text: 'approval requested' }],
      }),
      context,
    );
    const shown = JSON.stringify(rendered.blocks);
    expect(shown).toContain('Awaiting approval: Pod shop/web-1');
    expect(shown).toContain('*What*\\nCrashLoopBackOff: restarted 5 times in 10m');
    expect(shown).toContain('policy `shop/web-policy`');
    expect(shown).toContain('Awaiting approval by <@U1>');
    expect(shown).toContain('*Proposed action:* restart Pod shop/web-1');
    expect(shown).toContain('<https://s3.example.com/b/incident.tar.gz|evidence bundle>');
    expect(shown).toContain('confidence 70%; a suggestion to read, never executed');
    expect(shown).toContain('1. check CoreDNS');
    expect(rendered.text).toBe(
      'Awaiting approval: Pod shop/web-1 — CrashLoopBackOff: restarted 5 times in 10m',
    );
  });

  it('summarises a group by what needs people most, listing each object', () => {
    const a = member({
      status: 'resolved',
      buttons: null,
      actorKey: 'Pod/shop/web-a',
      object: 'Pod shop/web-a',
    });
    const b = member({
      status: 'escalated',
      buttons: { kind: 'escalation', expiresAt: AT },
      actorKey: 'Pod/shop/web-b',
      object: 'Pod shop/web-b',
      updatedAt: AT + 1,
    });
    const thread = view([a, b], { group: 'Deployment/shop/web' });
    expect(overallStatus(thread)).toBe('escalated');
    const shown = JSON.stringify(renderParent(thread, context).blocks);
    expect(shown).toContain('Escalated: Deployment shop/web (2 objects)');
    expect(shown).toContain('• Pod shop/web-a — Resolved');
    expect(shown).toContain('• Pod shop/web-b — Escalated');
  });

  it('stays within Slack limits whatever the input', () => {
    const huge = 'x'.repeat(10_000);
    const members = Array.from({ length: 40 }, (_, i) =>
      member({
        actorKey: `Pod/shop/p${i}`,
        object: `Pod shop/p${i}-${'y'.repeat(200)}`,
        reason: huge,
      }),
    );
    const rendered = renderParent(
      view(members, {
        group: `Deployment/shop/${'z'.repeat(300)}`,
        suggestion: {
          probableCause: huge,
          confidence: 1,
          suggestedSteps: Array(30).fill(huge) as string[],
        },
        links: Array.from({ length: 30 }, (_, i) => ({
          label: huge,
          url: `https://e.example/${i}`,
        })),
        activity: Array.from({ length: 30 }, (_, i) => ({ at: AT + i, text: huge })),
      }),
      context,
    );
    expect(blockProblems(rendered.blocks)).toEqual([]);
    expect(rendered.text.length).toBeLessThanOrEqual(3000);
  });

  it('redacts and escapes text from the cluster, so it can neither leak nor mention', () => {
    const token = ['xo', 'xb-', '123456789012-1234567890123-', 'abcdefghijklmnopqrstuvwx'].join('');
    const rendered = renderParent(
      view([member({ reason: `<!here> failed with ${token} <https://evil|docs> & more` })]),
      context,
    );
    const shown = `${rendered.text}${JSON.stringify(rendered.blocks)}`;
    expect(shown).not.toContain(token);
    expect(shown).not.toContain('<!here>');
    expect(shown).not.toContain('<https://evil|');
    expect(shown).toContain(
      '&lt;!here&gt; failed with [REDACTED:slack-token] &lt;https://evil|docs&gt; &amp; more',
    );
  });
});

describe('threaded notices', () => {
  it.each([
    [
      'approvalRequested',
      null,
      null,
      /^:raised_hand: \*Approval requested\* to restart Pod shop\/web-1: /,
    ],
    [
      'escalated',
      { type: 'slack', channel: '#oncall' },
      1,
      /^:rotating_light: \*Escalated \(level 1\)\* to #oncall: Pod shop\/web-1/,
    ],
    ['escalated', { type: 'slack', channel: 'C0ONCALL' }, 2, /to <#C0ONCALL>:/],
    ['escalated', { type: 'slackUserGroup', userGroup: '<!channel>' }, 2, /to @&lt;!channel&gt;:/],
    [
      'escalated',
      { type: 'page', service: 'primary' },
      3,
      /to on-call service primary: .*Paging is not done from Slack/,
    ],
    [
      'quarantined',
      null,
      null,
      /^:no_entry: \*Quarantined\*: remediations of Pod shop\/web-1 did not hold/,
    ],
    ['resolved', null, null, /^:white_check_mark: \*Resolved\*: Pod shop\/web-1/],
    ['unverified', null, null, /^:grey_question: \*Ended unverified\*: Pod shop\/web-1/],
  ] as const)('%s to %o says so', (purpose, to, level, expected) => {
    const rendered = renderNotice({ member: member(), purpose, to, level }, context);
    expect(rendered.text).toMatch(expected);
    expect(blockProblems(rendered.blocks)).toEqual([]);
  });

  it.each(['resolved', 'unverified'] as const)('a %s notice has no buttons', (purpose) => {
    const rendered = renderNotice({ member: member(), purpose, to: null, level: null }, context);
    expect(actionIds(rendered.blocks)).toEqual([]);
  });

  it('a missing suggestion says why', () => {
    expect(
      renderSuggestionNotice(context.redactor, null, 'the endpoint is rate limiting (HTTP 429)')
        .text,
    ).toBe(':grey_question: No suggested cause: the endpoint is rate limiting (HTTP 429)');
  });
});

describe('escapeMrkdwn', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt;', '&amp;lt;'],
    ['plain *bold* _it_', 'plain *bold* _it_'],
  ])('%j → %j', (input, output) => {
    expect(escapeMrkdwn(input)).toBe(output);
  });
});
