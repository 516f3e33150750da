import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { spoolFolderOf } from '../../src/store/sqlite/spool.ts';
import { prepareStatements } from '../../src/store/sqlite/statements.ts';
import { openSqliteStore, registerMigrationFunctions } from '../../src/store/sqlite/store.ts';
import { REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { expectMigrated, expectReservationsMerged, MERGED_DELIVERIES, PRE_COMPACT_ROWS, RESERVATION_ROWS } from '../helpers/pre-compact-rows.ts';

/** A database file as a Paperboy whose schema ended at `version` left it (open, for rows to be added). */
function databaseAtVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  registerMigrationFunctions(db);
  for (const [index, sql] of MIGRATIONS.slice(0, version).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${index + 1}`);
  }
  return db;
}

/** One active subscriber and one welcome queued for them (outbox id 1), its body left to the test. */
function withQueuedWelcome(old: Database.Database): Database.Database {
  old.prepare(`INSERT INTO subscribers (email, status, frequency, created_at) VALUES ('ada@example.org', 'active', 'daily', 't')`).run();
  old.prepare(`INSERT INTO outbox (subscriber_id, kind, message_id, recipient, subject, unsubscribe_url, status, next_attempt_at, created_at)
    VALUES (1, 'welcome', '<old@t>', 'ada@example.org', 's', '', 'queued', '2026-11-23T07:00:00.000Z', 't')`).run();
  return old;
}

/** What only the SQLite adapter has: its schema history, its query plans, its file. */
describe('the SQLite adapter', () => {
  it('brings a version 4 database forward with its listings intact: path becomes origin, any format is allowed', async () => {
    const path = join(tempDir(), 'v4.db');
    const old = databaseAtVersion(path, 4);
    old.prepare(`INSERT INTO listings (path, content_hash, format, ingested_at, status) VALUES ('data/inbox/a.txt', 'h1', 'hf-dump', '2026-11-01T07:00:00.000Z', 'ingested')`).run();
    old.prepare(`INSERT INTO papers (key, title_key, title, abstract, first_seen, last_seen, updated_at) VALUES ('title-1', 'a', 'A', 'x', 't', 't', 't')`).run();
    old.prepare(`INSERT INTO paper_listings (paper_id, listing_id, position) VALUES (1, 1, 0)`).run();
    old.close();

    const store = openSqliteStore(path);
    expect(await store.ping()).toBe(MIGRATIONS.length);
    expect(await store.listingByHash('h1')).toMatchObject({ id: 1, origin: 'data/inbox/a.txt', format: 'hf-dump' });
    expect(await store.countPapers()).toEqual({ papers: 1, paperListings: 1 });
    await store.insertListing({ origin: 'https://rss.arxiv.org/rss/cs.LG', contentHash: 'h2', format: 'arxiv-rss', listedOn: null, ingestedAt: '2026-11-02T07:00:00.000Z' });
    expect((await store.listingByHash('h2'))?.format).toBe('arxiv-rss');
    await store.close();
  });

  it('brings a version 10 database forward: deliveries name their outbox row, digest records are packed, the archive is per (topic, paper)', async () => {
    const path = join(tempDir(), 'v10.db');
    const old = databaseAtVersion(path, 10);
    for (const sql of PRE_COMPACT_ROWS) old.exec(sql);
    old.close();

    const store = openSqliteStore(path);
    expect(await store.ping()).toBe(MIGRATIONS.length);
    await expectMigrated(store);
    await store.close();
    const migrated = new Database(path, { readonly: true });
    expect(migrated.prepare(`SELECT paper_id, outbox_id FROM deliveries ORDER BY paper_id`).raw().all()).toEqual([[1, 7], [3, 7]]);
    expect(migrated.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'digest_papers'`).pluck().get()).toBe(0);
    migrated.close();
  });

  it('brings a version 11 database forward: a queued digest\'s reservations become its deliveries, a failed one\'s are dropped', async () => {
    const path = join(tempDir(), 'v11.db');
    const old = databaseAtVersion(path, 11);
    for (const sql of RESERVATION_ROWS) old.exec(sql);
    old.close();

    const store = openSqliteStore(path);
    expect(await store.ping()).toBe(MIGRATIONS.length);
    const migrated = new Database(path, { readonly: true });
    expect(migrated.prepare(`SELECT paper_id, outbox_id FROM deliveries ORDER BY paper_id`).raw().all()).toEqual(MERGED_DELIVERIES);
    expect(migrated.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'outbox_papers'`).pluck().get()).toBe(0);
    migrated.close();
    await expectReservationsMerged(store);
    await store.close();
  });

  it('fails the whole transaction when its papers fail to save, even if the callback catches the error (no savepoint)', async () => {
    const store = openSqliteStore(join(tempDir(), 'failed-save.db'));
    const fields = (key: string, titleKey: string) => ({
      key, arxivId: null, titleKey, title: titleKey, abstract: '', authors: [], authorCount: null, organization: null,
      publishedOn: null, upvotes: null, comments: null, keywords: [], categories: [], links: {},
    });
    const at = '2026-11-23T07:00:00.000Z';
    let caught: unknown;
    const outcome = await store
      .withTransaction(async (tx) => {
        const listingId = await tx.insertListing({ origin: 'a', contentHash: 'a', format: 'hf-dump', listedOn: null, ingestedAt: at });
        const inserts = [fields('title-1', 'one'), fields('title-1', 'two')];
        await tx.saveListingPapers(listingId, { inserts, updates: [], touches: [], links: [] }, at).catch((error: unknown) => (caught = error));
        // Once failed, the transaction takes nothing more.
        await expect(tx.setState('after', '1')).rejects.toThrow(/^this transaction failed \(UNIQUE constraint failed: papers\.key\) and can only roll back$/);
        return 'kept going';
      })
      .catch((error: unknown) => error);
    expect(outcome).toBe(caught);
    expect((outcome as Error).message).toBe('UNIQUE constraint failed: papers.key');
    expect(await store.listingByHash('a')).toBeUndefined();
    expect(await store.countPapers()).toEqual({ papers: 0, paperListings: 0 });
    expect(await store.getState('after')).toBeUndefined();
    // The store goes on as before.
    await store.setState('later', '1');
    expect(await store.getState('later')).toBe('1');
    await store.close();
  });

  it('refuses a database written by a newer Paperboy, naming the file', () => {
    const path = join(tempDir(), 'future.db');
    const future = new Database(path);
    future.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    future.close();
    expect(() => openSqliteStore(path)).toThrow(`${path}: schema version ${MIGRATIONS.length + 1} is newer than this Paperboy knows (${MIGRATIONS.length}); upgrade Paperboy`);
  });

  it('finds digest candidates through indexes, not by scanning deliveries', async () => {
    const path = join(tempDir(), 'plan.db');
    await (openSqliteStore(path)).close();
    const db = new Database(path);
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${prepareStatements(db).digestCandidates.source}`)
      .all({ since: '2026-01-01', subscriberId: 1 })
      .map((row) => (row as { detail: string }).detail);
    db.close();
    expect(plan.some((detail) => /SEARCH p USING (COVERING )?INDEX papers_by_first_seen \(first_seen>\?\)/.test(detail))).toBe(true);
    expect(plan.some((detail) => /SEARCH d USING PRIMARY KEY \(subscriber_id=\? AND paper_id=\?\)/.test(detail))).toBe(true);
    expect(plan.some((detail) => /SCAN d\b/.test(detail))).toBe(false);
  });

  it('three processes opening one new database at once all succeed, 20 times over', async () => {
    const open = (path: string) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/open-store-child.ts'), path], { cwd: REPO_ROOT });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const dir = tempDir();
    for (let trial = 0; trial < 20; trial++) {
      const results = await Promise.all([0, 1, 2].map(() => open(join(dir, `race-${trial}.db`))));
      expect(results, `trial ${trial}`).toEqual([0, 1, 2].map(() => ({ code: 0, out: String(MIGRATIONS.length), err: '' })));
    }
  }, 120_000);

  it('a write waits out another connection\'s lock under `node --cpu-prof`, whose signals cut SQLite\'s busy sleeps short', async () => {
    const dir = tempDir();
    const path = join(dir, 'profiled.db');
    await openSqliteStore(path).close();
    const holder = new Database(path);
    const heldMs = 600;
    let writingAt = 0;
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profiles')}`, '--import', 'tsx', join(REPO_ROOT, 'test/helpers/write-while-profiled-child.ts'), path], { cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      if (!writingAt && out.includes('ready\n')) {
        holder.exec('BEGIN IMMEDIATE');
        writingAt = Date.now();
        child.stdin.end('go\n');
        setTimeout(() => holder.exec('COMMIT'), heldMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const waitedMs = Date.now() - writingAt;
    holder.close();
    // Before: SQLITE_BUSY about 70 ms after "go", exit code 1.
    expect({ code, out, err }).toEqual({ code: 0, out: 'ready\nrun 1\n', err: '' });
    expect(waitedMs).toBeGreaterThanOrEqual(heldMs);
  }, 60_000);

  it('gives the pages of dropped HTML copies back to the file system: the file does not keep the high-water mark of a run', async () => {
    const path = join(tempDir(), 'shrink.db');
    const store = openSqliteStore(path);
    const size = () => statSync(path).size + statSync(`${path}-wal`).size;
    const ada = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', '2026-11-23T07:00:00.000Z'))!;
    // The file outbox keeps each message's HTML copy in its row (the bytes are in the spool folder).
    const html = 'x'.repeat(70_000);
    for (let i = 0; i < 300; i++) {
      await store.queueMessage({ runId: null, subscriberId: ada.id, kind: 'welcome', messageId: `<m${i}@t>`, recipient: ada.email, recipientName: null, subject: 's', raw: Buffer.from('r'), html, unsubscribeUrl: '', windowSince: null, now: '2026-11-23T07:00:00.000Z' }, []);
    }
    expect(size()).toBeGreaterThan(300 * 70_000);
    await store.unsubscribe(ada.id, '2026-11-23T07:01:00.000Z');
    expect(await store.pruneOutboxBodies()).toBe(300);
    await store.close();
    // Closing checkpoints the WAL: the 21 MB of copies are gone from the file, which is back
    // to its schema and one subscriber (under 1 MB of 16 KB pages).
    expect(statSync(path).size).toBeLessThan(1024 * 1024);
  });

  it('brings a version 12 database forward with its queued bodies in their rows: they are claimed as they were', async () => {
    const path = join(tempDir(), 'v12.db');
    const old = withQueuedWelcome(databaseAtVersion(path, 12));
    old.prepare(`INSERT INTO outbox_bodies (outbox_id, raw, html) VALUES (1, ?, '<p>old</p>')`).run(Buffer.from('old bytes'));
    old.close();

    const store = openSqliteStore(path);
    const [claimed] = await store.claimDue('w', 10, '2026-11-23T07:00:00.000Z', '2026-11-23T07:05:00.000Z');
    expect({ raw: claimed!.raw.toString(), html: claimed!.html }).toEqual({ raw: 'old bytes', html: '<p>old</p>' });
    expect(readdirSync(spoolFolderOf(path))).toEqual([]);
    await store.close();
  });

  it('brings a version 13 database forward with a queued body in a whole file of its own: it is claimed whole and deleted once sent', async () => {
    const path = join(tempDir(), 'v13.db');
    const old = withQueuedWelcome(databaseAtVersion(path, 13));
    const file = '0f8fad5b-d9cb-469f-a165-70867728950e.eml';
    mkdirSync(spoolFolderOf(path));
    writeFileSync(join(spoolFolderOf(path), file), 'old bytes');
    old.prepare(`INSERT INTO outbox_bodies (outbox_id, spool_file, spooled_bytes, html) VALUES (1, ?, 9, '')`).run(file);
    old.close();

    const store = openSqliteStore(path);
    const [claimed] = await store.claimDue('w', 10, '2026-11-23T07:00:00.000Z', '2026-11-23T07:05:00.000Z');
    expect(claimed!.raw.toString()).toBe('old bytes');
    await store.settle(claimed!, 'w', { status: 'sent', attempts: 1, sentAt: '2026-11-23T07:00:01.000Z' }, '2026-11-23T07:00:01.000Z');
    expect(readdirSync(spoolFolderOf(path))).toEqual([]);
    await store.close();
  });
});
