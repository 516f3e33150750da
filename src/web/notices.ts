import { randomBytes } from 'node:crypto';
import type { NoticeMailer, OutgoingMessage } from '../delivery/mailer.ts';
import { subscriberLinks } from '../digest/prepare.ts';
import type { RenderedMessage, Renderer } from '../digest/render.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { Taxonomy } from '../topics/taxonomy.ts';
import { signToken } from '../tokens.ts';

/**
 * The two transactional mails the pages send themselves (not through the digest outbox):
 * the double opt-in confirmation and the welcome. Sending is started, never awaited, so a
 * page takes as long whether or not a mail goes out (no telling addresses apart by timing)
 * and a mail server that is down or slow never reaches the visitor: failures are logged.
 */

export interface NoticeLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NoticeOptions {
  mailer: NoticeMailer;
  renderer: Renderer;
  taxonomy: Taxonomy;
  secret: string;
  publicUrl: string;
  from: string;
  pendingTtlHours: number;
  logger: NoticeLogger;
}

/** Who a notice goes to: a subscriber as stored, or as just signed up. */
export type Recipient = Pick<Subscriber, 'id' | 'email' | 'name' | 'topics' | 'frequency' | 'weekday'>;

export interface Notices {
  sendConfirmation(recipient: Recipient, now: Date): void;
  sendWelcome(recipient: Recipient, now: Date): void;
}

const HOUR_MS = 60 * 60 * 1000;

export function createNotices(options: NoticeOptions): Notices {
  const domain = /@([^@\s>]+)>?\s*$/.exec(options.from)?.[1] ?? 'localhost';
  const topicNames = (topics: string[] | null) =>
    options.taxonomy.topics.filter((topic) => topics === null || topics.includes(topic.id)).map((topic) => topic.name);

  function send(kind: 'confirmation' | 'welcome', recipient: Recipient, now: Date, render: () => RenderedMessage): void {
    const context = { kind, subscriberId: recipient.id };
    let rendered: RenderedMessage;
    try {
      rendered = render();
    } catch (error) {
      // Same page either way: a sign-up must not answer differently when its mail is broken.
      options.logger.error({ ...context, err: error }, `${kind} mail could not be rendered`);
      return;
    }
    const message: OutgoingMessage = {
      messageId: `<notice-${randomBytes(12).toString('hex')}@${domain}>`,
      from: options.from,
      to: { email: recipient.email, name: recipient.name },
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      date: now,
    };
    // The executor runs now: the send starts before the page is answered, and a mailer that
    // throws synchronously becomes a logged rejection like any other failure.
    new Promise<Awaited<ReturnType<NoticeMailer['send']>>>((resolve) => resolve(options.mailer.send(message))).then(
      (outcome) => {
        if (outcome.status !== 'sent') options.logger.warn({ ...context, messageId: message.messageId, ...outcome }, `${kind} mail not sent`);
      },
      (error: unknown) => options.logger.error({ ...context, messageId: message.messageId, err: error }, `${kind} mail failed`),
    );
  }

  return {
    sendConfirmation(recipient, now) {
      const token = signToken(options.secret, 'confirm', recipient.id, new Date(now.getTime() + options.pendingTtlHours * HOUR_MS));
      send('confirmation', recipient, now, () =>
        options.renderer.renderConfirmation({
          email: recipient.email,
          frequency: recipient.frequency,
          weekday: recipient.weekday,
          topics: topicNames(recipient.topics),
          confirmUrl: `${options.publicUrl}/confirm?token=${token}`,
        }),
      );
    },
    sendWelcome(recipient, now) {
      const links = subscriberLinks(options, recipient.id);
      send('welcome', recipient, now, () =>
        options.renderer.renderWelcome({
          email: recipient.email,
          frequency: recipient.frequency,
          weekday: recipient.weekday,
          topics: topicNames(recipient.topics),
          links: { preferences: links.preferences, unsubscribe: links.unsubscribe },
        }),
      );
    },
  };
}
