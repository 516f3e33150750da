import { randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import type { DigestPaper } from '../digest/digest-data.ts';
import { prepareDigest, prepareDigestFromWindow, windowStart, type DigestContext } from '../digest/prepare.ts';
import type { RenderedMessage, Renderer } from '../digest/render.ts';
import type { NewOutboxMessage } from '../model/outbox.ts';
import type { OnProgress } from '../model/progress.ts';
import type { WindowPaper } from '../model/paper.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { MessageToQueue, OutboxRepository } from '../store/port.ts';
import { buildRawMessage } from './mail-options.ts';

export type QueueStore = Pick<OutboxRepository, 'queueMessages' | 'windowPapers' | 'heldPaperIds' | 'digestCandidates'>;

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
  /** Called after each page: renews the run's lease (queueing 100,000 digests outlasts any lease). */
  heartbeat?: () => Promise<void>;
  /** One event per page of due subscribers, then one per subscriber done. */
  onProgress?: OnProgress;
  /**
   * False when the mailer never reads a message's HTML copy (SMTP sends the raw bytes): the
   * outbox then keeps an empty copy instead of ~50 KB more per message. True when absent.
   */
  keepHtml?: boolean;
  /** Subscribers per page (one read of what they hold, one transaction); 100 when absent. */
  pageSize?: number;
  /**
   * Called once at least `every` digests were queued since the last call (a run delivers
   * them then), so the outbox never holds more than about that many bodies at once.
   */
  drain?: { every: number; run: () => Promise<void> };
}

export interface QueueOutcome {
  /** Due subscribers considered (all of them, unless the run was stopped). */
  due: number;
  queued: number;
  /** Due subscribers whose digest another producer had queued first. */
  alreadyQueued: number;
  /** Due subscribers with nothing new (no message unless sendEmpty). */
  nothingNew: number;
  papers: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PAGE_SIZE = 100;
/**
 * How far back the run's shared window may reach. A subscriber whose window starts earlier
 * (mail stopped for months) is selected by their own query instead of making every page
 * carry months of papers.
 */
const MAX_WINDOW_DAYS = 31;

/** The papers a run selects from, read once and extended if a page's window starts earlier. */
interface RunWindow {
  since: string;
  papers: WindowPaper[];
}

/**
 * Renders each due subscriber's digest and queues it, a page of subscribers at a time:
 * the window's papers are read once per run, what the page's subscribers hold once per
 * page, and each paper's block is built once per run (shared by every digest that shows
 * it). Each digest is queued atomically (the message, the reservation of its papers, the
 * subscriber's next window start and the digest's record), and only if the subscriber's
 * window is still the one it was selected for; a page's digests commit in one transaction,
 * so a crash leaves whole queued messages or none, and memory holds one page at a time.
 */
export async function queueDigests(subscribers: readonly Subscriber[] | AsyncIterable<readonly Subscriber[]>, deps: QueueDeps): Promise<QueueOutcome> {
  const outcome: QueueOutcome = { due: 0, queued: 0, alreadyQueued: 0, nothingNew: 0, papers: 0 };
  const paperCache = new Map<number, DigestPaper>();
  const pageSize = deps.pageSize ?? PAGE_SIZE;
  let window: RunWindow | null = null;
  let undrained = 0;
  const pages = Array.isArray(subscribers) ? pagesOf(subscribers as readonly Subscriber[], pageSize) : (subscribers as AsyncIterable<readonly Subscriber[]>);
  for await (const page of pages) {
    if (deps.stopping?.()) break;
    deps.onProgress?.({ stage: 'queue', added: page.length });
    const dueBefore = outcome.due;
    const now = deps.clock.now();
    const horizon = new Date(now.getTime() - MAX_WINDOW_DAYS * DAY_MS).toISOString();
    const starts = page.map((subscriber) => windowStart(deps.context, subscriber, now));
    const floor = starts.reduce((earliest, since) => (since >= horizon && since < earliest ? since : earliest), now.toISOString());
    if (!window || floor < window.since) window = { since: floor, papers: await deps.store.windowPapers(floor) };
    const held = await deps.store.heldPaperIds(
      page.map((subscriber) => subscriber.id),
      window.since,
    );
    const messages: MessageToQueue[] = [];
    for (const [index, subscriber] of page.entries()) {
      if (deps.stopping?.()) break;
      outcome.due++;
      const at = deps.clock.now();
      const digest =
        starts[index]! >= window.since
          ? prepareDigestFromWindow(deps.context, subscriber, at, window, held.get(subscriber.id), paperCache)
          : await prepareDigest(deps.context, subscriber, at, paperCache);
      const paperIds = digest.selection.paperIds;
      if (paperIds.length === 0) {
        outcome.nothingNew++;
        if (!deps.sendEmpty) continue;
      }
      // Building a message is synchronous now: a turn of the event loop between digests lets
      // the lease's renewal timer and the I/O of others run while a page is built.
      await setImmediate();
      const message = await outboxMessage(deps.renderer.renderDigest(digest.data), subscriber, deps.sender, at, digest.data.links.unsubscribe);
      if (deps.keepHtml === false) message.html = '';
      messages.push({ message: { ...message, runId: deps.runId, kind: paperIds.length === 0 ? 'empty' : 'digest', windowSince: subscriber.lastDigestAt }, paperIds, record: digest.record });
    }
    // One commit per page; each digest inside it is still checked on its own.
    const ids = await deps.store.queueMessages(messages);
    for (const [index, id] of ids.entries()) {
      if (id === null) {
        // Another producer queued this subscriber's digest meanwhile (the store refuses a second).
        outcome.alreadyQueued++;
        continue;
      }
      outcome.queued++;
      undrained++;
      outcome.papers += messages[index]!.paperIds.length;
    }
    for (let done = dueBefore; done < outcome.due; done++) deps.onProgress?.({ stage: 'queue', done: 1 });
    await deps.heartbeat?.();
    if (deps.drain && undrained >= deps.drain.every) {
      undrained = 0;
      await deps.drain.run();
    }
  }
  return outcome;
}

async function* pagesOf<T>(items: readonly T[], size: number): AsyncIterable<readonly T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
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
  const raw = buildRawMessage({
    messageId,
    from: sender.from,
    ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
    to: { email: subscriber.email, name: subscriber.name },
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    date: now,
    ...(unsubscribeUrl ? { list: { id: sender.listId, name: sender.listName, unsubscribeUrl, unsubscribeMailto: sender.unsubscribeMailto } } : {}),
  }, rendered.pieces);
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
