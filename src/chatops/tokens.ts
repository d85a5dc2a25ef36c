/**
 * Signed button tokens. A button's `value` says which incident of which actor it acts on, what it
 * does and until when, and carries an HMAC over exactly that, so a value copied from another
 * message, edited, or kept past its expiry is refused. The token stays short enough for any
 * Slack element value (150 characters for menu options): it names the incident by a reference
 * (`ref`, a hash of actor key and incident id) whose record in Redis holds the actor key, the
 * incident id, the owner and the approvers, and the MAC is checked against that record.
 *
 *   v1.<ref>.<action>.<expiry, unix seconds>.<mac>
 *
 * mac = first 16 bytes of HMAC-SHA256(buttonSecret, "v1\n<actorKey>\n<incidentId>\n<action>\n<expiry>").
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const BUTTON_ACTIONS = [
  'approve',
  'reject',
  'escalate',
  'ack',
  'snooze-1h',
  'snooze-4h',
  'snooze-24h',
] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

export const SNOOZE_MS: Readonly<Record<string, number>> = {
  'snooze-1h': 3_600_000,
  'snooze-4h': 4 * 3_600_000,
  'snooze-24h': 24 * 3_600_000,
};

export interface TokenSubject {
  actorKey: string;
  incidentId: string;
}

export interface ButtonClaim extends TokenSubject {
  action: ButtonAction;
  /** When the button stops working, ms since the epoch (kept to the second). */
  expiresAt: number;
}

export interface ParsedToken {
  ref: string;
  action: ButtonAction;
  /** ms since the epoch. */
  expiresAt: number;
  mac: string;
  /** The signed part as it came, for error messages. */
  raw: string;
}

export type TokenProblem = 'malformed' | 'tampered' | 'expired';

const VERSION = 'v1';
const REF = /^[A-Za-z0-9_-]{16}$/;
const MAC = /^[A-Za-z0-9_-]{22}$/;
const EXPIRY = /^[1-9][0-9]{0,11}$/;

/** The short reference of an incident of an actor: 16 base64url characters (96 bits). */
export function subjectRef(subject: TokenSubject): string {
  return createHash('sha256')
    .update(`${subject.actorKey}\n${subject.incidentId}`)
    .digest('base64url')
    .slice(0, 16);
}

function mac(secret: string, subject: TokenSubject, action: string, expirySeconds: number): string {
  return createHmac('sha256', secret)
    .update(`${VERSION}\n${subject.actorKey}\n${subject.incidentId}\n${action}\n${expirySeconds}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

export function signButtonToken(claim: ButtonClaim, secret: string): string {
  const expiry = Math.ceil(claim.expiresAt / 1000);
  return [
    VERSION,
    subjectRef(claim),
    claim.action,
    expiry,
    mac(secret, claim, claim.action, expiry),
  ].join('.');
}

export function parseButtonToken(
  token: unknown,
): { ok: true; token: ParsedToken } | { ok: false; problem: 'malformed' } {
  if (typeof token !== 'string' || token.length > 200) return { ok: false, problem: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 5) return { ok: false, problem: 'malformed' };
  const [version, ref, action, expiry, signature] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (
    version !== VERSION ||
    !REF.test(ref) ||
    !(BUTTON_ACTIONS as readonly string[]).includes(action) ||
    !EXPIRY.test(expiry) ||
    !MAC.test(signature)
  ) {
    return { ok: false, problem: 'malformed' };
  }
  return {
    ok: true,
    token: {
      ref,
      action: action as ButtonAction,
      expiresAt: Number(expiry) * 1000,
      mac: signature,
      raw: token,
    },
  };
}

/**
 * Checks a parsed token against the incident its reference names. The signature is checked
 * before the expiry, so "expired" is only ever said of a genuine button.
 */
export function verifyButtonToken(
  token: ParsedToken,
  subject: TokenSubject,
  secret: string,
  nowMs: number,
): { ok: true } | { ok: false; problem: 'tampered' | 'expired' } {
  if (subjectRef(subject) !== token.ref) return { ok: false, problem: 'tampered' };
  const expected = Buffer.from(mac(secret, subject, token.action, token.expiresAt / 1000));
  const given = Buffer.from(token.mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, problem: 'tampered' };
  }
  if (nowMs >= token.expiresAt) return { ok: false, problem: 'expired' };
  return { ok: true };
}
