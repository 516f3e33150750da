import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { createDeliveryLimits } from '../../src/delivery/limits.ts';
import type { Store } from '../../src/store/port.ts';
import { STORE_ADAPTERS } from '../helpers/store-adapters.ts';

const NO_LIMITS = { hourlyCap: 0, ratePerSecond: 0, pauseErrorRate: 0.5, pauseMinAttempts: 10 };

describe.each(STORE_ADAPTERS)('run-wide delivery limits on $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('shares the hourly cap between workers, and gives back what a batch did not attempt', async () => {
    const clock = fixedClock('2026-11-23T07:00:00.000Z');
    const config = { ...NO_LIMITS, hourlyCap: 100 };
    const one = createDeliveryLimits({ store, clock, config });
    const two = createDeliveryLimits({ store, clock, config });
    expect(await one.allowance(60)).toEqual({ granted: 60 });
    expect(await two.allowance(60)).toEqual({ granted: 40 });
    expect(await one.allowance(1)).toMatchObject({ granted: 0, waitMs: null });
    await two.settled({ granted: 40, attempted: 30, failures: 0 });
    clock.advance(30 * 60_000);
    expect(await one.allowance(60)).toEqual({ granted: 10 });
    // An hour after the first grants, they no longer count.
    clock.advance(31 * 60_000);
    expect(await two.allowance(200)).toEqual({ granted: 90 });
  });

  it('shares the rate per second between workers, and says how long until the next second', async () => {
    const clock = fixedClock('2026-11-23T07:00:00.250Z');
    const config = { ...NO_LIMITS, ratePerSecond: 10, hourlyCap: 1000 };
    const one = createDeliveryLimits({ store, clock, config });
    const two = createDeliveryLimits({ store, clock, config });
    expect(await one.allowance(8)).toEqual({ granted: 8 });
    expect(await two.allowance(8)).toEqual({ granted: 2 });
    expect(await two.allowance(8)).toMatchObject({ granted: 0, waitMs: 750 });
    clock.advance(750);
    expect(await two.allowance(8)).toEqual({ granted: 8 });
    // What the rate refused went back to the hourly cap: 18 granted of 1000.
    clock.advance(1000);
    expect(await one.allowance(2000)).toEqual({ granted: 10 });
    expect(await store.countHits('delivery:granted', '2026-11-23T06:00:00.000Z')).toBe(28);
  });

  it('pauses every worker once the failures of all of them pass the rate', async () => {
    const clock = fixedClock('2026-11-23T07:00:00.000Z');
    const one = createDeliveryLimits({ store, clock, config: NO_LIMITS });
    const two = createDeliveryLimits({ store, clock, config: NO_LIMITS });
    expect(await one.settled({ granted: 6, attempted: 6, failures: 4 })).toBeNull();
    expect(await two.settled({ granted: 6, attempted: 6, failures: 3 })).toBe('7 of 12 attempts failed (over 50%): delivery paused (counted across all workers)');
    expect(await one.settled({ granted: 1, attempted: 1, failures: 0 })).toBe('7 of 13 attempts failed (over 50%): delivery paused (counted across all workers)');
  });

  it('counts only the recent attempts, made since the worker began', async () => {
    const clock = fixedClock('2026-11-23T07:00:00.000Z');
    const old = createDeliveryLimits({ store, clock, config: NO_LIMITS });
    await old.settled({ granted: 20, attempted: 20, failures: 20 });
    clock.advance(1000);
    const fresh = createDeliveryLimits({ store, clock, config: NO_LIMITS });
    expect(await fresh.settled({ granted: 10, attempted: 10, failures: 1 })).toBeNull();
    clock.advance(11 * 60_000);
    expect(await old.settled({ granted: 10, attempted: 10, failures: 6 })).toBe('6 of 10 attempts failed (over 50%): delivery paused (counted across all workers)');
  });
});
