import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { describeDatabaseUrl } from '../../src/store/postgres/store.ts';
import { STORE_TABLES } from '../../src/store/tables.ts';
import { runCliAsync, runCli } from '../helpers/cli.ts';
import { freshPostgresDatabase } from '../helpers/databases.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { TEST_DATABASE_URL } from '../helpers/store-adapters.ts';

const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe.skipIf(!TEST_DATABASE_URL)('paperboy db copy (PAPERBOY_TEST_DATABASE_URL)', () => {
  it('moves every table of a used SQLite store into an empty PostgreSQL database, counts verified, and refuses a second copy', async () => {
    const dir = tempDir();
    const settings = {
      PAPERBOY_DB: join(dir, 'paperboy.db'),
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
      PAPERBOY_SECRET: 'db-copy-test-secret-0123456789abcdef0123',
      PAPERBOY_LOG_LEVEL: 'silent',
    };
    writeFileSync(join(dir, 'subscribers.csv'), `email\n${Array.from({ length: 5 }, (_, i) => `reader${i}@example.org`).join('\n')}\n`);
    expect(runCli(['subscribers', 'import', join(dir, 'subscribers.csv')], settings).status).toBe(0);
    mkdirSync(settings.PAPERBOY_INBOX, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(settings.PAPERBOY_INBOX, basename(DUMP_FILES[0]!)));
    expect((await runCliAsync(['run'], settings)).status).toBe(0);

    const url = await freshPostgresDatabase();
    const copy = await runCliAsync(['db', 'copy', '--from', `sqlite:${settings.PAPERBOY_DB}`, '--to', url, '--json'], settings);
    expect(copy.stderr).toBe('');
    expect(copy.status).toBe(0);
    const document = copy.json() as { to: string; tables: { table: string; source: number; target: number }[] };
    expect(document.to).toBe(describeDatabaseUrl(url));
    expect(document.tables.map((t) => t.table)).toEqual([...STORE_TABLES]);
    for (const entry of document.tables) expect(entry.target).toBe(entry.source);
    const count = (name: string) => document.tables.find((t) => t.table === name)!.target;
    expect(count('subscribers')).toBe(5);
    expect(count('outbox')).toBe(5);
    expect(count('runs')).toBe(1);
    expect(count('digests')).toBe(5);
    expect(count('papers')).toBeGreaterThan(0);
    expect(count('deliveries')).toBeGreaterThan(0);

    const embedded = openApp({ env: settings });
    const shared = openApp({ env: { ...settings, PAPERBOY_DATABASE_URL: url } });
    apps.push(embedded, shared);
    expect(await shared.store.listPapers({})).toEqual(await embedded.store.listPapers({}));
    expect(await shared.store.listSubscribers({})).toEqual(await embedded.store.listSubscribers({}));
    expect(await shared.store.outboxCounts()).toEqual({ queued: 0, sent: 5, failed: 0 });
    expect(await shared.store.recentRuns(5)).toEqual(await embedded.store.recentRuns(5));
    const subscriber = (await embedded.store.listSubscribers({}))[0]!;
    expect(await shared.store.deliveredPaperIds(subscriber.id)).toEqual(await embedded.store.deliveredPaperIds(subscriber.id));
    // The packed digest records and the archive read the same on both sides.
    expect(count('topic_archive')).toBeGreaterThan(0);
    const source = new Database(settings.PAPERBOY_DB, { readonly: true });
    const keys = source.prepare(`SELECT key FROM digests ORDER BY id`).pluck().all() as string[];
    source.close();
    for (const key of keys) {
      const digest = await embedded.store.digestByKey(key);
      expect(digest!.papers.length).toBeGreaterThan(0);
      expect(await shared.store.digestByKey(key)).toEqual(digest);
    }
    expect(await shared.store.archiveTopics()).toEqual(await embedded.store.archiveTopics());
    const [topic] = await embedded.store.archiveTopics();
    expect(await shared.store.archivedPapers(topic!.topicId, 50)).toEqual(await embedded.store.archivedPapers(topic!.topicId, 50));
    // The ids go on after the copied rows.
    const added = await shared.store.insertSubscriber({ email: 'new@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', new Date().toISOString());
    expect(added!.id).toBe(Math.max(...(await embedded.store.listSubscribers({})).map((s) => s.id)) + 1);

    const again = await runCliAsync(['db', 'copy', '--from', `sqlite:${settings.PAPERBOY_DB}`, '--to', url], settings);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`paperboy: ${describeDatabaseUrl(url)}: table listings already holds ${count('listings')} rows; db copy needs an empty target\n`);
  });

  it('moves a queued message with its body, byte for byte, so the copy delivers what SQLite would have', async () => {
    const dir = tempDir();
    const settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_SECRET: 'db-copy-test-secret-0123456789abcdef0123', PAPERBOY_LOG_LEVEL: 'silent' };
    const embedded = openApp({ env: settings });
    const subscriber = (await embedded.store.insertSubscriber({ email: 'zoë@example.org', name: 'Zoë', topics: null, frequency: 'daily', weekday: null }, 'active', '2026-11-23T07:00:00.000Z'))!;
    const raw = Buffer.from('From: Grüße <digest@paperboy.test>\r\nSubject: =?UTF-8?Q?=C3=9Cbersicht?=\r\n\r\ncaf=C3=A9\r\n');
    await embedded.store.queueMessage(
      { runId: null, subscriberId: subscriber.id, kind: 'digest', messageId: '<copied@paperboy.test>', recipient: subscriber.email, recipientName: 'Zoë', subject: 'Übersicht', raw, html: '<p>café</p>', unsubscribeUrl: 'https://paperboy.test/u', windowSince: null, now: '2026-11-23T07:00:00.000Z' },
      [],
    );
    await embedded.close();

    const url = await freshPostgresDatabase();
    const copy = await runCliAsync(['db', 'copy', '--from', `sqlite:${settings.PAPERBOY_DB}`, '--to', url], settings);
    expect([copy.status, copy.stderr]).toEqual([0, '']);
    const shared = openApp({ env: { ...settings, PAPERBOY_DATABASE_URL: url } });
    apps.push(shared);
    const [claimed] = await shared.store.claimDue('w', 10, '2026-11-23T07:05:00.000Z', '2026-11-23T07:10:00.000Z');
    expect([claimed!.messageId, claimed!.raw.equals(raw), claimed!.html]).toEqual(['<copied@paperboy.test>', true, '<p>café</p>']);
  });
});
