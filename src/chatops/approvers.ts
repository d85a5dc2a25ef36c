/**
 * Whether a Slack user is an approver under a policy: named directly (by ID, handle or e-mail),
 * or a member of a named user group, asked of Slack at the moment of the click
 * (usergroups.users.list), so a person removed from the on-call group loses the right at once.
 */
import { SlackApiError, type SlackApi, type SlackUser } from '../adapters/slack/client.ts';
import type { Approvers } from './model.ts';

export type ApproverCheck =
  { ok: true; via: string } | { ok: false; problem: 'no-approvers' | 'not-approver' };

const GROUP_ID = /^S[A-Z0-9]+$/;

function normal(text: string): string {
  return text.trim().replace(/^@/, '').toLowerCase();
}

/** True when a policy's user entry names this user. */
export function namesUser(entry: string, user: SlackUser): boolean {
  const wanted = normal(entry);
  if (wanted === '') return false;
  if (entry.trim() === user.id) return true;
  if (wanted.includes('@')) return user.email !== undefined && user.email.toLowerCase() === wanted;
  return wanted === user.name.toLowerCase();
}

export async function checkApprover(
  slack: SlackApi,
  approvers: Approvers,
  user: SlackUser,
  signal?: AbortSignal,
): Promise<ApproverCheck> {
  if (approvers.users.length === 0 && approvers.groups.length === 0) {
    return { ok: false, problem: 'no-approvers' };
  }
  const direct = approvers.users.find((entry) => namesUser(entry, user));
  if (direct !== undefined) return { ok: true, via: `user ${direct}` };
  if (approvers.groups.length === 0) return { ok: false, problem: 'not-approver' };

  const byHandle = approvers.groups.some((g) => !GROUP_ID.test(g.trim()))
    ? await slack.userGroups(signal)
    : [];
  for (const entry of approvers.groups) {
    const handle = normal(entry);
    const id = GROUP_ID.test(entry.trim())
      ? entry.trim()
      : byHandle.find((g) => g.handle.toLowerCase() === handle || g.name.toLowerCase() === handle)
          ?.id;
    if (id === undefined) continue;
    let members: string[];
    try {
      members = await slack.userGroupMembers(id, signal);
    } catch (error) {
      // A group deleted since the policy was written grants nothing; other failures propagate.
      if (error instanceof SlackApiError && error.code === 'no_such_subteam') continue;
      throw error;
    }
    if (members.includes(user.id)) return { ok: true, via: `group ${entry}` };
  }
  return { ok: false, problem: 'not-approver' };
}
