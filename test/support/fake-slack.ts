/**
 * A local server that speaks the Slack Web API's wire format for the methods kube-remedy calls
 * (form-encoded or JSON requests, `{ok: true, …}` answers typed with @slack/web-api's response
 * types, `{ok: false, error}` failures, HTTP 429 with Retry-After), plus `response_url` endpoints.
 * It checks the bot token and the Block Kit limits Slack enforces, answering `invalid_blocks` as
 * Slack does, and records everything so tests assert on what Slack would show.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import type { webApi } from '@slack/bolt';

export interface FakeSlackUser {
  id: string;
  name: string;
  displayName?: string;
  email?: string;
  deleted?: boolean;
  isBot?: boolean;
}

export interface FakeSlackGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

export interface FakeSlackOptions {
  /** The bot token requests must carry. */
  token: string;
  /** Channels by name, e.g. `{ '#incidents': 'C0INCIDENTS' }`. */
  channels: Record<string, string>;
  users?: FakeSlackUser[];
  userGroups?: FakeSlackGroup[];
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Record<string, unknown>[];
  threadTs?: string;
  broadcast?: boolean;
  /** How many times chat.update changed it. */
  updates: number;
}

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
}

export interface ResponseUrlPost {
  /** The name the test gave the response URL. */
  name: string;
  body: Record<string, unknown>;
}

export type Failure = { error: string } | { status: number; retryAfterSeconds?: number };

export interface FakeSlack {
  /** Base URL of the Web API, for `slackApiUrl`. */
  apiUrl: string;
  /** A response_url that records what is posted to it under `name`. */
  responseUrl: (name: string) => string;
  /** Messages as Slack would show them now (updates applied), in the order they were posted. */
  messages: () => SlackMessage[];
  /** Every API call, in order. */
  calls: (method?: string) => ApiCall[];
  /** What was posted to response URLs (and chat.postEphemeral, under name `ephemeral`). */
  responses: (name?: string) => ResponseUrlPost[];
  /** The next call of `method` fails this way. */
  failNext: (method: string, failure: Failure) => void;
  setGroupMembers: (groupId: string, users: string[]) => void;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks)

type Json = Record<string, unknown>;

function textOf(value: unknown): { type?: unknown; text?: unknown } {
  return typeof value === 'object' && value !== null ? value : {};
}

function checkText(
  where: string,
  value: unknown,
  max: number,
  problems: string[],
  plainOnly = false,
): void {
  const text = textOf(value);
  if (
    plainOnly ? text.type !== 'plain_text' : text.type !== 'plain_text' && text.type !== 'mrkdwn'
  ) {
    problems.push(`${where}: bad text object type ${String(text.type)}`);
  }
  if (typeof text.text !== 'string' || text.text.length === 0)
    problems.push(`${where}: text is empty`);
  else if (text.text.length > max)
    problems.push(`${where}: must be less than ${max + 1} characters`);
}

