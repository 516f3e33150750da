import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { prepareDigest, type DigestContext } from '../../src/digest/prepare.ts';
import { ingestSources } from '../../src/ingest/ingest.ts';
import type { Subscriber } from '../../src/model/subscriber.ts';
import { pathsSource } from '../../src/sources/files.ts';
import type { Store } from '../../src/store/port.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { verifyToken } from '../../src/tokens.ts';
import { DUMP_FILES, REPO_ROOT } from '../helpers/paths.ts';
import { deliverPapers, tempSqliteStore } from '../helpers/store.ts';

const SECRET = 'digest-test-secret-0123456789abcdef';
let store: Store;
let context: DigestContext;
const clock = fixedClock('2026-11-23T07:00:00.000Z');

beforeEach(() => {
  store = tempSqliteStore().store;
  clock.set('2026-11-23T07:00:00.000Z');
  context = {
    store,
    taxonomy: loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml')),
    publicUrl: 'https://digest.example.org',
    secret: SECRET,
    rules: { backfillDays: 7, carryOverDays: 7, maxPerTopic: 10, maxPerDigest: 50 },
  };
});
afterEach(() => store.close());

/** Ingests a dump and files its papers round-robin under reasoning / code / agents (primary). */
async function ingestAndFile(file: string): Promise<number[]> {
  await ingestSources([pathsSource([file])], { store, clock, maxListingBytes: 1 << 30 });
  const ids = (await store.papersToClassify('test', 10_000)).map((paper) => paper.id);
  const topics = ['reasoning', 'code', 'agents'];
  await store.saveFilings('test', ids.map((paperId, index) => ({ paperId, topics: [{ topicId: topics[index % 3]!, score: 10, evidence: ['test'] }] })));
  return ids;
}

async function subscribe(email: string, topics: string[] | null): Promise<Subscriber> {
  return (await store.insertSubscriber({ email, name: null, topics, frequency: 'daily', weekday: null }, 'active', clock.now().toISOString()))!;
}

describe('prepareDigest against a real store', () => {
  it('selects papers in the subscriber topics seen within the backfill window, with signed links', async () => {
    const ids = await ingestAndFile(DUMP_FILES[0]!); // 20 papers: 7 reasoning, 7 code, 6 agents
    const subscriber = await subscribe('reader@example.org', ['code', 'agents']);
    const digest = await prepareDigest(context, subscriber, clock.now());
    expect(digest.since).toBe('2026-11-16T07:00:00.000Z');
    expect(digest.data.sections.map((section) => [section.topic.name, section.papers.length])).toEqual([
      ['Code & Program Synthesis', 7],
      ['Agents & Tool Use', 6],
    ]);
    expect(digest.selection.paperIds.sort((a, b) => a - b)).toEqual(ids.filter((_, index) => index % 3 !== 0));
    const token = new URL(digest.data.links.unsubscribe).searchParams.get('token')!;
    expect(verifyToken(SECRET, token, 'unsubscribe', clock.now())).toEqual({ ok: true, subscriberId: subscriber.id, key: subscriber.tokenKey });
    expect(digest.data.links.preferences.startsWith('https://digest.example.org/preferences?token=')).toBe(true);
  });

  it('never selects a paper already delivered to that subscriber', async () => {
    const ids = await ingestAndFile(DUMP_FILES[0]!);
    const reader = await subscribe('reader@example.org', null);
    const other = await subscribe('other@example.org', null);
    await deliverPapers(store, reader.id, ids.slice(0, 15), clock.now().toISOString());
    expect((await store.deliveredPaperIds(reader.id)).sort((a, b) => a - b)).toEqual(ids.slice(0, 15));
    expect((await prepareDigest(context, reader, clock.now())).selection.paperIds.sort((a, b) => a - b)).toEqual(ids.slice(15));
    expect((await prepareDigest(context, other, clock.now())).selection.paperIds).toHaveLength(20);
  });

  it('starts the window at the last digest, and leaves out papers seen before it once past the carry-over horizon', async () => {
    await ingestAndFile(DUMP_FILES[0]!);
    const subscriber = await subscribe('reader@example.org', null);
    await deliverPapers(store, subscriber.id, [], '2026-11-23T08:00:00.000Z');
    clock.set('2026-12-01T07:00:00.000Z');
    const newer = await ingestAndFile(DUMP_FILES[4]!); // 62 entries, 58 not in dump 000
    const digest = await prepareDigest(context, (await store.subscriberById(subscriber.id))!, clock.now());
    expect(digest.since).toBe('2026-11-23T08:00:00.000Z');
    expect(digest.selection.paperIds.length + digest.selection.omittedCount).toBe(newer.length);
    expect(digest.selection.carriedCount).toBe(0);
    expect(newer).toHaveLength(58);
  });

  it('carries papers that did not fit into the next digests, each exactly once, and says so', async () => {
    const ids = await ingestAndFile(DUMP_FILES[0]!); // 20 papers
    context.rules = { ...context.rules, maxPerDigest: 8 };
    let subscriber = await subscribe('reader@example.org', null);
    const digests: number[][] = [];
    for (const day of ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26']) {
      clock.set(`${day}T07:00:00.000Z`);
      const digest = await prepareDigest(context, subscriber, clock.now());
      digests.push(digest.selection.paperIds);
      if (digests.length > 1) expect(digest.data.carriedCount).toBe(digest.selection.paperIds.length);
      expect(digest.record.entries.filter((entry) => !entry.fitted)).toHaveLength(digest.selection.omittedCount);
      await deliverPapers(store, subscriber.id, digest.selection.paperIds, clock.now().toISOString());
      subscriber = (await store.subscriberById(subscriber.id))!;
    }
    expect(digests.map((paperIds) => paperIds.length)).toEqual([8, 8, 4, 0]);
    expect(digests.flat().sort((a, b) => a - b)).toEqual(ids);
  });

  it('never carries a paper past the horizon', async () => {
    await ingestAndFile(DUMP_FILES[0]!);
    context.rules = { ...context.rules, maxPerDigest: 8, carryOverDays: 3 };
    const subscriber = await subscribe('reader@example.org', null);
    const first = await prepareDigest(context, subscriber, clock.now());
    await deliverPapers(store, subscriber.id, first.selection.paperIds, clock.now().toISOString());
    expect(first.selection.omittedCount).toBe(12);
    clock.set('2026-11-26T06:59:00.000Z'); // first seen 2026-11-23T07:00: 2 d 23 h 59 min ago
    const reader = (await store.subscriberById(subscriber.id))!;
    expect((await prepareDigest(context, reader, clock.now())).selection.paperIds).toHaveLength(8);
    clock.set('2026-11-26T07:01:00.000Z');
    const late = await prepareDigest(context, reader, clock.now());
    expect(late.selection.paperIds).toEqual([]);
    expect(late.since).toBe('2026-11-23T07:00:00.000Z'); // the last digest: nothing older is new
  });

  it('is empty when nothing is new', async () => {
    await ingestAndFile(DUMP_FILES[0]!);
    clock.set('2026-12-23T07:00:00.000Z');
    const digest = await prepareDigest(context, await subscribe('late@example.org', null), clock.now());
    expect(digest.selection).toEqual({ sections: [], paperIds: [], omittedCount: 0, carriedCount: 0 });
  });
});
