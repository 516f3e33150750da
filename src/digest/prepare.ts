import type { Subscriber } from '../model/subscriber.ts';
import type { OutboxRepository } from '../store/port.ts';
import type { Taxonomy } from '../topics/taxonomy.ts';
import { signToken, type TokenSubject } from '../tokens.ts';
import { composeDigest } from './compose.ts';
import type { DigestData, DigestLinks, DigestPaper } from './digest-data.ts';
import { selectDigest, type Selection } from './select.ts';

export interface DigestContext {
  store: Pick<OutboxRepository, 'digestCandidates'>;
  taxonomy: Taxonomy;
  publicUrl: string;
  secret: string;
  rules: { backfillDays: number; maxPerTopic: number; maxPerDigest: number };
}

export interface PreparedDigest {
  data: DigestData;
  selection: Selection;
  /** Start of the window: papers first seen after this. */
  since: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A subscriber's next digest as it stands at `now`: papers first seen since their last
 * digest (a new subscriber: within the backfill window) and never delivered to them.
 * Reads only; nothing is recorded.
 */
export async function prepareDigest(context: DigestContext, subscriber: Subscriber, now: Date, paperCache?: Map<number, DigestPaper>): Promise<PreparedDigest> {
  const since = subscriber.lastDigestAt ?? new Date(now.getTime() - context.rules.backfillDays * DAY_MS).toISOString();
  const topicOrder = context.taxonomy.topics.map((topic) => topic.id);
  const selection = selectDigest(await context.store.digestCandidates(subscriber.id, since), {
    topics: subscriber.topics,
    topicOrder,
    maxPerTopic: context.rules.maxPerTopic,
    maxPerDigest: context.rules.maxPerDigest,
  });
  const data = composeDigest(subscriber, selection, {
    topicNames: new Map(context.taxonomy.topics.map((topic) => [topic.id, topic.name])),
    links: subscriberLinks(context, subscriber),
    now,
    ...(paperCache ? { paperCache } : {}),
  });
  return { data, selection, since };
}

/** The manage and unsubscribe links of every mail to a subscriber. They do not expire. */
export function subscriberLinks(context: Pick<DigestContext, 'publicUrl' | 'secret'>, subscriber: TokenSubject): DigestLinks {
  return {
    preferences: `${context.publicUrl}/preferences?token=${signToken(context.secret, 'preferences', subscriber)}`,
    unsubscribe: `${context.publicUrl}/unsubscribe?token=${signToken(context.secret, 'unsubscribe', subscriber)}`,
    archive: 'https://huggingface.co/papers',
  };
}
