/**
 * Tells Slack about incidents: one thread per incident (or per group of objects with the same
 * owner), a threaded notice for every transition the machines tell about and every action people
 * take, and the parent message edited to show the current state. Every Slack post a job makes is
 * recorded under the job's id before the job moves on, so a rerun of the same job posts nothing
 * twice; the parent is edited, never reposted.
 */
import type { SlackApi, SlackMessageRef } from '../adapters/slack/client.ts';
import type { EffectJob } from '../effects/catalogue.ts';
import {
  describeEffect,
  objectName,
  type ObjectRef,
  type RemediationEffect,
} from '../machines/effects.ts';
import type { Redactor } from '../redaction/index.ts';
import {
  escapeMrkdwn,
  renderNotice,
  renderParent,
  renderPersonAction,
  renderSuggestionNotice,
  renderTargetMessage,
  STATUS_LABEL,
  type RenderContext,
} from './blocks.ts';
import {
  ACTIVITY_LIMIT,
  notifyEffectSchema,
  type ActivityEntry,
  type Approvers,
  type ChatOpsPolicy,
  type EvidenceLink,
  type MemberStatus,
  type MemberView,
  type NotifyEffect,
  type PolicyLookup,
  type Subject,
  type Suggestion,
  type ThreadView,
} from './model.ts';
import type { ChatOpsStore } from './store.ts';
import { signButtonToken, subjectRef } from './tokens.ts';

export interface NotifierOptions {
  slack: SlackApi;
  store: ChatOpsStore;
  buttonSecret: string;
  /** How long escalation buttons stay valid. */
  buttonTtlMs: number;
  /** For incidents whose policy names no channel. */
  defaultChannel?: string;
  /** The policy's Slack settings when a job carries none. */
  policies?: PolicyLookup;
  redactor: Redactor;
}

/** The job's parameters cannot be a notification (a programming error upstream). */
export class InvalidNotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNotificationError';
  }
}

/** Nowhere to post: neither the job, its policy nor the configuration names a channel. */
export class NoChannelError extends Error {
  constructor(policy: string | undefined) {
    super(
      `no Slack channel for this incident: policy ${policy ?? '(none)'} names none and slack.channel is unset`,
    );
    this.name = 'NoChannelError';
  }
}

export interface NotifyResult {
  outcome: string;
  channel: string;
  /** The parent message of the incident's thread. */
  threadTs: string;
  replyTs: string;
  /** The message posted in an escalation target's own channel. */
  targetTs?: string;
}

export type PersonActionType = 'APPROVE' | 'REJECT' | 'ESCALATE' | 'ACK' | 'SNOOZE' | 'TRIGGER';

export interface PersonAction {
  type: PersonActionType;
  /** `<@U123>`. */
  by: string;
  at: number;
  /** Unique per interaction: what a rerun finds its posts under. */
  key: string;
  durationText?: string;
}

export interface Notifier {
  notify: (job: EffectJob, jobId: string, signal?: AbortSignal) => Promise<NotifyResult>;
  /** Shows in the thread what a person did (after it was sent to the actor). */
  recordPersonAction: (
    subject: Subject,
    action: PersonAction,
    signal?: AbortSignal,
  ) => Promise<void>;
  /** Shows an LLM suggestion (or why there is none) in the incident's thread, if it has one. */
  attachSuggestion: (
    job: EffectJob,
    jobId: string,
    suggestion: Suggestion | null,
    why: string | null,
    signal?: AbortSignal,
  ) => Promise<boolean>;
  /** Adds evidence links to the incident's parent message, if it has a thread. */
  attachLinks: (
    incidentId: string,
    group: string | undefined,
    links: EvidenceLink[],
    signal?: AbortSignal,
  ) => Promise<boolean>;
  /** The subject (incident reference) of an actor's latest incident that Slack was told about. */
  latestSubject: (actorKey: string) => Promise<Subject | null>;
  thread: (threadKey: string) => Promise<ThreadView | null>;
  renderContext: RenderContext;
}

const STATUS_OF: Readonly<Record<NonNullable<NotifyEffect['purpose']>, MemberStatus>> = {
  approvalRequested: 'awaitingApproval',
  escalated: 'escalated',
  quarantined: 'quarantined',
  resolved: 'resolved',
  unverified: 'unverified',
};

