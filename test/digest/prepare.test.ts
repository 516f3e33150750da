import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { prepareDigest, type DigestContext } from '../../src/digest/prepare.ts';
import { ingestFiles } from '../../src/ingest/ingest.ts';
import { Store } from '../../src/store/store.ts';
import type { Subscriber } from '../../src/subscribers/subscriber.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { verifyToken } from '../../src/tokens.ts';
import { DUMP_FILES, REPO_ROOT, tempDir } from '../helpers/paths.ts';

const SECRET = 'digest-test-secret-0123456789abcdef';
let store: Store;
let context: DigestContext;
const clock = fixedClock('2026-11-23T07:00:00.000Z');

beforeEach(() => {
  store = new Store(join(tempDir(), 'paperboy.db'));
  clock.set('2026-11-23T07:00:00.000Z');
  context = {
    store,
    taxonomy: loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml')),
    publicUrl: 'https://digest.example.org',
    secret: SECRET,
    rules: { backfillDays: 7, maxPerTopic: 10, maxPerDigest: 50 },
  };
});
afterEach(() => store.close());

/** Ingests a dump and files its papers round-robin under reasoning / code / agents (primary). */
function ingestAndFile(file: string): number[] {
  ingestFiles([file], { store, clock, maxListingBytes: 1 << 30 });
  const ids = (store.db.prepare('SELECT id FROM papers WHERE topics_version IS NULL ORDER BY id').all() as { id: number }[]).map((row) => row.id);
  const topics = ['reasoning', 'code', 'agents'];
  store.transaction(() =>
    ids.forEach((id, index) => store.saveClassification(id, 'test', [{ topicId: topics[index % 3]!, score: 10, evidence: ['test'] }])),
  );
  return ids;
}

function subscribe(email: string, topics: string[] | null): Subscriber {
  return store.insertSubscriber({ email, name: null, topics, frequency: 'daily', weekday: null }, 'active', clock.now().toISOString())!;
}

describe('prepareDigest against a real store', () => {
  it('selects papers in the subscriber topics seen within the backfill window, with signed links', () => {
    const ids = ingestAndFile(DUMP_FILES[0]!); // 20 papers: 7 reasoning, 7 code, 6 agents
    const subscriber = subscribe('reader@example.org', ['code', 'agents']);
    const digest = prepareDigest(context, subscriber, clock.now());
    expect(digest.since).toBe('2026-11-16T07:00:00.000Z');
    expect(digest.data.sections.map((section) => [section.topic.name, section.papers.length])).toEqual([
      ['Code & Program Synthesis', 7],
      ['Agents & Tool Use', 6],
    ]);
    expect(digest.selection.paperIds.sort((a, b) => a - b)).toEqual(ids.filter((_, index) => index % 3 !== 0));
    const token = new URL(digest.data.links.unsubscribe).searchParams.get('token')!;
    expect(verifyToken(SECRET, token, 'unsubscribe', clock.now())).toEqual({ ok: true, subscriberId: subscriber.id });
    expect(digest.data.links.preferences.startsWith('https://digest.example.org/preferences?token=')).toBe(true);
  });

  it('never selects a paper already delivered to that subscriber', () => {
    const ids = ingestAndFile(DUMP_FILES[0]!);
    const reader = subscribe('reader@example.org', null);
    const other = subscribe('other@example.org', null);
    // Deliveries as markSent records them once a message is accepted.
    const deliver = store.db.prepare('INSERT INTO deliveries (subscriber_id, paper_id, message_id, delivered_at) VALUES (?, ?, ?, ?)');
    for (const id of ids.slice(0, 15)) deliver.run(reader.id, id, '<m1@paperboy>', clock.now().toISOString());
    expect(prepareDigest(context, reader, clock.now()).selection.paperIds.sort((a, b) => a - b)).toEqual(ids.slice(15));
    expect(prepareDigest(context, other, clock.now()).selection.paperIds).toHaveLength(20);
  });

  it('starts the window at the last digest, and leaves out papers seen before it', () => {
    ingestAndFile(DUMP_FILES[0]!);
    const subscriber = subscribe('reader@example.org', null);
    store.db.prepare('UPDATE subscribers SET last_digest_at = ? WHERE id = ?').run('2026-11-23T08:00:00.000Z', subscriber.id);
    clock.set('2026-11-24T07:00:00.000Z');
    const newer = ingestAndFile(DUMP_FILES[4]!); // 62 entries, 58 not in dump 000
    const digest = prepareDigest(context, store.subscriberById(subscriber.id)!, clock.now());
    expect(digest.since).toBe('2026-11-23T08:00:00.000Z');
    expect(digest.selection.paperIds.length + digest.selection.omittedCount).toBe(newer.length);
    expect(newer).toHaveLength(58);
  });

  it('is empty when nothing is new', () => {
    ingestAndFile(DUMP_FILES[0]!);
    clock.set('2026-12-23T07:00:00.000Z');
    const digest = prepareDigest(context, subscribe('late@example.org', null), clock.now());
    expect(digest.selection).toEqual({ sections: [], paperIds: [], omittedCount: 0 });
  });

  it('finds candidates through indexes, not by scanning deliveries', () => {
    // The store's own statement, as prepared at open.
    const sql = (store as unknown as { sql: { digestCandidates: { source: string } } }).sql.digestCandidates.source;
    const plan = store.db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all({ since: '2026-01-01', subscriberId: 1 })
      .map((row) => (row as { detail: string }).detail);
    expect(plan.some((detail) => /SEARCH p USING (COVERING )?INDEX papers_by_first_seen \(first_seen>\?\)/.test(detail))).toBe(true);
    expect(plan.some((detail) => /SEARCH d USING PRIMARY KEY \(subscriber_id=\? AND paper_id=\?\)/.test(detail))).toBe(true);
    expect(plan.some((detail) => /SCAN d\b/.test(detail))).toBe(false);
  });
});
