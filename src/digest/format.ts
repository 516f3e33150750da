/**
 * Display formatting shared by the HTML templates (as Handlebars helpers) and the plain-text
 * part, so both parts of a message always say the same thing.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// C0/C1 controls, line/paragraph separators and bidi embeddings/overrides/isolates: none
// belongs in a one-line display value, and in a subject they could forge headers or reorder text.
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const WHITESPACE_RUN = /\s+/g;
// Most text is already clean: one scan that allocates nothing decides whether to rewrite it.
// The class is UNSAFE_CHARS plus every whitespace character except the plain space.
const NEEDS_CLEANING =
  /[\u0000-\u001f\u007f-\u00a0\u1680\u2000-\u200a\u2028-\u202f\u205f\u2066-\u2069\u3000\ufeff]| {2}/;

/** One clean line of text: controls become spaces, whitespace runs collapse, ends trimmed. */
export function plainText(value: string): string {
  if (!NEEDS_CLEANING.test(value) && !value.startsWith(' ') && !value.endsWith(' ')) return value;
  return value.replace(UNSAFE_CHARS, ' ').replace(WHITESPACE_RUN, ' ').trim();
}

/**
 * `2023-06-28` or a full ISO timestamp → `Jun 28, 2023` (`short`) or
 * `Wednesday, June 28, 2023` (`long`), always in UTC so every recipient and every worker
 * sees the same date. Hand-rolled because Intl formatting is slow per call at digest volume.
 */
export function formatDate(iso: string, style: 'short' | 'long' = 'short'): string {
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  const day = date.getUTCDate();
  const year = date.getUTCFullYear();
  if (style === 'short') return `${MONTHS[date.getUTCMonth()]} ${day}, ${year}`;
  return `${WEEKDAYS[date.getUTCDay()]}, ${LONG_MONTHS[date.getUTCMonth()]} ${day}, ${year}`;
}

/** `1 paper`, `12 papers`; `plural` defaults to the singular plus `s`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** `A`, `A and B`, `A, B and C`. */
export function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
