import cron from 'node-cron';
import type { Subscriber } from '../model/subscriber.ts';
import { isDue } from './due.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Far enough for any weekly digest under a daily-or-denser schedule; sparser schedules get no promise. */
const LOOKAHEAD_HOURS = 15 * 24;

// One formatter per time zone (see due.ts: each holds native memory that is not given back).
const minuteFormats = new Map<string, Intl.DateTimeFormat>();
function localMinute(instant: number, timeZone: string): number {
  let format = minuteFormats.get(timeZone);
  if (!format) minuteFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-GB', { timeZone, minute: 'numeric' })));
  return Number(format.format(instant));
}

/**
 * The first scheduled run after `after` that would send a digest to someone confirming then
 * (an active subscriber with no digest yet): the next run for a daily digest, the next run on
 * their weekday for a weekly one, in the schedule's time zone. Null when none comes within the
 * lookahead (a schedule that rarely fires).
 *
 * It runs on every sign-up, so it asks cron only about the minutes the schedule names: a few
 * per hour of lookahead, not every minute of fifteen days.
 */
export function firstDigestRun(
  subscriber: Pick<Subscriber, 'frequency' | 'weekday'>,
  schedule: string,
  timeZone: string,
  after: Date,
): Date | null {
  const minutes = cron.parse(schedule).minute;
  const matcher = cron.createTask(schedule, () => {}, { timezone: timeZone });
  try {
    const owed = { status: 'active' as const, frequency: subscriber.frequency, weekday: subscriber.weekday, lastDigestAt: null };
    const firstHour = Math.floor(after.getTime() / HOUR_MS) * HOUR_MS;
    for (let hour = 0; hour < LOOKAHEAD_HOURS; hour++) {
      const hourStart = firstHour + hour * HOUR_MS;
      // Zones a half or quarter hour off UTC: the local minute at this UTC hour's start.
      const shift = localMinute(hourStart, timeZone);
      const candidates = minutes.map((minute) => hourStart + ((minute - shift + 60) % 60) * MINUTE_MS).sort((a, b) => a - b);
      for (const instant of candidates) {
        const candidate = new Date(instant);
        if (instant > after.getTime() && matcher.match(candidate) && isDue(owed, candidate, timeZone)) return candidate;
      }
    }
    return null;
  } finally {
    void matcher.destroy();
  }
}
