import type { Subscriber } from '../model/subscriber.ts';

/**
 * Whether a subscriber is owed a digest at `now`, in the operator's time zone. Pure: the
 * schedule lives in the subscriber row (their last digest), not in the scheduler's memory,
 * so a run after downtime still knows who is owed what.
 *
 * - daily: no digest yet today (local date).
 * - weekly: no digest since the start of their most recent weekday; a new weekly
 *   subscriber waits for their weekday.
 */
export function isDue(subscriber: Pick<Subscriber, 'status' | 'frequency' | 'weekday' | 'lastDigestAt'>, now: Date, timeZone: string): boolean {
  if (subscriber.status !== 'active') return false;
  const today = localDate(now, timeZone);
  const last = subscriber.lastDigestAt ? localDate(new Date(subscriber.lastDigestAt), timeZone) : null;
  if (subscriber.frequency === 'daily') return last === null || last < today;
  const weekday = subscriber.weekday ?? 1;
  const daysSinceWeekday = (localWeekday(now, timeZone) - weekday + 7) % 7;
  if (last === null) return daysSinceWeekday === 0;
  return last < addDays(today, -daysSinceWeekday);
}

/**
 * One formatter per time zone and purpose, made once: each Intl.DateTimeFormat holds about
 * 25 KB of native memory that garbage collection does not give back, so one per subscriber
 * (as this was) grew a 100,000-subscriber run by gigabytes before it queued anything.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(kind: 'date' | 'weekday', timeZone: string): Intl.DateTimeFormat {
  const key = `${kind} ${timeZone}`;
  let format = formatters.get(key);
  if (!format) {
    format =
      kind === 'date'
        ? new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
        : new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' });
    formatters.set(key, format);
  }
  return format;
}

/** `YYYY-MM-DD` of `instant` in `timeZone`. */
export function localDate(instant: Date, timeZone: string): string {
  return formatter('date', timeZone).format(instant);
}

/** 0 = Sunday … 6 = Saturday, in `timeZone`. */
export function localWeekday(instant: Date, timeZone: string): number {
  return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(formatter('weekday', timeZone).format(instant));
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
