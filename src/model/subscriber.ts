export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced';
export type Frequency = 'daily' | 'weekly';

export const SUBSCRIBER_STATUSES: readonly SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];

export interface Subscriber {
  id: number;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  /** Topic ids, or null for every topic (including ones added later). */
  topics: string[] | null;
  frequency: Frequency;
  /** Weekly only: 0 = Sunday … 6 = Saturday. */
  weekday: number | null;
  createdAt: string;
  confirmedAt: string | null;
  unsubscribedAt: string | null;
  /** The subscriber's window: the next digest holds papers first seen after this. */
  lastDigestAt: string | null;
  hardBounces: number;
  /** Random, per sign-up: links carry it, so they work for this sign-up of this person only. */
  tokenKey: string;
}

/** Why and when an address bounced; kept after the subscriber is removed, lifted on reactivation. */
export interface Suppression {
  email: string;
  reason: string;
  messageId: string | null;
  bouncedAt: string;
}

/** The admin's subscriber search: a page of at most `limit`, ids after `after` (keyset). */
export interface SubscriberSearch {
  /** A literal piece of the address, any case; empty or absent matches every address. */
  emailContains?: string;
  status?: SubscriberStatus | null;
  after?: number;
  limit: number;
}

/** What a person or an admin may set; everything else is Paperboy's to track. */
export interface SubscriberInput {
  email: string;
  name: string | null;
  topics: string[] | null;
  frequency: Frequency;
  weekday: number | null;
}
