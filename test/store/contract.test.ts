import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewDigestRecord } from '../../src/model/digest.ts';
import type { NewOutboxMessage } from '../../src/model/outbox.ts';
import type { PaperFields } from '../../src/model/paper.ts';
import type { SubscriberInput } from '../../src/model/subscriber.ts';
import type { Store } from '../../src/store/port.ts';
import { STORE_ADAPTERS } from '../helpers/store-adapters.ts';

/**
 * The store contract: every adapter behind the port behaves the same. Each port method is
 * exercised through the port alone, and each multi-part write is all or nothing.
 */

const T0 = '2026-11-23T07:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

function paper(n: number, overrides: Partial<PaperFields> = {}): PaperFields {
  return {
    key: `2611.${String(n).padStart(5, '0')}`,
    arxivId: `2611.${String(n).padStart(5, '0')}`,
    titleKey: `paper number ${n}`,
    title: `Paper number ${n}`,
    abstract: `Abstract of paper ${n}.`,
    authors: [`Author ${n}`],
    authorCount: 1,
    organization: null,
    publishedOn: '2026-11-20',
    upvotes: n,
    comments: null,
    keywords: [`keyword ${n}`],
    categories: ['cs.LG'],
    links: { github: `https://github.com/example/paper-${n}` },
    ...overrides,
  };
}

const reader = (email: string, overrides: Partial<SubscriberInput> = {}): SubscriberInput => ({
  email,
  name: null,
  topics: null,
  frequency: 'daily',
  weekday: null,
  ...overrides,
});

function message(subscriberId: number, n: number, now: string, overrides: Partial<NewOutboxMessage> = {}): NewOutboxMessage {
  return {
    runId: null,
    subscriberId,
    kind: 'digest',
    messageId: `<m${n}.${subscriberId}@contract.test>`,
    recipient: `reader${subscriberId}@example.org`,
    recipientName: null,
    subject: `Digest ${n}`,
    raw: Buffer.from(`Subject: Digest ${n}\r\n\r\nbody ${n}\r\n`),
    html: `<p>body ${n}</p>`,
    unsubscribeUrl: `https://paperboy.test/unsubscribe?token=${subscriberId}`,
    windowSince: null,
    now,
    ...overrides,
  };
}

