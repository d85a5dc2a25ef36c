/**
 * The Slack Web API as kube-remedy uses it: a thin wrapper over `@slack/web-api` (the client
 * inside Bolt) with typed errors and an AbortSignal per call. The base URL is configurable, so
 * tests reach a local server that speaks Slack's wire format.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { webApi, type types } from '@slack/bolt';
import type { Logger } from '../../telemetry/index.ts';

export type SlackBlock = types.KnownBlock;

export interface SlackMessageRef {
  /** The channel ID Slack answered with (never a `#name`). */
  channel: string;
  ts: string;
}

export interface SlackUser {
  id: string;
  /** The handle, e.g. `alice`. */
  name: string;
  /** What people see: display name, else real name, else handle. */
  displayName: string;
  /** Present when the app may read e-mail addresses (`users:read.email`). */
  email?: string;
  deleted: boolean;
  isBot: boolean;
}

export interface SlackUserGroup {
  id: string;
  handle: string;
  name: string;
}

export interface PostMessage {
  channel: string;
  /** The notification text, and what clients without blocks show. */
  text: string;
  blocks?: SlackBlock[];
  threadTs?: string;
  /** Also show a thread reply in the channel. */
  broadcast?: boolean;
}

export interface SlackApi {
  postMessage: (message: PostMessage, signal?: AbortSignal) => Promise<SlackMessageRef>;
  update: (
    message: SlackMessageRef & { text: string; blocks?: SlackBlock[] },
    signal?: AbortSignal,
  ) => Promise<SlackMessageRef>;
  postEphemeral: (
    message: { channel: string; user: string; text: string; threadTs?: string },
    signal?: AbortSignal,
  ) => Promise<void>;
  /** A link to a message, or null when Slack cannot give one. */
  permalink: (message: SlackMessageRef, signal?: AbortSignal) => Promise<string | null>;
  /** The user, or null when Slack does not know the ID. */
  userInfo: (userId: string, signal?: AbortSignal) => Promise<SlackUser | null>;
  /** Member IDs of a user group, by the group's ID (`S…`). */
  userGroupMembers: (groupId: string, signal?: AbortSignal) => Promise<string[]>;
  userGroups: (signal?: AbortSignal) => Promise<SlackUserGroup[]>;
}

/**
 * A Slack call failed. `code` is Slack's error string (`channel_not_found`, `invalid_auth`…),
 * `ratelimited` for HTTP 429, `http_<status>` for other HTTP failures, `request_failed` when no
 * answer came.
 */
export class SlackApiError extends Error {
  readonly code: string;
  readonly method: string;
  /** For `ratelimited`: how long Slack asks to wait. */
  readonly retryAfterMs?: number;

  constructor(
    method: string,
    code: string,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'SlackApiError';
    this.method = method;
    this.code = code;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** Errors that will not go away by retrying the same call. */
const TERMINAL_CODES: ReadonlySet<string> = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'invalid_blocks',
  'invalid_arguments',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'cant_update_message',
  'message_not_found',
  'no_such_subteam',
  'user_not_found',
  'http_400',
  'http_403',
  'http_404',
]);

export function isTerminalSlackError(error: unknown): error is SlackApiError {
  return error instanceof SlackApiError && TERMINAL_CODES.has(error.code);
}

export interface SlackApiOptions {
  token: string;
  /** Base URL of the Web API, ending in `/api/`. Default: `https://slack.com/api/`. */
  apiUrl?: string;
  logger: Logger;
  /** Per request. Default: 10 s. */
  timeoutMs?: number;
}

