/**
 * Slack messages as data: the parent message of an incident (what, where, the decision's reason,
 * status, who did what, evidence links, the LLM suggestion, and the buttons that apply now), the
 * threaded notices, and the answers people get. Pure: a view and a signer in, text and blocks out.
 *
 * Everything that did not come from this file (reasons, object names, log-derived text, the LLM's
 * answer) is redacted and then escaped for Slack's mrkdwn, so it can neither leak a secret nor
 * inject a mention (`<!channel>`) or a disguised link (`<https://evil|docs>`).
 */
import type { types } from '@slack/bolt';
import type { Redactor } from '../redaction/index.ts';
import type { SlackBlock } from '../adapters/slack/client.ts';
import type { NotifyPurpose } from '../machines/effects.ts';
import {
  BUTTONS,
  type ButtonSet,
  type EscalationTarget,
  type MemberStatus,
  type MemberView,
  type Suggestion,
  type ThreadView,
} from './model.ts';
import { subjectRef, type ButtonAction, type ButtonClaim } from './tokens.ts';

export type Signer = (claim: ButtonClaim) => string;

export interface RenderContext {
  sign: Signer;
  redactor: Redactor;
}

export interface RenderedMessage {
  /** Notification text and fallback for clients without blocks. */
  text: string;
  blocks: SlackBlock[];
}

/** Slack's limits that these messages must respect (checked by the fake Slack in tests too). */
export const LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  buttonText: 75,
  contextElements: 10,
  blocks: 50,
  fallbackText: 3000,
} as const;

export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Untrusted text as Slack will show it: redacted, escaped, bounded. */
export function safe(redactor: Redactor, text: string, max: number = LIMITS.sectionText): string {
  return truncate(escapeMrkdwn(redactor.text(text).text), max);
}

/** Plain text (headers, buttons) is not parsed by Slack, but is still redacted and bounded. */
function plain(redactor: Redactor, text: string, max: number): string {
  return truncate(redactor.text(text).text, max);
}

export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

export const STATUS_LABEL: Readonly<Record<MemberStatus, string>> = {
  awaitingApproval: 'Awaiting approval',
  approved: 'Approved',
  rejected: 'Rejected',
  escalated: 'Escalated',
  acknowledged: 'Acknowledged',
  snoozed: 'Snoozed',
  quarantined: 'Quarantined',
  resolved: 'Resolved',
  unverified: 'Ended unverified',
};

const STATUS_EMOJI: Readonly<Record<MemberStatus, string>> = {
  awaitingApproval: ':raised_hand:',
  approved: ':white_check_mark:',
  rejected: ':no_entry_sign:',
  escalated: ':rotating_light:',
  acknowledged: ':eyes:',
  snoozed: ':zzz:',
  quarantined: ':no_entry:',
  resolved: ':white_check_mark:',
  unverified: ':grey_question:',
};

/** The order in which a thread's state is summarised: what needs people first. */
const URGENCY: readonly MemberStatus[] = [
  'awaitingApproval',
  'escalated',
  'quarantined',
  'snoozed',
  'acknowledged',
  'approved',
  'rejected',
  'unverified',
  'resolved',
];

export function overallStatus(view: ThreadView): MemberStatus {
  let best: MemberStatus = 'resolved';
  for (const member of view.members) {
    if (URGENCY.indexOf(member.status) < URGENCY.indexOf(best)) best = member.status;
  }
  return best;
}

const BUTTON_TEXT: Readonly<Record<ButtonAction, string>> = {
  approve: 'Approve',
  reject: 'Reject',
  escalate: 'Escalate',
  ack: 'Acknowledge',
  'snooze-1h': 'Snooze 1h',
  'snooze-4h': 'Snooze 4h',
  'snooze-24h': 'Snooze 24h',
};

/** The action_id of a button: Bolt routes every `kube-remedy-*` action to one handler. */
export function actionId(action: ButtonAction): string {
  return `kube-remedy-${action}`;
}

