/**
 * The `/kube-remedy` slash command: `status`, `approve`, `snooze`, `trigger` and `help`. Parsing
 * is pure; `status` reads the actors' snapshots in Redis (what the machines know) and the incident
 * threads (what Slack was told), and says plainly when it knows nothing. `approve`, `snooze` and
 * `trigger` pass the same person checks as buttons (a command has no button token; the incident
 * must be one kube-remedy told Slack about, or for `trigger` one whose policy is known).
 */
import { formatDuration, parseDuration } from '../util/duration.ts';
import { findActorState } from './actor-states.ts';
import { escapeMrkdwn, safe, slackDate, STATUS_LABEL } from './blocks.ts';
import {
  sendPersonCommand,
  type InteractionDeps,
  type InteractionOutcome,
} from './interactions.ts';
import type { PolicyLookup, Subject } from './model.ts';
import { subjectRef } from './tokens.ts';

export interface ObjectReference {
  actorKey: string;
  /** Set when the person named an incident rather than an object. */
  incidentId?: string;
}

export type ParsedCommand =
  | { verb: 'help'; error?: string }
  | { verb: 'status'; target: ObjectReference }
  | { verb: 'approve'; target: ObjectReference }
  | { verb: 'snooze'; target: ObjectReference; durationMs: number }
  | { verb: 'trigger'; target: ObjectReference; reason?: string };

const KINDS: Readonly<Record<string, 'Pod' | 'Deployment' | 'Node'>> = {
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  node: 'Node',
  nodes: 'Node',
  no: 'Node',
};

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The longest snooze a command may ask for: a week. */
export const MAX_SNOOZE_MS = 7 * 86_400_000;

export const USAGE = [
  '*Usage:* `/kube-remedy <command>`',
  '• `status <object|incident>`: what kube-remedy knows, e.g. `status Pod/shop/web-1`',
  '• `approve <object|incident>`: approve the remediation waiting for approval',
  '• `snooze <object|incident> <duration>`: e.g. `snooze Deployment/shop/web 4h`',
  '• `trigger <object> [reason]`: act on a symptom kube-remedy suspects now, without waiting for its threshold (the policy’s mode still applies; a healthy object is left alone)',
  'Objects are `Pod/<namespace>/<name>`, `Deployment/<namespace>/<name>` or `Node/<name>`.',
].join('\n');

/** `Pod/shop/web-1`, `deploy/shop/web`, `node/worker-1` or an incident id `Pod/shop/web-1#3@…`. */
export function parseObjectReference(text: string): ObjectReference | null {
  const hash = text.indexOf('#');
  const key = hash >= 0 ? text.slice(0, hash) : text;
  const parts = key.split('/');
  const kind = KINDS[(parts[0] ?? '').toLowerCase()];
  if (kind === undefined) return null;
  const rest = parts.slice(1);
  const expected = kind === 'Node' ? 1 : 2;
  if (rest.length !== expected || !rest.every((p) => NAME.test(p))) return null;
  const actorKey = [kind, ...rest].join('/');
  if (hash < 0) return { actorKey };
  const incident = text.slice(hash);
  if (!/^#\d+@\d+$/.test(incident)) return null;
  return { actorKey, incidentId: `${actorKey}${incident}` };
}

export function parseCommand(text: string): ParsedCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, ref, ...rest] = words;
  if (verb === undefined || verb === 'help') return { verb: 'help' };
  if (!['status', 'approve', 'snooze', 'trigger'].includes(verb)) {
    return { verb: 'help', error: `unknown command "${verb}"` };
  }
  if (ref === undefined) return { verb: 'help', error: `${verb} needs an object or incident` };
  const target = parseObjectReference(ref);
  if (target === null) return { verb: 'help', error: `"${ref}" is not an object or incident` };
  switch (verb) {
    case 'status':
    case 'approve':
      return rest.length === 0
        ? { verb, target }
        : { verb: 'help', error: `${verb} takes one object or incident` };
    case 'snooze': {
      const parsed = rest.length === 1 ? parseDuration(rest[0] as string) : undefined;
      if (parsed === undefined)
        return { verb: 'help', error: 'snooze needs one duration, e.g. 4h' };
      if (!parsed.ok) return { verb: 'help', error: parsed.reason };
      if (parsed.ms < 60_000 || parsed.ms > MAX_SNOOZE_MS) {
        return { verb: 'help', error: 'snooze for at least 1m and at most 7d' };
      }
      return { verb, target, durationMs: parsed.ms };
    }
    default: {
      const reason = rest.join(' ').slice(0, 500);
      return reason === '' ? { verb: 'trigger', target } : { verb: 'trigger', target, reason };
    }
  }
}

export interface CommandInput {
  teamId: string;
  userId: string;
  text: string;
  triggerId: string;
  /** Slack's request timestamp, ms since the epoch: when the person asked. */
  at: number;
}

export interface CommandDeps extends InteractionDeps {
  /** The policy governing an object, for `trigger` on an object Slack was never told about. */
  policies?: PolicyLookup;
  policyNameFor?: (actorKey: string) => string | undefined | Promise<string | undefined>;
}

async function subjectFor(deps: CommandDeps, target: ObjectReference): Promise<Subject | null> {
  if (target.incidentId === undefined) return deps.notifier.latestSubject(target.actorKey);
  return deps.store.subject(
    subjectRef({ actorKey: target.actorKey, incidentId: target.incidentId }),
  );
}

