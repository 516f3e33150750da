import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NewOutboxMessage } from '../../src/model/outbox.ts';
import type { Store } from '../../src/store/port.ts';
import { spoolFolderOf } from '../../src/store/sqlite/spool.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { tempDir } from '../helpers/paths.ts';

const NOW = '2026-11-23T07:00:00.000Z';
const UNTIL = '2026-11-23T07:05:00.000Z';
const SENT = { status: 'sent', attempts: 1, sentAt: NOW } as const;

async function storeWithSubscriber(): Promise<{ path: string; store: Store; subscriberId: number }> {
  const path = join(tempDir(), 'spool.db');
  const store = openSqliteStore(path);
  const ada = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', NOW))!;
  return { path, store, subscriberId: ada.id };
}

function welcome(subscriberId: number, index: number, raw: Buffer): NewOutboxMessage {
  return { runId: null, subscriberId, kind: 'welcome', messageId: `<m${index}@t>`, recipient: 'ada@example.org', recipientName: null, subject: 's', raw, html: '', unsubscribeUrl: '', windowSince: null, now: NOW };
}

/** Message bytes as a run builds them: distinct per message, ~70 KB. */
const bodyOf = (index: number) => Buffer.from(`Message-ID: <m${index}@t>\r\n\r\n${'=3D line of quoted-printable\r\n'.repeat(2_400)}`);

const spooled = (path: string) => readdirSync(spoolFolderOf(path)).sort();

/** The spool file a row names, as a path. */
function spoolFileOf(path: string, outboxId: number): string {
  const db = new Database(path, { readonly: true });
  try {
    return join(spoolFolderOf(path), db.prepare(`SELECT spool_file FROM outbox_bodies WHERE outbox_id = ?`).pluck().get(outboxId) as string);
  } finally {
    db.close();
  }
}

/** As if written two hours ago (past the grace a prune gives files that may be in a transaction). */
function age(path: string, names: readonly string[]): void {
  const then = new Date(Date.now() - 2 * 60 * 60 * 1000);
  for (const name of names) utimesSync(join(spoolFolderOf(path), name), then, then);
}