describe.each(STORE_ADAPTERS)('store contract: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  /** A listing with papers 1..n (all new), filed under `topic`; returns the papers' ids in order. */
  async function listPapersIn(origin: string, numbers: number[], now = T0, topic = 'reasoning'): Promise<number[]> {
    const listingId = await store.insertListing({ origin, contentHash: `hash-${origin}`, format: 'hf-api', listedOn: '2026-11-23', ingestedAt: now });
    await store.saveListingPapers(
      listingId,
      { inserts: numbers.map((n) => paper(n)), updates: [], touches: [], links: numbers.map((_, index) => ({ paper: { inserted: index }, position: index })) },
      now,
    );
    const stored = await store.papersMatching({ arxivIds: numbers.map((n) => paper(n).arxivId!), titleKeys: [] });
    await store.saveFilings('v1', stored.map((row) => ({ paperId: row.id, topics: [{ topicId: topic, score: 5, evidence: ['test (title)'] }] })));
    return stored.map((row) => row.id);
  }

  /** Queues a message that must be queued. */
  async function queue(...args: Parameters<Store['queueMessage']>): Promise<number> {
    const id = await store.queueMessage(...args);
    if (id === null) throw new Error('the store refused to queue the message');
    return id;
  }

  async function subscriber(email: string, overrides: Partial<SubscriberInput> = {}) {
    return (await store.insertSubscriber(reader(email, overrides), 'active', T0))!;
  }

  describe('listings', () => {
    it('stores a listing, finds it by content hash, and records its outcome', async () => {
      const id = await store.insertListing({ origin: '/inbox/a.txt', contentHash: 'abc', format: 'hf-dump', listedOn: '2026-11-23', ingestedAt: T0 });
      await store.finishListing(id, { paperCount: 20, newCount: 18, updatedCount: 2, warnings: [{ line: 9, message: 'truncated' }] });
      expect(await store.listingByHash('abc')).toEqual({
        id,
        origin: '/inbox/a.txt',
        contentHash: 'abc',
        format: 'hf-dump',
        listedOn: '2026-11-23',
        ingestedAt: T0,
        status: 'ingested',
        error: null,
        paperCount: 20,
        newCount: 18,
        updatedCount: 2,
      });
      expect(await store.listingByHash('nope')).toBeUndefined();
    });

    it('keeps a failed listing for the record, replaced by a later good ingest of the same content', async () => {
      await store.recordFailedListing({ origin: 'https://example.org/a', contentHash: 'h1', format: null, ingestedAt: T0, error: 'https://example.org/a: the file is empty' });
      await store.recordFailedListing({ origin: 'https://example.org/b', contentHash: 'h1', format: null, ingestedAt: at(1), error: 'https://example.org/b: the file is empty' });
      expect((await store.recentListings(10)).map((row) => [row.origin, row.status, row.error])).toEqual([['https://example.org/b', 'failed', 'https://example.org/b: the file is empty']]);
      await store.insertListing({ origin: 'https://example.org/b', contentHash: 'h1', format: 'hf-api', listedOn: null, ingestedAt: at(2) });
      expect((await store.recentListings(10)).map((row) => [row.status, row.format])).toEqual([['ingested', 'hf-api']]);
    });

    it('lists listings newest first, up to the limit', async () => {
      for (const name of ['a', 'b', 'c']) await store.insertListing({ origin: name, contentHash: name, format: 'hf-dump', listedOn: null, ingestedAt: T0 });
      expect((await store.recentListings(2)).map((row) => row.origin)).toEqual(['c', 'b']);
    });
  });

  describe('papers', () => {
    it('inserts, updates and touches the papers of a listing, and links each once in listing order', async () => {
      const [first, second] = await listPapersIn('one', [1, 2]);
      const listingId = await store.insertListing({ origin: 'two', contentHash: 'two', format: 'hf-api', listedOn: null, ingestedAt: at(60) });
      await store.saveListingPapers(
        listingId,
        {
          inserts: [paper(3)],
          updates: [{ id: first!, fields: paper(1, { abstract: 'Revised abstract.', upvotes: 40 }) }],
          touches: [second!],
          links: [
            { paper: { inserted: 0 }, position: 0 },
            { paper: { id: first! }, position: 1 },
            { paper: { id: second! }, position: 2 },
          ],
        },
        at(60),
      );
      expect(await store.countPapers()).toEqual({ papers: 3, paperListings: 5 });
      const updated = (await store.paperByKey('2611.00001'))!;
      expect(updated).toMatchObject({ id: first, abstract: 'Revised abstract.', upvotes: 40, firstSeen: T0, lastSeen: at(60), links: { github: 'https://github.com/example/paper-1' } });
      // A changed paper waits to be filed again; an unchanged one keeps its filing.
      expect((await store.papersToClassify('v1', 10)).map((row) => row.id)).toEqual([first, (await store.paperByKey('2611.00003'))!.id]);
      expect(await store.paperByKey('2611.00002')).toMatchObject({ firstSeen: T0, lastSeen: at(60), primaryTopic: 'reasoning' });
    });

    it('finds papers by arXiv id or title key, in id order, and one by its title key', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      const found = await store.papersMatching({ arxivIds: ['2611.00003', '9999.99999'], titleKeys: ['paper number 1'] });
      expect(found.map((row) => row.id)).toEqual([ids[0], ids[2]]);
      expect(found[0]).toMatchObject({ key: '2611.00001', title: 'Paper number 1', authors: ['Author 1'], keywords: ['keyword 1'], categories: ['cs.LG'] });
      expect(await store.papersMatching({ arxivIds: [], titleKeys: [] })).toEqual([]);
      expect((await store.paperByTitleKey('paper number 2'))?.id).toBe(ids[1]);
      expect(await store.paperByTitleKey('no such title')).toBeUndefined();
    });

    it('lists papers newest first with their listings and topics, filtered by date and primary topic', async () => {
      await listPapersIn('early', [1], T0, 'code');
      await listPapersIn('late', [2], at(60), 'agents');
      const all = await store.listPapers({});
      expect(all.map((row) => [row.key, row.sources, row.topics.map((topic) => topic.topicId)])).toEqual([
        ['2611.00002', ['late'], ['agents']],
        ['2611.00001', ['early'], ['code']],
      ]);
      expect(all[0]!.topics[0]).toEqual({ topicId: 'agents', score: 5, evidence: ['test (title)'] });
      expect((await store.listPapers({ since: at(30) })).map((row) => row.key)).toEqual(['2611.00002']);
      expect((await store.listPapers({ topic: 'code' })).map((row) => row.key)).toEqual(['2611.00001']);
      expect(await store.listPapers({ limit: 1 })).toHaveLength(1);
    });
  });

  describe('topics', () => {
    it('files papers by taxonomy version and counts them per topic, primary and secondary', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      expect(await store.papersToClassify('v1', 10)).toEqual([]);
      const pending = await store.papersToClassify('v2', 2);
      expect(pending).toEqual([
        { id: ids[0], title: 'Paper number 1', abstract: 'Abstract of paper 1.', keywords: ['keyword 1'], categories: ['cs.LG'] },
        { id: ids[1], title: 'Paper number 2', abstract: 'Abstract of paper 2.', keywords: ['keyword 2'], categories: ['cs.LG'] },
      ]);
      await store.saveFilings('v2', [
        { paperId: ids[0]!, topics: [{ topicId: 'code', score: 9, evidence: ['code (title)'] }, { topicId: 'agents', score: 5, evidence: [] }] },
        { paperId: ids[1]!, topics: [{ topicId: 'agents', score: 7, evidence: [] }] },
        { paperId: ids[2]!, topics: [{ topicId: 'code', score: 3, evidence: [] }] },
      ]);
      expect(await store.papersToClassify('v2', 10)).toEqual([]);
      const counts = new Map((await store.topicCounts(5)).map((count) => [count.topicId, count]));
      expect(counts.get('code')).toEqual({ topicId: 'code', papers: 2, secondary: 0, examples: ['Paper number 3', 'Paper number 1'] });
      expect(counts.get('agents')).toEqual({ topicId: 'agents', papers: 1, secondary: 1, examples: ['Paper number 2'] });
      expect(counts.has('reasoning')).toBe(false);
    });
  });

  describe('subscribers', () => {
    it('adds a subscriber once per address, and finds them by address and id', async () => {
      const added = (await store.insertSubscriber(reader('ada@example.org', { name: 'Ada', topics: ['code'], frequency: 'weekly', weekday: 3 }), 'active', T0))!;
      expect(added).toMatchObject({ email: 'ada@example.org', name: 'Ada', status: 'active', topics: ['code'], frequency: 'weekly', weekday: 3, createdAt: T0, confirmedAt: T0, lastDigestAt: null, hardBounces: 0 });
      expect(await store.insertSubscriber(reader('ada@example.org'), 'pending', at(1))).toBeNull();
      expect(await store.subscriberByEmail('ada@example.org')).toEqual(added);
      expect(await store.subscriberById(added.id)).toEqual(added);
      expect(await store.subscriberById(added.id + 1000)).toBeUndefined();
    });

    it('pages subscribers by id, filters by status and counts them', async () => {
      const ids: number[] = [];
      for (const [email, status] of [['a@x.org', 'active'], ['b@x.org', 'pending'], ['c@x.org', 'active'], ['d@x.org', 'bounced']] as const) {
        ids.push((await store.insertSubscriber(reader(email), status, T0))!.id);
      }
      expect((await store.listSubscribers({})).map((row) => row.email)).toEqual(['a@x.org', 'b@x.org', 'c@x.org', 'd@x.org']);
      expect((await store.listSubscribers({ status: 'active' })).map((row) => row.email)).toEqual(['a@x.org', 'c@x.org']);
      expect((await store.listSubscribers({ after: ids[1]!, limit: 1 })).map((row) => row.email)).toEqual(['c@x.org']);
      expect(await store.subscriberCounts()).toEqual({ pending: 1, active: 2, unsubscribed: 0, bounced: 1 });
    });

    it('confirms a pending sign-up once, and re-subscribes an unsubscribed address as pending', async () => {
      const pending = (await store.insertSubscriber(reader('p@x.org'), 'pending', T0))!;
      expect(pending.confirmedAt).toBeNull();
      expect(await store.confirmSubscriber(pending.id, at(5))).toBe(true);
      expect(await store.confirmSubscriber(pending.id, at(6))).toBe(false);
      expect(await store.subscriberById(pending.id)).toMatchObject({ status: 'active', confirmedAt: at(5) });
      expect(await store.unsubscribe(pending.id, at(7))).toBe(true);
      expect(await store.unsubscribe(pending.id, at(8))).toBe(false);
      expect(await store.subscriberById(pending.id)).toMatchObject({ status: 'unsubscribed', unsubscribedAt: at(7) });
      await store.resubscribe(pending.id, { name: 'Back', topics: ['nlp'], frequency: 'weekly', weekday: 2 }, at(9));
      expect(await store.subscriberById(pending.id)).toMatchObject({ status: 'pending', name: 'Back', topics: ['nlp'], frequency: 'weekly', weekday: 2, createdAt: at(9), confirmedAt: null, unsubscribedAt: null });
    });

    it('updates preferences, expires stale sign-ups and deletes a subscriber with what they were sent', async () => {
      const ada = await subscriber('ada@example.org');
      await store.updatePreferences(ada.id, { name: 'Ada L.', topics: null, frequency: 'weekly', weekday: 1 });
      expect(await store.subscriberById(ada.id)).toMatchObject({ name: 'Ada L.', topics: null, frequency: 'weekly', weekday: 1, status: 'active' });
      await store.insertSubscriber(reader('old@x.org'), 'pending', at(-60));
      await store.insertSubscriber(reader('new@x.org'), 'pending', at(10));
      expect(await store.expirePending(T0)).toBe(1);
      expect(await store.subscriberByEmail('old@x.org')).toBeUndefined();
      expect(await store.subscriberByEmail('new@x.org')).toBeDefined();

      const [paperId] = await listPapersIn('one', [1]);
      const queued = await queue(message(ada.id, 1, at(1)), [paperId!]);
      const [claimed] = await store.claimDue('w', 10, at(1), at(3));
      expect(claimed!.id).toBe(queued);
      await store.settle(claimed!, 'w', { status: 'sent', attempts: 1, sentAt: at(2) }, at(2));
      expect(await store.deliveredPaperIds(ada.id)).toEqual([paperId]);
      await store.deleteSubscriber(ada.id);
      expect(await store.subscriberById(ada.id)).toBeUndefined();
      expect(await store.deliveredPaperIds(ada.id)).toEqual([]);
      expect(await store.outboxById(queued)).toBeUndefined();
    });
  });

  describe('outbox', () => {
    it('offers a subscriber papers seen in the window, not delivered to them and not reserved by their queued mail', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      const ada = await subscriber('ada@example.org');
      const grace = await subscriber('grace@example.org');
      const candidates = await store.digestCandidates(ada.id, at(-1));
      expect(candidates.map((row) => row.paperId).sort()).toEqual([...ids].sort());
      expect(candidates[0]).toMatchObject({ topicId: 'reasoning', topicRank: 0, topicScore: 5, firstSeen: T0, authors: expect.any(Array) });
      expect(await store.digestCandidates(ada.id, T0)).toEqual([]);

      await store.queueMessage(message(ada.id, 1, at(1)), [ids[0]!, ids[1]!]);
      expect((await store.digestCandidates(ada.id, at(-1))).map((row) => row.paperId)).toEqual([ids[2]]);
      expect((await store.digestCandidates(grace.id, at(-1))).map((row) => row.paperId).sort()).toEqual([...ids].sort());
      expect(await store.subscribersWithQueuedMail()).toEqual(new Set([ada.id]));
      // Queueing moved the window.
      expect((await store.subscriberById(ada.id))!.lastDigestAt).toBe(at(1));
    });

    it('claims due messages for one worker at a time, oldest first, and lets an expired claim be taken', async () => {
      const ada = await subscriber('ada@example.org');
      const grace = await subscriber('grace@example.org');
      const later = await subscriber('later@example.org');
      const first = await queue(message(ada.id, 1, at(0)), []);
      const second = await queue(message(grace.id, 2, at(1)), []);
      const third = await queue(message(later.id, 3, at(30)), []);

      const mine = await store.claimDue('worker-a', 10, at(5), at(10));
      expect(mine.map((row) => [row.id, row.claimedBy, row.claimExpiresAt, row.hardBounces])).toEqual([
        [first, 'worker-a', at(10), 0],
        [second, 'worker-a', at(10), 0],
      ]);
      expect(mine[0]!.raw.toString()).toBe('Subject: Digest 1\r\n\r\nbody 1\r\n');
      expect(mine[0]!.html).toBe('<p>body 1</p>');
      expect(await store.claimDue('worker-b', 10, at(6), at(11))).toEqual([]);
      expect(await store.claimHolders()).toEqual(['worker-a']);

      expect(await store.extendClaims('worker-a', at(20))).toBe(2);
      expect(await store.claimDue('worker-b', 10, at(15), at(25))).toEqual([]);
      const taken = await store.claimDue('worker-b', 1, at(21), at(31));
      expect(taken.map((row) => [row.id, row.claimedBy])).toEqual([[first, 'worker-b']]);
      // worker-a lost that claim: its settle writes nothing.
      expect(await store.settle(mine[0]!, 'worker-a', { status: 'sent', attempts: 1, sentAt: at(22) }, at(22))).toBe(false);
      expect(await store.outboxCounts()).toEqual({ queued: 3, sent: 0, failed: 0 });

      expect(await store.releaseClaims('worker-a')).toBe(1);
      // At 40 worker-b's claim has lapsed too: everything due is claimable, oldest first.
      expect((await store.claimDue('worker-c', 10, at(40), at(50))).map((row) => row.id)).toEqual([first, second, third]);
    });

    it('claims nothing for subscribers who are no longer active', async () => {
      const ada = await subscriber('ada@example.org');
      await store.queueMessage(message(ada.id, 1, T0), []);
      await store.unsubscribe(ada.id, at(1));
      expect(await store.claimDue('w', 10, at(2), at(3))).toEqual([]);
      expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 0, failed: 1 });
      expect((await store.outboxProblems(10))[0]).toMatchObject({ recipient: `reader${ada.id}@example.org`, status: 'failed', lastError: 'subscriber unsubscribed' });
      // The message failed without being settled by a worker: its body is dropped by the prune.
      expect(await store.pruneOutboxBodies()).toBe(1);
    });

    it('settles a sent message: its papers, held while it was queued, are delivered; its body prunable', async () => {
      const ids = await listPapersIn('one', [1, 2]);
      const ada = await subscriber('ada@example.org');
      const id = await queue(message(ada.id, 1, T0), ids);
      expect(await store.deliveredPaperIds(ada.id)).toEqual([]);
      expect(await store.digestCandidates(ada.id, at(-1))).toEqual([]);
      const [claimed] = await store.claimDue('w', 10, T0, at(2));
      expect(await store.settle(claimed!, 'w', { status: 'sent', attempts: 1, sentAt: at(1) }, at(1))).toBe(true);
      expect(await store.settle(claimed!, 'w', { status: 'sent', attempts: 2, sentAt: at(1) }, at(1))).toBe(false);
      expect((await store.deliveredPaperIds(ada.id)).sort()).toEqual([...ids].sort());
      expect(await store.digestCandidates(ada.id, at(-1))).toEqual([]);
      expect(await store.outboxById(id)).toMatchObject({ status: 'sent', attempts: 1, sentAt: at(1), lastError: null });
      expect(await store.sentSince(T0)).toBe(1);
      expect(await store.sentSince(at(2))).toBe(0);
      expect(await store.subscribersWithQueuedMail()).toEqual(new Set());
      // Its body went when it settled: nothing is left to prune.
      expect(await store.pruneOutboxBodies()).toBe(0);
      expect(await store.claimHolders()).toEqual([]);
    });

    it('settles a retry: queued again for later, papers still reserved', async () => {
      const ids = await listPapersIn('one', [1]);
      const ada = await subscriber('ada@example.org');
      const id = await queue(message(ada.id, 1, T0), ids);
      const [claimed] = await store.claimDue('w', 10, T0, at(2));
      await store.settle(claimed!, 'w', { status: 'queued', attempts: 1, nextAttemptAt: at(10), error: '451 4.7.1 try later' }, at(1));
      expect(await store.outboxById(id)).toMatchObject({ status: 'queued', attempts: 1, nextAttemptAt: at(10), lastError: '451 4.7.1 try later' });
      expect(await store.nextRetryAt()).toBe(at(10));
      expect(await store.claimDue('w', 10, at(5), at(6))).toEqual([]);
      expect(await store.digestCandidates(ada.id, at(-1))).toEqual([]);
      expect((await store.outboxProblems(10)).map((row) => [row.status, row.attempts, row.lastError])).toEqual([['queued', 1, '451 4.7.1 try later']]);
      expect((await store.claimDue('w', 10, at(10), at(12))).map((row) => [row.id, row.attempts])).toEqual([[id, 1]]);
    });

    it('settles a failure: papers released, window restored; a bounce at the limit bounces the subscriber, fails their other mail and keeps a suppression record', async () => {
      const ids = await listPapersIn('one', [1, 2]);
      const ada = await subscriber('ada@example.org');
      const first = (await store.queueMessage(message(ada.id, 1, at(1), { windowSince: null }), [ids[0]!]))!;
      expect((await store.subscriberById(ada.id))!.lastDigestAt).toBe(at(1));
      const [claimed] = await store.claimDue('w', 1, at(3), at(5));
      expect(claimed!.id).toBe(first);
      await store.settle(claimed!, 'w', { status: 'failed', attempts: 1, error: '550 5.1.1 no such user', hardBounce: true, bounceSubscriber: false, deliveryError: false }, at(3));
      expect((await store.subscriberById(ada.id))!).toMatchObject({ status: 'active', hardBounces: 1, lastDigestAt: null });
      expect((await store.digestCandidates(ada.id, at(-1))).map((row) => row.paperId).sort()).toEqual([...ids].sort());
      expect(await store.suppressionOf('ada@example.org')).toBeUndefined();

      const second = (await store.queueMessage(message(ada.id, 2, at(4), { windowSince: null }), [ids[1]!]))!;
      const welcome = (await store.queueMessage(message(ada.id, 3, at(4), { kind: 'welcome' }), []))!;
      const [again] = await store.claimDue('w', 1, at(4), at(6));
      expect(again!.id).toBe(second);
      expect(again!.hardBounces).toBe(1);
      await store.settle(again!, 'w', { status: 'failed', attempts: 1, error: '550 5.1.1 no such user', hardBounce: true, bounceSubscriber: true, deliveryError: false }, at(4));
      expect((await store.subscriberById(ada.id))!).toMatchObject({ status: 'bounced', hardBounces: 2, lastDigestAt: null });
      expect(await store.outboxById(welcome)).toMatchObject({ status: 'failed', lastError: 'subscriber bounced' });
      expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 0, failed: 3 });
      expect(await store.deliveredPaperIds(ada.id)).toEqual([]);
      expect(await store.suppressionOf('ada@example.org')).toEqual({ email: 'ada@example.org', reason: '550 5.1.1 no such user', messageId: `<m2.${ada.id}@contract.test>`, bouncedAt: at(4) });

      // An admin takes the address back: active, bounces forgotten, suppression lifted.
      expect(await store.reactivateSubscriber(ada.id, at(10))).toBe(true);
      expect(await store.reactivateSubscriber(ada.id, at(11))).toBe(false);
      expect(await store.subscriberById(ada.id)).toMatchObject({ status: 'active', hardBounces: 0 });
      expect(await store.suppressionOf('ada@example.org')).toBeUndefined();
    });

    it('gives back the papers of queued digests that fail without being sent: the subscriber leaves, or bounces on other mail', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      const ada = await subscriber('ada@example.org');
      const grace = await subscriber('grace@example.org');
      await store.queueMessage(message(ada.id, 1, at(1), { windowSince: null }), [ids[0]!, ids[1]!]);
      await store.queueMessage(message(grace.id, 2, at(1), { windowSince: null }), [ids[2]!]);
      const notice = (await store.queueMessage(message(grace.id, 3, at(1), { kind: 'welcome' }), []))!;
      expect(await store.heldPaperIds([ada.id, grace.id], at(-1))).toEqual(new Map([[ada.id, new Set([ids[0], ids[1]])], [grace.id, new Set([ids[2]])]]));

      expect(await store.unsubscribe(ada.id, at(2))).toBe(true);
      // Grace's welcome bounces at the limit: her queued digest fails with it.
      const [claimed] = await store.claimDue('w', 10, at(2), at(4), ['welcome']);
      expect(claimed!.id).toBe(notice);
      await store.settle(claimed!, 'w', { status: 'failed', attempts: 1, error: '550 5.1.1 no such user', hardBounce: true, bounceSubscriber: true, deliveryError: false }, at(2));
      expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 0, failed: 3 });
      expect(await store.heldPaperIds([ada.id, grace.id], at(-1))).toEqual(new Map());
      expect(await store.deliveredPaperIds(ada.id)).toEqual([]);
      expect((await store.digestCandidates(grace.id, at(-1))).map((row) => row.paperId).sort()).toEqual([...ids].sort());
    });

    it('queues a digest only against the window it was selected for, and never beside another queued digest', async () => {
      const ada = await subscriber('ada@example.org');
      expect(await store.queueMessage(message(ada.id, 1, at(1), { windowSince: null }), [])).toEqual(expect.any(Number));
      // A second producer that selected against the same window comes too late.
      expect(await store.queueMessage(message(ada.id, 2, at(2), { windowSince: null }), [])).toBeNull();
      // Even against the current window, not while a digest is still queued.
      expect(await store.queueMessage(message(ada.id, 3, at(2), { windowSince: at(1) }), [])).toBeNull();
      // Notices are not digests: they go out beside one.
      expect(await store.queueMessage(message(ada.id, 4, at(2), { kind: 'welcome', windowSince: null }), [])).toEqual(expect.any(Number));
      expect(await store.outboxCounts()).toEqual({ queued: 2, sent: 0, failed: 0 });
      expect((await store.subscriberById(ada.id))!.lastDigestAt).toBe(at(1));
      expect(await store.subscribersWithQueuedMail()).toEqual(new Set([ada.id]));
    });

    it('queues a page as queueMessage would each in turn, answering in order, and writes none of it when one fails', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      const [ada, grace, linus, busy] = [await subscriber('ada@example.org'), await subscriber('grace@example.org'), await subscriber('linus@example.org'), await subscriber('busy@example.org')];
      await queue(message(busy.id, 1, at(1)), []);
      const fitted = (paperId: number, topicId: string) => ({ paperId, topicId, fitted: true, carried: false, score: 1 });
      const answers = await store.queueMessages([
        { message: message(ada.id, 1, at(2)), paperIds: [ids[0]!, ids[1]!], record: { key: 'ka', subscriberId: ada.id, createdAt: at(2), entries: [fitted(ids[0]!, 'reasoning'), fitted(ids[1]!, 'reasoning')] } },
        // Selected against a window that has moved on.
        { message: message(grace.id, 1, at(2), { windowSince: at(-5) }), paperIds: [ids[2]!] },
        // ...while one selected against the current window goes.
        { message: message(grace.id, 2, at(2)), paperIds: [ids[2]!] },
        // A second digest for the same subscriber in the same page.
        { message: message(ada.id, 2, at(2)), paperIds: [ids[2]!] },
        // Another digest is still queued for them.
        { message: message(busy.id, 2, at(2), { windowSince: at(1) }), paperIds: [] },
        // A notice goes out beside a digest.
        { message: message(ada.id, 3, at(2), { kind: 'welcome' }), paperIds: [] },
        { message: message(linus.id, 1, at(3)), paperIds: [ids[0]!], record: { key: 'kl', subscriberId: linus.id, createdAt: at(3), entries: [fitted(ids[0]!, 'reasoning')] } },
      ]);
      expect(answers.map((id) => id === null)).toEqual([false, true, false, true, true, false, false]);
      const [adaDigest, , graceDigest, , , welcome, linusDigest] = answers;
      expect((await store.outboxById(adaDigest!))!).toMatchObject({ subscriberId: ada.id, kind: 'digest', messageId: `<m1.${ada.id}@contract.test>`, status: 'queued', windowSince: null });
      expect((await store.outboxById(welcome!))!).toMatchObject({ subscriberId: ada.id, kind: 'welcome' });
      expect([(await store.outboxById(graceDigest!))!.messageId, (await store.outboxById(linusDigest!))!.messageId]).toEqual([`<m2.${grace.id}@contract.test>`, `<m1.${linus.id}@contract.test>`]);
      expect(await store.heldPaperIds([ada.id, grace.id, linus.id], at(-1))).toEqual(new Map([[ada.id, new Set([ids[0], ids[1]])], [grace.id, new Set([ids[2]])], [linus.id, new Set([ids[0]])]]));
      expect([(await store.subscriberById(ada.id))!.lastDigestAt, (await store.subscriberById(grace.id))!.lastDigestAt, (await store.subscriberById(linus.id))!.lastDigestAt]).toEqual([at(2), at(2), at(3)]);
      expect((await store.digestByKey('kl'))!.papers.map((row) => row.paperId)).toEqual([ids[0]]);
      expect(await store.archiveTopics()).toEqual([{ topicId: 'reasoning', papers: 2, latest: at(3) }]);
      expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.digestedOn]).sort()).toEqual([[ids[0], at(2)], [ids[1], at(2)]].sort());
      const [claimed] = await store.claimDue('w', 10, at(5), at(9), ['welcome']);
      expect(claimed!.raw.toString()).toBe('Subject: Digest 3\r\n\r\nbody 3\r\n');
      expect(await store.outboxCounts()).toEqual({ queued: 5, sent: 0, failed: 0 });

      // A Message-ID already taken fails the page: nothing of it is written.
      const carol = await subscriber('carol@example.org');
      await expect(
        store.queueMessages([
          { message: message(carol.id, 1, at(4)), paperIds: [ids[2]!], record: { key: 'kc', subscriberId: carol.id, createdAt: at(4), entries: [fitted(ids[2]!, 'code')] } },
          { message: message(carol.id, 2, at(4), { kind: 'welcome', messageId: `<m1.${ada.id}@contract.test>` }), paperIds: [] },
        ]),
      ).rejects.toThrow();
      expect(await store.outboxCounts()).toEqual({ queued: 5, sent: 0, failed: 0 });
      expect((await store.subscriberById(carol.id))!.lastDigestAt).toBeNull();
      expect(await store.digestByKey('kc')).toBeUndefined();
      expect(await store.archivedPapers('code', 10)).toEqual([]);
      expect(await store.queueMessages([])).toEqual([]);
    });

    it('claims a confirmation for a pending sign-up, and nothing else of theirs', async () => {
      const pending = (await store.insertSubscriber(reader('p@example.org'), 'pending', T0))!;
      const confirmation = await queue(message(pending.id, 1, T0, { kind: 'confirmation' }), []);
      await store.queueMessage(message(pending.id, 2, T0, { kind: 'digest' }), []);
      expect((await store.claimDue('w', 10, at(1), at(2))).map((row) => [row.id, row.kind])).toEqual([[confirmation, 'confirmation']]);
      expect(await store.subscribersWithQueuedMail()).toEqual(new Set([pending.id]));
    });

    it('retries exhausted: failed with no bounce counted', async () => {
      const ada = await subscriber('ada@example.org');
      const id = await queue(message(ada.id, 1, T0), []);
      const [claimed] = await store.claimDue('w', 1, T0, at(2));
      await store.settle(claimed!, 'w', { status: 'failed', attempts: 6, error: 'ETIMEDOUT: Timeout', hardBounce: false, bounceSubscriber: false, deliveryError: false }, at(1));
      expect(await store.outboxById(id)).toMatchObject({ status: 'failed', attempts: 6, lastError: 'ETIMEDOUT: Timeout' });
      expect(await store.subscriberById(ada.id)).toMatchObject({ status: 'active', hardBounces: 0, lastDigestAt: null });
    });
  });

  describe('runs, leases and state', () => {
    it('records runs, newest first, and marks unfinished ones interrupted', async () => {
      const first = await store.insertRun('scheduled', T0);
      await store.updateRun({ id: first, trigger: 'scheduled', startedAt: T0, finishedAt: at(1), status: 'done', ingested: 3, due: 2, queued: 2, sent: 2, failed: 0, deferred: 0, retried: 1, bounced: 0, error: null });
      const second = await store.insertRun('manual', at(2));
      expect(await store.interruptRuns(at(3))).toBe(1);
      expect(await store.recentRuns(5)).toEqual([
        { id: second, trigger: 'manual', startedAt: at(2), finishedAt: at(3), status: 'interrupted', ingested: 0, due: 0, queued: 0, sent: 0, failed: 0, deferred: 0, retried: 0, bounced: 0, error: null },
        { id: first, trigger: 'scheduled', startedAt: T0, finishedAt: at(1), status: 'done', ingested: 3, due: 2, queued: 2, sent: 2, failed: 0, deferred: 0, retried: 1, bounced: 0, error: null },
      ]);
      expect(await store.recentRuns(1)).toHaveLength(1);
    });

    it('gives a lease to one holder until it expires or is released', async () => {
      expect(await store.acquireLease('delivery', 'a', T0, at(2))).toBe(true);
      expect(await store.acquireLease('delivery', 'b', at(1), at(3))).toBe(false);
      expect(await store.acquireLease('delivery', 'a', at(1), at(4))).toBe(true);
      expect(await store.leaseHolder('delivery')).toEqual({ holder: 'a', expiresAt: at(4) });
      expect(await store.acquireLease('delivery', 'b', at(4), at(6))).toBe(true);
      expect(await store.acquireLease('delivery', 'c', at(5), at(7), 'b')).toBe(true);
      await store.releaseLease('delivery', 'someone-else');
      expect((await store.leaseHolder('delivery'))?.holder).toBe('c');
      await store.releaseLease('delivery', 'c');
      expect(await store.leaseHolder('delivery')).toBeUndefined();
    });

    it('keeps small facts, overwriting by key', async () => {
      expect(await store.getState('last_scheduled_run')).toBeUndefined();
      await store.setState('last_scheduled_run', T0);
      await store.setState('last_scheduled_run', at(1));
      expect(await store.getState('last_scheduled_run')).toBe(at(1));
    });

    it('answers a ping with its schema version', async () => {
      expect(await store.ping()).toBeGreaterThan(0);
    });
  });

  describe('transactions', () => {
    it('commits everything the callback wrote, across aggregates', async () => {
      const result = await store.withTransaction(async (tx) => {
        const ada = (await tx.insertSubscriber(reader('ada@example.org'), 'active', T0))!;
        await tx.setState('k', 'v');
        await tx.insertRun('manual', T0);
        return ada.id;
      });
      expect(await store.subscriberById(result)).toBeDefined();
      expect(await store.getState('k')).toBe('v');
      expect(await store.recentRuns(5)).toHaveLength(1);
    });

    it('writes nothing when the callback throws', async () => {
      await listPapersIn('one', [1]);
      const error = await store
        .withTransaction(async (tx) => {
          await tx.insertSubscriber(reader('ada@example.org'), 'active', T0);
          const listingId = await tx.insertListing({ origin: 'two', contentHash: 'two', format: 'hf-api', listedOn: null, ingestedAt: T0 });
          await tx.saveListingPapers(listingId, { inserts: [paper(2)], updates: [], touches: [], links: [{ paper: { inserted: 0 }, position: 0 }] }, T0);
          await tx.setState('k', 'v');
          throw new Error('boom');
        })
        .catch((caught: unknown) => caught);
      expect((error as Error).message).toBe('boom');
      expect(await store.subscriberByEmail('ada@example.org')).toBeUndefined();
      expect(await store.listingByHash('two')).toBeUndefined();
      expect(await store.countPapers()).toEqual({ papers: 1, paperListings: 1 });
      expect(await store.getState('k')).toBeUndefined();
    });

    it('an operation on the store while a transaction is open waits for it and is not rolled back with it', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const tx = store.withTransaction(async (session) => {
        await session.setState('inside', '1');
        await gate;
        throw new Error('rolled back');
      });
      const outside = store.setState('outside', '1');
      release();
      await expect(tx).rejects.toThrow('rolled back');
      await outside;
      expect(await store.getState('inside')).toBeUndefined();
      expect(await store.getState('outside')).toBe('1');
    });

    it('concurrent transactions never interleave', async () => {
      const order: string[] = [];
      const step = async (name: string) => {
        order.push(name);
        await new Promise((resolve) => setTimeout(resolve, 5));
      };
      await Promise.all(
        ['a', 'b', 'c'].map((name) =>
          store.withTransaction(async (tx) => {
            await step(`${name}:begin`);
            await tx.setState(name, name);
            await step(`${name}:end`);
          }),
        ),
      );
      expect(order).toEqual(['a:begin', 'a:end', 'b:begin', 'b:end', 'c:begin', 'c:end']);
    });

    it('a transaction handle is dead once its transaction has ended', async () => {
      let kept: Parameters<Parameters<Store['withTransaction']>[0]>[0] | undefined;
      await store.withTransaction(async (tx) => {
        kept = tx;
      });
      await expect(kept!.setState('late', '1')).rejects.toThrow('this transaction has ended');
      expect(await store.getState('late')).toBeUndefined();
    });
  });
  describe('digests', () => {
    it('records a digest with its message, reads it back in order, and archives only what fitted', async () => {
      const ids = await listPapersIn('one', [1, 2, 3]);
      const ada = await subscriber('ada@example.org');
      const candidates = await store.digestCandidates(ada.id, at(-1));
      expect(candidates.find((row) => row.paperId === ids[1])).toMatchObject({ listedOn: '2026-11-23', listingPosition: 1, links: {} });
      const entries = [
        { paperId: ids[2]!, topicId: 'reasoning', fitted: true, carried: false, score: 9.5 },
        { paperId: ids[0]!, topicId: 'reasoning', fitted: true, carried: true, score: 8 },
        { paperId: ids[1]!, topicId: 'reasoning', fitted: false, carried: false, score: 2.25 },
      ];
      await store.queueMessage(message(ada.id, 1, at(1)), [ids[2]!, ids[0]!], { key: 'k1', subscriberId: ada.id, createdAt: at(1), entries });
      const digest = (await store.digestByKey('k1'))!;
      expect([digest.key, digest.subscriberId, digest.createdAt]).toEqual(['k1', ada.id, at(1)]);
      expect(digest.papers.map(({ paperId, topicId, fitted, carried, score }) => ({ paperId, topicId, fitted, carried, score }))).toEqual(entries);
      expect(digest.papers[0]).toMatchObject({ key: paper(3).key, title: paper(3).title, authors: paper(3).authors });
      expect(await store.digestByKey('nope')).toBeUndefined();
      expect(await store.archiveTopics()).toEqual([{ topicId: 'reasoning', papers: 2, latest: at(1) }]);
      expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.digestedOn]).sort()).toEqual([[ids[0], at(1)], [ids[2], at(1)]].sort());
      expect(await store.archivedPapers('code', 10)).toEqual([]);
    });

    it('writes nothing of the digest when queueing fails', async () => {
      const ids = await listPapersIn('one', [1]);
      const ada = await subscriber('ada@example.org');
      await store.queueMessage(message(ada.id, 1, at(1)), [], { key: 'k1', subscriberId: ada.id, createdAt: at(1), entries: [] });
      const grace = await subscriber('grace@example.org');
      const again = { key: 'k2', subscriberId: grace.id, createdAt: at(2), entries: [{ paperId: ids[0]!, topicId: 'reasoning', fitted: true, carried: false, score: 1 }] };
      // A Message-ID already taken: the outbox row is refused, and with it the digest record.
      await expect(store.queueMessage(message(grace.id, 1, at(2), { messageId: `<m1.${ada.id}@contract.test>` }), [ids[0]!], again)).rejects.toThrow();
      expect(await store.subscribersWithQueuedMail()).toEqual(new Set([ada.id]));
      expect(await store.digestByKey('k2')).toBeUndefined();
      expect(await store.archiveTopics()).toEqual([]);
    });
  });

  describe('listing place', () => {
    it("gives a paper's day and place in its newest dated listing, nulls for an unknown paper", async () => {
      const [first, second] = await listPapersIn('one', [1, 2]);
      expect(await store.paperListingPlace(second!)).toEqual({ listedOn: '2026-11-23', position: 1 });
      const listingId = await store.insertListing({ origin: 'two', contentHash: 'two', format: 'hf-api', listedOn: '2026-11-24', ingestedAt: at(60) });
      await store.saveListingPapers(listingId, { inserts: [], updates: [], touches: [first!], links: [{ paper: { id: first! }, position: 4 }] }, at(60));
      expect(await store.paperListingPlace(first!)).toEqual({ listedOn: '2026-11-24', position: 4 });
      expect(await store.paperListingPlace(999_999)).toEqual({ listedOn: null, position: null });
    });
  });

  describe('admin console', () => {
    it('lists the messages a run queued, with their outcome', async () => {
      const runId = await store.insertRun('manual', T0);
      const ada = await subscriber('ada@example.org');
      const grace = await subscriber('grace@example.org');
      const first = await queue(message(ada.id, 1, at(1), { runId }), []);
      await queue(message(grace.id, 2, at(2), { runId }), []);
      expect(await store.claimDue('w', 10, at(5), at(10))).toHaveLength(2);
      expect(await store.settle({ id: first, subscriberId: ada.id, messageId: `<m1.${ada.id}@contract.test>` }, 'w', { status: 'failed', attempts: 1, error: '550 5.1.1 no such user', hardBounce: false, bounceSubscriber: false, deliveryError: true }, at(6))).toBe(true);
      const recipients = await store.runRecipients(runId);
      expect(recipients.map(({ subscriberId, recipient, status, lastError, subject }) => ({ subscriberId, recipient, status, lastError, subject }))).toEqual([
        { subscriberId: ada.id, recipient: `reader${ada.id}@example.org`, status: 'failed', lastError: '550 5.1.1 no such user', subject: 'Digest 1' },
        { subscriberId: grace.id, recipient: `reader${grace.id}@example.org`, status: 'queued', lastError: null, subject: 'Digest 2' },
      ]);
      expect(await store.runRecipients(runId + 1)).toEqual([]);
      expect((await store.runById(runId))?.trigger).toBe('manual');
      expect(await store.runById(runId + 1)).toBeUndefined();
    });

    it('keeps sessions until they expire or are deleted', async () => {
      const session = { idHash: 'h1', csrf: 'c1', createdAt: T0, expiresAt: at(60) };
      await store.createAdminSession(session);
      await store.createAdminSession({ idHash: 'h2', csrf: 'c2', createdAt: T0, expiresAt: at(10) });
      expect(await store.adminSession('h1', at(59))).toEqual(session);
      expect(await store.adminSession('h1', at(60))).toBeUndefined();
      expect(await store.adminSession('nope', T0)).toBeUndefined();
      expect(await store.expireAdminSessions(at(10))).toBe(1);
      expect(await store.adminSession('h2', T0)).toBeUndefined();
      await store.deleteAdminSession('h1');
      expect(await store.adminSession('h1', T0)).toBeUndefined();
    });
  });
});

