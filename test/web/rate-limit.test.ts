import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { RateLimiter } from '../../src/web/rate-limit.ts';

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

describe('RateLimiter', () => {
  it('allows `limit` attempts per sliding window and says how long until the oldest falls out', () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ limit: 2, windowMs: HOUR_MS, clock });
    expect(limiter.hit('k')).toEqual({ allowed: true });
    clock.advance(20 * MINUTE_MS);
    expect(limiter.hit('k')).toEqual({ allowed: true });
    expect(limiter.hit('k')).toEqual({ allowed: false, retryAfterSeconds: 40 * 60 });
    expect(limiter.hit('other')).toEqual({ allowed: true });
    clock.advance(40 * MINUTE_MS);
    expect(limiter.hit('k')).toEqual({ allowed: true });
    expect(limiter.hit('k')).toEqual({ allowed: false, retryAfterSeconds: 20 * 60 });
  });

  it('does not count refused attempts, so waiting always helps', () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ limit: 1, windowMs: HOUR_MS, clock });
    limiter.hit('k');
    for (let i = 0; i < 50; i += 1) {
      clock.advance(MINUTE_MS);
      expect(limiter.hit('k').allowed).toBe(false);
    }
    clock.advance(10 * MINUTE_MS);
    expect(limiter.hit('k').allowed).toBe(true);
  });

  it('forgets keys once their attempts are out of the window', () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ limit: 5, windowMs: HOUR_MS, clock });
    for (let i = 0; i < 1000; i += 1) limiter.hit(`198.51.100.${i}`);
    expect(limiter.size).toBe(1000);
    clock.advance(HOUR_MS + 1);
    limiter.hit('203.0.113.1');
    expect(limiter.size).toBe(1);
  });

  it('never remembers more than maxKeys, dropping the least recently seen', () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ limit: 1, windowMs: HOUR_MS, clock, maxKeys: 100 });
    limiter.hit('busy');
    for (let i = 0; i < 99; i += 1) limiter.hit(`key-${i}`);
    expect(limiter.hit('busy').allowed).toBe(false);
    for (let i = 99; i < 10_000; i += 1) limiter.hit(`key-${i}`);
    expect(limiter.size).toBe(100);
    expect(limiter.hit('key-9999').allowed).toBe(false);
  });

  it('rejects a limit below one', () => {
    expect(() => new RateLimiter({ limit: 0, windowMs: HOUR_MS, clock: fixedClock('2025-01-01T00:00:00Z') })).toThrow(RangeError);
  });
});
