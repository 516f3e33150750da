/**
 * Selection against a long delivery history: a SQLite database with 100,000 subscribers
 * who were each delivered 100 papers (10 million delivery rows) out of 3,000 papers seen
 * over 60 days, built in a few statements (INSERT … SELECT over recursive CTEs). Then, for
 * a daily window (1 day), a weekly one (7 days) and a month's backfill (30 days), the cost
 * per subscriber of choosing their digest, both ways, in the same run:
 *
 * - old: the subscriber's own candidate query (`digestCandidates`: every candidate row,
 *   minus what they hold) and `selectDigest`, once per subscriber;
 * - new: the window read once (`windowPapers`, its time spread over the subscribers
 *   measured), what a page of 250 subscribers holds (`heldPaperIds`), and
 *   `selectFromWindow` per subscriber, as `queueDigests` does.
 *
 * Both choose the same papers for every subscriber measured (checked).
 *
 *   npm run bench:selection -- [--subscribers 100000] [--per-subscriber 100] [--sample 2000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import Database from 'better-sqlite3';
import { selectDigest, selectFromWindow, type SelectionRules } from '../src/digest/select.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';

const { values } = parseArgs({
  options: { subscribers: { type: 'string', default: '100000' }, 'per-subscriber': { type: 'string', default: '100' }, sample: { type: 'string', default: '2000' } },
});
const SUBSCRIBERS = Number(values.subscribers);
const PER_SUBSCRIBER = Number(values['per-subscriber']);
const SAMPLE = Math.min(Number(values.sample), SUBSCRIBERS);
const PAPERS = 3000;
const DAYS = 60;
const PAGE = 250;
const TOPICS = ['reasoning', 'code', 'agents', 'data', 'vision', 'speech', 'robotics', 'safety', 'efficiency', 'other'];
const NOW = new Date('2026-11-23T07:00:00.000Z');
const DAY_MS = 86_400_000;
// A full collection before each timed part, so neither way pays for the other's garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const load = () => `load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`;

const dir = mkdtempSync(join(tmpdir(), 'paperboy-bench-selection-'));
const path = join(dir, 'paperboy.db');
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
await (openSqliteStore(path)).close();

// The history, straight into the adapter's schema (a fixture, built the fast way).
const built = performance.now();
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
db.exec('BEGIN');
db.prepare(`
  INSERT INTO papers (id, key, arxiv_id, title_key, title, abstract, authors, author_count, upvotes, links, first_seen, last_seen, updated_at)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @papers)
  SELECT i, printf('2611.%05d', i), printf('2611.%05d', i), printf('paper %d', i), printf('Paper %d', i),
    substr(replace(hex(zeroblob(800)), '00', 'abstract '), 1, 1500), '["A. Author","B. Author"]', 2, i % 50, '{}',
    strftime('%Y-%m-%dT%H:%M:%fZ', @now, printf('-%f seconds', (@papers - i) * @spacing)), @nowText, @nowText
  FROM n`).run({ papers: PAPERS, now: NOW.toISOString(), nowText: NOW.toISOString(), spacing: (DAYS * 86_400) / PAPERS });
// Each paper under a primary topic and one secondary.
db.prepare(`
  INSERT INTO paper_topics (paper_id, topic_id, rank, score)
  SELECT id, json_extract(@topics, printf('$[%d]', id % @count)), 0, 5 + id % 7 FROM papers
  UNION ALL SELECT id, json_extract(@topics, printf('$[%d]', (id * 7 + 3) % @count)), 1, 2 + id % 3 FROM papers WHERE (id * 7 + 3) % @count <> id % @count`).run({
  topics: JSON.stringify(TOPICS),
  count: TOPICS.length,
});
// Mixed topic subsets, one in ten following all, as bench-scale imports them.
db.prepare(`
  INSERT INTO subscribers (id, email, status, topics, frequency, created_at, confirmed_at, last_digest_at, token_key)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @subscribers)
  SELECT i, printf('reader%d@example.com', i), 'active',
    CASE WHEN i % 10 = 0 THEN NULL ELSE json_array(json_extract(@topics, printf('$[%d]', i % @count)), json_extract(@topics, printf('$[%d]', (i / 3) % @count)), json_extract(@topics, printf('$[%d]', (i / 7) % @count))) END,
    'daily', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', @lastDigest, lower(hex(randomblob(16)))
  FROM n`).run({ subscribers: SUBSCRIBERS, topics: JSON.stringify(TOPICS), count: TOPICS.length, lastDigest: new Date(NOW.getTime() - DAY_MS).toISOString() });
// 100 distinct papers per subscriber, spread over the whole history (31 is prime to 3,000),
// in primary-key order.
db.prepare(`
  INSERT INTO deliveries (subscriber_id, paper_id, outbox_id)
  WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < @perSubscriber - 1)
  SELECT s.id, (s.id * 37 + k.j * 31) % @papers + 1, s.id FROM subscribers s CROSS JOIN k
  ORDER BY 1, 2`).run({ perSubscriber: PER_SUBSCRIBER, papers: PAPERS });
db.exec('COMMIT');
db.pragma('wal_checkpoint(TRUNCATE)');
const deliveries = (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
db.close();
console.log(`Selection with a long history: ${SUBSCRIBERS.toLocaleString('en-US')} subscribers × ${PER_SUBSCRIBER} delivered = ${deliveries.toLocaleString('en-US')} delivery rows, ${PAPERS.toLocaleString('en-US')} papers over ${DAYS} days`);
console.log(`  built in ${((performance.now() - built) / 1000).toFixed(1)} s, ${(statSync(path).size / 1024 ** 2).toFixed(0)} MB (${load()}); ${SAMPLE.toLocaleString('en-US')} subscribers measured per window, spread over the list`);

const store = openSqliteStore(path);
const topicOrder = TOPICS;
const sampleIds = Array.from({ length: SAMPLE }, (_, index) => 1 + Math.floor((index * SUBSCRIBERS) / SAMPLE));
const subscribers = new Map<number, string[] | null>();
for (let start = 0; start < sampleIds.length; start += PAGE) {
  for (const id of sampleIds.slice(start, start + PAGE)) subscribers.set(id, (await store.subscriberById(id))!.topics);
}
const rulesFor = (topics: string[] | null): SelectionRules => ({ topics, topicOrder, maxPerTopic: 10, maxPerDigest: 50, now: NOW, carriedBefore: null });

console.log('\n  window            papers   old ms/subscriber   new ms/subscriber   (window read once; held, select per subscriber)   old/new');
for (const [label, days] of [['daily (1 day)', 1], ['weekly (7 days)', 7], ['backfill (30 days)', 30]] as const) {
  const since = new Date(NOW.getTime() - days * DAY_MS).toISOString();
  const oldChoice = new Map<number, number[]>();
  collectGarbage();
  let started = performance.now();
  for (const id of sampleIds) oldChoice.set(id, selectDigest(await store.digestCandidates(id, since), rulesFor(subscribers.get(id)!)).paperIds);
  const oldMs = (performance.now() - started) / SAMPLE;

  collectGarbage();
  started = performance.now();
  const window = await store.windowPapers(since);
  const windowMs = performance.now() - started;
  let mismatches = 0;
  let heldMs = 0;
  for (let start = 0; start < sampleIds.length; start += PAGE) {
    const page = sampleIds.slice(start, start + PAGE);
    const heldStarted = performance.now();
    const held = await store.heldPaperIds(page, since);
    heldMs += performance.now() - heldStarted;
    for (const id of page) {
      const chosen = selectFromWindow(window, { ...rulesFor(subscribers.get(id)!), since, held: held.get(id) }).paperIds;
      if (chosen.join() !== oldChoice.get(id)!.join()) mismatches++;
    }
  }
  const newMs = (performance.now() - started) / SAMPLE;
  if (mismatches > 0) throw new Error(`${label}: the two ways chose differently for ${mismatches} subscribers`);
  console.log(
    `  ${label.padEnd(18)}${String(window.length).padStart(6)}   ${oldMs.toFixed(3).padStart(17)}   ${newMs.toFixed(3).padStart(17)}   (${windowMs.toFixed(0)} ms; ${(heldMs / SAMPLE).toFixed(3)}, ${(newMs - (windowMs + heldMs) / SAMPLE).toFixed(3)} ms)${' '.repeat(14)}${(oldMs / newMs).toFixed(1).padStart(5)}×   ${load()}`,
  );
}
console.log(`\n  target: new ≤ 1 ms per subscriber for the weekly window with ${deliveries.toLocaleString('en-US')} delivery rows`);
await store.close();
