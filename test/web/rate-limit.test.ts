import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import type { Store } from '../../src/store/port.ts';
import { RateLimiter } from '../../src/web/rate-limit.ts';
import { STORE_ADAPTERS } from '../helpers/store-adapters.ts';

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

describe.each(STORE_ADAPTERS)('RateLimiter on $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('allows `limit` attempts per clock window and says how long until the window ends', async () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ name: 'signup-ip', limit: 2, windowMs: HOUR_MS, clock, store });
    expect(await limiter.hit('k')).toEqual({ allowed: true });
    clock.advance(20 * MINUTE_MS);
    expect(await limiter.hit('k')).toEqual({ allowed: true });
    expect(await limiter.hit('k')).toEqual({ allowed: false, retryAfterSeconds: 40 * 60 });
    expect(await limiter.hit('other')).toEqual({ allowed: true });
    clock.advance(40 * MINUTE_MS);
    expect(await limiter.hit('k')).toEqual({ allowed: true });
  });

  it('does not count refused attempts, so waiting always helps', async () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ name: 'signup-ip', limit: 1, windowMs: HOUR_MS, clock, store });
    await limiter.hit('k');
    for (let i = 0; i < 50; i += 1) {
      clock.advance(MINUTE_MS);
      expect((await limiter.hit('k')).allowed).toBe(false);
    }
    clock.advance(10 * MINUTE_MS);
    expect((await limiter.hit('k')).allowed).toBe(true);
  });

  it('counts limiters of one name together (two replicas), and of other names apart', async () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const replicaA = new RateLimiter({ name: 'signup-address', limit: 2, windowMs: HOUR_MS, clock, store });
    const replicaB = new RateLimiter({ name: 'signup-address', limit: 2, windowMs: HOUR_MS, clock, store });
    const byIp = new RateLimiter({ name: 'signup-ip', limit: 1, windowMs: HOUR_MS, clock, store });
    expect((await replicaA.hit('ada@example.org')).allowed).toBe(true);
    expect((await replicaB.hit('ada@example.org')).allowed).toBe(true);
    expect((await replicaA.hit('ada@example.org')).allowed).toBe(false);
    expect((await byIp.hit('ada@example.org')).allowed).toBe(true);
  });

  it('keeps no address in the store, and drops windows that have passed', async () => {
    const clock = fixedClock('2025-01-01T00:00:00Z');
    const limiter = new RateLimiter({ name: 'signup-address', limit: 5, windowMs: HOUR_MS, clock, store });
    await limiter.hit('ada@example.org');
    const { createHash } = await import('node:crypto');
    const hashed = `signup-address:${createHash('sha256').update('ada@example.org').digest('base64url').slice(0, 22)}`;
    expect(await store.countHits(hashed, '2025-01-01T00:00:00.000Z')).toBe(1);
    expect(await store.countHits('signup-address:ada@example.org', '2025-01-01T00:00:00.000Z')).toBe(0);
    clock.advance(HOUR_MS);
    await limiter.hit('grace@example.org');
    expect(await store.countHits(hashed, '2025-01-01T00:00:00.000Z')).toBe(0);
  });

  it('rejects a limit below one', () => {
    expect(() => new RateLimiter({ name: 'x', limit: 0, windowMs: HOUR_MS, clock: fixedClock('2025-01-01T00:00:00Z'), store })).toThrow(RangeError);
  });
});
