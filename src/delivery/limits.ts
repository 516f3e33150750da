import type { Clock } from '../clock.ts';
import type { DeliveryConfig } from '../config/config.ts';
import type { CounterRepository } from '../store/port.ts';
import { pauseReason, type AttemptTally } from './transition.ts';

export type LimitsStore = Pick<CounterRepository, 'takeHits' | 'countHits'>;

/** What a worker may claim now: `granted` messages, or none and how long to wait (null: until a later run). */
export type Allowance = { granted: number } | { granted: 0; waitMs: number | null; reason: string };

/** What one claimed batch did, for the run-wide counters. */
export interface BatchOutcome {
  /** Granted by `allowance` for this batch; what was not attempted goes back. */
  granted: number;
  attempted: number;
  failures: number;
}

/**
 * The run-wide limits every delivery worker on one store shares: the hourly cap, the rate per
 * second and the pause on error rate. Their counts live in the store's counters, so they hold
 * across workers in any number of processes and hosts, not per process.
 */
export interface DeliveryLimits {
  /** Takes up to `wanted` sends from the hourly cap and the current second's rate. */
  allowance(wanted: number): Promise<Allowance>;
  /** Gives back what a batch did not use and adds its attempts; why every worker should pause, or null. */
  settled(batch: BatchOutcome): Promise<string | null>;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
/** The error rate that pauses delivery is over the attempts of all workers in this span (and since this worker began). */
export const ERROR_RATE_SPAN_MS = 10 * MINUTE_MS;

export const COUNTERS = {
  /** Sends granted, per minute; the hourly cap is over the last 60 of them. */
  hourly: 'delivery:granted',
  /** Sends granted in the current second. */
  rate: 'delivery:rate',
  /** Attempts and the ones that failed (not a 250), per second. */
  attempts: 'delivery:attempts',
  failures: 'delivery:failures',
} as const;

export function createDeliveryLimits(deps: {
  store: LimitsStore;
  clock: Clock;
  config: Pick<DeliveryConfig, 'hourlyCap' | 'ratePerSecond' | 'pauseErrorRate' | 'pauseMinAttempts'>;
}): DeliveryLimits {
  const { store, clock, config } = deps;
  const startedAt = floor(clock.now().getTime(), SECOND_MS);
  const window = (key: string, at: number, length: number, keep: number) => ({
    key,
    windowStart: iso(floor(at, length)),
    expiresAt: iso(floor(at, length) + keep),
  });
  const hourly = (at: number) => window(COUNTERS.hourly, at, MINUTE_MS, HOUR_MS + MINUTE_MS);
  // Sends granted and not made go back to the minute they were taken from (a rate window is over by then anyway).
  let takenAt = 0;
  const giveBack = async (sends: number) => {
    if (config.hourlyCap > 0 && sends > 0) await store.takeHits(hourly(takenAt), -sends, null, iso(clock.now().getTime()));
  };

  return {
    async allowance(wanted) {
      const at = clock.now().getTime();
      takenAt = at;
      let granted = wanted;
      if (config.hourlyCap > 0) {
        granted = await store.takeHits(hourly(at), granted, config.hourlyCap, iso(at), iso(at - HOUR_MS));
        if (granted === 0) return { granted: 0, waitMs: null, reason: `hourly cap reached (${config.hourlyCap} across all workers): the rest waits for the next run` };
      }
      if (config.ratePerSecond > 0) {
        const withinRate = await store.takeHits(window(COUNTERS.rate, at, SECOND_MS, 2 * SECOND_MS), granted, config.ratePerSecond, iso(at));
        await giveBack(granted - withinRate);
        granted = withinRate;
        if (granted === 0) return { granted: 0, waitMs: floor(at, SECOND_MS) + SECOND_MS - at, reason: 'rate per second reached' };
      }
      return { granted };
    },

    async settled(batch) {
      await giveBack(batch.granted - batch.attempted);
      if (batch.attempted === 0) return null;
      const at = clock.now().getTime();
      const now = iso(at);
      const tallyWindow = (key: string) => window(key, at, SECOND_MS, ERROR_RATE_SPAN_MS + SECOND_MS);
      await store.takeHits(tallyWindow(COUNTERS.attempts), batch.attempted, null, now);
      if (batch.failures > 0) await store.takeHits(tallyWindow(COUNTERS.failures), batch.failures, null, now);
      const since = iso(Math.max(startedAt, floor(at - ERROR_RATE_SPAN_MS, SECOND_MS)));
      const tally: AttemptTally = { attempted: await store.countHits(COUNTERS.attempts, since), failures: await store.countHits(COUNTERS.failures, since), deliveryError: null };
      const reason = pauseReason(tally, config);
      return reason && `${reason} (counted across all workers)`;
    },
  };
}

function floor(ms: number, unit: number): number {
  return ms - (ms % unit);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
