import { firstDigestRun } from '../delivery/first-digest.ts';
import { outboxMessage, type Sender } from '../delivery/queue.ts';
import { subscriberLinks } from '../digest/prepare.ts';
import type { Renderer } from '../digest/render.ts';
import type { NewOutboxMessage } from '../model/outbox.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { Taxonomy } from '../topics/taxonomy.ts';
import { signToken } from '../tokens.ts';

/**
 * The notices the pages send: the double opt-in confirmation and the welcome. Each is built
 * here as an outbox message and queued in the same transaction as the sign-up or the
 * confirmation that calls for it; the courier then sends it and retries it like any other
 * outbox message, so a relay that fails once does not lose a confirmation.
 */

export interface NoticeOptions {
  renderer: Renderer;
  taxonomy: Taxonomy;
  secret: string;
  publicUrl: string;
  sender: Sender;
  pendingTtlHours: number;
  /** PAPERBOY_SCHEDULE: the confirmation says which run would send the first digest (none said when unset). */
  schedule?: string;
  /** PAPERBOY_TZ: the confirmation's times are in it (UTC when unset). */
  timeZone?: string;
}

/** Who a notice goes to: a subscriber as stored. */
export type Recipient = Pick<Subscriber, 'id' | 'email' | 'name' | 'topics' | 'frequency' | 'weekday' | 'tokenKey'>;

export interface Notices {
  confirmation(recipient: Recipient, now: Date): Promise<NewOutboxMessage>;
  welcome(recipient: Recipient, now: Date): Promise<NewOutboxMessage>;
}

const HOUR_MS = 60 * 60 * 1000;

export function createNotices(options: NoticeOptions): Notices {
  const topicNames = (topics: string[] | null) =>
    options.taxonomy.topics.filter((topic) => topics === null || topics.includes(topic.id)).map((topic) => topic.name);

  const queued = async (kind: 'confirmation' | 'welcome', recipient: Recipient, now: Date, rendered: Parameters<typeof outboxMessage>[0]): Promise<NewOutboxMessage> => ({
    ...(await outboxMessage(rendered, recipient, options.sender, now)),
    runId: null,
    kind,
    windowSince: null,
  });

  return {
    confirmation(recipient, now) {
      const expires = new Date(now.getTime() + options.pendingTtlHours * HOUR_MS);
      const token = signToken(options.secret, 'confirm', recipient, expires);
      const timeZone = options.timeZone ?? 'UTC';
      const firstDigest = options.schedule ? firstDigestRun(recipient, options.schedule, timeZone, now) : null;
      return queued(
        'confirmation',
        recipient,
        now,
        options.renderer.renderConfirmation({
          email: recipient.email,
          frequency: recipient.frequency,
          weekday: recipient.weekday,
          topics: topicNames(recipient.topics),
          confirmUrl: `${options.publicUrl}/confirm?token=${token}`,
          expiresAt: expires.toISOString(),
          firstDigestAt: firstDigest?.toISOString() ?? null,
          timeZone,
        }),
      );
    },
    welcome(recipient, now) {
      const links = subscriberLinks(options, recipient);
      return queued(
        'welcome',
        recipient,
        now,
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
