import { join } from 'node:path';
import type { Clock } from '../../src/clock.ts';
import { ingestSources } from '../../src/ingest/ingest.ts';
import { pathsSource } from '../../src/sources/files.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { tempDir } from './paths.ts';

/** A fresh SQLite store in a temporary folder (removed after the test), and its file. */
export function tempSqliteStore(): { store: Store; path: string } {
  const path = join(tempDir(), 'paperboy.db');
  return { store: openSqliteStore(path), path };
}

/** Everything ingest can write, read back through the port, so a test can say "nothing changed". */
export async function ingestSnapshot(store: Store) {
  return {
    papers: await store.listPapers({}),
    ingested: (await store.recentListings(10_000)).filter((listing) => listing.status === 'ingested'),
    counts: await store.countPapers(),
  };
}

/**
 * Delivers `paperIds` to a subscriber the way delivery does: a message is queued (the window
 * moves to `at`), claimed by a worker and settled as sent, which records the deliveries.
 */
export async function deliverPapers(store: Store, subscriberId: number, paperIds: readonly number[], at: string): Promise<void> {
  const messageId = `<test-${subscriberId}-${Date.parse(at)}-${paperIds.length}@paperboy.test>`;
  const id = await store.queueMessage(
    {
      runId: null,
      subscriberId,
      kind: 'digest',
      messageId,
      recipient: `subscriber-${subscriberId}@example.org`,
      recipientName: null,
      subject: 'test digest',
      raw: Buffer.from('Subject: test digest\r\n\r\nbody\r\n'),
      html: '<p>body</p>',
      unsubscribeUrl: 'https://paperboy.test/unsubscribe',
      windowSince: (await store.subscriberById(subscriberId))!.lastDigestAt,
      now: at,
    },
    paperIds,
  );
  if (id === null) throw new Error(`a digest is already queued for subscriber ${subscriberId}`);
  const claimed = await store.claimDue('test-worker', 1000, at, new Date(Date.parse(at) + 60_000).toISOString());
  const message = claimed.find((row) => row.id === id)!;
  await store.settle(message, 'test-worker', { status: 'sent', attempts: 1, sentAt: at }, at);
}

/** Ingests listing files into a store, as `paperboy ingest FILE…` does. */
export function ingestPaths(store: Store, clock: Clock, paths: readonly string[]) {
  return ingestSources([pathsSource(paths)], { store, clock, maxListingBytes: 1 << 30 });
}
