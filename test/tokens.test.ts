import { describe, expect, it } from 'vitest';
import { belongsTo, signToken, verifyToken } from '../src/tokens.ts';

const secret = 'a-test-secret-of-reasonable-length';
const now = new Date('2026-11-23T08:00:00Z');
const ada = { id: 42, tokenKey: '5f0c1e9a7b3d4c2e8f6a1b0c9d8e7f60' };
const legacy = { id: 42, tokenKey: '' };

describe('signed tokens', () => {
  it('round-trips purpose, subscriber and token key', () => {
    expect(verifyToken(secret, signToken(secret, 'unsubscribe', ada), 'unsubscribe', now)).toEqual({ ok: true, subscriberId: 42, key: ada.tokenKey });
  });

  it('refuses a token made for another purpose', () => {
    expect(verifyToken(secret, signToken(secret, 'preferences', ada), 'unsubscribe', now)).toEqual({ ok: false, reason: 'wrong-purpose' });
  });

  it('refuses a token signed with another secret, or altered', () => {
    const token = signToken(secret, 'unsubscribe', ada);
    expect(verifyToken('another-secret', token, 'unsubscribe', now)).toEqual({ ok: false, reason: 'bad-signature' });
    const forged = `${Buffer.from(`unsubscribe.43.0.${ada.tokenKey}`).toString('base64url')}.${token.split('.')[1]}`;
    expect(verifyToken(secret, forged, 'unsubscribe', now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an expired token and accepts it before expiry', () => {
    const token = signToken(secret, 'confirm', { id: 7, tokenKey: 'k1' }, new Date('2026-11-24T08:00:00Z'));
    expect(verifyToken(secret, token, 'confirm', now)).toEqual({ ok: true, subscriberId: 7, key: 'k1' });
    expect(verifyToken(secret, token, 'confirm', new Date('2026-11-24T08:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
  });

  it('binds a token to one sign-up: the same id with another key is someone else', () => {
    const check = verifyToken(secret, signToken(secret, 'preferences', ada), 'preferences', now);
    if (!check.ok) throw new Error('a valid token was refused');
    expect(belongsTo(check, ada)).toBe(true);
    expect(belongsTo(check, { id: 42, tokenKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' })).toBe(false);
    expect(belongsTo(check, legacy)).toBe(false);
    expect(belongsTo(check, { ...ada, id: 43 })).toBe(false);
  });

  it('keeps links sent before token keys working for the subscribers they were sent to', () => {
    // The token of a subscriber with no key is exactly the earlier form: `purpose.id.expiry`.
    const token = signToken(secret, 'unsubscribe', legacy);
    expect(Buffer.from(token.split('.')[0]!, 'base64url').toString()).toBe('unsubscribe.42.0');
    const check = verifyToken(secret, token, 'unsubscribe', now);
    expect(check).toEqual({ ok: true, subscriberId: 42, key: '' });
    if (check.ok) expect(belongsTo(check, ada)).toBe(false);
  });

  it.each(['', 'abc', 'a.b.c', '..', 'not base64.x'])('refuses malformed input %j', (token) => {
    expect(verifyToken(secret, token, 'confirm', now).ok).toBe(false);
  });
});