describe.each(STORE_ADAPTERS)('store contract, subscriber search: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const emails = (found: { email: string }[]) => found.map((subscriber) => subscriber.email);

  it('finds addresses containing the text, any case, taken literally, by status, a page at a time', async () => {
    const ids: number[] = [];
    for (const [email, status] of [
      ['ada@lab.example.org', 'active'],
      ['grace@example.org', 'bounced'],
      ['alan@lab.example.org', 'unsubscribed'],
      ['ada_l@example.org', 'active'],
      ['adam@lab.example.org', 'active'],
      ['100%@example.org', 'pending'],
    ] as const) {
      ids.push((await store.insertSubscriber(reader(email), status, T0))!.id);
    }
    expect(emails(await store.searchSubscribers({ emailContains: 'LAB.example', limit: 10 }))).toEqual(['ada@lab.example.org', 'alan@lab.example.org', 'adam@lab.example.org']);
    expect(emails(await store.searchSubscribers({ emailContains: 'lab', status: 'active', limit: 10 }))).toEqual(['ada@lab.example.org', 'adam@lab.example.org']);
    // No wildcards: _ and % are characters like any other.
    expect(emails(await store.searchSubscribers({ emailContains: 'a_', limit: 10 }))).toEqual(['ada_l@example.org']);
    expect(emails(await store.searchSubscribers({ emailContains: '%', limit: 10 }))).toEqual(['100%@example.org']);
    expect(emails(await store.searchSubscribers({ status: 'bounced', limit: 10 }))).toEqual(['grace@example.org']);
    expect(await store.searchSubscribers({ emailContains: 'nobody', limit: 10 })).toEqual([]);

    const first = await store.searchSubscribers({ emailContains: 'ada', limit: 2 });
    expect(emails(first)).toEqual(['ada@lab.example.org', 'ada_l@example.org']);
    const second = await store.searchSubscribers({ emailContains: 'ada', after: first.at(-1)!.id, limit: 2 });
    expect(emails(second)).toEqual(['adam@lab.example.org']);
    expect(await store.searchSubscribers({ emailContains: 'ada', after: second.at(-1)!.id, limit: 2 })).toEqual([]);
    expect((await store.searchSubscribers({ emailContains: '', limit: 100 })).map((subscriber) => subscriber.id)).toEqual(ids);
    expect(await store.searchSubscribers({ emailContains: 'ada', limit: 1 })).toEqual([await store.subscriberById(ids[0]!)]);
  });
});