const REMEDIATION_KINDS = new Set([
  'restartPod',
  'deletePod',
  'evictPod',
  'rolloutRestart',
  'cordon',
  'uncordon',
  'drain',
  'taint',
  'untaint',
  'rollback',
  'scale',
  'openPullRequest',
]);

function refOf(target: NotifyEffect['target']): ObjectRef {
  return {
    kind: target.kind as ObjectRef['kind'],
    namespace: target.namespace,
    name: target.name,
    uid: '',
    resourceVersion: '',
  };
}

/** The machine's own words for what would be done. */
function describeProposal(proposes: NonNullable<NotifyEffect['proposes']>): string {
  if (REMEDIATION_KINDS.has(proposes.kind)) {
    try {
      return describeEffect(proposes as unknown as RemediationEffect);
    } catch {
      // an effect of a shape this version does not know: say it plainly below
    }
  }
  return `${proposes.kind} ${objectName(refOf(proposes.target))}`;
}

function addActivity(view: ThreadView, entry: ActivityEntry): ThreadView {
  if (entry.key !== undefined && view.activity.some((a) => a.key === entry.key)) return view;
  const activity = [...view.activity, entry].sort((a, b) => a.at - b.at).slice(-ACTIVITY_LIMIT);
  return { ...view, activity };
}

function upsertMember(view: ThreadView, member: MemberView): ThreadView {
  const at = view.members.findIndex(
    (m) => m.actorKey === member.actorKey && m.incidentId === member.incidentId,
  );
  if (at < 0) return { ...view, members: [...view.members, member] };
  const existing = view.members[at] as MemberView;
  // An older job (retried late) never undoes what a newer one or a person did.
  if (existing.updatedAt > member.updatedAt) return view;
  const members = [...view.members];
  members[at] = { ...member, ...(existing.by === undefined ? {} : { by: existing.by }) };
  return { ...view, members };
}

