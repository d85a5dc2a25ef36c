/**
 * What a click or a command becomes. A person's action is sent to the actor that owns the
 * incident (a control message on the owner's stream) only when every check passes:
 *
 *   1. Slack signed the request and it is fresh (Bolt, plus our bound on future timestamps, in
 *      app.ts, before anything here runs);
 *   2. the button's own token is genuine, for this action, and unexpired (tokens.ts);
 *   3. the person is a real, active Slack user and an approver under the incident's policy;
 *   4. this interaction was not seen before (SET NX on its action_ts or trigger_id).
 *
 * A button of an incident that is already approved, rejected or resolved is refused too: the
 * buttons of older notices stay on screen after the parent message dropped them. A command goes
 * to the actor that holds its incident now (routing.ts): another pod of the workload may have
 * taken it over; and one for an incident that ended is refused, saying so.
 *
 * Anything else is refused with words that say why, and changes nothing.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../adapters/redis.ts';
import type { SlackApi, SlackUser } from '../adapters/slack/client.ts';
import { publishControl, type ControlMessage } from '../effects/control-stream.ts';
import { workloadKeyName } from '../observe/workload.ts';
import type { Logger } from '../telemetry/index.ts';
import { formatDuration } from '../util/duration.ts';
import type { WorkloadStore } from '../workloads/store.ts';
import { checkApprover } from './approvers.ts';
import { escapeMrkdwn, mention, safe, STATUS_LABEL } from './blocks.ts';
import { CONTROL_TYPE, type MemberStatus, type Subject } from './model.ts';
import type { Notifier, PersonActionType } from './notifier.ts';
import { routeCommand, type CommandDestination } from './routing.ts';
import type { ChatOpsStore } from './store.ts';
import { parseButtonToken, SNOOZE_MS, verifyButtonToken } from './tokens.ts';

export type RefusalCode =
  | 'malformed'
  | 'unknown-incident'
  | 'tampered'
  | 'expired'
  | 'unknown-user'
  | 'not-a-person'
  | 'no-approvers'
  | 'not-approver'
  | 'replayed'
  | 'settled'
  | 'ended'
  | 'between-pods'
  | 'unavailable';

export type InteractionOutcome =
  | { ok: true; message: ControlMessage; reply: string }
  | { ok: false; code: RefusalCode; reply: string };

export interface InteractionDeps {
  slack: SlackApi;
  store: ChatOpsStore;
  notifier: Notifier;
  /** Where control messages are published. */
  redis: Redis;
  keyPrefix: string;
  buttonSecret: string;
  logger: Logger;
  now: () => number;
  /** The workloads' memory: where a pod's incident is held now. */
  workloads?: Pick<WorkloadStore, 'read'> | undefined;
}

const NOTHING_DONE = 'Nothing was done.';

/** Incidents in these states take no more buttons. */
const SETTLED: ReadonlySet<MemberStatus> = new Set([
  'approved',
  'rejected',
  'resolved',
  'unverified',
]);

export function refusal(code: RefusalCode, detail?: string): InteractionOutcome {
  const words: Record<RefusalCode, string> = {
    malformed: 'kube-remedy could not read this request.',
    'unknown-incident':
      'kube-remedy no longer knows the incident this button is for (it ended long ago, or its record expired).',
    tampered: "This button's signature does not match what kube-remedy signed.",
    expired: `This button expired${detail === undefined ? '' : ` at ${detail}`}. Use \`/kube-remedy status\` for the current state.`,
    'unknown-user': 'Slack does not know your user.',
    'not-a-person': 'Only active people may act on incidents, not bots or deactivated accounts.',
    'no-approvers': `Policy ${detail ?? '(unknown)'} names no approvers, so nobody may act on it from Slack.`,
    'not-approver': `You are not an approver under policy ${detail ?? '(unknown)'}.`,
    replayed: 'This action was already received; it is not applied twice.',
    settled: `This incident is already ${detail ?? 'settled'}.`,
    ended: `${detail ?? 'This incident has ended'}.`,
    'between-pods': `${detail ?? 'The pod that held this incident went away and no other has taken it over yet'}.`,
    unavailable: `kube-remedy could not check this right now (${detail ?? 'a dependency failed'}); try again in a minute.`,
  };
  return { ok: false, code, reply: `:no_entry: ${words[code]} ${NOTHING_DONE}` };
}