export function buttonsBlock(
  member: Pick<MemberView, 'actorKey' | 'incidentId' | 'object'>,
  set: ButtonSet,
  context: RenderContext,
): SlackBlock {
  return {
    type: 'actions',
    block_id: `kube-remedy-${subjectRef(member)}`,
    elements: BUTTONS[set.kind].map((action) => {
      const button: types.Button = {
        type: 'button',
        action_id: actionId(action),
        text: { type: 'plain_text', text: BUTTON_TEXT[action] },
        value: context.sign({
          actorKey: member.actorKey,
          incidentId: member.incidentId,
          action,
          expiresAt: set.expiresAt,
        }),
      };
      if (action === 'approve') {
        return {
          ...button,
          style: 'primary' as const,
          confirm: {
            title: { type: 'plain_text' as const, text: 'Approve the remediation?' },
            text: {
              type: 'mrkdwn' as const,
              text: truncate(`kube-remedy will act on ${escapeMrkdwn(member.object)}.`, 300),
            },
            confirm: { type: 'plain_text' as const, text: 'Approve' },
            deny: { type: 'plain_text' as const, text: 'Cancel' },
          },
        };
      }
      return action === 'reject' ? { ...button, style: 'danger' as const } : button;
    }),
  };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } };
}

function describeTarget(target: EscalationTarget | null, groupMention?: string): string {
  if (target === null) return 'this channel';
  switch (target.type) {
    case 'slack':
      return /^[CG][A-Z0-9]+$/.test(target.channel)
        ? `<#${target.channel}>`
        : escapeMrkdwn(target.channel);
    case 'slackUserGroup':
      return groupMention ?? `@${escapeMrkdwn(target.userGroup.replace(/^@/, ''))}`;
    case 'page':
      return `on-call service ${escapeMrkdwn(target.service)}`;
    case 'ticket':
      return 'a ticket';
  }
}

export function suggestionText(redactor: Redactor, suggestion: Suggestion): string {
  const percent = Math.round(suggestion.confidence * 100);
  const steps = suggestion.suggestedSteps
    .slice(0, 8)
    .map((step, i) => `${i + 1}. ${safe(redactor, step, 300)}`);
  return [
    `*Suggested cause* _(${suggestion.model === undefined ? 'LLM' : safe(redactor, suggestion.model, 80)}, confidence ${percent}%; a suggestion to read, never executed)_`,
    safe(redactor, suggestion.probableCause, 1000),
    ...steps,
  ].join('\n');
}

/** The member whose buttons the parent shows: the most recently changed one that has any. */
export function actionableMember(view: ThreadView): MemberView | undefined {
  let chosen: MemberView | undefined;
  for (const member of view.members) {
    if (member.buttons === null) continue;
    if (chosen === undefined || member.updatedAt >= chosen.updatedAt) chosen = member;
  }
  return chosen;
}

function subjectLine(view: ThreadView): string {
  if (view.group !== null && view.members.length > 1) {
    return `${view.group.replace(/^(\w+)\//, '$1 ')} (${view.members.length} objects)`;
  }
  return view.members[0]?.object ?? view.threadKey;
}

/**
 * Which kube-remedy process decided, in words: the agent of the node the object is on, or the
 * leader-elected controller (a dead node, a Deployment, an incident nobody else holds).
 */
export function decidedBy(owner: string): string {
  if (owner === 'controller') return 'the controller';
  if (owner.startsWith('agent-')) return `the agent on node ${owner.slice('agent-'.length)}`;
  return owner;
}

