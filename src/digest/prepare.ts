import { randomBytes } from 'node:crypto';
import type { NewDigestRecord } from '../model/digest.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { OutboxRepository } from '../store/port.ts';
import type { Taxonomy } from '../topics/taxonomy.ts';
import { signDigestToken, signToken, type TokenSubject } from '../tokens.ts';
import { composeDigest } from './compose.ts';
import type { DigestData, DigestLinks, DigestPaper } from './digest-data.ts';
import type { WindowPaper } from '../model/paper.ts';
import { selectDigest, selectFromWindow, type Selection, type SelectionRules } from './select.ts';

export interface DigestContext {
  store: Pick<OutboxRepository, 'digestCandidates'>;
  taxonomy: Taxonomy;
  publicUrl: string;
  secret: string;
  rules: { backfillDays: number; carryOverDays: number; maxPerTopic: number; maxPerDigest: number };
}

export interface PreparedDigest {
  data: DigestData;
  selection: Selection;
  /** Start of the window: papers first seen after this. */
  since: string;
  /** What to store when the digest is queued (the web view and archive read it). */
  record: NewDigestRecord;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A subscriber's next digest as it stands at `now`: papers first seen since their last
 * digest (a new subscriber: within the backfill window) and never delivered to them, and
 * papers that matched an earlier digest but did not fit, while they are at most
 * `carryOverDays` old. Reads only; nothing is recorded.
 */
export async function prepareDigest(context: DigestContext, subscriber: Subscriber, now: Date, paperCache?: Map<number, DigestPaper>): Promise<PreparedDigest> {
  const since = windowStart(context, subscriber, now);
  const selection = selectDigest(await context.store.digestCandidates(subscriber.id, since), selectionRules(context, subscriber, now));
  return preparedDigest(context, subscriber, now, since, selection, paperCache);
}

/**
 * The same digest as `prepareDigest`, selected from a run's window (papers read once for
 * every subscriber, first seen after `window.since`, which must not be later than this
 * subscriber's own start) and the papers they hold (delivered or reserved).
 */
export function prepareDigestFromWindow(
  context: Omit<DigestContext, 'store'>,
  subscriber: Subscriber,
  now: Date,
  window: { since: string; papers: readonly WindowPaper[] },
  held: ReadonlySet<number> | undefined,
  paperCache?: Map<number, DigestPaper>,
): PreparedDigest {
  const since = windowStart(context, subscriber, now);
  if (since < window.since) throw new Error(`the run's window starts at ${window.since}, after ${subscriber.email}'s (${since})`);
  const selection = selectFromWindow(window.papers, { ...selectionRules(context, subscriber, now), since, held });
  return preparedDigest(context, subscriber, now, since, selection, paperCache);
}

/**
 * Start of the subscriber's window: their last digest (a new subscriber: the backfill
 * horizon), or earlier, the carry-over horizon, so papers that did not fit come back.
 */
export function windowStart(context: Pick<DigestContext, 'rules'>, subscriber: Pick<Subscriber, 'lastDigestAt'>, now: Date): string {
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const carryHorizon = daysAgo(context.rules.carryOverDays);
  return subscriber.lastDigestAt === null ? daysAgo(context.rules.backfillDays) : subscriber.lastDigestAt < carryHorizon ? subscriber.lastDigestAt : carryHorizon;
}

function selectionRules(context: Omit<DigestContext, 'store'>, subscriber: Subscriber, now: Date): SelectionRules {
  return {
    topics: subscriber.topics,
    topicOrder: topicOrderOf(context.taxonomy),
    maxPerTopic: context.rules.maxPerTopic,
    maxPerDigest: context.rules.maxPerDigest,
    now,
    carriedBefore: subscriber.lastDigestAt,
  };
}

// Worked out once per taxonomy, not once per subscriber.
const topicOrders = new WeakMap<Taxonomy, { order: string[]; names: Map<string, string> }>();
function taxonomyLookups(taxonomy: Taxonomy): { order: string[]; names: Map<string, string> } {
  let lookups = topicOrders.get(taxonomy);
  if (!lookups) {
    lookups = { order: taxonomy.topics.map((topic) => topic.id), names: new Map(taxonomy.topics.map((topic) => [topic.id, topic.name])) };
    topicOrders.set(taxonomy, lookups);
  }
  return lookups;
}
const topicOrderOf = (taxonomy: Taxonomy) => taxonomyLookups(taxonomy).order;

function preparedDigest(
  context: Omit<DigestContext, 'store'>,
  subscriber: Subscriber,
  now: Date,
  since: string,
  selection: Selection,
  paperCache: Map<number, DigestPaper> | undefined,
): PreparedDigest {
  const key = randomBytes(12).toString('base64url');
  const data = composeDigest(subscriber, selection, {
    topicNames: taxonomyLookups(context.taxonomy).names,
    links: {
      ...subscriberLinks(context, subscriber),
      view: digestViewUrl(context, subscriber.id, key),
      archive: `${context.publicUrl}/archive`,
    },
    now,
    ...(paperCache ? { paperCache } : {}),
  });
  const entries = selection.sections.flatMap((section) =>
    [...section.papers, ...section.rest].map((paper, index) => ({
      paperId: paper.paperId,
      topicId: section.topicId,
      fitted: index < section.papers.length,
      carried: paper.carried,
      score: paper.score.total,
    })),
  );
  return { data, selection, since, record: { key, subscriberId: subscriber.id, createdAt: now.toISOString(), entries } };
}

/** The web view of one digest; the link does not expire. */
export function digestViewUrl(context: Pick<DigestContext, 'publicUrl' | 'secret'>, subscriberId: number, digestKey: string): string {
  return `${context.publicUrl}/d/${signDigestToken(context.secret, subscriberId, digestKey)}`;
}

/** The manage and unsubscribe links of every mail to a subscriber. They do not expire. */
export function subscriberLinks(context: Pick<DigestContext, 'publicUrl' | 'secret'>, subscriber: TokenSubject): Pick<DigestLinks, 'preferences' | 'unsubscribe'> {
  return {
    preferences: `${context.publicUrl}/preferences?token=${signToken(context.secret, 'preferences', subscriber)}`,
    unsubscribe: `${context.publicUrl}/unsubscribe?token=${signToken(context.secret, 'unsubscribe', subscriber)}`,
  };
}
