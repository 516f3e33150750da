import type { Clock } from '../clock.ts';
import { PaperboyError } from '../errors.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { SubscriberRepository } from '../store/port.ts';
import { DEFAULT_WEEKDAY, parseFrequency, parseTopics, parseWeekday } from './subscriber.ts';

/** What an admin may change of a subscriber: text as typed (CLI flags, form fields, JSON). */
export interface SubscriberChange {
  /** Only "active": takes back a bounced or unsubscribed address. */
  status?: string;
  topics?: string;
  frequency?: string;
  weekday?: string;
}

/**
 * The one admin edit of a subscriber, shared by the CLI, the console and the JSON API:
 * validates everything first, then reactivates (when asked) and updates the choices.
 */
export async function updateSubscriber(
  store: Pick<SubscriberRepository, 'subscriberById' | 'reactivateSubscriber' | 'updatePreferences'>,
  clock: Clock,
  subscriber: Subscriber,
  change: SubscriberChange,
  knownTopics: readonly string[],
): Promise<Subscriber> {
  if (change.status !== undefined && change.status !== 'active' && change.status !== subscriber.status) {
    throw new PaperboyError('SUBSCRIBER_INVALID', `status: only "active" can be set (got ${JSON.stringify(change.status)}); unsubscribe and bounce come from the subscriber`);
  }
  const topics = change.topics !== undefined ? parseTopics(change.topics, knownTopics) : subscriber.topics;
  const frequency = change.frequency !== undefined ? parseFrequency(change.frequency) : subscriber.frequency;
  const weekday = frequency === 'weekly' ? (change.weekday ? parseWeekday(change.weekday) : (subscriber.weekday ?? DEFAULT_WEEKDAY)) : null;
  if (change.status === 'active' && subscriber.status !== 'active') {
    if (!(await store.reactivateSubscriber(subscriber.id, clock.now().toISOString()))) {
      throw new PaperboyError('SUBSCRIBER_INVALID', `${subscriber.email} is ${subscriber.status}: only bounced or unsubscribed addresses are reactivated`);
    }
  }
  await store.updatePreferences(subscriber.id, { name: subscriber.name, topics, frequency, weekday });
  return (await store.subscriberById(subscriber.id))!;
}