function interactionId(parts: readonly string[]): string {
  return `slack-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;
}

/** How people are named in the actor's events (Kubernetes Events, history): readable and unique. */
export function byOf(user: SlackUser): string {
  return `${user.displayName} (Slack ${user.id})`;
}

export interface PersonCommand {
  subject: Subject;
  type: PersonActionType;
  userId: string;
  /** When the person acted, ms since the epoch (Slack's action_ts or request timestamp). */
  at: number;
  /** Identifies the interaction: a repeat of it is refused. */
  interaction: string;
  durationMs?: number;
  reason?: string;
}

/** Checks 3 and 4, then publishes to the owner. Check 2 (tokens) is the caller's. */
export async function sendPersonCommand(
  deps: InteractionDeps,
  command: PersonCommand,
  signal?: AbortSignal,
): Promise<InteractionOutcome> {
  const { subject } = command;
  const log = deps.logger.child({ object: subject.actorKey, incident: subject.incidentId });
  let user: SlackUser | null;
  try {
    user = await deps.slack.userInfo(command.userId, signal);
    if (user === null) return refusal('unknown-user');
    if (user.deleted || user.isBot) return refusal('not-a-person');
    const approver = await checkApprover(deps.slack, subject.approvers, user, signal);
    if (!approver.ok) return refusal(approver.problem, subject.policy ?? undefined);
    log.info({ user: user.id, via: approver.via, type: command.type }, 'person authorised');
  } catch (error) {
    log.warn({ err: error }, 'could not check the person with Slack');
    return refusal('unavailable', 'Slack did not answer');
  }

  let destination: CommandDestination;
  try {
    destination =
      command.type === 'TRIGGER'
        ? { ok: true, actorKey: subject.actorKey, owner: subject.owner }
        : await routeCommand(deps, subject);
  } catch (error) {
    log.warn({ err: error }, 'could not find where the incident is held');
    return refusal('unavailable', 'Redis did not answer');
  }
  if (!destination.ok) return refusal(...notRouted(deps, subject, destination));

  if (!(await deps.store.firstSighting(command.interaction))) return refusal('replayed');

  const id = interactionId([command.interaction]);
  const payload: Record<string, unknown> = {
    by: byOf(user),
    at: command.at,
    incidentId: subject.incidentId,
    id,
    via: 'slack',
    slackUserId: user.id,
  };
  if (command.durationMs !== undefined) payload.durationMs = command.durationMs;
  if (command.reason !== undefined) payload.reason = command.reason;
  // The agent that receives it checks again whether the incident moved meanwhile.
  if (subject.workload !== undefined) payload.workload = subject.workload;
  const message: ControlMessage = {
    id,
    actorKey: destination.actorKey,
    type: command.type,
    payload,
  };
  await publishControl(deps.redis, deps.keyPrefix, destination.owner, message);
  log.info(
    {
      type: command.type,
      by: payload.by,
      id,
      ...(destination.movedFrom === undefined ? {} : { holder: destination.actorKey }),
    },
    'person command sent to the owning actor',
  );

  const durationText =
    command.durationMs === undefined ? undefined : formatDuration(command.durationMs);
  try {
    await deps.notifier.recordPersonAction(
      subject,
      {
        type: command.type,
        by: mention(user.id),
        at: command.at,
        key: id,
        ...(durationText === undefined ? {} : { durationText }),
      },
      signal,
    );
  } catch (error) {
    // The command reached the actor; only the Slack message is behind. Its next update catches up.
    log.warn({ err: error }, 'could not show the action in the incident thread');
  }
  const object = escapeMrkdwn(destination.actorKey);
  const moved =
    destination.movedFrom === undefined
      ? ''
      : `, which took the incident over from ${escapeMrkdwn(destination.movedFrom)}`;
  return {
    ok: true,
    message,
    reply: `:white_check_mark: ${command.type}${durationText === undefined ? '' : ` (${durationText})`} sent for ${object}${moved}.`,
  };
}

/** Why a command reaches nobody, in words for the person who sent it. */
function notRouted(
  deps: InteractionDeps,
  subject: Subject,
  destination: Extract<CommandDestination, { ok: false }>,
): [RefusalCode, string] {
  const incident = `\`${escapeMrkdwn(subject.incidentId)}\``;
  const object = escapeMrkdwn(subject.actorKey);
  switch (destination.code) {
    case 'betweenPods': {
      const workload = escapeMrkdwn(workloadKeyName(subject.workload ?? ''));
      const gone = `The pod that held incident ${incident} went away`;
      // A remediation's replacement takes its verification over within moments; an incident in
      // people's hands waits for the next pod of the workload that shows the symptom.
      return [
        'between-pods',
        destination.phase === 'remediating' || destination.phase === 'verifying'
          ? `${gone}, and no pod of ${workload} has taken it over yet; try again in a minute`
          : `${gone}; the incident waits for the next pod of ${workload} that shows the symptom, and nothing can act on it until then`,
      ];
    }
    case 'holderUnknown':
      return [
        'unavailable',
        `${escapeMrkdwn(destination.holder ?? 'another pod')} holds the incident now, and its agent has not said yet where it runs`,
      ];
    case 'ended': {
      const redactor = deps.notifier.renderContext.redactor;
      const because =
        destination.endedBecause === undefined
          ? ''
          : ` (${safe(redactor, destination.endedBecause, 300)})`;
      const now =
        destination.actorNow === undefined
          ? `kube-remedy no longer watches ${object}`
          : `${object} is \`${escapeMrkdwn(destination.actorNow)}\` now`;
      return ['ended', `Incident ${incident} has ended${because}; ${now}`];
    }
  }
}

