/**
 * The outbox: a rendered message waiting for SMTP, and what becomes of it. Words: a message
 * is **queued** until the server accepts it; a worker **claims** a batch of queued messages
 * until an expiry; once **sent** (250) its **reserved** papers are **delivered**.
 */

export type OutboxStatus = 'queued' | 'sent' | 'failed';
/** A digest (or the note that nothing is new), or a notice: the sign-up confirmation and the welcome. */
export type OutboxKind = 'digest' | 'empty' | 'confirmation' | 'welcome';

/** Digests move the subscriber's window and reserve papers; notices do neither. */
export function isDigest(kind: OutboxKind): boolean {
  return kind === 'digest' || kind === 'empty';
}

export interface NewOutboxMessage {
  runId: number | null;
  subscriberId: number;
  kind: OutboxKind;
  messageId: string;
  recipient: string;
  recipientName: string | null;
  subject: string;
  /** The complete RFC 5322 message, as handed to SMTP. */
  raw: Buffer;
  /** Its HTML part, for the file outbox's browser view. */
  html: string;
  unsubscribeUrl: string;
  /** The subscriber's window start before this digest: restored if the message fails. */
  windowSince: string | null;
  now: string;
}

/** A message's state without its body (which is dropped once the message is settled). */
export type OutboxState = Omit<OutboxRow, 'raw' | 'html'>;

export interface OutboxRow extends Omit<NewOutboxMessage, 'now'> {
  id: number;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

/** A queued message a delivery worker holds until `claimExpiresAt`, with what deciding its fate needs. */
export interface ClaimedMessage extends Omit<OutboxRow, 'html'> {
  /** Its HTML part; null when the claim did not ask for it (a mailer that sends only the raw bytes). */
  html: string | null;
  claimedBy: string;
  claimExpiresAt: string;
  /** The recipient's hard bounces so far (the bounce limit is counted against it). */
  hardBounces: number;
}

export type OutboxProblem = Pick<OutboxRow, 'id' | 'recipient' | 'subject' | 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'createdAt'>;

export type OutboxCounts = Record<OutboxStatus, number>;

/**
 * What happens to one message after one attempt, decided by `decideTransition` (pure) and
 * persisted as it is by the store, in one transaction.
 */
export type OutboxTransition =
  /** 250: sent; the reserved papers become deliveries. */
  | { status: 'sent'; attempts: number; sentAt: string }
  /** Worth another try at `nextAttemptAt`; the papers stay reserved. */
  | { status: 'queued'; attempts: number; nextAttemptAt: string; error: string }
  /**
   * For good: the reservation is released and the subscriber's window goes back, so the
   * papers come in the next digest. A recipient rejection counts a hard bounce; at the
   * limit the subscriber is bounced and their other queued mail fails with this message.
   * A delivery error (the relay refused for a reason not the recipient's) bounces nobody.
   */
  | { status: 'failed'; attempts: number; error: string; hardBounce: boolean; bounceSubscriber: boolean; deliveryError: boolean };

/** One message a run queued: who, what, and how the relay answered (`lastError`). */
export interface RunRecipient {
  id: number;
  subscriberId: number;
  kind: OutboxKind;
  recipient: string;
  subject: string;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}
