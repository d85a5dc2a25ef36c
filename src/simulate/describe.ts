/** Effects and notices in the words of a simulation's timeline. */
import { describeEffect, objectName, type Effect } from '../machines/index.ts';

/** Whom a notice is for: an escalation target, or null for the policy's own channel. */
export type NoticeTarget = Extract<Effect, { kind: 'notify' }>['to'];

/** Whom a notice goes to; `channel` is the policy's own Slack channel, if it has one. */
export function whomOf(to: NoticeTarget, channel: string | undefined): string {
  if (to === null) return channel === undefined ? "the policy's channel" : `Slack ${channel}`;
  switch (to.type) {
    case 'slack':
      return `Slack ${to.channel}`;
    case 'slackUserGroup':
      return `Slack group ${to.userGroup}`;
    case 'page':
      return `on-call ${to.service}`;
    default:
      return 'a ticket';
  }
}

/** Any effect in words; `channel` is the policy's own Slack channel, if it has one. */
export function describeAnyEffect(effect: Effect, channel: string | undefined): string {
  switch (effect.kind) {
    case 'notify':
      return `notify ${whomOf(effect.to, channel)} (${effect.purpose})`;
    case 'openTicket':
      return `open a ticket for ${objectName(effect.target)}`;
    case 'updateTicket':
      return `${effect.resolve ? 'resolve' : 'comment on'} the ${effect.detection} ticket of ${objectName(effect.target)}`;
    case 'collectEvidence':
      return `collect evidence of ${objectName(effect.target)}`;
    default:
      return describeEffect(effect);
  }
}
