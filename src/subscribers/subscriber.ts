import { z } from 'zod';
import { PaperboyError } from '../errors.ts';
import { stripInvisible } from '../text-safety.ts';
import type { Frequency, SubscriberInput } from '../model/subscriber.ts';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const DEFAULT_WEEKDAY = 1;

/** Control characters (CR/LF among them) never enter a stored name or address: they would reach mail headers. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const emailSchema = z
  .string()
  .trim()
  .max(254, 'is longer than 254 characters')
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'contains control characters')
  .pipe(z.email('is not a valid email address'))
  .transform((value) => value.toLowerCase());

export const nameSchema = z
  .string()
  .trim()
  .max(100, 'is longer than 100 characters')
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'contains control characters')
  // A bidi override would show the name (and the address beside it in To:) reordered.
  .transform(stripInvisible)
  .transform((value) => (value === '' ? null : value));

/** `all`, or topic ids separated by commas (or semicolons, `|`, spaces: CSV cells use those). */
export function parseTopics(text: string, knownTopics: readonly string[]): string[] | null {
  const ids = text
    .split(/[,;|\s]+/)
    .map((id) => id.trim().toLowerCase())
    .filter(Boolean);
  if (ids.length === 0) throw new PaperboyError('SUBSCRIBER_INVALID', 'topics: none given (use "all" or topic ids)');
  if (ids.includes('all')) {
    if (ids.length > 1) throw new PaperboyError('SUBSCRIBER_INVALID', 'topics: "all" cannot be combined with topic ids');
    return null;
  }
  const unknown = ids.filter((id) => !knownTopics.includes(id));
  if (unknown.length > 0) {
    throw new PaperboyError('SUBSCRIBER_INVALID', `topics: unknown topic ${unknown.map((id) => `"${id}"`).join(', ')} (known: ${knownTopics.join(', ')})`);
  }
  // Stored in taxonomy order, without repeats, so equal choices compare equal.
  return knownTopics.filter((id) => ids.includes(id));
}

export function parseFrequency(text: string): Frequency {
  const value = text.trim().toLowerCase();
  if (value === 'daily' || value === 'weekly') return value;
  throw new PaperboyError('SUBSCRIBER_INVALID', `frequency: "${text}" is not daily or weekly`);
}

export function parseWeekday(text: string): number {
  const index = WEEKDAYS.indexOf(text.trim().toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]);
  if (index === -1) throw new PaperboyError('SUBSCRIBER_INVALID', `weekday: "${text}" is not a day of the week (mon … sun)`);
  return index;
}

export function parseEmail(text: string): string {
  return parseField(emailSchema, text, 'email');
}

export function parseName(text: string): string | null {
  return parseField(nameSchema, text, 'name');
}

function parseField<T>(schema: z.ZodType<T, string>, text: string, field: string): T {
  const result = schema.safeParse(text);
  if (result.success) return result.data;
  throw new PaperboyError('SUBSCRIBER_INVALID', `${field}: "${text.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), '?')}" ${result.error.issues[0]!.message}`);
}

/** Builds a validated input from loose text fields (CLI options, CSV cells, form fields). */
export function subscriberInput(
  fields: { email: string; name?: string; topics?: string; frequency?: string; weekday?: string },
  knownTopics: readonly string[],
): SubscriberInput {
  const frequency = parseFrequency(fields.frequency || 'daily');
  return {
    email: parseEmail(fields.email),
    name: parseName(fields.name ?? ''),
    topics: parseTopics(fields.topics || 'all', knownTopics),
    frequency,
    weekday: frequency === 'weekly' ? (fields.weekday ? parseWeekday(fields.weekday) : DEFAULT_WEEKDAY) : null,
  };
}
