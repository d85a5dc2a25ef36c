/**
 * The Slack endpoint of the workers role: a Bolt app on an HTTP receiver, behind a guard that
 * bounds Slack's request timestamp on both sides. Bolt checks the signature and refuses requests
 * older than five minutes, but accepts a request dated in the future (a signature made ahead of
 * time stays valid for as long as the clock lags behind it): the guard refuses those before Bolt
 * reads them. Buttons and the slash command are acknowledged at once (Slack waits 3 s) and
 * answered through the request's response_url, ephemerally: only the person who clicked sees it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import type { Redis } from '../adapters/redis.ts';
import { slackLogger, type SlackApi } from '../adapters/slack/client.ts';
import type { Logger } from '../telemetry/index.ts';
import { RedisWorkloadStore } from '../workloads/store.ts';
import { handleCommand, type CommandDeps } from './commands.ts';
import { handleClick, refusal, type InteractionDeps } from './interactions.ts';
import type { PolicyLookup } from './model.ts';
import type { Notifier } from './notifier.ts';
import type { ChatOpsStore } from './store.ts';

export interface ChatOpsAppOptions {
  signingSecret: string;
  botToken: string;
  buttonSecret: string;
  /** Slack Web API base URL (`https://slack.com/api/`). */
  apiUrl: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Where control messages are published. */
  redis: Redis;
  keyPrefix: string;
  slack: SlackApi;
  store: ChatOpsStore;
  notifier: Notifier;
  logger: Logger;
  /** For `/kube-remedy trigger` on an object Slack was never told about. */
  policies?: PolicyLookup;
  policyNameFor?: CommandDeps['policyNameFor'];
  /** Default: `/slack/events`. */
  path?: string;
  /** Default: `/kube-remedy`. */
  command?: string;
  /** How far ahead of our clock a request may be dated. Default: 60 s. */
  maxFutureSkewMs?: number;
  /** How old a request may be (Bolt allows 5 minutes; this may only be stricter). Default: 5 min. */
  maxAgeMs?: number;
  now?: () => number;
}

export interface ChatOpsApp {
  /** Where Slack must send interactions and the slash command. */
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** Why a request's timestamp is refused, or undefined when it is within bounds. */
export function timestampProblem(
  headers: IncomingHttpHeaders,
  nowMs: number,
  maxFutureSkewMs: number,
  maxAgeMs: number,
): string | undefined {
  const raw = headers['x-slack-request-timestamp'];
  if (typeof raw !== 'string' || !/^\d{1,12}$/.test(raw)) {
    return 'missing or unreadable X-Slack-Request-Timestamp';
  }
  const atMs = Number(raw) * 1000;
  if (atMs > nowMs + maxFutureSkewMs) return 'request timestamp is in the future';
  if (atMs < nowMs - maxAgeMs) return 'request timestamp is too old';
  return undefined;
}

export async function startChatOpsApp(options: ChatOpsAppOptions): Promise<ChatOpsApp> {
  const log = options.logger.child({ component: 'slack-endpoint' });
  const now = options.now ?? Date.now;
  const path = options.path ?? '/slack/events';
  const deps: CommandDeps & InteractionDeps = {
    slack: options.slack,
    store: options.store,
    notifier: options.notifier,
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    buttonSecret: options.buttonSecret,
    logger: log,
    now,
    // Read only: where a pod's incident is held now (no transaction, so no connection of its own).
    workloads: new RedisWorkloadStore(options.redis, options.keyPrefix),
    ...(options.policies === undefined ? {} : { policies: options.policies }),
    ...(options.policyNameFor === undefined ? {} : { policyNameFor: options.policyNameFor }),
  };

  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: path,
    logger: slackLogger(log),
    processBeforeResponse: false,
    customPropertiesExtractor: (request) => ({
      slackRequestTimestamp: Number(request.headers['x-slack-request-timestamp']),
    }),
  });
  const app = new App({
    token: options.botToken,
    receiver,
    logger: slackLogger(log),
    clientOptions: { slackApiUrl: options.apiUrl, retryConfig: { retries: 0 } },
    convoStore: false,
    tokenVerificationEnabled: false,
    ignoreSelf: false,
  });

  app.action({ action_id: /^kube-remedy-/ }, async ({ ack, body, action, respond }) => {
    await ack();
    let reply: string;
    try {
      const click =
        body.type === 'block_actions' && action.type === 'button' && 'action_id' in action
          ? action
          : undefined;
      if (click === undefined) {
        reply = refusal('malformed').reply;
      } else {
        const outcome = await handleClick(deps, {
          teamId: body.team?.id ?? '',
          userId: body.user.id,
          actionId: click.action_id,
          value: click.value,
          actionTs: click.action_ts,
        });
        if (!outcome.ok) log.warn({ code: outcome.code, user: body.user.id }, 'button refused');
        reply = outcome.reply;
      }
    } catch (error) {
      log.error({ err: error }, 'handling a button failed');
      reply = refusal('unavailable').reply;
    }
    await respond({ response_type: 'ephemeral', replace_original: false, text: reply });
  });

  app.command(options.command ?? '/kube-remedy', async ({ ack, command, respond, context }) => {
    await ack();
    let reply: string;
    try {
      const seconds = context.slackRequestTimestamp as number;
      const outcome = await handleCommand(deps, {
        teamId: command.team_id,
        userId: command.user_id,
        text: command.text,
        triggerId: command.trigger_id,
        at: seconds * 1000,
      });
      if (!outcome.ok) log.warn({ code: outcome.code, user: command.user_id }, 'command refused');
      reply = outcome.reply;
    } catch (error) {
      log.error({ err: error }, 'handling a command failed');
      reply = refusal('unavailable').reply;
    }
    await respond({ response_type: 'ephemeral', text: reply });
  });

  app.error(async (error) => {
    log.error({ err: error }, 'slack endpoint error');
    await Promise.resolve();
  });

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === path) {
      const problem = timestampProblem(
        request.headers,
        now(),
        options.maxFutureSkewMs ?? 60_000,
        options.maxAgeMs ?? 5 * 60_000,
      );
      if (problem !== undefined) {
        log.warn({ problem }, 'request refused before signature verification');
        response.writeHead(401, { 'content-type': 'text/plain' }).end(`${problem}\n`);
        request.resume();
        return;
      }
    }
    try {
      receiver.requestListener(request, response);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  log.info({ port, path }, 'slack endpoint listening');
  return {
    url: `http://${host}:${port}${path}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
