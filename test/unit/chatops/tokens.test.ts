import { describe, expect, it } from 'vitest';
import {
  parseButtonToken,
  signButtonToken,
  subjectRef,
  verifyButtonToken,
  type ButtonClaim,
} from '../../../src/chatops/tokens.ts';

const SECRET = 'button-secret-for-unit-tests-0123456789';
const NOW = 1_800_000_000_000;
const claim: ButtonClaim = {
  actorKey: 'Pod/shop/web-1',
  incidentId: 'Pod/shop/web-1#3@1799999000000',
  action: 'approve',
  expiresAt: NOW + 30 * 60_000,
};
const subject = { actorKey: claim.actorKey, incidentId: claim.incidentId };

function verify(token: string, against = subject, now = NOW, secret = SECRET) {
  const parsed = parseButtonToken(token);
  if (!parsed.ok) return parsed.problem;
  const verdict = verifyButtonToken(parsed.token, against, secret, now);
  return verdict.ok ? 'ok' : verdict.problem;
}

const valid = signButtonToken(claim, SECRET);
/** The same text with its last character changed. */
const flipLast = (text: string) => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
const part = (index: number, replacement: string) => {
  const parts = valid.split('.');
  parts[index] = replacement;
  return parts.join('.');
};

describe('signed button tokens', () => {
  it('are compact enough for any Slack element value (menu options allow 150 characters)', () => {
    expect(valid.length).toBeLessThanOrEqual(80);
    expect(valid).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.approve\.\d+\.[A-Za-z0-9_-]{22}$/);
    const long = signButtonToken(
      {
        ...claim,
        actorKey: `Deployment/${'n'.repeat(63)}/${'d'.repeat(253)}`,
        action: 'snooze-24h',
      },
      SECRET,
    );
    expect(long.length).toBeLessThanOrEqual(80);
  });

  it('name the incident by a reference that is the same for the same actor and incident', () => {
    expect(subjectRef(subject)).toBe(subjectRef({ ...subject }));
    expect(subjectRef(subject)).not.toBe(
      subjectRef({ ...subject, incidentId: `${subject.incidentId}0` }),
    );
  });

  it.each<[string, string, typeof subject, number, string, string]>([
    ['a genuine, unexpired token', valid, subject, NOW, SECRET, 'ok'],
    [
      'a token checked a second before it expires',
      valid,
      subject,
      claim.expiresAt - 1_000,
      SECRET,
      'ok',
    ],
    ['a token at its expiry', valid, subject, claim.expiresAt, SECRET, 'expired'],
    ['a token after its expiry', valid, subject, claim.expiresAt + 60_000, SECRET, 'expired'],
    ['a token whose action was changed', part(2, 'reject'), subject, NOW, SECRET, 'tampered'],
    [
      'a token whose expiry was changed',
      part(3, String(Number(valid.split('.')[3]) + 3600)),
      subject,
      NOW,
      SECRET,
      'tampered',
    ],
    [
      'a token whose MAC was changed',
      part(4, flipLast(valid.split('.')[4] ?? '')),
      subject,
      NOW,
      SECRET,
      'tampered',
    ],
    [
      'a token for another incident of the same actor',
      valid,
      { ...subject, incidentId: 'Pod/shop/web-1#4@1' },
      NOW,
      SECRET,
      'tampered',
    ],
    [
      'a token for another actor',
      valid,
      { ...subject, actorKey: 'Pod/shop/web-2' },
      NOW,
      SECRET,
      'tampered',
    ],
    [
      'a token signed with another key',
      valid,
      subject,
      NOW,
      'another-secret-0123456789abcdef0123',
      'tampered',
    ],
    [
      'an expired token signed with another key (never says expired)',
      valid,
      subject,
      claim.expiresAt + 1,
      'another-secret-0123456789abcdef0123',
      'tampered',
    ],
    ['an unknown version', part(0, 'v2'), subject, NOW, SECRET, 'malformed'],
    ['an unknown action', part(2, 'delete'), subject, NOW, SECRET, 'malformed'],
    ['a missing part', valid.split('.').slice(0, 4).join('.'), subject, NOW, SECRET, 'malformed'],
    ['an extra part', `${valid}.x`, subject, NOW, SECRET, 'malformed'],
    ['an expiry that is not a number', part(3, '17e9'), subject, NOW, SECRET, 'malformed'],
    ['an empty value', '', subject, NOW, SECRET, 'malformed'],
    ['a very long value', `${valid}${'A'.repeat(300)}`, subject, NOW, SECRET, 'malformed'],
  ])('%s → %s', (_case, token, against, now, secret, expected) => {
    expect(verify(token, against, now, secret)).toBe(expected);
  });

  it('refuse values that are not strings', () => {
    expect(parseButtonToken(undefined)).toEqual({ ok: false, problem: 'malformed' });
    expect(parseButtonToken({ token: valid })).toEqual({ ok: false, problem: 'malformed' });
  });

  it('keep expiry to the second, rounding up', () => {
    const parsed = parseButtonToken(signButtonToken({ ...claim, expiresAt: NOW + 1 }, SECRET));
    expect(parsed.ok && parsed.token.expiresAt).toBe(NOW + 1_000);
  });
});
