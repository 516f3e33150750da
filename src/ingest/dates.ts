/** Date helpers for listings that print `Mar 14` or `Jun 28, 2023`: no time zones, UTC days. */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function monthIndex(abbreviation: string): number | null {
  const index = MONTHS.indexOf(abbreviation);
  return index === -1 ? null : index;
}

export function isoDay(year: number, month: number, day: number): string | null {
  const date = new Date(Date.UTC(year, month, day));
  if (date.getUTCMonth() !== month || date.getUTCDate() !== day) return null;
  return date.toISOString().slice(0, 10);
}

/**
 * A month and day printed without a year means the latest such day that is not after
 * `reference`: this year's, or last year's when this year's is still to come.
 */
export function latestDayNotAfter(month: number, day: number, reference: string): string | null {
  const referenceYear = Number(reference.slice(0, 4));
  const thisYear = isoDay(referenceYear, month, day);
  if (thisYear && thisYear <= reference) return thisYear;
  return isoDay(referenceYear - 1, month, day);
}

/** `2024-10-22T17:59:30.000Z` → `2024-10-22`; anything unparseable → null. */
export function dayOf(timestamp: string | null | undefined): string | null {
  if (!timestamp) return null;
  const time = Date.parse(timestamp);
  return Number.isNaN(time) ? null : new Date(time).toISOString().slice(0, 10);
}
