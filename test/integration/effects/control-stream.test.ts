import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  controlStreamKey,
  publishControl,
  startControlConsumer,
  type ControlConsumer,
  type ControlMessage,
} from '../../../src/effects/control-stream.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

function message(n: number): ControlMessage {
  return { id: `m${n}`, actorKey: 'Pod/shop/cart', type: 'EFFECT.DONE', payload: { n } };
}

describe('control streams back to the owning actor', () => {
  let scratch: RedisForTest | undefined;
  const consumers: ControlConsumer[] = [];
  const connections: Redis[] = [];
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await Promise.all(connections.splice(0).map((c) => c.quit()));
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function consume(
    owner: string,
    handle: (m: ControlMessage) => Promise<void> | void,
  ): Promise<{ scratch: RedisForTest; logs: ReturnType<typeof captureLogger> }> {
    scratch ??= await redisForTest();
    const logs = captureLogger();
    const connection = scratch.redis.duplicate();
    connections.push(connection);
    consumers.push(
      startControlConsumer({
        redis: connection,
        keyPrefix: scratch.prefix,
        owner,
        handle,
        logger: logs.logger,
        blockMs: 200,
      }),
    );
    return { scratch, logs };
  }

  it('delivers each message to its owner, in order', async () => {
    const seen: number[] = [];
    const { scratch: s } = await consume(
      'agent-n1',
      (m) => void seen.push(m.payload['n'] as number),
    );
    for (const n of [1, 2, 3]) await publishControl(s.redis, s.prefix, 'agent-n1', message(n));
    await publishControl(s.redis, s.prefix, 'agent-n2', message(99));
    await eventually(() => expect(seen).toEqual([1, 2, 3]));
  });

  it('keeps a message whose handling failed and hands it over again', async () => {
    const seen: string[] = [];
    let failOnce = true;
    const { scratch: s } = await consume('controller', (m) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('redis away while persisting');
      }
      seen.push(m.id);
    });
    await publishControl(s.redis, s.prefix, 'controller', message(1));
    await eventually(() => expect(seen).toEqual(['m1']));
    const pending = (await s.redis.xpending(
      controlStreamKey(s.prefix, 'controller'),
      'controller',
    )) as [number];
    expect(pending[0]).toBe(0);
  });

  it('hands a restarted owner the messages it received but never finished', async () => {
    scratch = await redisForTest();
    const s = scratch;
    const key = controlStreamKey(s.prefix, 'agent-n1');
    await s.redis.xgroup('CREATE', key, 'agent-n1', '0', 'MKSTREAM');
    await publishControl(s.redis, s.prefix, 'agent-n1', message(1));
    // A previous incarnation read the message and died before acknowledging it.
    await s.redis.xreadgroup('GROUP', 'agent-n1', 'agent-n1', 'COUNT', 10, 'STREAMS', key, '>');
    await publishControl(s.redis, s.prefix, 'agent-n1', message(2));

    const seen: string[] = [];
    await consume('agent-n1', (m) => void seen.push(m.id));
    await eventually(() => expect(seen).toEqual(['m1', 'm2']));
  });

  it('skips an unreadable message without blocking the next one', async () => {
    const seen: string[] = [];
    const { scratch: s, logs } = await consume('agent-n1', (m) => void seen.push(m.id));
    await s.redis.xadd(controlStreamKey(s.prefix, 'agent-n1'), '*', 'message', '{broken');
    await publishControl(s.redis, s.prefix, 'agent-n1', message(2));
    await eventually(() => expect(seen).toEqual(['m2']));
    expect(logs.records().some((r) => r['msg'] === 'unreadable control message; skipped')).toBe(
      true,
    );
  });
});