describe.each(STORE_ADAPTERS)('store contract, counters: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });
  const window = (key: string, start: number, length = 60) => ({ key, windowStart: at(start), expiresAt: at(start + length) });

  it('grants hits up to the limit of a window, and none past it', async () => {
    expect(await store.takeHits(window('ip:a', 0), 2, 3, at(0))).toBe(2);
    expect(await store.takeHits(window('ip:a', 0), 2, 3, at(1))).toBe(1);
    expect(await store.takeHits(window('ip:a', 0), 1, 3, at(2))).toBe(0);
    expect(await store.takeHits(window('ip:b', 0), 1, 3, at(2))).toBe(1);
    expect(await store.countHits('ip:a', at(0))).toBe(3);
    expect(await store.takeHits(window('ip:a', 60), 1, 3, at(60))).toBe(1);
  });

  it('limits over every window of the key since a time, and counts without a limit', async () => {
    await store.takeHits(window('sent', 0, 120), 5, null, at(0));
    await store.takeHits(window('sent', 1, 120), 4, null, at(1));
    expect(await store.takeHits(window('sent', 2, 120), 5, 10, at(2), at(0))).toBe(1);
    expect(await store.takeHits(window('sent', 3, 120), 5, 10, at(3), at(1))).toBe(5);
    expect(await store.countHits('sent', at(1))).toBe(10);
    expect(await store.takeHits(window('sent', 3, 120), -3, null, at(3))).toBe(-3);
    expect(await store.countHits('sent', at(0))).toBe(12);
  });

  it('drops windows once expired', async () => {
    await store.takeHits(window('ip:a', 0, 10), 3, 3, at(0));
    expect(await store.countHits('ip:a', at(0))).toBe(3);
    await store.takeHits(window('ip:b', 10), 1, 3, at(10));
    expect(await store.countHits('ip:a', at(0))).toBe(0);
  });

  it('counts concurrent takers together: no more than the limit is granted', async () => {
    const granted = await Promise.all(Array.from({ length: 20 }, () => store.takeHits(window('rate', 0), 3, 25, at(0))));
    expect(granted.reduce((sum, n) => sum + n, 0)).toBe(25);
    expect(await store.countHits('rate', at(0))).toBe(25);
  });

  it('takes part in the caller’s transaction', async () => {
    await expect(
      store.withTransaction(async (tx) => {
        await tx.takeHits(window('ip:a', 0), 1, 3, at(0));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.countHits('ip:a', at(0))).toBe(0);
  });
});

describe.each(STORE_ADAPTERS)('store contract, when the next message may be claimed: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('is a claimed message’s claim expiry, not its (past) attempt time, so idle workers wait instead of spinning', async () => {
    const ada = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', T0))!;
    const notice = (n: number) => message(ada.id, n, at(n), { kind: 'confirmation' });
    await store.queueMessage(notice(1), []);
    await store.queueMessage(notice(2), []);
    expect(await store.nextRetryAt()).toBe(at(1));
    expect(await store.claimDue('w1', 1, at(3), at(10))).toHaveLength(1);
    expect(await store.nextRetryAt()).toBe(at(2));
    expect(await store.claimDue('w2', 1, at(3), at(8))).toHaveLength(1);
    expect(await store.nextRetryAt()).toBe(at(8));
    expect(await store.releaseClaims('w1')).toBe(1);
    expect(await store.nextRetryAt()).toBe(at(1));
  });
});


