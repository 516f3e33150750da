import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { CounterRepository } from '../store/port.ts';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimitOptions {
  /** Names what is limited (`signup-ip`); limiters with different names count apart. */
  name: string;
  /** Attempts allowed per key within one window. */
  limit: number;
  windowMs: number;
  clock: Clock;
  store: Pick<CounterRepository, 'takeHits'>;
}

/**
 * A fixed-window limiter whose counts live in the store, so every web replica on one
 * database counts the same attempts. Keys (client IPs, addresses) are stored only as hashes:
 * the counters table holds no address. A window's row is dropped once it has passed.
 */
export class RateLimiter {
  private readonly options: RateLimitOptions;

  constructor(options: RateLimitOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`rate limit must be a whole number ≥ 1, got ${options.limit}`);
    this.options = options;
  }

  /**
   * Counts one attempt for `key`, or refuses it. A refused attempt is not counted, so
   * someone who waits the Retry-After always gets through.
   */
  async hit(key: string): Promise<RateDecision> {
    const { name, limit, windowMs, clock, store } = this.options;
    const now = clock.now().getTime();
    const windowStart = now - (now % windowMs);
    const windowEnd = windowStart + windowMs;
    const counterKey = `${name}:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
    const granted = await store.takeHits(
      { key: counterKey, windowStart: new Date(windowStart).toISOString(), expiresAt: new Date(windowEnd).toISOString() },
      1,
      limit,
      new Date(now).toISOString(),
    );
    return granted === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((windowEnd - now) / 1000)) };
  }
}
