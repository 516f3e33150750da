import type { DigestData } from './digest-data.ts';

/**
 * The data the two subscription notices are rendered from. As with `DigestData`, every
 * string is raw (unescaped) text.
 */

/** Double opt-in: sent on sign-up; nothing else is sent until `confirmUrl` is visited. */
export interface ConfirmationData {
  email: string;
  frequency: DigestData['frequency'];
  /** Weekly digests go out on this day: 0 = Sunday … 6 = Saturday; null for daily. */
  weekday: number | null;
  /** Names of the topics the person picked. */
  topics: string[];
  confirmUrl: string;
  /** ISO instant the confirm link stops working. */
  expiresAt: string;
  /** ISO instant of the scheduled run that would send the first digest if confirmed now; null if none is near. */
  firstDigestAt: string | null;
  /** PAPERBOY_TZ: both instants are shown in it. */
  timeZone: string;
}

/** Sent once the address is confirmed. */
export interface WelcomeData {
  email: string;
  frequency: DigestData['frequency'];
  weekday: number | null;
  /** Names of the topics the subscriber follows. */
  topics: string[];
  links: Pick<DigestData['links'], 'preferences' | 'unsubscribe'>;
}