describe.each(STORE_ADAPTERS)('store contract, a run\'s window read once: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  /** Papers `numbers`, new in one listing at `now` (in that order), filed under `topics` (primary first); their ids. */
  async function listed(origin: string, numbers: number[], now: string, topics: string[]): Promise<number[]> {
    const listingId = await store.insertListing({ origin, contentHash: `hash-${origin}`, format: 'hf-api', listedOn: now.slice(0, 10), ingestedAt: now });
    await store.saveListingPapers(
      listingId,
      { inserts: numbers.map((n) => paper(n)), updates: [], touches: [], links: numbers.map((_, index) => ({ paper: { inserted: index }, position: index })) },
      now,
    );
    const stored = await store.papersMatching({ arxivIds: numbers.map((n) => paper(n).arxivId!), titleKeys: [] });
    await store.saveFilings('v1', stored.map((row) => ({ paperId: row.id, topics: topics.map((topicId, rank) => ({ topicId, score: 9 - rank, evidence: [] })) })));
    return stored.map((row) => row.id);
  }

  it('reads every filed paper first seen after the start, with its topics primary first, in id order', async () => {
    const early = await listed('early', [1], at(-60), ['code']);
    const ids = await listed('late', [2, 3], T0, ['reasoning', 'agents']);
    const window = await store.windowPapers(at(-1));
    expect(window.map((row) => row.paperId)).toEqual(ids);
    expect(window[0]).toEqual({
      paperId: ids[0],
      key: '2611.00002',
      arxivId: '2611.00002',
      title: 'Paper number 2',
      abstract: 'Abstract of paper 2.',
      authors: ['Author 2'],
      authorCount: 1,
      organization: null,
      publishedOn: '2026-11-20',
      upvotes: 2,
      comments: null,
      links: { github: 'https://github.com/example/paper-2' },
      firstSeen: T0,
      listedOn: '2026-11-23',
      listingPosition: 0,
      topics: [
        { topicId: 'reasoning', rank: 0, score: 9 },
        { topicId: 'agents', rank: 1, score: 8 },
      ],
    });
    expect(window[1]!.listingPosition).toBe(1);
    expect((await store.windowPapers(at(-61))).map((row) => row.paperId)).toEqual([...early, ...ids]);
    expect(await store.windowPapers(T0)).toEqual([]);
    // What a subscriber's own query offers is the window's papers, one row per topic.
    const ada = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', T0))!;
    const own = await store.digestCandidates(ada.id, at(-1));
    expect(own.map((row) => [row.paperId, row.topicId]).sort()).toEqual(window.flatMap((row) => row.topics.map((topic) => [row.paperId, topic.topicId])).sort());
  });

  it('tells, per subscriber, the window papers delivered to them or reserved by their queued mail', async () => {
    const old = await listed('old', [1], at(-60), ['code']);
    const ids = await listed('new', [2, 3, 4], T0, ['code']);
    const insert = async (email: string) => (await store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', at(-120)))!;
    const [ada, grace, linus] = [await insert('ada@example.org'), await insert('grace@example.org'), await insert('linus@example.org')];
    expect(await store.heldPaperIds([ada.id, grace.id, linus.id], at(-1))).toEqual(new Map());

    // Ada: papers 1 (before the window) and 2 delivered; later 3 reserved by a queued digest.
    const sent = (await store.queueMessage({ ...windowMessage(ada.id, 1), now: at(-30) }, [old[0]!, ids[0]!]))!;
    const [claimed] = await store.claimDue('w', 10, at(-30), at(-20));
    expect(claimed!.id).toBe(sent);
    expect(await store.settle(claimed!, 'w', { status: 'sent', attempts: 1, sentAt: at(-29) }, at(-29))).toBe(true);
    // Grace: paper 4 reserved by mail that then failed (reservation released).
    const failed = (await store.queueMessage({ ...windowMessage(grace.id, 3), now: at(2) }, [ids[2]!]))!;
    expect((await store.claimDue('w', 10, at(3), at(10))).map((row) => row.id)).toEqual([failed]);
    await store.settle({ id: failed, subscriberId: grace.id, messageId: windowMessage(grace.id, 3).messageId }, 'w', { status: 'failed', attempts: 1, error: '550 no', hardBounce: false, bounceSubscriber: false, deliveryError: true }, at(4));
    await store.queueMessage({ ...windowMessage(ada.id, 2), now: at(1), windowSince: at(-30) }, [ids[1]!]);

    expect(await store.heldPaperIds([ada.id, grace.id, linus.id], at(-1))).toEqual(new Map([[ada.id, new Set([ids[0], ids[1]])]]));
    expect(await store.heldPaperIds([ada.id], at(-61))).toEqual(new Map([[ada.id, new Set([old[0], ids[0], ids[1]])]]));
    expect(await store.heldPaperIds([grace.id, linus.id], at(-61))).toEqual(new Map());
    expect(await store.heldPaperIds([], at(-61))).toEqual(new Map());
  });

  function windowMessage(subscriberId: number, n: number): NewOutboxMessage {
    return {
      runId: null,
      subscriberId,
      kind: 'digest',
      messageId: `<w${n}.${subscriberId}@contract.test>`,
      recipient: `reader${subscriberId}@example.org`,
      recipientName: null,
      subject: `Digest ${n}`,
      raw: Buffer.from(`Subject: Digest ${n}\r\n\r\nbody ${n}\r\n`),
      html: `<p>body ${n}</p>`,
      unsubscribeUrl: `https://paperboy.test/unsubscribe?token=${subscriberId}`,
      windowSince: null,
      now: T0,
    };
  }
});

