import { z } from 'zod';
import type { Subscriber, SubscriberInput } from '../model/subscriber.ts';
import { DEFAULT_WEEKDAY, emailSchema, nameSchema, subscriberInput, WEEKDAYS } from '../subscribers/subscriber.ts';

/**
 * The sign-up and preferences forms: what was typed (kept, to show it again) and what it
 * means. Field rules are the subscriber module's own schemas, so the pages, the CLI and
 * CSV import accept exactly the same values; here they only get messages a person reads.
 */

export type Field = 'email' | 'name' | 'topics' | 'frequency' | 'weekday';

/** The form as typed: strings only, shown back (escaped) when something is wrong. */
export interface FormValues {
  email: string;
  name: string;
  topics: string[];
  frequency: string;
  weekday: string;
}

export type FieldErrors = Partial<Record<Field, string>>;

export type FormResult = { ok: true; input: SubscriberInput } | { ok: false; errors: FieldErrors };

/** What `c.req.parseBody({ all: true })` gives: uploaded files are ignored. */
export type FormBody = Record<string, string | File | (string | File)[]>;

export function formValues(body: FormBody): FormValues {
  const text = (key: string) => {
    const value = body[key];
    return typeof value === 'string' ? value : '';
  };
  const topics = body.topics;
  return {
    email: text('email'),
    name: text('name'),
    topics: (Array.isArray(topics) ? topics : [topics]).filter((id): id is string => typeof id === 'string'),
    frequency: text('frequency'),
    weekday: text('weekday'),
  };
}

/** The empty sign-up form: no topic ticked (a digest of everything is mostly noise), daily. */
export const BLANK_FORM: FormValues = { email: '', name: '', topics: [], frequency: 'daily', weekday: WEEKDAYS[DEFAULT_WEEKDAY]! };

/** A subscriber's stored choices as the preferences form shows them. */
export function subscriberValues(subscriber: Subscriber, topicIds: readonly string[]): FormValues {
  return {
    email: subscriber.email,
    name: subscriber.name ?? '',
    topics: subscriber.topics ?? [...topicIds],
    frequency: subscriber.frequency,
    weekday: WEEKDAYS[subscriber.weekday ?? DEFAULT_WEEKDAY]!,
  };
}

/** The sign-up form: every field, the address included. */
export function parseSignUp(values: FormValues, topicIds: readonly string[]): FormResult {
  const email = z.string().trim().min(1, 'Enter your email address.').pipe(sentence(emailSchema, 'The address'));
  return parse(choicesSchema(topicIds).extend({ email }), values, values.email, topicIds);
}

/** The preferences form: the address is not theirs to change here (it is what the token was sent to). */
export function parsePreferences(values: FormValues, email: string, topicIds: readonly string[]): FormResult {
  return parse(choicesSchema(topicIds), values, email, topicIds);
}

function choicesSchema(topicIds: readonly string[]) {
  return z.object({
    name: sentence(nameSchema, 'The name'),
    topics: z
      .array(z.string())
      .min(1, 'Pick at least one topic.')
      .refine((ids) => ids.every((id) => topicIds.includes(id)), 'Pick topics from the list.'),
    frequency: z.enum(['daily', 'weekly'], 'Choose daily or weekly.'),
    weekday: z.enum(WEEKDAYS, 'Choose a day of the week.'),
  });
}

function parse(schema: z.ZodType, values: FormValues, email: string, topicIds: readonly string[]): FormResult {
  const result = schema.safeParse(values);
  if (!result.success) {
    const errors: FieldErrors = {};
    for (const issue of result.error.issues) {
      const field = issue.path[0] as Field;
      errors[field] ??= issue.message;
    }
    return { ok: false, errors };
  }
  // Every box ticked means every topic, including ones the taxonomy gains later.
  const everyTopic = topicIds.every((id) => values.topics.includes(id));
  return {
    ok: true,
    input: subscriberInput({ ...values, email, topics: everyTopic ? 'all' : values.topics.join(',') }, topicIds),
  };
}

/** The shared rules say "is not a valid email address"; a page says whose. */
function sentence<T>(schema: z.ZodType<T, string>, subject: string) {
  return z.string().transform((text, ctx) => {
    const result = schema.safeParse(text);
    if (result.success) return result.data;
    ctx.addIssue({ code: 'custom', message: `${subject} ${result.error.issues[0]!.message}.` });
    return z.NEVER;
  });
}