export interface ClickInput {
  teamId: string;
  userId: string;
  actionId: string;
  /** The button's value: its signed token. */
  value: unknown;
  /** Slack's time of the click, `seconds.micros`. */
  actionTs: string;
}

/** A button press: checks 2 to 4, then publishes. */
export async function handleClick(
  deps: InteractionDeps,
  input: ClickInput,
  signal?: AbortSignal,
): Promise<InteractionOutcome> {
  const parsed = parseButtonToken(input.value);
  if (!parsed.ok) return refusal('malformed');
  const token = parsed.token;
  if (input.actionId !== `kube-remedy-${token.action}`) return refusal('tampered');
  const at = Math.round(Number(input.actionTs) * 1000);
  if (!Number.isFinite(at) || at <= 0) return refusal('malformed');

  let subject: Subject | null;
  try {
    subject = await deps.store.subject(token.ref);
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not read the incident reference');
    return refusal('unavailable', 'Redis did not answer');
  }
  if (subject === null) return refusal('unknown-incident');
  const verdict = verifyButtonToken(token, subject, deps.buttonSecret, deps.now());
  if (!verdict.ok) {
    return refusal(verdict.problem, new Date(token.expiresAt).toISOString());
  }
  // Buttons of older notices stay on screen; once the incident is settled they do nothing.
  const thread = await deps.store.thread(subject.threadKey);
  const member = thread?.members.find(
    (m) => m.actorKey === subject.actorKey && m.incidentId === subject.incidentId,
  );
  if (member !== undefined && SETTLED.has(member.status)) {
    const by = member.by === undefined ? '' : ` by ${member.by}`;
    return refusal('settled', `${STATUS_LABEL[member.status].toLowerCase()}${by}`);
  }
  const type = CONTROL_TYPE[token.action] as PersonActionType;
  const command: PersonCommand = {
    subject,
    type,
    userId: input.userId,
    at,
    interaction: ['click', input.teamId, input.userId, input.actionTs, input.actionId].join('|'),
  };
  const durationMs = SNOOZE_MS[token.action];
  if (durationMs !== undefined) command.durationMs = durationMs;
  if (type === 'REJECT') command.reason = 'rejected in Slack';
  if (type === 'ESCALATE') command.reason = 'escalated from Slack';
  return sendPersonCommand(deps, command, signal);
}
