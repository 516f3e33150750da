import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens for the links in mail and pages: HMAC-SHA256 over the purpose, the
 * subscriber, their token key and an optional expiry, so a token for one purpose, one
 * subscriber or one sign-up is worthless for another. The key is random per sign-up (a
 * re-sign-up gets a new one), so a link made for an earlier sign-up, or for whoever had an
 * id before, is refused. Rotating the secret revokes every token.
 *
 * Form: base64url(`purpose.subscriberId.expiresAtSeconds[.key]`) + '.' + base64url(mac).
 * Subscribers from before token keys have an empty key, and their links no key part.
 */

export type TokenPurpose = 'confirm' | 'preferences' | 'unsubscribe';

/** Whom a token is for: the subscriber's id and their current token key. */
export interface TokenSubject {
  id: number;
  tokenKey: string;
}

export type TokenCheck =
  | { ok: true; subscriberId: number; key: string }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'wrong-purpose' | 'expired' };

export function signToken(secret: string, purpose: TokenPurpose, subject: TokenSubject, expiresAt?: Date): string {
  const expiry = expiresAt ? Math.floor(expiresAt.getTime() / 1000) : 0;
  const fields = [purpose, subject.id, expiry, ...(subject.tokenKey ? [subject.tokenKey] : [])];
  const payload = Buffer.from(fields.join('.')).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/** Checks the signature, purpose and expiry; the caller then checks `key` against the subscriber's (see `belongsTo`). */
export function verifyToken(secret: string, token: string, purpose: TokenPurpose, now: Date): TokenCheck {
  const payload = signedPayload(secret, token);
  if (typeof payload !== 'string') return payload;
  const [tokenPurpose, id, expiry, key = '', rest] = payload.split('.');
  if (rest !== undefined) return { ok: false, reason: 'malformed' };
  if (tokenPurpose !== purpose) return { ok: false, reason: 'wrong-purpose' };
  const subscriberId = Number(id);
  if (!Number.isSafeInteger(subscriberId) || subscriberId < 1) return { ok: false, reason: 'malformed' };
  if (Number(expiry) > 0 && Number(expiry) * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, subscriberId, key };
}

/** Whether a verified token was made for this subscriber as they are now (this sign-up). */
export function belongsTo(check: Extract<TokenCheck, { ok: true }>, subscriber: TokenSubject): boolean {
  return check.subscriberId === subscriber.id && check.key === subscriber.tokenKey;
}

/** The decoded payload of a well-formed token whose signature holds, or why not. */
function signedPayload(secret: string, token: string): string | { ok: false; reason: 'malformed' | 'bad-signature' } {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(secret, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  return Buffer.from(payload, 'base64url').toString('utf8');
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/**
 * The web view link of one digest: bound to the subscriber and the digest's key, so it opens
 * that digest and no other. It does not expire (a digest is a record, like a mail in an
 * archive); rotating the secret revokes it with every other link.
 *
 * Form: base64url(`digest.subscriberId.digestKey`) + '.' + base64url(mac).
 */
export function signDigestToken(secret: string, subscriberId: number, digestKey: string): string {
  const payload = Buffer.from(`digest.${subscriberId}.${digestKey}`).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

export type DigestTokenCheck = { ok: true; subscriberId: number; digestKey: string } | { ok: false; reason: 'malformed' | 'bad-signature' | 'wrong-purpose' };

export function verifyDigestToken(secret: string, token: string): DigestTokenCheck {
  const payload = signedPayload(secret, token);
  if (typeof payload !== 'string') return payload;
  const [purpose, id, digestKey, rest] = payload.split('.');
  if (purpose !== 'digest') return { ok: false, reason: 'wrong-purpose' };
  const subscriberId = Number(id);
  if (!Number.isSafeInteger(subscriberId) || subscriberId < 1 || !digestKey || rest !== undefined) return { ok: false, reason: 'malformed' };
  return { ok: true, subscriberId, digestKey };
}