async function statusText(deps: CommandDeps, target: ObjectReference): Promise<string> {
  const redactor = deps.notifier.renderContext.redactor;
  const state = await findActorState(deps, target.actorKey);
  const subject = await subjectFor(deps, target);
  const thread = subject === null ? null : await deps.notifier.thread(subject.threadKey);
  const lines = [`*${escapeMrkdwn(target.actorKey)}*`];
  if (state === null && thread === null) {
    lines.push(
      'kube-remedy knows nothing about it: no saved actor state and no incident told to Slack. It may be healthy and unwatched, not selected by any policy, or not seen yet.',
    );
    return lines.join('\n');
  }
  if (state !== null) {
    lines.push(
      `State: \`${escapeMrkdwn(state.state)}\` (saved ${slackDate(state.savedAt)} by \`${escapeMrkdwn(state.owner)}\`, machine ${escapeMrkdwn(state.machine)})`,
    );
    if (state.incidentId !== null) {
      lines.push(
        `Incident: \`${escapeMrkdwn(state.incidentId)}\`${state.decision === null ? '' : ` — ${safe(redactor, state.decision, 500)}`}`,
      );
    }
    for (const entry of state.history.slice(-5)) {
      lines.push(
        `• ${slackDate(entry.at)} ${escapeMrkdwn(entry.decision)}: ${safe(redactor, entry.reason, 300)}`,
      );
    }
  } else {
    lines.push('No saved actor state (the actor may have stopped, or its owner has not saved it).');
  }
  if (thread !== null && subject !== null) {
    const member = thread.members.find(
      (m) => m.actorKey === subject.actorKey && m.incidentId === subject.incidentId,
    );
    const link = await deps.slack
      .permalink({ channel: thread.channel, ts: thread.ts })
      .catch(() => null);
    const label = member === undefined ? 'incident thread' : STATUS_LABEL[member.status];
    const by = member?.by === undefined ? '' : ` by ${member.by}`;
    lines.push(
      `Slack: ${link === null ? label : `<${link}|${label}>`}${by} (incident \`${escapeMrkdwn(subject.incidentId)}\`)`,
    );
  }
  return lines.join('\n');
}

const APPROVABLE = new Set(['awaitingApproval']);
const SNOOZABLE = new Set([
  'awaitingApproval',
  'escalated',
  'quarantined',
  'acknowledged',
  'snoozed',
]);

export async function handleCommand(
  deps: CommandDeps,
  input: CommandInput,
  signal?: AbortSignal,
): Promise<InteractionOutcome | { ok: true; reply: string; message?: undefined }> {
  const command = parseCommand(input.text);
  if (command.verb === 'help') {
    return {
      ok: true,
      reply:
        command.error === undefined ? USAGE : `:warning: ${escapeMrkdwn(command.error)}.\n${USAGE}`,
    };
  }
  if (command.verb === 'status') return { ok: true, reply: await statusText(deps, command.target) };

  const interaction = ['command', input.teamId, input.userId, input.triggerId].join('|');
  const object = escapeMrkdwn(command.target.actorKey);
  if (command.verb === 'trigger') {
    let subject = await deps.notifier.latestSubject(command.target.actorKey);
    if (subject === null) {
      const state = await findActorState(deps, command.target.actorKey);
      const policyName =
        (await deps.policyNameFor?.(command.target.actorKey)) ?? state?.policy ?? undefined;
      const policy = await deps.policies?.(policyName, command.target.actorKey);
      if (state === null || policy === undefined) {
        return {
          ok: false,
          code: 'unknown-incident',
          reply: `:no_entry: kube-remedy does not know which actor and policy govern ${object}. Nothing was done.`,
        };
      }
      subject = {
        ref: '',
        owner: state.owner,
        actorKey: command.target.actorKey,
        incidentId: state.incidentId ?? '',
        threadKey: '',
        group: null,
        policy: policyName ?? null,
        approvers: policy.approvers,
      };
    }
    return sendPersonCommand(
      deps,
      {
        subject,
        type: 'TRIGGER',
        userId: input.userId,
        at: input.at,
        interaction,
        reason: command.reason ?? 'asked for from Slack',
      },
      signal,
    );
  }

  const subject = await subjectFor(deps, command.target);
  if (subject === null) {
    return {
      ok: false,
      code: 'unknown-incident',
      reply: `:no_entry: kube-remedy told Slack about no incident of ${object}. Nothing was done.`,
    };
  }
  const thread = await deps.notifier.thread(subject.threadKey);
  const member = thread?.members.find(
    (m) => m.actorKey === subject.actorKey && m.incidentId === subject.incidentId,
  );
  const allowed = command.verb === 'approve' ? APPROVABLE : SNOOZABLE;
  if (member === undefined || !allowed.has(member.status)) {
    const now = member === undefined ? 'unknown' : STATUS_LABEL[member.status].toLowerCase();
    return {
      ok: false,
      code: 'unknown-incident',
      reply: `:no_entry: ${object} cannot be ${command.verb === 'approve' ? 'approved' : 'snoozed'} now (its incident is ${now}). Nothing was done.`,
    };
  }
  if (command.verb === 'approve') {
    return sendPersonCommand(
      deps,
      { subject, type: 'APPROVE', userId: input.userId, at: input.at, interaction },
      signal,
    );
  }
  const outcome = await sendPersonCommand(
    deps,
    {
      subject,
      type: 'SNOOZE',
      userId: input.userId,
      at: input.at,
      interaction,
      durationMs: command.durationMs,
    },
    signal,
  );
  if (!outcome.ok) return outcome;
  // Another pod of the workload may hold the incident now: say which was snoozed.
  const holder = outcome.message.actorKey;
  const snoozed =
    holder === subject.actorKey
      ? object
      : `${escapeMrkdwn(holder)} (which took the incident over from ${escapeMrkdwn(subject.actorKey)})`;
  return {
    ...outcome,
    reply: `:zzz: ${snoozed} snoozed for ${formatDuration(command.durationMs)}.`,
  };
}
