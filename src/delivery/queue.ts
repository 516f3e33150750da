import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { DigestPaper } from '../digest/digest-data.ts';
import { prepareDigest, type DigestContext } from '../digest/prepare.ts';
import type { Renderer } from '../digest/render.ts';
import type { Store } from '../store/store.ts';
import type { Subscriber } from '../subscribers/subscriber.ts';

export type QueueStore = Pick<Store, 'transaction' | 'queueMessage'>;

export interface QueueDeps {
  store: QueueStore;
  context: DigestContext;
  renderer: Renderer;
  clock: Clock;
  sendEmpty: boolean;
  /** Domain of our Message-IDs (the From address's). */
  messageIdDomain: string;
  runId: number | null;
}

export interface QueueOutcome {
  queued: number;
  /** Due subscribers with nothing new (no message unless sendEmpty). */
  nothingNew: number;
  papers: number;
}

/**
 * Renders each due subscriber's digest and queues it: the message, the reservation of its
 * papers and the subscriber's next window start are one transaction per subscriber, so a
 * crash leaves either a whole queued message or none.
 */
export function queueDigests(subscribers: readonly Subscriber[], deps: QueueDeps): QueueOutcome {
  const outcome: QueueOutcome = { queued: 0, nothingNew: 0, papers: 0 };
  const paperCache = new Map<number, DigestPaper>();
  for (const subscriber of subscribers) {
    const now = deps.clock.now();
    const digest = prepareDigest(deps.context, subscriber, now, paperCache);
    const paperIds = digest.selection.paperIds;
    if (paperIds.length === 0) {
      outcome.nothingNew++;
      if (!deps.sendEmpty) continue;
    }
    const message = deps.renderer.renderDigest(digest.data);
    deps.store.transaction(() =>
      deps.store.queueMessage(
        {
          runId: deps.runId,
          subscriberId: subscriber.id,
          kind: paperIds.length === 0 ? 'empty' : 'digest',
          messageId: `<${now.getTime().toString(36)}.${subscriber.id}.${randomBytes(6).toString('hex')}@${deps.messageIdDomain}>`,
          recipient: subscriber.email,
          recipientName: subscriber.name,
          subject: message.subject,
          html: message.html,
          text: message.text,
          unsubscribeUrl: digest.data.links.unsubscribe,
          windowSince: subscriber.lastDigestAt,
          now: now.toISOString(),
        },
        paperIds,
      ),
    );
    outcome.queued++;
    outcome.papers += paperIds.length;
  }
  return outcome;
}
