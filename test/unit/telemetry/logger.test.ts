import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, objectLogger } from '../../../src/telemetry/index.ts';

function capture(): {
  text: () => string;
  lines: () => Record<string, unknown>[];
  stream: Writable;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('structured logging', () => {
  it('writes one JSON object per line with level names and the app', () => {
    const out = capture();
    createLogger({ format: 'json', destination: out.stream }).info({ pods: 3 }, 'watching');
    expect(out.lines()[0]).toMatchObject({
      level: 'info',
      app: 'kube-remedy',
      pods: 3,
      msg: 'watching',
    });
  });

  it.each([
    ['a top-level password', { password: 'p@ss' }, 'p@ss'],
    ['a nested token', { slack: { botToken: 'xoxb-1-secret' } }, 'xoxb-1-secret'],
    [
      'an authorization header',
      { request: { headers: { authorization: 'Bearer abc.def' } } },
      'abc.def',
    ],
    ['an API key three levels deep', { a: { b: { apiKey: 'sk-live-123' } } }, 'sk-live-123'],
    ['a set-cookie header', { response: { headers: { 'set-cookie': 'sid=42' } } }, 'sid=42'],
    ['the configured Redis password', { config: { redis: { password: 'r3dis' } } }, 'r3dis'],
  ])('masks %s', (_, fields, secret) => {
    const out = capture();
    createLogger({ format: 'json', destination: out.stream }).warn(fields, 'event');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain(secret);
    expect(text).toContain('********');
  });

  it('keeps a logged Redis URL readable but for its password', () => {
    const out = capture();
    createLogger({ format: 'json', destination: out.stream }).info(
      { config: { redis: { url: 'redis://:topsecret@redis:6379' } } },
      'config',
    );
    expect(out.lines()[0]).toMatchObject({
      config: { redis: { url: 'redis://:********@redis:6379' } },
    });
  });

  it('binds the object key to every line of a child logger', () => {
    const out = capture();
    const log = objectLogger(
      createLogger({ format: 'json', destination: out.stream }),
      'Pod/shop/cart-7d9f',
    );
    log.info('suspect');
    log.info('detected');
    expect(out.lines().map((line) => line['object'])).toEqual([
      'Pod/shop/cart-7d9f',
      'Pod/shop/cart-7d9f',
    ]);
  });

  it('drops lines below the configured level', () => {
    const out = capture();
    const log = createLogger({ format: 'json', level: 'warn', destination: out.stream });
    log.info('quiet');
    log.warn('loud');
    expect(out.lines().map((line) => line['msg'])).toEqual(['loud']);
  });

  it('writes readable lines in pretty format, secrets masked too', () => {
    const out = capture();
    createLogger({ format: 'pretty', isTerminal: false, destination: out.stream }).info(
      { token: 't0ken' },
      'hello',
    );
    expect(out.text()).toMatch(/INFO.*: hello/);
    expect(out.text()).not.toContain('t0ken');
    expect(out.text().startsWith('{')).toBe(false);
  });
});
