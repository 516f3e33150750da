/**
 * The two small interfaces delivery depends on (as listmonk's manager does): a Mailer that
 * hands one message to a transport, and the outcome in words the retry logic branches on.
 * Adapters (SMTP pool, file outbox) implement Mailer; nothing else knows nodemailer.
 */

export interface OutgoingMessage {
  /** `<local@domain>`: assigned when queued, reused by every resend. */
  messageId: string;
  from: string;
  replyTo?: string;
  to: { email: string; name: string | null };
  subject: string;
  html: string;
  text: string;
  date: Date;
  /** RFC 2369 / 8058 list headers; absent on mails that are not list mail (a confirmation). */
  list?: { id: string; name: string; unsubscribeUrl: string; unsubscribeMailto: string };
}

/** A message built once, when it was queued: sent byte for byte, every attempt. */
export interface RawMessage {
  messageId: string;
  envelope: { from: string; to: string };
  raw: Buffer;
  /** The HTML part, for mailers that show it (the file outbox); null when the mailer said it does not read it. */
  html: string | null;
}

export type SendOutcome =
  | { status: 'sent'; response: string }
  /** 4xx, a dropped connection, a timeout: worth trying again later. */
  | { status: 'temporary'; code: number | null; response: string }
  /** The recipient was refused for good (RCPT 550/551/553, 5.1.x/5.2.x): counts toward a bounce. */
  | { status: 'permanent'; code: number | null; response: string }
  /**
   * The relay refused for a reason that is not the recipient's (the sender, a policy, auth,
   * TLS, the session): a delivery error. Nobody bounces; the run pauses at once, since every
   * other message would meet the same answer.
   */
  | { status: 'delivery-error'; code: number | null; response: string };

export interface Mailer {
  /** Where mail goes, for logs and `status` (never includes credentials). */
  readonly description: string;
  /**
   * False when `sendRaw` never reads `html` (SMTP sends the raw bytes): delivery then does
   * not load the HTML copy of each message. Absent means it is read.
   */
  readonly readsHtml?: boolean;
  send(message: OutgoingMessage): Promise<SendOutcome>;
  sendRaw(message: RawMessage): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** What the subscription pages need: one notice at a time (confirmation, welcome). */
export type NoticeMailer = Pick<Mailer, 'send'>;
