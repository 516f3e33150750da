import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.ts';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { describeDatabaseUrl, openPostgresStore } from '../../src/store/postgres/store.ts';
import type { Store } from '../../src/store/port.ts';
import { expectMigrated, expectReservationsMerged, MERGED_DELIVERIES, PRE_COMPACT_ROWS, RESERVATION_ROWS } from '../helpers/pre-compact-rows.ts';
import { TEST_DATABASE_URL, tempPostgresStore } from '../helpers/store-adapters.ts';

/** What only the PostgreSQL adapter has: its URL, its schema versions, its place in the composition root. */

/** A new schema as a Paperboy whose migrations ended at `version` left it, holding `rows`. */
async function schemaAtVersion(admin: postgres.Sql, schema: string, version: number, rows: readonly string[]): Promise<void> {
  await admin.unsafe(`CREATE SCHEMA ${schema}`);
  await admin.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
    for (const sql of PG_MIGRATIONS.slice(0, version)) await tx.unsafe(sql);
    await tx.unsafe(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (${version})`);
    for (const sql of rows) await tx.unsafe(sql);
  });
}

describe('describeDatabaseUrl', () => {
  it('never shows the password', () => {
    expect(describeDatabaseUrl('postgres://paperboy:s3cret@db.example.org:5432/paperboy')).toBe('postgres://paperboy@db.example.org:5432/paperboy');
  });
});

describe.skipIf(!TEST_DATABASE_URL)('postgres adapter (PAPERBOY_TEST_DATABASE_URL)', () => {
  const opened: Store[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  it('migrates once, records the version, and reopens at the same version', async () => {
    const store = await tempPostgresStore();
    opened.push(store);
    expect(await store.ping()).toBe(7);
    const again = await openPostgresStore({ url: TEST_DATABASE_URL!, schema: store.schema });
    opened.push(again);
    expect(await again.ping()).toBe(7);
  });

  it('brings a version 4 schema forward: deliveries name their outbox row, digest records are packed, the archive is per (topic, paper)', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await schemaAtVersion(admin, schema, 4, PRE_COMPACT_ROWS);
      const store = await openPostgresStore({ url: TEST_DATABASE_URL!, schema });
      opened.push(store);
      expect(await store.ping()).toBe(PG_MIGRATIONS.length);
      await expectMigrated(store);
      expect((await admin.unsafe(`SELECT paper_id, outbox_id FROM ${schema}.deliveries ORDER BY paper_id`).values())).toEqual([[1, 7], [3, 7]]);
      expect((await admin.unsafe(`SELECT to_regclass('${schema}.digest_papers') AS t`))[0]!.t).toBeNull();
    } finally {
      await admin.end();
    }
  });

  it('brings a version 6 schema forward: a queued digest\'s reservations become its deliveries, a failed one\'s are dropped', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await schemaAtVersion(admin, schema, 6, RESERVATION_ROWS);
      const store = await openPostgresStore({ url: TEST_DATABASE_URL!, schema });
      opened.push(store);
      expect(await store.ping()).toBe(PG_MIGRATIONS.length);
      expect(await admin.unsafe(`SELECT paper_id, outbox_id FROM ${schema}.deliveries ORDER BY paper_id`).values()).toEqual(MERGED_DELIVERIES);
      expect((await admin.unsafe(`SELECT to_regclass('${schema}.outbox_papers') AS t`))[0]!.t).toBeNull();
      await expectReservationsMerged(store);
    } finally {
      await admin.end();
    }
  });

  it('brings a version 5 schema forward: queued bodies kept as bytea become text, claimed back byte for byte', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const raw = Buffer.from('From: Grüße <digest@paperboy.test>\r\nSubject: =?UTF-8?Q?=C3=9Cbersicht?=\r\n\r\ncaf=C3=A9\r\n');
    const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      // Version 5 kept bodies as bytea.
      await schemaAtVersion(admin, schema, 5, [
        `INSERT INTO subscribers (id, email, name, status, frequency, created_at) VALUES (1, 'zoë@example.org', 'Zoë', 'active', 'daily', '2026-11-23T07:00:00.000Z')`,
        `INSERT INTO outbox (id, subscriber_id, kind, message_id, recipient, recipient_name, subject, unsubscribe_url, status, next_attempt_at, created_at) VALUES
          (1, 1, 'digest', '<v5@paperboy.test>', 'zoë@example.org', 'Zoë', 'Übersicht', 'https://paperboy.test/u', 'queued', '2026-11-23T07:00:00.000Z', '2026-11-23T07:00:00.000Z')`,
        `INSERT INTO outbox_bodies (outbox_id, raw, html) VALUES (1, '\\x${raw.toString('hex')}', '<p>café</p>')`,
      ]);
      const store = await openPostgresStore({ url: TEST_DATABASE_URL!, schema });
      opened.push(store);
      expect(await store.ping()).toBe(7);
      expect((await admin.unsafe(`SELECT data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'outbox_bodies' AND column_name = 'raw'`))[0]!.data_type).toBe('text');
      const [claimed] = await store.claimDue('w', 10, '2026-11-23T07:05:00.000Z', '2026-11-23T07:10:00.000Z');
      expect([claimed!.messageId, claimed!.raw.equals(raw), claimed!.html]).toEqual(['<v5@paperboy.test>', true, '<p>café</p>']);
    } finally {
      await admin.end();
    }
  });

  it('refuses to queue bytes that are not UTF-8 text, writing nothing of the page', async () => {
    const store = await tempPostgresStore();
    opened.push(store);
    const subscriber = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', '2026-11-23T07:00:00.000Z'))!;
    const message = (n: number, raw: Buffer) => ({ runId: null, subscriberId: subscriber.id, kind: 'confirmation' as const, messageId: `<n${n}@paperboy.test>`, recipient: subscriber.email, recipientName: null, subject: 'Confirm', raw, html: '', unsubscribeUrl: '', windowSince: null, now: '2026-11-23T07:00:00.000Z' });
    await expect(store.queueMessages([{ message: message(1, Buffer.from('Subject: fine\r\n\r\nok\r\n')), paperIds: [] }, { message: message(2, Buffer.from([0x53, 0x3a, 0xff, 0x0d, 0x0a])), paperIds: [] }])).rejects.toThrow(
      'message <n2@paperboy.test>: its bytes are not UTF-8 text without NUL, which the outbox stores',
    );
    expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 0, failed: 0 });
  });

  it('refuses a schema newer than it knows, naming the database without its password', async () => {
    const store = await tempPostgresStore();
    const { schema } = store;
    await store.close();
    const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`UPDATE ${schema}.schema_version SET version = 99`);
    await admin.end();
    await expect(openPostgresStore({ url: TEST_DATABASE_URL!, schema })).rejects.toThrow(
      `${describeDatabaseUrl(TEST_DATABASE_URL!)} (schema ${schema}): schema version 99 is newer than this Paperboy knows (7); upgrade Paperboy`,
    );
  });

  it('is the store of an app whose PAPERBOY_DATABASE_URL is a postgres:// URL', async () => {
    const app = openApp({ env: { PAPERBOY_DATABASE_URL: TEST_DATABASE_URL!, PAPERBOY_DATABASE_POOL: '2' } });
    try {
      expect(app.store.description).toBe(describeDatabaseUrl(TEST_DATABASE_URL!));
      expect(await app.store.ping()).toBe(7);
      await app.store.setState('app-test', 'yes');
      expect(await app.store.getState('app-test')).toBe('yes');
    } finally {
      await app.close();
    }
  });
});