describe.each(STORE_ADAPTERS)('store contract, delivery in batches: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  async function queued(email: string, n: number, paperIds: number[] = []) {
    const reader = (await store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', T0))!;
    const message = {
      runId: null,
      subscriberId: reader.id,
      kind: 'digest' as const,
      messageId: `<b${n}@contract.test>`,
      recipient: email,
      recipientName: null,
      subject: `Digest ${n}`,
      raw: Buffer.from(`Subject: Digest ${n}\r\n\r\nbody ${n}\r\n`),
      html: `<p>body ${n}</p>`,
      unsubscribeUrl: 'https://paperboy.test/unsubscribe',
      windowSince: null,
      now: at(n),
    };
    const id = (await store.queueMessage(message, paperIds))!;
    return { id, subscriberId: reader.id, messageId: message.messageId };
  }

  it('gives a claimed message back byte for byte: UTF-8 headers, a 200 KB body, its HTML copy', async () => {
    const subscriber = (await store.insertSubscriber(reader('zoë@example.org'), 'active', at(0)))!;
    const body = Array.from({ length: 6000 }, (_, line) => `line ${line}: caf=C3=A9 \\x00 '"<>{{ }}`).join('\r\n');
    const raw = Buffer.from(`From: Grüße <digest@paperboy.test>\r\nTo: Zoë <zoë@example.org>\r\nSubject: Übersicht\r\n\r\n${body}\r\n`);
    const html = '<p>Übersicht — naïve café 🚀</p>';
    const id = await store.queueMessage(message(subscriber.id, 1, at(1), { raw, html, recipient: 'zoë@example.org' }), []);
    const [claimed] = await store.claimDue('w', 10, at(5), at(10));
    expect([claimed!.id, claimed!.raw.length > 200_000, claimed!.raw.equals(raw), claimed!.html]).toEqual([id, true, true, html]);
  });

  it('claims without the HTML copy when asked, the raw bytes all the same', async () => {
    const { id } = await queued('ada@example.org', 1);
    const [claimed] = await store.claimDue('w', 10, at(5), at(10), undefined, { html: false });
    expect([claimed!.id, claimed!.html, claimed!.raw.toString(), claimed!.claimedBy, claimed!.hardBounces]).toEqual([id, null, 'Subject: Digest 1\r\n\r\nbody 1\r\n', 'w', 0]);
    await store.releaseClaims('w');
    expect((await store.claimDue('w', 10, at(5), at(10)))[0]!.html).toBe('<p>body 1</p>');
  });

  it('settles many messages in one call, each as settle would, and tells which claims were lost', async () => {
    const listingId = await store.insertListing({ origin: 'one', contentHash: 'batch-one', format: 'hf-api', listedOn: '2026-11-23', ingestedAt: T0 });
    await store.saveListingPapers(listingId, { inserts: [paper(1), paper(2)], updates: [], touches: [], links: [{ paper: { inserted: 0 }, position: 0 }, { paper: { inserted: 1 }, position: 1 }] }, T0);
    const ids = (await store.papersMatching({ arxivIds: [paper(1).arxivId!, paper(2).arxivId!], titleKeys: [] })).map((row) => row.id);
    const sent = await queued('ada@example.org', 1, [ids[0]!]);
    const retried = await queued('grace@example.org', 2, [ids[1]!]);
    const failed = await queued('linus@example.org', 3, [ids[0]!]);
    const other = await queued('other@example.org', 4);
    expect(await store.claimDue('w', 3, at(5), at(10))).toHaveLength(3);
    expect(await store.claimDue('v', 1, at(5), at(10))).toHaveLength(1);

    const written = await store.settleMany(
      [
        { message: sent, transition: { status: 'sent', attempts: 1, sentAt: at(6) } },
        { message: retried, transition: { status: 'queued', attempts: 1, nextAttemptAt: at(60), error: '451 later' } },
        { message: failed, transition: { status: 'failed', attempts: 1, error: '550 no', hardBounce: true, bounceSubscriber: false, deliveryError: false } },
        // Claimed by another worker: nothing written.
        { message: other, transition: { status: 'sent', attempts: 1, sentAt: at(6) } },
      ],
      'w',
      at(6),
    );
    expect(written).toEqual([true, true, true, false]);
    expect(await store.deliveredPaperIds(sent.subscriberId)).toEqual([ids[0]]);
    expect(await store.deliveredPaperIds(failed.subscriberId)).toEqual([]);
    expect([(await store.outboxById(sent.id))!.status, (await store.outboxById(retried.id))!.status, (await store.outboxById(failed.id))!.status, (await store.outboxById(other.id))!.status]).toEqual([
      'sent',
      'queued',
      'failed',
      'queued',
    ]);
    expect((await store.outboxById(retried.id))!.nextAttemptAt).toBe(at(60));
    // The retried message still holds its paper; the failed one gave its back.
    expect(await store.heldPaperIds([retried.subscriberId, failed.subscriberId], at(-1))).toEqual(new Map([[retried.subscriberId, new Set([ids[1]])]]));
    expect((await store.subscriberById(failed.subscriberId))!.hardBounces).toBe(1);
    expect(await store.settleMany([], 'w', at(7))).toEqual([]);
  });

  it('writes none of a batch when one of its settlements fails', async () => {
    const first = await queued('ada@example.org', 1);
    const second = await queued('grace@example.org', 2);
    expect(await store.claimDue('w', 10, at(5), at(10))).toHaveLength(2);
    await expect(
      store.settleMany(
        [
          { message: first, transition: { status: 'sent', attempts: 1, sentAt: at(6) } },
          // attempts is NOT NULL: the second write fails, and the first goes with it.
          { message: second, transition: { status: 'sent', attempts: null as never, sentAt: at(6) } },
        ],
        'w',
        at(6),
      ),
    ).rejects.toThrow();
    expect((await store.outboxById(first.id))!.status).toBe('queued');
  });

  it('stores none of a listing when its papers fail to save half-way through its transaction', async () => {
    const one = await store.insertListing({ origin: 'one', contentHash: 'one', format: 'hf-api', listedOn: null, ingestedAt: T0 });
    await store.saveListingPapers(one, { inserts: [paper(1)], updates: [], touches: [], links: [{ paper: { inserted: 0 }, position: 0 }] }, T0);
    const error = await store
      .withTransaction(async (tx) => {
        const listingId = await tx.insertListing({ origin: 'two', contentHash: 'two', format: 'hf-api', listedOn: null, ingestedAt: T0 });
        // The third insert takes the key of the second: the write fails after two of its rows.
        const inserts = [paper(2), paper(3), paper(3, { arxivId: null, titleKey: 'another title' })];
        await tx.saveListingPapers(listingId, { inserts, updates: [], touches: [], links: inserts.map((_, index) => ({ paper: { inserted: index }, position: index })) }, T0);
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(await store.listingByHash('two')).toBeUndefined();
    expect(await store.countPapers()).toEqual({ papers: 1, paperListings: 1 });
    expect(await store.paperByKey(paper(2).key)).toBeUndefined();
  });
});

describe.each(STORE_ADAPTERS)('store contract, compact digest records and archive: $name', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  async function papers(count: number): Promise<number[]> {
    const numbers = Array.from({ length: count }, (_, index) => index + 1);
    const listingId = await store.insertListing({ origin: 'one', contentHash: 'compact-one', format: 'hf-api', listedOn: '2026-11-23', ingestedAt: T0 });
    await store.saveListingPapers(listingId, { inserts: numbers.map((n) => paper(n)), updates: [], touches: [], links: numbers.map((_, index) => ({ paper: { inserted: index }, position: index })) }, T0);
    return (await store.papersMatching({ arxivIds: numbers.map((n) => paper(n).arxivId!), titleKeys: [] })).map((row) => row.id);
  }

  async function digest(email: string, key: string, createdAt: string, entries: NewDigestRecord['entries']) {
    const reader = (await store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', T0))!;
    const queued = await store.queueMessage(message(reader.id, 1, createdAt), entries.filter((entry) => entry.fitted).map((entry) => entry.paperId), { key, subscriberId: reader.id, createdAt, entries });
    expect(queued).not.toBeNull();
    return reader;
  }

  it('reads back every match of a digest exactly: order, topics, flags and scores to the last bit', async () => {
    const ids = await papers(120);
    const topics = ['reasoning', 'code', 'rl-alignment'];
    const entries = ids.map((paperId, index) => ({ paperId, topicId: topics[index % 3]!, fitted: index % 4 === 0, carried: index % 5 === 0, score: Math.PI / (index + 1) - index }));
    await digest('ada@example.org', 'k1', at(1), entries);
    const stored = (await store.digestByKey('k1'))!;
    expect(stored.papers.map(({ paperId, topicId, fitted, carried, score }) => ({ paperId, topicId, fitted, carried, score }))).toEqual(entries);
    expect(stored.papers[7]).toMatchObject({ key: paper(8).key, title: paper(8).title, links: paper(8).links });
  });

  it('archives each (topic, paper) that went out once: the first digest that carried it, the latest digest of the topic', async () => {
    const [a, b, c] = await papers(3);
    await digest('ada@example.org', 'k1', at(10), [
      { paperId: a!, topicId: 'reasoning', fitted: true, carried: false, score: 3 },
      { paperId: b!, topicId: 'code', fitted: true, carried: false, score: 2 },
    ]);
    await digest('grace@example.org', 'k2', at(20), [
      { paperId: a!, topicId: 'reasoning', fitted: true, carried: false, score: 3 },
      { paperId: c!, topicId: 'reasoning', fitted: false, carried: false, score: 1 },
    ]);
    // Queued with an earlier time (a producer that selected earlier): its time becomes the first.
    await digest('linus@example.org', 'k3', at(5), [{ paperId: b!, topicId: 'code', fitted: true, carried: true, score: 2 }]);
    expect(await store.archiveTopics()).toEqual([
      { topicId: 'code', papers: 1, latest: at(10) },
      { topicId: 'reasoning', papers: 1, latest: at(20) },
    ]);
    expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.topicId, row.digestedOn])).toEqual([[a, 'reasoning', at(10)]]);
    expect((await store.archivedPapers('code', 10)).map((row) => [row.paperId, row.digestedOn])).toEqual([[b, at(5)]]);
  });

  it('archives a page of digests as it archives them one by one: each pair\'s first and last digest in the page', async () => {
    const [a, b] = await papers(2);
    const readers = await Promise.all(['ada', 'grace', 'linus'].map(async (name) => (await store.insertSubscriber({ email: `${name}@example.org`, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', T0))!));
    const page = [
      { reader: readers[0]!, at: at(20), entries: [{ paperId: a!, topicId: 'reasoning', fitted: true, carried: false, score: 3 }] },
      { reader: readers[1]!, at: at(10), entries: [{ paperId: a!, topicId: 'reasoning', fitted: true, carried: false, score: 3 }, { paperId: b!, topicId: 'code', fitted: true, carried: false, score: 2 }] },
      { reader: readers[2]!, at: at(30), entries: [{ paperId: b!, topicId: 'code', fitted: true, carried: false, score: 2 }, { paperId: a!, topicId: 'code', fitted: false, carried: false, score: 1 }] },
    ];
    const ids = await store.queueMessages(
      page.map(({ reader, at: createdAt, entries }, index) => ({
        message: message(reader.id, index + 1, createdAt),
        paperIds: entries.filter((entry) => entry.fitted).map((entry) => entry.paperId),
        record: { key: `page-${index}`, subscriberId: reader.id, createdAt, entries },
      })),
    );
    expect(ids.every((id) => id !== null)).toBe(true);
    expect(await store.archiveTopics()).toEqual([
      { topicId: 'code', papers: 1, latest: at(30) },
      { topicId: 'reasoning', papers: 1, latest: at(20) },
    ]);
    expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.digestedOn])).toEqual([[a, at(10)]]);
    expect((await store.archivedPapers('code', 10)).map((row) => [row.paperId, row.digestedOn])).toEqual([[b, at(10)]]);
  });

  it('keeps the public archive when a subscriber is deleted with their digests', async () => {
    const [a] = await papers(1);
    const ada = await digest('ada@example.org', 'k1', at(1), [{ paperId: a!, topicId: 'reasoning', fitted: true, carried: false, score: 1 }]);
    await store.deleteSubscriber(ada.id);
    expect(await store.digestByKey('k1')).toBeUndefined();
    expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.digestedOn])).toEqual([[a, at(1)]]);
  });
});
