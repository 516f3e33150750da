import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { DigestPaper } from '../digest/digest-data.ts';
import { prepareDigest, type DigestContext } from '../digest/prepare.ts';
import type { RenderedMessage, Renderer } from '../digest/render.ts';
import type { NewOutboxMessage } from '../model/outbox.ts';
import type { OnProgress } from '../model/progress.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { OutboxRepository } from '../store/port.ts';
import { buildRawMessage } from './mail-options.ts';

export type QueueStore = Pick<OutboxRepository, 'queueMessage'>;

/** Who digests come from: the From/Reply-To, the list's id and its unsubscribe mailbox. */
export interface Sender {
  from: string;
  replyTo: string | undefined;
  listId: string;
  listName: string;
  unsubscribeMailto: string;
  /** Domain of our Message-IDs (the From address's). */
  messageIdDomain: string;
}

export interface QueueDeps {
  store: QueueStore;
  context: DigestContext;
  renderer: Renderer;
  clock: Clock;
  sendEmpty: boolean;
  sender: Sender;
  runId: number | null;
  /** Asked before each subscriber: true once the run should stop producing (a shutdown, a lost lease). */
  stopping?: () => boolean;
  /** Called after each subscriber: renews the run's lease (queueing 100,000 digests outlasts any lease). */
  heartbeat?: () => Promise<void>;
  /** One event for the due subscribers, then one per subscriber done. */
  onProgress?: OnProgress;
}

export interface QueueOutcome {
  queued: number;
  /** Due subscribers whose digest another producer had queued first. */
  alreadyQueued: number;
  /** Due subscribers with nothing new (no message unless sendEmpty). */
  nothingNew: number;
  papers: number;
}

/**
 * Renders each due subscriber's digest and queues it: the message, the reservation of its
 * papers, the subscriber's next window start and the digest's record (for its web view) are
 * one store call (atomic) per subscriber,
 * so a crash leaves either a whole queued message or none.
 */
export async function queueDigests(subscribers: readonly Subscriber[], deps: QueueDeps): Promise<QueueOutcome> {
  const outcome: QueueOutcome = { queued: 0, alreadyQueued: 0, nothingNew: 0, papers: 0 };
  const paperCache = new Map<number, DigestPaper>();
  deps.onProgress?.({ stage: 'queue', added: subscribers.length });
  let begun = 0;
  for (const subscriber of subscribers) {
    if (deps.stopping?.()) break;
    // The body ends on several `continue`s: each subscriber counts as done when the next begins.
    if (begun++ > 0) deps.onProgress?.({ stage: 'queue', done: 1 });
    const now = deps.clock.now();
    const digest = await prepareDigest(deps.context, subscriber, now, paperCache);
    const paperIds = digest.selection.paperIds;
    if (paperIds.length === 0) {
      outcome.nothingNew++;
      if (!deps.sendEmpty) continue;
    }
    const message = await outboxMessage(deps.renderer.renderDigest(digest.data), subscriber, deps.sender, now, digest.data.links.unsubscribe);
    const queued = await deps.store.queueMessage({ ...message, runId: deps.runId, kind: paperIds.length === 0 ? 'empty' : 'digest', windowSince: subscriber.lastDigestAt }, paperIds, digest.record);
    if (queued === null) {
      // Another producer queued this subscriber's digest meanwhile (the store refuses a second).
      outcome.alreadyQueued++;
      continue;
    }
    outcome.queued++;
    outcome.papers += paperIds.length;
    await deps.heartbeat?.();
  }
  if (begun > 0) deps.onProgress?.({ stage: 'queue', done: 1 });
  return outcome;
}

/**
 * A rendered mail as an outbox message: our Message-ID, the bytes to send, and for list mail
 * (a digest, given its unsubscribe URL) the list headers. Notices are not list mail.
 */
export async function outboxMessage(
  rendered: RenderedMessage,
  subscriber: Pick<Subscriber, 'id' | 'email' | 'name'>,
  sender: Sender,
  now: Date,
  unsubscribeUrl?: string,
): Promise<Omit<NewOutboxMessage, 'runId' | 'kind' | 'windowSince'>> {
  const messageId = `<${now.getTime().toString(36)}.${subscriber.id}.${randomBytes(6).toString('hex')}@${sender.messageIdDomain}>`;
  const raw = await buildRawMessage({
    messageId,
    from: sender.from,
    ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
    to: { email: subscriber.email, name: subscriber.name },
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    date: now,
    ...(unsubscribeUrl ? { list: { id: sender.listId, name: sender.listName, unsubscribeUrl, unsubscribeMailto: sender.unsubscribeMailto } } : {}),
  });
  return {
    subscriberId: subscriber.id,
    messageId,
    recipient: subscriber.email,
    recipientName: subscriber.name,
    subject: rendered.subject,
    raw,
    html: rendered.html,
    unsubscribeUrl: unsubscribeUrl ?? '',
    now: now.toISOString(),
  };
}