export function renderParent(view: ThreadView, context: RenderContext): RenderedMessage {
  const { redactor } = context;
  const status = overallStatus(view);
  const latest = [...view.members].sort((a, b) => b.updatedAt - a.updatedAt)[0];
  const what = latest?.reason ?? '';
  const namespaces = [...new Set(view.members.map((m) => m.namespace ?? 'cluster-wide'))];
  const title = `${STATUS_LABEL[status]}: ${subjectLine(view)}`;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: plain(redactor, title, LIMITS.headerText), emoji: true },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*What*\n${safe(redactor, what, LIMITS.fieldText - 10)}` },
        {
          type: 'mrkdwn',
          text: truncate(
            `*Where*\n${namespaces.map((n) => `\`${escapeMrkdwn(n)}\``).join(', ')}${
              view.policy === null ? '' : `\npolicy \`${escapeMrkdwn(view.policy)}\``
            }`,
            LIMITS.fieldText,
          ),
        },
        {
          type: 'mrkdwn',
          text: `*Status*\n${STATUS_EMOJI[status]} ${STATUS_LABEL[status]}${
            latest?.by === undefined ? '' : ` by ${latest.by}`
          }${latest?.level === undefined ? '' : ` (level ${latest.level})`}`,
        },
        { type: 'mrkdwn', text: `*Opened*\n${slackDate(view.openedAt)}` },
      ],
    },
  ];
  const pending = view.members.find((m) => m.status === 'awaitingApproval' && m.proposes);
  if (pending?.proposes !== undefined) {
    blocks.push(
      section(
        `*Proposed action:* ${safe(redactor, pending.proposes, 500)}${
          pending.buttons === null ? '' : ` — approve by ${slackDate(pending.buttons.expiresAt)}`
        }`,
      ),
    );
  }
  if (view.members.length > 1) {
    const shown = view.members.slice(0, 10).map((m) => {
      const by = m.by === undefined ? '' : ` by ${m.by}`;
      return `• ${escapeMrkdwn(m.object)} — ${STATUS_LABEL[m.status]}${by}`;
    });
    const more = view.members.length > 10 ? [`…and ${view.members.length - 10} more`] : [];
    blocks.push(section(['*Objects*', ...shown, ...more].join('\n')));
  }
  if (view.links.length > 0) {
    const links = view.links
      .slice(0, 10)
      .map((l) =>
        /^https?:/i.test(l.url)
          ? `<${l.url.replaceAll('|', '%7C').replaceAll('>', '%3E')}|${safe(redactor, l.label, 100)}>`
          : `${safe(redactor, l.label, 100)} \`${l.url.replace(/[`<>&\s]/g, '')}\``,
      );
    blocks.push(section(`*Evidence:* ${links.join(' · ')}`));
  }
  if (view.suggestion !== null) blocks.push(section(suggestionText(redactor, view.suggestion)));
  else if (view.noSuggestion !== null) {
    blocks.push({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `No suggested cause: ${safe(redactor, view.noSuggestion, 300)}` },
      ],
    });
  }
  if (view.activity.length > 0) {
    blocks.push({
      type: 'context',
      elements: view.activity.slice(-LIMITS.contextElements).map((entry) => ({
        type: 'mrkdwn' as const,
        text: truncate(`${slackDate(entry.at)} ${entry.text}`, LIMITS.fieldText),
      })),
    });
  }
  const actionable = actionableMember(view);
  if (actionable?.buttons) blocks.push(buttonsBlock(actionable, actionable.buttons, context));
  const decider = latest === undefined ? '' : ` · decided by ${decidedBy(latest.owner)}`;
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `kube-remedy · incident \`${escapeMrkdwn(view.threadKey)}\`${escapeMrkdwn(decider)}`,
      },
    ],
  });
  return {
    // Slack parses this text as mrkdwn too (and notifies from it): escaped like the blocks.
    text: truncate(
      `${escapeMrkdwn(`${STATUS_LABEL[status]}: ${subjectLine(view)}`)} — ${safe(redactor, what, 1000)}`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

export interface NoticeInput {
  member: MemberView;
  purpose: NotifyPurpose;
  to: EscalationTarget | null;
  /** 1-based. */
  level: number | null;
  /** `<!subteam^S123>` when the target is a user group Slack knows. */
  groupMention?: string;
}

/** The threaded notice of one transition the machine told about. */
export function renderNotice(input: NoticeInput, context: RenderContext): RenderedMessage {
  const { member, redactor } = { member: input.member, redactor: context.redactor };
  const object = escapeMrkdwn(member.object);
  const reason = safe(redactor, member.reason, 1500);
  let text: string;
  switch (input.purpose) {
    case 'approvalRequested':
      text = `:raised_hand: *Approval requested* to ${safe(redactor, member.proposes ?? `act on ${member.object}`, 500)}: ${reason}${
        member.buttons === null
          ? ''
          : `\nApprove by ${slackDate(member.buttons.expiresAt)}, or it escalates.`
      }`;
      break;
    case 'escalated': {
      const level = input.level === null ? '' : ` (level ${input.level})`;
      const who = describeTarget(input.to, input.groupMention);
      const paging =
        input.to?.type === 'page'
          ? ' Paging is not done from Slack: the on-call rota must be told.'
          : '';
      text = `:rotating_light: *Escalated${level}* to ${who}: ${object} — ${reason}${paging}`;
      break;
    }
    case 'quarantined':
      text = `:no_entry: *Quarantined*: remediations of ${object} did not hold, so kube-remedy stopped acting — ${reason}`;
      break;
    case 'resolved':
      text = `:white_check_mark: *Resolved*: ${object} — ${reason}`;
      break;
    case 'unverified':
      text = `:grey_question: *Ended unverified*: ${object} — ${reason}`;
      break;
  }
  const blocks: SlackBlock[] = [section(text)];
  if (member.buttons !== null && input.purpose !== 'resolved' && input.purpose !== 'unverified') {
    blocks.push(buttonsBlock(member, member.buttons, context));
  }
  return { text: truncate(text, LIMITS.fallbackText), blocks };
}

/** The message an escalation level posts in its own channel, pointing at the incident's thread. */
export function renderTargetMessage(
  input: NoticeInput & { permalink: string | null },
  context: RenderContext,
): RenderedMessage {
  const { member } = input;
  const level = input.level === null ? '' : ` level ${input.level}`;
  const link = input.permalink === null ? '' : ` <${input.permalink}|Open the incident thread>.`;
  const text = `:rotating_light: *Escalation${level}*: ${escapeMrkdwn(member.object)} — ${safe(context.redactor, member.reason, 1500)}.${link}`;
  const blocks: SlackBlock[] = [section(text)];
  if (member.buttons !== null) blocks.push(buttonsBlock(member, member.buttons, context));
  return { text: truncate(text, LIMITS.fallbackText), blocks };
}

const DONE_TEXT: Readonly<Record<string, string>> = {
  APPROVE: ':white_check_mark: *Approved*',
  REJECT: ':no_entry_sign: *Rejected*',
  ESCALATE: ':rotating_light: *Escalated by hand*',
  ACK: ':eyes: *Acknowledged*',
  SNOOZE: ':zzz: *Snoozed*',
  TRIGGER: ':zap: *Policy action requested*',
};

/** The threaded notice that a person did something. */
export function renderPersonAction(
  type: string,
  by: string,
  object: string,
  durationText?: string,
): RenderedMessage {
  const head = DONE_TEXT[type] ?? `*${escapeMrkdwn(type)}*`;
  const text = `${head} by ${by} for ${escapeMrkdwn(object)}${
    durationText === undefined ? '' : ` (${durationText})`
  }; kube-remedy passes it to the agent that owns it.`;
  return { text, blocks: [section(text)] };
}

export function renderSuggestionNotice(
  redactor: Redactor,
  suggestion: Suggestion | null,
  why: string | null,
): RenderedMessage {
  const text =
    suggestion === null
      ? `:grey_question: No suggested cause: ${safe(redactor, why ?? 'unknown', 500)}`
      : `:bulb: ${suggestionText(redactor, suggestion)}`;
  return { text: truncate(text, LIMITS.fallbackText), blocks: [section(text)] };
}