export function blockProblems(blocks: unknown): string[] {
  const problems: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks: must be an array'];
  if (blocks.length > 50) problems.push('blocks: must be at most 50 items');
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  blocks.forEach((raw, i) => {
    const block = (typeof raw === 'object' && raw !== null ? raw : {}) as Json;
    const where = `[${i}]`;
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > 255) problems.push(`${where}.block_id: too long`);
      if (blockIds.has(block.block_id)) problems.push(`${where}.block_id: duplicate`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        checkText(`${where}.text`, block.text, 150, problems, true);
        break;
      case 'section': {
        if (block.text === undefined && block.fields === undefined) {
          problems.push(`${where}: section needs text or fields`);
        }
        if (block.text !== undefined) checkText(`${where}.text`, block.text, 3000, problems);
        if (block.fields !== undefined) {
          const fields = block.fields as unknown[];
          if (fields.length > 10) problems.push(`${where}.fields: at most 10`);
          fields.forEach((f, j) => checkText(`${where}.fields[${j}]`, f, 2000, problems));
        }
        break;
      }
      case 'context': {
        const elements = (block.elements ?? []) as unknown[];
        if (elements.length === 0 || elements.length > 10)
          problems.push(`${where}.elements: 1 to 10`);
        elements.forEach((e, j) => checkText(`${where}.elements[${j}]`, e, 3000, problems));
        break;
      }
      case 'actions': {
        const elements = (block.elements ?? []) as Json[];
        if (elements.length === 0 || elements.length > 25)
          problems.push(`${where}.elements: 1 to 25`);
        elements.forEach((e, j) => {
          const at = `${where}.elements[${j}]`;
          if (e.type !== 'button') problems.push(`${at}: unsupported element ${String(e.type)}`);
          checkText(`${at}.text`, e.text, 75, problems, true);
          if (typeof e.action_id !== 'string' || e.action_id.length > 255) {
            problems.push(`${at}.action_id: required, at most 255 characters`);
          } else if (actionIds.has(e.action_id)) {
            problems.push(`${at}.action_id: duplicate`);
          } else {
            actionIds.add(e.action_id);
          }
          if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000)) {
            problems.push(`${at}.value: at most 2000 characters`);
          }
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') {
            problems.push(`${at}.style: primary or danger`);
          }
          if (e.confirm !== undefined) {
            const confirm = e.confirm as Json;
            checkText(`${at}.confirm.title`, confirm.title, 100, problems, true);
            checkText(`${at}.confirm.text`, confirm.text, 300, problems);
            checkText(`${at}.confirm.confirm`, confirm.confirm, 30, problems, true);
            checkText(`${at}.confirm.deny`, confirm.deny, 30, problems, true);
          }
        });
        break;
      }
      case 'divider':
        break;
      default:
        problems.push(`${where}: unsupported block type ${String(block.type)}`);
    }
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(request: IncomingMessage, body: string): Json {
  const type = request.headers['content-type'] ?? '';
  if (type.includes('application/json')) return body === '' ? {} : (JSON.parse(body) as Json);
  const form = parseQuery(body);
  const args: Json = {};
  for (const [key, value] of Object.entries(form)) {
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined) continue;
    // The SDK sends objects (blocks, attachments) as JSON text inside the form.
    if ((key === 'blocks' || key === 'attachments') && text.startsWith('[')) {
      args[key] = JSON.parse(text);
    } else {
      args[key] = text;
    }
  }
  return args;
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

