import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens for the links in mail and pages: HMAC-SHA256 over the purpose, the
 * subscriber and an optional expiry, so a token for one purpose (or one subscriber) is
 * worthless for another. No state is stored; rotating the secret revokes every token.
 *
 * Form: base64url(`purpose.subscriberId.expiresAtSeconds`) + '.' + base64url(mac).
 */

export type TokenPurpose = 'confirm' | 'preferences' | 'unsubscribe';

export type TokenCheck =
  | { ok: true; subscriberId: number }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'wrong-purpose' | 'expired' };

export function signToken(secret: string, purpose: TokenPurpose, subscriberId: number, expiresAt?: Date): string {
  const expiry = expiresAt ? Math.floor(expiresAt.getTime() / 1000) : 0;
  const payload = Buffer.from(`${purpose}.${subscriberId}.${expiry}`).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

export function verifyToken(secret: string, token: string, purpose: TokenPurpose, now: Date): TokenCheck {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(secret, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  const [tokenPurpose, id, expiry] = Buffer.from(payload, 'base64url').toString('utf8').split('.');
  if (tokenPurpose !== purpose) return { ok: false, reason: 'wrong-purpose' };
  const subscriberId = Number(id);
  if (!Number.isSafeInteger(subscriberId) || subscriberId < 1) return { ok: false, reason: 'malformed' };
  if (Number(expiry) > 0 && Number(expiry) * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, subscriberId };
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}
