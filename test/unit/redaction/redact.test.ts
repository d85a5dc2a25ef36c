import { describe, expect, it } from 'vitest';
import {
  compilePatterns,
  createRedactor,
  mergeFindings,
  redactText,
  redactValue,
  REDACTION_PATTERNS,
} from '../../../src/redaction/index.ts';
import { NOT_SECRETS, SECRET_SAMPLES } from './corpus.ts';

describe('redactText', () => {
  it('holds at least 30 realistic secret shapes to check against', () => {
    expect(SECRET_SAMPLES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(SECRET_SAMPLES.map((s) => s.name)).size).toBe(SECRET_SAMPLES.length);
  });

  it.each(SECRET_SAMPLES)('removes $name and names it $kind', ({ text, secret, kind }) => {
    const { text: redacted, findings } = redactText(text);
    expect(redacted).not.toContain(secret);
    expect(redacted).toContain(`[REDACTED:${kind}]`);
    expect(findings).toContainEqual({ kind, count: expect.any(Number) as number });
  });

  it.each(NOT_SECRETS)('leaves $name alone', ({ text }) => {
    expect(redactText(text)).toEqual({ text, findings: [] });
  });

  it('keeps what is around a secret readable: the key, the URL host, the header name', () => {
    expect(redactText('DB_PASSWORD=hunter2hunter2 APP_ENV=prod').text).toBe(
      'DB_PASSWORD=[REDACTED:secret] APP_ENV=prod',
    );
    expect(redactText('postgres://app:pa55word@db.shop.svc:5432/app').text).toBe(
      'postgres://app:[REDACTED:url-credentials]@db.shop.svc:5432/app',
    );
    expect(redactText('{"password":"a b c","user":"svc"}').text).toBe(
      '{"password":"[REDACTED:secret]","user":"svc"}',
    );
    expect(redactText('Authorization: Bearer abc.def.ghi-123').text).toBe(
      'Authorization: [REDACTED:authorization]',
    );
  });

  it('counts findings by kind', () => {
    const text = 'password=aaaaaaa token=bbbbbbbb\nuser=x secret: cccccccc';
    expect(redactText(text).findings).toEqual([{ kind: 'secret', count: 3 }]);
  });

  it('is idempotent: redacting redacted text changes nothing and finds nothing', () => {
    for (const { text } of SECRET_SAMPLES) {
      const once = redactText(text).text;
      expect(redactText(once)).toEqual({ text: once, findings: [] });
    }
  });

  it('has a description and a global pattern for every row of its table', () => {
    for (const row of REDACTION_PATTERNS) {
      expect(row.description.length).toBeGreaterThan(10);
      expect(row.pattern.global).toBe(true);
      expect(row.kind).toMatch(/^[a-z]+(-[a-z]+)*$/);
    }
  });
});

describe('extra patterns', () => {
  it('applies configured patterns after the built-in ones, as kind custom', () => {
    expect(redactText('ticket ACME-TKT-12345678 opened', ['ACME-TKT-[0-9]{8}'])).toEqual({
      text: 'ticket [REDACTED:custom] opened',
      findings: [{ kind: 'custom', count: 1 }],
    });
  });

  it('accepts RegExps (made global) and named rows', () => {
    const redactor = createRedactor([
      /internal-\d+/,
      { kind: 'employee-id', description: 'employee numbers', pattern: /E\d{6}/g },
    ]);
    expect(redactor.text('internal-42 and internal-43 by E123456').text).toBe(
      '[REDACTED:custom] and [REDACTED:custom] by [REDACTED:employee-id]',
    );
  });

  it.each([
    ['a pattern that does not compile', '([a-z', /pattern 1 .* is not a regular expression/],
    ['a pattern that matches the empty string', 'x*', /pattern 1 .* matches the empty string/],
  ])('rejects %s', (_case, source, message) => {
    expect(() => compilePatterns([source])).toThrow(message);
  });
});

describe('redactValue', () => {
  it('redacts strings anywhere in a value and keeps its shape', () => {
    const token = ['gh', 'p_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
    const input = { a: [{ b: `clone with ${token}` }], n: 3, ok: true, none: null };
    const { value, findings } = redactValue(input);
    expect(value).toEqual({
      a: [{ b: 'clone with [REDACTED:github-token]' }],
      n: 3,
      ok: true,
      none: null,
    });
    expect(findings).toEqual([{ kind: 'github-token', count: 1 }]);
    expect(input.a[0]?.b).toContain(token); // the input is not changed
  });

  it('replaces values of secret-named properties whole, but not booleans or names of Secrets', () => {
    const { value } = redactValue({
      password: 'short',
      apiKey: 12345678,
      clientSecret: 'anything at all',
      automountServiceAccountToken: false,
      secretName: 'db-creds',
      tokenExpirationSeconds: 3600,
      nested: { DB_TOKEN: 'x y z' },
    });
    expect(value).toEqual({
      password: '[REDACTED:secret]',
      apiKey: '[REDACTED:secret]',
      clientSecret: '[REDACTED:secret]',
      automountServiceAccountToken: false,
      secretName: 'db-creds',
      tokenExpirationSeconds: 3600,
      nested: { DB_TOKEN: '[REDACTED:secret]' },
    });
  });

  it('redacts the values of secret-named environment variables, not their names', () => {
    const { value } = redactValue({
      env: [
        { name: 'DB_PASSWORD', value: 'plain' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'api', key: 'key' } } },
      ],
    });
    expect(value).toEqual({
      env: [
        { name: 'DB_PASSWORD', value: '[REDACTED:secret]' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'api', key: 'key' } } },
      ],
    });
  });

  it('redacts every value of a Kubernetes Secret, keeping its keys', () => {
    const { value, findings } = redactValue({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      data: { username: 'YWRtaW4=', 'tls.key': 'LS0tLS1CRUdJTi...' },
      stringData: { url: 'redis://x' },
    });
    expect(value).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      data: { username: '[REDACTED:kubernetes-secret]', 'tls.key': '[REDACTED:kubernetes-secret]' },
      stringData: { url: '[REDACTED:kubernetes-secret]' },
    });
    expect(findings).toEqual([{ kind: 'kubernetes-secret', count: 3 }]);
  });

  it('stops at a depth no real object reaches', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i += 1) deep = { next: deep };
    expect(JSON.stringify(redactValue(deep).value)).toContain('[REDACTED:too-deep]');
  });
});

describe('mergeFindings', () => {
  it('adds counts of the same kind', () => {
    expect(
      mergeFindings(
        [{ kind: 'jwt', count: 1 }],
        [
          { kind: 'jwt', count: 2 },
          { kind: 'secret', count: 1 },
        ],
      ),
    ).toEqual([
      { kind: 'jwt', count: 3 },
      { kind: 'secret', count: 1 },
    ]);
  });
});