/** A queued message's bytes live in a file beside the database, not in its rows (src/store/sqlite/spool.ts). */
describe('the SQLite adapter\'s spool of queued messages', () => {
  it('keeps a page of queued bodies as one segment file, hands each back byte for byte and deletes the segment once its last message settles', async () => {
    const { path, store, subscriberId } = await storeWithSubscriber();
    const ids: (number | null)[] = [];
    for (let page = 0; page < 3; page++) {
      ids.push(...(await store.queueMessages(Array.from({ length: 100 }, (_, i) => ({ message: welcome(subscriberId, page * 100 + i, bodyOf(page * 100 + i)), paperIds: [] })))));
    }
    const files = spooled(path);
    expect(files).toHaveLength(3);
    expect(files.every((name) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.spool$/.test(name))).toBe(true);
    expect(files.reduce((total, name) => total + statSync(join(spoolFolderOf(path), name)).size, 0)).toBe(Array.from({ length: 300 }, (_, i) => bodyOf(i).length).reduce((a, b) => a + b));
    // 21 MB of bodies, and the database holds none of them.
    expect(statSync(path).size + statSync(`${path}-wal`).size).toBeLessThan(3 * 1024 * 1024);

    const claimed = await store.claimDue('w', 300, NOW, UNTIL);
    expect(claimed.map((message) => message.id)).toEqual(ids);
    expect(claimed.every((message, i) => message.raw.equals(bodyOf(i)))).toBe(true);
    const thirdSegment = spoolFileOf(path, ids[200]!).split('/').pop();
    // The first two pages sent, and one message of the third: only the third segment is left.
    await store.settleMany(claimed.slice(0, 201).map((message) => ({ message, transition: SENT })), 'w', NOW);
    expect(spooled(path)).toEqual([thirdSegment]);
    await store.settle(claimed[201]!, 'w', { status: 'failed', attempts: 1, error: '550 no such user', hardBounce: false, bounceSubscriber: false, deliveryError: false }, NOW);
    expect(spooled(path)).toEqual([thirdSegment]);
    // A retry keeps its bytes for the next attempt.
    await store.settle(claimed[202]!, 'w', { status: 'queued', attempts: 1, nextAttemptAt: NOW, error: '451 later' }, NOW);
    await store.settleMany(claimed.slice(203).map((message) => ({ message, transition: SENT })), 'w', NOW);
    expect(spooled(path)).toEqual([thirdSegment]);
    const [retried] = await store.claimDue('w', 1, NOW, UNTIL);
    expect({ id: retried!.id, same: retried!.raw.equals(bodyOf(202)) }).toEqual({ id: ids[202], same: true });
    await store.settle(retried!, 'w', SENT, NOW);
    expect(spooled(path)).toEqual([]);
    await store.close();
  });

  it('fails only the messages whose bytes are gone or cut short, naming the file; the rest of the batch is claimed', async () => {
    const { path, store, subscriberId } = await storeWithSubscriber();
    const queue = async (indexes: number[]) => (await store.queueMessages(indexes.map((i) => ({ message: welcome(subscriberId, i, bodyOf(i)), paperIds: [] })))) as number[];
    const [gone] = await queue([0]);
    const [whole, cut] = await queue([1, 2]);
    const [fine] = await queue([3]);
    const [goneFile, cutFile] = [spoolFileOf(path, gone!), spoolFileOf(path, cut!)];
    unlinkSync(goneFile);
    // The segment ends 1,000 bytes into its second message.
    truncateSync(cutFile, bodyOf(1).length + 1000);

    const told: string[] = [];
    const claimed = await store.claimDue('w', 10, NOW, UNTIL, undefined, { onUnsendable: (message, error) => told.push(`${message.id} ${error}`) });
    expect(claimed.map((message) => message.id)).toEqual([whole, fine]);
    expect(told).toEqual([
      `${gone} ${goneFile}: cannot read the queued message (no such file); the folder moves with the database`,
      `${cut} ${cutFile}: the queued message is 1000 bytes, not the ${bodyOf(2).length} written (cut short by a crash?)`,
    ]);
    expect(claimed[0]!.raw.equals(bodyOf(1))).toBe(true);
    expect(await store.outboxById(gone!)).toMatchObject({ status: 'failed', lastError: `${goneFile}: cannot read the queued message (no such file); the folder moves with the database` });
    expect(await store.outboxById(cut!)).toMatchObject({ status: 'failed', lastError: `${cutFile}: the queued message is 1000 bytes, not the ${bodyOf(2).length} written (cut short by a crash?)` });
    // The cut segment stays while its first message is unsent; it goes with it.
    expect(spooled(path)).toHaveLength(2);
    expect(await store.outboxCounts()).toEqual({ queued: 2, sent: 0, failed: 2 });
    await store.settle(claimed[0]!, 'w', SENT, NOW);
    expect(spooled(path)).toEqual([spoolFileOf(path, fine!).split('/').pop()]);
    await store.close();
  });

  it('a message that is not queued after all leaves no file; a crash\'s orphan goes at the first prune an hour later; queued ones and foreign files stay', async () => {
    const { path, store, subscriberId } = await storeWithSubscriber();
    await store.queueMessage(welcome(subscriberId, 0, bodyOf(0)), []);
    const kept = spooled(path);
    // The same Message-ID again: the page's transaction fails, and its files go with it.
    await expect(store.queueMessages([1, 0].map((i) => ({ message: welcome(subscriberId, i, bodyOf(i)), paperIds: [] })))).rejects.toThrow('UNIQUE constraint failed: outbox.message_id');
    expect(spooled(path)).toEqual(kept);
    // Queued inside a longer transaction that rolls back: the file outlives it, as after a crash.
    await expect(
      store.withTransaction(async (tx) => {
        await tx.queueMessage(welcome(subscriberId, 1, bodyOf(1)), []);
        throw new Error('the run stopped');
      }),
    ).rejects.toThrow('the run stopped');
    const orphan = spooled(path).filter((name) => !kept.includes(name));
    expect(orphan).toHaveLength(1);
    writeFileSync(join(spoolFolderOf(path), 'README'), 'an operator\'s note');

    // Young, it may be a transaction's that has not committed yet.
    expect(await store.pruneOutboxBodies()).toBe(0);
    expect(spooled(path)).toEqual(['README', ...kept, ...orphan].sort());
    age(path, [...kept, ...orphan, 'README']);
    await store.pruneOutboxBodies();
    expect(spooled(path)).toEqual(['README', ...kept].sort());
    const [claimed] = await store.claimDue('w', 10, NOW, UNTIL);
    expect(claimed!.raw.equals(bodyOf(0))).toBe(true);
    await store.close();
  });

  it('a message sent inside a longer transaction leaves its file to a prune after that transaction commits', async () => {
    const { path, store, subscriberId } = await storeWithSubscriber();
    await store.queueMessage(welcome(subscriberId, 0, bodyOf(0)), []);
    const [claimed] = await store.claimDue('w', 1, NOW, UNTIL);
    await store.withTransaction(async (tx) => {
      await tx.settle(claimed!, 'w', SENT, NOW);
    });
    expect(spooled(path)).toHaveLength(1);
    age(path, spooled(path));
    await store.pruneOutboxBodies();
    expect(spooled(path)).toEqual([]);
    await store.close();
  });

  it('a page whose digests are all refused leaves no file: another producer queued those subscribers\' digests first', async () => {
    const { path, store, subscriberId } = await storeWithSubscriber();
    const digest = (i: number): NewOutboxMessage => ({ ...welcome(subscriberId, i, bodyOf(i)), kind: 'digest' });
    const ids = await store.queueMessages([0, 1].map((i) => ({ message: digest(i), paperIds: [] })));
    expect(ids.map((id) => id === null)).toEqual([false, true]);
    const segment = spoolFileOf(path, ids[0]!).split('/').pop();
    expect(spooled(path)).toEqual([segment]);
    expect(await store.queueMessages([2, 3].map((i) => ({ message: digest(i), paperIds: [] })))).toEqual([null, null]);
    expect(spooled(path)).toEqual([segment]);
    await store.close();
  });

  it('an in-memory database keeps the bytes in its rows', async () => {
    const store = openSqliteStore(':memory:');
    const ada = (await store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', NOW))!;
    await store.queueMessage(welcome(ada.id, 0, bodyOf(0)), []);
    const [claimed] = await store.claimDue('w', 1, NOW, UNTIL);
    expect(claimed!.raw.equals(bodyOf(0))).toBe(true);
    await store.close();
  });
});
