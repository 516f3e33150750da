import { describe, expect, it } from 'vitest';
import { isDue } from '../../src/delivery/due.ts';

const daily = (lastDigestAt: string | null) => ({ status: 'active' as const, frequency: 'daily' as const, weekday: null, lastDigestAt });
const weekly = (weekday: number, lastDigestAt: string | null) => ({ status: 'active' as const, frequency: 'weekly' as const, weekday, lastDigestAt });
// 2026-11-23 is a Monday.
const MONDAY_7AM = new Date('2026-11-23T07:00:00Z');

describe('isDue', () => {
  it('daily: due once per local day', () => {
    expect(isDue(daily(null), MONDAY_7AM, 'UTC')).toBe(true);
    expect(isDue(daily('2026-11-22T07:00:00Z'), MONDAY_7AM, 'UTC')).toBe(true);
    expect(isDue(daily('2026-11-23T06:59:00Z'), MONDAY_7AM, 'UTC')).toBe(false);
  });

  it('daily: days are counted in the configured time zone', () => {
    // 23:30 UTC on the 22nd is already the 23rd in Berlin: a digest then counts for Monday there.
    expect(isDue(daily('2026-11-22T23:30:00Z'), MONDAY_7AM, 'Europe/Berlin')).toBe(false);
    expect(isDue(daily('2026-11-22T23:30:00Z'), MONDAY_7AM, 'UTC')).toBe(true);
  });

  it('weekly: due on their weekday, once', () => {
    expect(isDue(weekly(1, null), MONDAY_7AM, 'UTC')).toBe(true);
    expect(isDue(weekly(3, null), MONDAY_7AM, 'UTC')).toBe(false);
    expect(isDue(weekly(1, '2026-11-16T07:00:00Z'), MONDAY_7AM, 'UTC')).toBe(true);
    expect(isDue(weekly(1, '2026-11-23T07:00:00Z'), new Date('2026-11-23T20:00:00Z'), 'UTC')).toBe(false);
  });

  it('weekly: a weekday missed during downtime is caught up on a later day, once', () => {
    const tuesday = new Date('2026-11-24T07:00:00Z');
    expect(isDue(weekly(1, '2026-11-16T07:00:00Z'), tuesday, 'UTC')).toBe(true);
    expect(isDue(weekly(1, '2026-11-24T07:00:00Z'), new Date('2026-11-25T07:00:00Z'), 'UTC')).toBe(false);
  });

  it('never for anyone not active', () => {
    for (const status of ['pending', 'unsubscribed', 'bounced'] as const) {
      expect(isDue({ ...daily(null), status }, MONDAY_7AM, 'UTC')).toBe(false);
    }
  });
});
