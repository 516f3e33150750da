import { describe, expect, it } from 'vitest';
import { signToken, verifyToken } from '../src/tokens.ts';

const secret = 'a-test-secret-of-reasonable-length';
const now = new Date('2026-11-23T08:00:00Z');

describe('signed tokens', () => {
  it('round-trips purpose and subscriber', () => {
    expect(verifyToken(secret, signToken(secret, 'unsubscribe', 42), 'unsubscribe', now)).toEqual({ ok: true, subscriberId: 42 });
  });

  it('refuses a token made for another purpose', () => {
    expect(verifyToken(secret, signToken(secret, 'preferences', 42), 'unsubscribe', now)).toEqual({ ok: false, reason: 'wrong-purpose' });
  });

  it('refuses a token signed with another secret, or altered', () => {
    const token = signToken(secret, 'unsubscribe', 42);
    expect(verifyToken('another-secret', token, 'unsubscribe', now)).toEqual({ ok: false, reason: 'bad-signature' });
    const forged = `${Buffer.from('unsubscribe.43.0').toString('base64url')}.${token.split('.')[1]}`;
    expect(verifyToken(secret, forged, 'unsubscribe', now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an expired token and accepts it before expiry', () => {
    const token = signToken(secret, 'confirm', 7, new Date('2026-11-24T08:00:00Z'));
    expect(verifyToken(secret, token, 'confirm', now)).toEqual({ ok: true, subscriberId: 7 });
    expect(verifyToken(secret, token, 'confirm', new Date('2026-11-24T08:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
  });

  it.each(['', 'abc', 'a.b.c', '..', 'not base64.x'])('refuses malformed input %j', (token) => {
    expect(verifyToken(secret, token, 'confirm', now).ok).toBe(false);
  });
});
