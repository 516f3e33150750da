import type { Clock } from '../clock.ts';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimitOptions {
  /** Attempts allowed per key within one window. */
  limit: number;
  windowMs: number;
  clock: Clock;
  /** Keys remembered at most; past this the least recently seen are forgotten first. */
  maxKeys?: number;
}

const DEFAULT_MAX_KEYS = 10_000;

/**
 * A sliding-window limiter kept in memory: per key, the times of the attempts within the
 * last window (at most `limit` of them). Memory is bounded twice over: keys whose attempts
 * all fell out of the window are swept once per window, and the key count is capped.
 */
export class RateLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private lastSweep: number;

  constructor(options: RateLimitOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`rate limit must be a whole number ≥ 1, got ${options.limit}`);
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.clock = options.clock;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.lastSweep = this.clock.now().getTime();
  }

  /**
   * Counts one attempt for `key`, or refuses it. A refused attempt is not counted, so
   * someone who waits the Retry-After always gets through.
   */
  hit(key: string): RateDecision {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const recent = (this.attempts.get(key) ?? []).filter((at) => at > now - this.windowMs);
    // Re-inserted on every hit: Map order is then least recently seen first, for eviction.
    this.attempts.delete(key);
    if (recent.length >= this.limit) {
      this.attempts.set(key, recent);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((recent[0]! + this.windowMs - now) / 1000)) };
    }
    recent.push(now);
    this.attempts.set(key, recent);
    for (const stalest of this.attempts.keys()) {
      if (this.attempts.size <= this.maxKeys) break;
      this.attempts.delete(stalest);
    }
    return { allowed: true };
  }

  /** How many keys are remembered (for tests of the memory bound). */
  get size(): number {
    return this.attempts.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.attempts) {
      if (times.every((at) => at <= now - this.windowMs)) this.attempts.delete(key);
    }
  }
}
