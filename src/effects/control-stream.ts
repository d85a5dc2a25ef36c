/**
 * The way back to an actor: one Redis stream per owner (`<prefix>:control:<owner>`, where the
 * owner is `agent-<node>` or `controller`), read through a consumer group so a message stays
 * pending until the owner has handled it. Effect results and people's actions from Slack travel
 * here. Delivery is at least once; every message carries an id that actors use to ignore
 * repeats.
 */
import type { Redis } from '../adapters/redis.ts';
import type { Logger } from '../telemetry/index.ts';

export interface ControlMessage {
  /** Unique per logical message; a repeat with the same id must be ignored by the actor. */
  id: string;
  /** The actor it is for: `Kind/namespace/name`. */
  actorKey: string;
  /** The actor event type, e.g. `EFFECT.DONE`, `APPROVE`. */
  type: string;
  /** The rest of the event. */
  payload: Record<string, unknown>;
}

export function controlStreamKey(keyPrefix: string, owner: string): string {
  return `${keyPrefix}:control:${owner}`;
}

/** Appends a message for an owner. The stream keeps roughly the last 10,000 messages. */
export async function publishControl(
  redis: Redis,
  keyPrefix: string,
  owner: string,
  message: ControlMessage,
): Promise<string> {
  const id = await redis.xadd(
    controlStreamKey(keyPrefix, owner),
    'MAXLEN',
    '~',
    '10000',
    '*',
    'message',
    JSON.stringify(message),
  );
  return id ?? '';
}

export interface ControlConsumerOptions {
  /** A connection of its own: blocking reads hold it. */
  redis: Redis;
  keyPrefix: string;
  owner: string;
  /**
   * Handles one message; the message is acknowledged only after this resolves. A rejection
   * leaves it pending to be handled again, so reject only for failures that can pass.
   */
  handle: (message: ControlMessage) => Promise<void> | void;
  logger: Logger;
  /** How long one blocking read waits. Default: 2 s (also bounds how long stop() takes). */
  blockMs?: number;
}

export interface ControlConsumer {
  stop: () => Promise<void>;
}

type StreamReply = [string, [string, string[]][]][] | null;

export function startControlConsumer(options: ControlConsumerOptions): ControlConsumer {
  const { redis, owner } = options;
  const key = controlStreamKey(options.keyPrefix, owner);
  // One consumer per owner with a stable name: after a restart it finds its own pending messages.
  const group = owner;
  const consumer = owner;
  const log = options.logger.child({ stream: key });
  let stopped = false;

  async function ensureGroup(): Promise<void> {
    try {
      await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
    }
  }

  async function handleAll(reply: StreamReply): Promise<number> {
    let handled = 0;
    for (const [, entries] of reply ?? []) {
      for (const [entryId, fields] of entries) {
        const at = fields.indexOf('message');
        const raw = at >= 0 ? fields[at + 1] : undefined;
        let message: ControlMessage | undefined;
        try {
          if (raw === undefined) throw new Error('entry has no message field');
          message = JSON.parse(raw) as ControlMessage;
        } catch (error) {
          // Unreadable bytes will never become readable: acknowledge them so they do not block
          // every later message for this owner.
          log.error({ err: error, entryId }, 'unreadable control message; skipped');
        }
        // A handler error (Redis away while persisting, say) propagates: the message stays
        // pending and is read again after the backoff, so nothing is lost.
        if (message !== undefined) await options.handle(message);
        await redis.xack(key, group, entryId);
        handled += 1;
      }
    }
    return handled;
  }

  async function loop(): Promise<void> {
    let backoff = 100;
    let pendingFirst = true;
    while (!stopped) {
      try {
        await ensureGroup();
        if (pendingFirst) {
          // Messages delivered before a crash but never acknowledged.
          while (
            (await handleAll(
              (await redis.xreadgroup(
                'GROUP',
                group,
                consumer,
                'COUNT',
                100,
                'STREAMS',
                key,
                '0',
              )) as StreamReply,
            )) > 0
          ) {
            if (stopped) return;
          }
          pendingFirst = false;
        }
        const reply = (await redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          100,
          'BLOCK',
          options.blockMs ?? 2_000,
          'STREAMS',
          key,
          '>',
        )) as StreamReply;
        await handleAll(reply);
        backoff = 100;
      } catch (error) {
        if (stopped) return;
        log.warn({ err: error, retryInMs: backoff }, 'reading the control stream failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 5_000);
        pendingFirst = true;
      }
    }
  }

  const running = loop();
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}
