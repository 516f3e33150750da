import { createHttpClient } from './http.ts';
import {
  addDays,
  dayIn,
  daysFrom,
  emptyStats,
  fetchListing,
  readCursor,
  recordPollOutcome,
  writeCursor,
  type FetchingSource,
  type FetchingSourceDeps,
  type SourcePollStats,
} from './fetching.ts';
import type { ListingOutcomeStatus, PollContext, PolledListing } from './port.ts';

export const DEFAULT_HF_URL = 'https://huggingface.co';

export function hfDailyUrl(baseUrl: string, day: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/daily_papers?date=${day}`;
}

/**
 * The days a poll asks for: every day after the cursor up to today, or the backfill on a
 * first run; today and yesterday always, since their lists keep growing for a while.
 */
export function daysToFetch(cursor: string | null, today: string, backfillDays: number): string[] {
  const first = cursor ? addDays(cursor, 1) : addDays(today, -(Math.max(backfillDays, 1) - 1));
  const yesterday = addDays(today, -1);
  return daysFrom(first < yesterday ? first : yesterday, today);
}

type DayOutcome = 'complete' | 'failed' | 'waiting';

/**
 * Hugging Face Daily Papers (`/api/daily_papers?date=…`), one request per listing day. The
 * cursor is the last day fetched completely and moves only over an unbroken run of
 * complete days: a day that failed is asked for again next time, and so is each after it
 * (costing a 304 when unchanged).
 */
export function hfDailySource(baseUrl: string, deps: FetchingSourceDeps): FetchingSource {
  const name = 'hf';
  let stats: SourcePollStats = emptyStats();
  /** Listings yielded and not yet acked: the day each stands for and how to keep its validators. */
  const waiting = new Map<string, { day: string; remember: () => Promise<void> }>();
  const outcomes = new Map<string, DayOutcome>();

  async function* poll(context: PollContext): AsyncIterable<PolledListing> {
    stats = emptyStats();
    outcomes.clear();
    const client = createHttpClient({ settings: deps.http, clock: context.clock, maxBytes: context.maxListingBytes, state: deps.state, random: deps.random });
    const today = dayIn(deps.timeZone, context.clock.now());
    const cursor = await readCursor(deps.state, name);
    const days = deps.range ? daysFrom(deps.range.since, deps.range.until ?? today) : daysToFetch(cursor, today, deps.backfillDays);

    for (const day of days) {
      const url = hfDailyUrl(baseUrl, day);
      if (deps.dryRun) {
        stats.planned.push(url);
        continue;
      }
      const outcome = await fetchListing(client, url, context.clock, stats);
      if (outcome.kind === 'failed') {
        outcomes.set(day, 'failed');
        yield outcome.listing;
      } else if (outcome.kind === 'listing') {
        outcomes.set(day, 'waiting');
        waiting.set(url, { day, remember: outcome.remember });
        yield outcome.listing;
      } else {
        // Unchanged since it was ingested, or a weekend's `[]`: a complete day.
        if (outcome.kind === 'empty') await outcome.remember();
        outcomes.set(day, 'complete');
      }
    }

    if (deps.dryRun) return;
    const advanced = advancedCursor(cursor, days, outcomes);
    if (advanced) await writeCursor(deps.state, name, advanced);
    await recordPollOutcome(deps.state, name, context.clock.now(), stats.error);
  }

  const ack = async (listing: PolledListing, status: ListingOutcomeStatus) => {
    const entry = waiting.get(listing.origin);
    if (!entry) return;
    waiting.delete(listing.origin);
    if (status === 'failed') {
      outcomes.set(entry.day, 'failed');
      stats.error ??= `${listing.origin}: could not be ingested`;
      return;
    }
    await entry.remember();
    outcomes.set(entry.day, 'complete');
  };

  return { name, poll, ack, stats: () => stats };
}

/**
 * The cursor after a poll: the last of the unbroken run of complete days that starts at
 * (or before) the day after the old cursor; never earlier than the old cursor.
 */
export function advancedCursor(cursor: string | null, days: readonly string[], outcomes: ReadonlyMap<string, DayOutcome>): string | null {
  if (days.length === 0) return null;
  if (cursor && days[0]! > addDays(cursor, 1)) return null;
  let last: string | null = null;
  for (const day of days) {
    if (outcomes.get(day) !== 'complete') break;
    last = day;
  }
  return last && (!cursor || last > cursor) ? last : null;
}