/** Adapts pino to the logger interface of the Slack SDKs. */
export function slackLogger(logger: Logger): webApi.Logger {
  let level = webApi.LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => logger.debug({ slack: msg.map(String).join(' ') }, 'slack sdk'),
    info: (...msg: unknown[]) => logger.info({ slack: msg.map(String).join(' ') }, 'slack sdk'),
    warn: (...msg: unknown[]) => logger.warn({ slack: msg.map(String).join(' ') }, 'slack sdk'),
    error: (...msg: unknown[]) => logger.error({ slack: msg.map(String).join(' ') }, 'slack sdk'),
    setLevel: (next: webApi.LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

function toSlackError(method: string, error: unknown): SlackApiError {
  if (error instanceof webApi.WebAPIPlatformError) {
    return new SlackApiError(method, error.data.error, `Slack ${method}: ${error.data.error}`, {
      cause: error,
    });
  }
  if (error instanceof webApi.WebAPIRateLimitedError) {
    return new SlackApiError(method, 'ratelimited', `Slack ${method}: rate limited`, {
      cause: error,
      retryAfterMs: error.retryAfter * 1000,
    });
  }
  if (error instanceof webApi.WebAPIHTTPError) {
    return new SlackApiError(
      method,
      `http_${error.statusCode}`,
      `Slack ${method}: HTTP ${error.statusCode}`,
      { cause: error },
    );
  }
  const why = error instanceof Error ? error.message : String(error);
  return new SlackApiError(method, 'request_failed', `Slack ${method}: ${why}`, { cause: error });
}

export function createSlackApi(options: SlackApiOptions): SlackApi {
  // The SDK takes no signal per call; its fetch reads the caller's from here.
  const callSignal = new AsyncLocalStorage<AbortSignal | undefined>();
  const fetchWithSignal: webApi.FetchFunction = (url, init) => {
    const own = callSignal.getStore();
    const signals = [own, init?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return fetch(url, { ...init, ...(signal === undefined ? {} : { signal }) });
  };
  const client = new webApi.WebClient(options.token, {
    slackApiUrl: options.apiUrl ?? 'https://slack.com/api/',
    logger: slackLogger(options.logger),
    // Retries belong to the job queue; a rate limit becomes an error that says how long to wait.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
    fetch: fetchWithSignal,
  });

  async function call<T>(
    method: string,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await callSignal.run(signal, run);
    } catch (error) {
      throw toSlackError(method, error);
    }
  }

  return {
    postMessage: (message, signal) =>
      call('chat.postMessage', signal, async () => {
        // The SDK types thread_ts and reply_broadcast as a union of shapes; this is one of them.
        const args = {
          channel: message.channel,
          text: message.text,
          ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
          ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
          ...(message.broadcast === true ? { reply_broadcast: true } : {}),
          unfurl_links: false,
          unfurl_media: false,
        } as webApi.ChatPostMessageArguments;
        const answer = await client.chat.postMessage(args);
        return { channel: answer.channel ?? message.channel, ts: answer.ts ?? '' };
      }),
    update: (message, signal) =>
      call('chat.update', signal, async () => {
        const answer = await client.chat.update({
          channel: message.channel,
          ts: message.ts,
          text: message.text,
          ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
        });
        return { channel: answer.channel ?? message.channel, ts: answer.ts ?? message.ts };
      }),
    postEphemeral: (message, signal) =>
      call('chat.postEphemeral', signal, async () => {
        await client.chat.postEphemeral({
          channel: message.channel,
          user: message.user,
          text: message.text,
          ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
        });
      }),
    permalink: (message, signal) =>
      call('chat.getPermalink', signal, async () => {
        const answer = await client.chat.getPermalink({
          channel: message.channel,
          message_ts: message.ts,
        });
        return answer.permalink ?? null;
      }).catch((error: unknown) => {
        if (error instanceof SlackApiError && error.code !== 'ratelimited') return null;
        throw error;
      }),
    userInfo: (userId, signal) =>
      call('users.info', signal, async () => {
        const answer = await client.users.info({ user: userId });
        const user = answer.user;
        if (user?.id === undefined) return null;
        const result: SlackUser = {
          id: user.id,
          name: user.name ?? user.id,
          displayName: user.profile?.display_name || user.real_name || user.name || user.id,
          deleted: user.deleted === true,
          isBot: user.is_bot === true || user.is_app_user === true,
        };
        if (user.profile?.email !== undefined) result.email = user.profile.email;
        return result;
      }).catch((error: unknown) => {
        if (error instanceof SlackApiError && error.code === 'user_not_found') return null;
        throw error;
      }),
    userGroupMembers: (groupId, signal) =>
      call('usergroups.users.list', signal, async () => {
        const answer = await client.usergroups.users.list({ usergroup: groupId });
        return answer.users ?? [];
      }),
    userGroups: (signal) =>
      call('usergroups.list', signal, async () => {
        const answer = await client.usergroups.list({});
        return (answer.usergroups ?? []).flatMap((group) =>
          group.id === undefined
            ? []
            : [{ id: group.id, handle: group.handle ?? '', name: group.name ?? '' }],
        );
      }),
  };
}