export function createNotifier(options: NotifierOptions): Notifier {
  const { slack, store, redactor } = options;
  const renderContext: RenderContext = {
    sign: (claim) => signButtonToken(claim, options.buttonSecret),
    redactor,
  };

  async function policyOf(job: EffectJob, effect: NotifyEffect): Promise<ChatOpsPolicy> {
    const looked =
      effect.chatops?.channel !== undefined && effect.chatops.approvers !== undefined
        ? undefined
        : await options.policies?.(job.policy, job.actorKey);
    const approvers: Approvers = effect.chatops?.approvers ??
      looked?.approvers ?? { users: [], groups: [] };
    const channel = effect.chatops?.channel ?? looked?.channel ?? options.defaultChannel;
    return channel === undefined ? { approvers } : { channel, approvers };
  }

  function memberOf(job: EffectJob, effect: NotifyEffect): MemberView {
    const purpose = effect.purpose ?? 'escalated';
    const status = STATUS_OF[purpose];
    const escalationExpiry = job.requestedAt + options.buttonTtlMs;
    const member: MemberView = {
      actorKey: job.actorKey,
      incidentId: job.incidentId,
      owner: job.owner,
      object: objectName(refOf(effect.target)),
      namespace: effect.target.namespace,
      status,
      reason: effect.reason,
      updatedAt: job.requestedAt,
      buttons:
        purpose === 'approvalRequested'
          ? { kind: 'approval', expiresAt: effect.expiresAt ?? escalationExpiry }
          : purpose === 'resolved' || purpose === 'unverified'
            ? null
            : { kind: 'escalation', expiresAt: escalationExpiry },
    };
    if (effect.proposes !== undefined) member.proposes = describeProposal(effect.proposes);
    if (effect.level !== null) member.level = effect.level + 1;
    return member;
  }

  async function onceFor(
    jobId: string,
    part: string,
    post: () => Promise<SlackMessageRef>,
  ): Promise<SlackMessageRef> {
    const done = await store.posted(jobId, part);
    if (done !== null) return done;
    const posted = await post();
    await store.setPosted(jobId, part, posted);
    return posted;
  }

  async function groupMention(userGroup: string, signal?: AbortSignal): Promise<string> {
    const handle = userGroup.replace(/^@/, '');
    if (/^S[A-Z0-9]+$/.test(handle)) return `<!subteam^${handle}>`;
    const groups = await slack.userGroups(signal);
    const found = groups.find((g) => g.handle === handle || g.name === handle);
    return found === undefined ? `@${escapeMrkdwn(handle)}` : `<!subteam^${found.id}>`;
  }

  async function refreshParent(view: ThreadView, signal?: AbortSignal): Promise<void> {
    await slack.update(
      { channel: view.channel, ts: view.ts, ...renderParent(view, renderContext) },
      signal,
    );
  }

  const notify: Notifier['notify'] = async (job, jobId, signal) => {
    const parsed = notifyEffectSchema.safeParse(job.effect);
    if (!parsed.success) {
      throw new InvalidNotificationError(
        `the ${job.effect.kind} effect has bad parameters: ${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(effect)'}: ${i.message}`)
          .join('; ')}`,
      );
    }
    const effect = parsed.data;
    const purpose = effect.purpose ?? 'escalated';
    const policy = await policyOf(job, effect);
    const group = effect.group ?? null;

    return store.withLock(
      group ?? job.incidentId,
      async () => {
        const groupRecord = group === null ? null : await store.group(group);
        const threadKey =
          (await store.threadOf(job.incidentId)) ?? groupRecord?.threadKey ?? job.incidentId;
        const member = memberOf(job, effect);
        let view = await store.thread(threadKey);
        if (view === null) {
          const channel =
            policy.channel ?? (effect.to?.type === 'slack' ? effect.to.channel : undefined);
          if (channel === undefined) throw new NoChannelError(job.policy);
          const draft: ThreadView = {
            threadKey,
            group,
            policy: job.policy ?? null,
            channel,
            ts: '',
            openedAt: job.requestedAt,
            members: [member],
            links: [],
            suggestion: null,
            noSuggestion: null,
            activity: [],
          };
          const parent = await onceFor(jobId, 'parent', () =>
            slack.postMessage({ channel, ...renderParent(draft, renderContext) }, signal),
          );
          view = { ...draft, channel: parent.channel, ts: parent.ts };
        } else {
          view = upsertMember(view, member);
        }
        const shown = view.members.find(
          (m) => m.actorKey === member.actorKey && m.incidentId === member.incidentId,
        ) as MemberView;
        const to = effect.to;
        const words =
          purpose === 'escalated' && to !== null
            ? `escalated ${shown.object} (level ${member.level ?? 1})`
            : `${STATUS_LABEL[member.status].toLowerCase()}: ${shown.object}`;
        view = addActivity(view, { at: job.requestedAt, text: words, key: jobId });
        if (effect.links !== undefined) {
          const known = new Set(view.links.map((l) => l.url));
          view = {
            ...view,
            links: [...view.links, ...effect.links.filter((l) => !known.has(l.url))],
          };
        }
        await store.saveThread(view);
        await store.setThreadOf(job.incidentId, threadKey);
        await store.saveSubject({
          ref: subjectRef(job),
          owner: job.owner,
          actorKey: job.actorKey,
          incidentId: job.incidentId,
          threadKey,
          group,
          policy: job.policy ?? null,
          approvers: policy.approvers,
          ...(job.workload === undefined ? {} : { workload: job.workload }),
        });
        if (group !== null) {
          const record = groupRecord ?? { threadKey, open: [] };
          if (record.threadKey === threadKey) {
            const open = record.open.filter((id) => id !== job.incidentId);
            if (purpose !== 'resolved' && purpose !== 'unverified') open.push(job.incidentId);
            await store.saveGroup(group, { threadKey, open });
          }
        }

        const mentionText =
          to?.type === 'slackUserGroup' ? await groupMention(to.userGroup, signal) : undefined;
        const notice = {
          member: { ...member, object: shown.object },
          purpose,
          to,
          level: member.level ?? null,
          ...(mentionText === undefined ? {} : { groupMention: mentionText }),
        };
        const reply = await onceFor(jobId, 'reply', () =>
          slack.postMessage(
            {
              channel: view.channel,
              threadTs: view.ts,
              broadcast: to?.type === 'slackUserGroup',
              ...renderNotice(notice, renderContext),
            },
            signal,
          ),
        );
        let target: SlackMessageRef | undefined;
        if (to?.type === 'slack' && to.channel !== view.channel && to.channel !== policy.channel) {
          const thread = view;
          target = await onceFor(jobId, 'target', async () => {
            const permalink = await slack.permalink(
              { channel: thread.channel, ts: thread.ts },
              signal,
            );
            return slack.postMessage(
              {
                channel: to.channel,
                ...renderTargetMessage({ ...notice, permalink }, renderContext),
              },
              signal,
            );
          });
        }
        await refreshParent(view, signal);
        const where = target === undefined ? view.channel : `${view.channel} and ${target.channel}`;
        const result: NotifyResult = {
          outcome: `told Slack (${where}): ${words}`,
          channel: view.channel,
          threadTs: view.ts,
          replyTs: reply.ts,
        };
        if (target !== undefined) result.targetTs = target.ts;
        return result;
      },
      signal === undefined ? {} : { signal },
    );
  };

  const NEXT: Readonly<
    Record<PersonActionType, (m: MemberView) => Pick<MemberView, 'status' | 'buttons'>>
  > = {
    APPROVE: () => ({ status: 'approved', buttons: null }),
    REJECT: () => ({ status: 'rejected', buttons: null }),
    ESCALATE: () => ({ status: 'escalated', buttons: null }),
    ACK: (m) => ({
      status: 'acknowledged',
      buttons: m.buttons === null ? null : { ...m.buttons, kind: 'acknowledged' },
    }),
    // Snoozing an approval request gives people more time; it is still waiting for them.
    SNOOZE: (m) => ({
      status: m.status === 'awaitingApproval' ? 'awaitingApproval' : 'snoozed',
      buttons: m.buttons,
    }),
    TRIGGER: (m) => ({ status: m.status, buttons: m.buttons }),
  };

  const recordPersonAction: Notifier['recordPersonAction'] = async (subject, action, signal) => {
    await store.withLock(
      subject.group ?? subject.threadKey,
      async () => {
        let view = await store.thread(subject.threadKey);
        if (view === null) return;
        const at = view.members.findIndex(
          (m) => m.actorKey === subject.actorKey && m.incidentId === subject.incidentId,
        );
        const existing = view.members[at];
        if (existing === undefined) return;
        const members = [...view.members];
        members[at] = {
          ...existing,
          ...NEXT[action.type](existing),
          by: action.by,
          updatedAt: Math.max(existing.updatedAt, action.at),
        };
        const rendered = renderPersonAction(
          action.type,
          action.by,
          existing.object,
          action.durationText,
        );
        view = addActivity(
          { ...view, members },
          { at: action.at, text: rendered.text.replace(/;.*$/, ''), key: action.key },
        );
        await store.saveThread(view);
        const thread = view;
        await onceFor(action.key, 'reply', () =>
          slack.postMessage({ channel: thread.channel, threadTs: thread.ts, ...rendered }, signal),
        );
        await refreshParent(view, signal);
      },
      signal === undefined ? {} : { signal },
    );
  };

  const attachSuggestion: Notifier['attachSuggestion'] = async (
    job,
    jobId,
    suggestion,
    why,
    signal,
  ) => {
    const group = typeof job.effect.group === 'string' ? job.effect.group : null;
    return store.withLock(
      group ?? job.incidentId,
      async () => {
        const threadKey = await store.threadOf(job.incidentId);
        let view = threadKey === null ? null : await store.thread(threadKey);
        if (view === null) return false;
        if (suggestion !== null) view = { ...view, suggestion, noSuggestion: null };
        else if (view.suggestion === null) view = { ...view, noSuggestion: why };
        await store.saveThread(view);
        const thread = view;
        await onceFor(jobId, 'suggestion', () =>
          slack.postMessage(
            {
              channel: thread.channel,
              threadTs: thread.ts,
              ...renderSuggestionNotice(redactor, suggestion, why),
            },
            signal,
          ),
        );
        await refreshParent(view, signal);
        return true;
      },
      signal === undefined ? {} : { signal },
    );
  };

  const attachLinks: Notifier['attachLinks'] = async (incidentId, group, links, signal) =>
    store.withLock(
      group ?? incidentId,
      async () => {
        const threadKey = await store.threadOf(incidentId);
        const view = threadKey === null ? null : await store.thread(threadKey);
        if (view === null) return false;
        const known = new Set(view.links.map((l) => l.url));
        const added = links.filter((l) => !known.has(l.url));
        if (added.length === 0) return true;
        const next = { ...view, links: [...view.links, ...added].slice(-10) };
        await store.saveThread(next);
        await refreshParent(next, signal);
        return true;
      },
      signal === undefined ? {} : { signal },
    );

  return {
    notify,
    recordPersonAction,
    attachSuggestion,
    attachLinks,
    latestSubject: async (actorKey) => {
      const ref = await store.latestRef(actorKey);
      return ref === null ? null : store.subject(ref);
    },
    thread: (threadKey) => store.thread(threadKey),
    renderContext,
  };
}