export async function startFakeSlack(options: FakeSlackOptions): Promise<FakeSlack> {
  const messages: SlackMessage[] = [];
  const calls: ApiCall[] = [];
  const responses: ResponseUrlPost[] = [];
  const failures = new Map<string, Failure[]>();
  const groups = new Map((options.userGroups ?? []).map((g) => [g.id, { ...g }]));
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const channelIds = new Set(Object.values(options.channels));
  let clock = 1_700_000_000;
  let counter = 0;
  const nextTs = (): string => {
    counter += 1;
    clock += 1;
    return `${clock}.${String(counter).padStart(6, '0')}`;
  };
  const channelOf = (given: unknown): string | undefined => {
    if (typeof given !== 'string') return undefined;
    if (channelIds.has(given)) return given;
    return options.channels[given] ?? options.channels[`#${given}`];
  };

  type Handler = (args: Json) => unknown;
  const fail = (error: string, extra: Json = {}): Json => ({ ok: false, error, ...extra });

  const methods: Record<string, Handler> = {
    'auth.test': (): webApi.AuthTestResponse => ({
      ok: true,
      url: 'https://kube-remedy-test.slack.com/',
      team: 'test',
      user: 'kube-remedy',
      team_id: 'T0TEST',
      user_id: 'U0BOT',
      bot_id: 'B0BOT',
    }),
    'chat.postMessage': (args) => {
      const channel = channelOf(args.channel);
      if (channel === undefined) return fail('channel_not_found');
      if (typeof args.text !== 'string' && args.blocks === undefined) return fail('no_text');
      if (args.blocks !== undefined) {
        const problems = blockProblems(args.blocks);
        if (problems.length > 0) return fail('invalid_blocks', { errors: problems });
      }
      const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
      if (
        threadTs !== undefined &&
        !messages.some((m) => m.channel === channel && m.ts === threadTs)
      ) {
        return fail('thread_not_found');
      }
      const message: SlackMessage = {
        channel,
        ts: nextTs(),
        text: typeof args.text === 'string' ? args.text : '',
        blocks: (args.blocks as Json[] | undefined) ?? [],
        updates: 0,
      };
      if (threadTs !== undefined) message.threadTs = threadTs;
      if (args.reply_broadcast === true || args.reply_broadcast === 'true')
        message.broadcast = true;
      messages.push(message);
      const answer: webApi.ChatPostMessageResponse = {
        ok: true,
        channel,
        ts: message.ts,
        message: { type: 'message', text: message.text, ts: message.ts, bot_id: 'B0BOT' },
      };
      return answer;
    },
    'chat.update': (args) => {
      const channel = channelOf(args.channel);
      const message = messages.find((m) => m.channel === channel && m.ts === args.ts);
      if (message === undefined) return fail('message_not_found');
      if (args.blocks !== undefined) {
        const problems = blockProblems(args.blocks);
        if (problems.length > 0) return fail('invalid_blocks', { errors: problems });
        message.blocks = args.blocks as Json[];
      }
      if (typeof args.text === 'string') message.text = args.text;
      message.updates += 1;
      const answer: webApi.ChatUpdateResponse = {
        ok: true,
        channel: message.channel,
        ts: message.ts,
        text: message.text,
      };
      return answer;
    },
    'chat.postEphemeral': (args) => {
      const channel = channelOf(args.channel);
      if (channel === undefined) return fail('channel_not_found');
      if (typeof args.user !== 'string' || !users.has(args.user))
        return fail('user_not_in_channel');
      responses.push({ name: 'ephemeral', body: args });
      const answer: webApi.ChatPostEphemeralResponse = { ok: true, message_ts: nextTs() };
      return answer;
    },
    'chat.getPermalink': (args) => {
      const channel = channelOf(args.channel);
      const message = messages.find((m) => m.channel === channel && m.ts === args.message_ts);
      if (message === undefined) return fail('message_not_found');
      const answer: webApi.ChatGetPermalinkResponse = {
        ok: true,
        channel: message.channel,
        permalink: `https://kube-remedy-test.slack.com/archives/${message.channel}/p${message.ts.replace('.', '')}`,
      };
      return answer;
    },
    'users.info': (args) => {
      const user = typeof args.user === 'string' ? users.get(args.user) : undefined;
      if (user === undefined) return fail('user_not_found');
      const answer: webApi.UsersInfoResponse = {
        ok: true,
        user: {
          id: user.id,
          name: user.name,
          real_name: user.displayName ?? user.name,
          deleted: user.deleted === true,
          is_bot: user.isBot === true,
          profile: {
            display_name: user.displayName ?? user.name,
            real_name: user.displayName ?? user.name,
            ...(user.email === undefined ? {} : { email: user.email }),
          },
        },
      };
      return answer;
    },
    'usergroups.list': () => {
      const answer: webApi.UsergroupsListResponse = {
        ok: true,
        usergroups: [...groups.values()].map((g) => ({ id: g.id, handle: g.handle, name: g.name })),
      };
      return answer;
    },
    'usergroups.users.list': (args) => {
      const group = typeof args.usergroup === 'string' ? groups.get(args.usergroup) : undefined;
      if (group === undefined) return fail('no_such_subteam');
      const answer: webApi.UsergroupsUsersListResponse = { ok: true, users: [...group.users] };
      return answer;
    },
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const body = await readBody(request);
      if (request.method === 'POST' && url.pathname.startsWith('/response/')) {
        responses.push({
          name: decodeURIComponent(url.pathname.slice('/response/'.length)),
          body: JSON.parse(body) as Json,
        });
        send(response, 200, { ok: true });
        return;
      }
      const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
      const handler = methods[method];
      if (request.method !== 'POST' || handler === undefined) {
        send(response, 404, fail('unknown_method'));
        return;
      }
      let args: Json;
      try {
        args = parseArgs(request, body);
      } catch {
        send(response, 200, fail('invalid_form_data'));
        return;
      }
      calls.push({ method, args });
      const auth = request.headers.authorization;
      const token = auth?.startsWith('Bearer ') === true ? auth.slice(7) : args.token;
      if (token !== options.token) {
        send(response, 200, fail(token === undefined ? 'not_authed' : 'invalid_auth'));
        return;
      }
      const failure = failures.get(method)?.shift();
      if (failure !== undefined) {
        if ('status' in failure) {
          const headers: Record<string, string> =
            failure.retryAfterSeconds === undefined
              ? {}
              : { 'retry-after': String(failure.retryAfterSeconds) };
          send(
            response,
            failure.status,
            fail(failure.status === 429 ? 'ratelimited' : 'fatal_error'),
            headers,
          );
        } else {
          send(response, 200, fail(failure.error));
        }
        return;
      }
      send(response, 200, handler(args));
    })().catch((error: unknown) => {
      send(response, 500, { ok: false, error: 'fatal_error', detail: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${base}/api/`,
    responseUrl: (name) => `${base}/response/${encodeURIComponent(name)}`,
    messages: () => messages.map((m) => ({ ...m })),
    calls: (method) => calls.filter((c) => method === undefined || c.method === method),
    responses: (name) => responses.filter((r) => name === undefined || r.name === name),
    failNext: (method, failure) => {
      const queue = failures.get(method) ?? [];
      queue.push(failure);
      failures.set(method, queue);
    },
    setGroupMembers: (groupId, members) => {
      const group = groups.get(groupId);
      if (group !== undefined) group.users = [...members];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
