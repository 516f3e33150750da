import { expect } from 'vitest';
import type { Store } from '../../src/store/port.ts';

/**
 * Rows as a store wrote them before the compact schema (SQLite 10, Postgres 4): deliveries
 * naming their message by Message-ID, digest records one row per entry. The same SQL runs
 * on both backends; `expectMigrated` checks what the migration made of them, through the port.
 */
export const PRE_COMPACT_ROWS = [
  `INSERT INTO subscribers (id, email, status, frequency, created_at) VALUES (1, 'ada@example.org', 'active', 'daily', '2026-11-01T07:00:00.000Z')`,
  `INSERT INTO papers (id, key, title_key, title, abstract, first_seen, last_seen, updated_at) VALUES
    (1, 'p1', 'p1', 'Paper 1', 'A1', 't', 't', 't'), (2, 'p2', 'p2', 'Paper 2', 'A2', 't', 't', 't'), (3, 'p3', 'p3', 'Paper 3', 'A3', 't', 't', 't')`,
  `INSERT INTO outbox (id, subscriber_id, kind, message_id, recipient, subject, unsubscribe_url, status, next_attempt_at, created_at, sent_at) VALUES
    (7, 1, 'digest', '<m7@old>', 'ada@example.org', 'Digest', 'https://paperboy.test/u', 'sent', 't', '2026-11-02T07:00:00.000Z', '2026-11-02T07:01:00.000Z')`,
  `INSERT INTO deliveries (subscriber_id, paper_id, message_id, delivered_at) VALUES (1, 1, '<m7@old>', '2026-11-02T07:01:00.000Z'), (1, 3, '<m7@old>', '2026-11-02T07:01:00.000Z')`,
  `INSERT INTO digests (id, key, subscriber_id, outbox_id, created_at) VALUES
    (4, 'old-key', 1, 7, '2026-11-02T07:00:00.000Z'), (5, 'empty-key', 1, NULL, '2026-11-03T07:00:00.000Z'), (6, 'later-key', 1, NULL, '2026-11-04T07:00:00.000Z')`,
  `INSERT INTO digest_papers (digest_id, ordinal, paper_id, topic_id, fitted, carried, score) VALUES
    (4, 0, 3, 'reasoning', 1, 0, 9.5), (4, 1, 1, 'code', 1, 1, 0.30000000000000004), (4, 2, 2, 'reasoning', 0, 0, 2.25),
    (6, 0, 3, 'reasoning', 1, 0, 1)`,
];

export async function expectMigrated(store: Store): Promise<void> {
  expect(await store.deliveredPaperIds(1)).toEqual([1, 3]);
  const old = await store.digestByKey('old-key');
  expect(old!.papers.map(({ paperId, topicId, fitted, carried, score }) => ({ paperId, topicId, fitted, carried, score }))).toEqual([
    { paperId: 3, topicId: 'reasoning', fitted: true, carried: false, score: 9.5 },
    { paperId: 1, topicId: 'code', fitted: true, carried: true, score: 0.1 + 0.2 },
    { paperId: 2, topicId: 'reasoning', fitted: false, carried: false, score: 2.25 },
  ]);
  expect(old!.papers[0]).toMatchObject({ key: 'p3', title: 'Paper 3', abstract: 'A3' });
  expect((await store.digestByKey('empty-key'))!.papers).toEqual([]);
  expect(await store.archiveTopics()).toEqual([
    { topicId: 'code', papers: 1, latest: '2026-11-02T07:00:00.000Z' },
    { topicId: 'reasoning', papers: 1, latest: '2026-11-04T07:00:00.000Z' },
  ]);
  expect((await store.archivedPapers('reasoning', 10)).map((row) => [row.paperId, row.digestedOn])).toEqual([[3, '2026-11-02T07:00:00.000Z']]);
}

/**
 * Rows as a store wrote them while a queued digest's papers were reservations of their own
 * (SQLite 11, Postgres 6): ada has had paper 1 delivered by message 7, message 8 (queued)
 * reserves papers 2 and 3, and message 9 failed with paper 4 still listed against it.
 */
export const RESERVATION_ROWS = [
  `INSERT INTO subscribers (id, email, status, frequency, created_at) VALUES (1, 'ada@example.org', 'active', 'daily', '2026-11-01T07:00:00.000Z')`,
  `INSERT INTO papers (id, key, title_key, title, abstract, first_seen, last_seen, updated_at) VALUES
    (1, 'p1', 'p1', 'Paper 1', 'A1', 't', 't', 't'), (2, 'p2', 'p2', 'Paper 2', 'A2', 't', 't', 't'),
    (3, 'p3', 'p3', 'Paper 3', 'A3', 't', 't', 't'), (4, 'p4', 'p4', 'Paper 4', 'A4', 't', 't', 't')`,
  `INSERT INTO outbox (id, subscriber_id, kind, message_id, recipient, subject, unsubscribe_url, status, next_attempt_at, created_at, sent_at) VALUES
    (7, 1, 'digest', '<m7@old>', 'ada@example.org', 'Digest', 'https://paperboy.test/u', 'sent', 't', '2026-11-02T07:00:00.000Z', '2026-11-02T07:01:00.000Z'),
    (8, 1, 'digest', '<m8@old>', 'ada@example.org', 'Digest', 'https://paperboy.test/u', 'queued', 't', '2026-11-03T07:00:00.000Z', NULL),
    (9, 1, 'digest', '<m9@old>', 'ada@example.org', 'Digest', 'https://paperboy.test/u', 'failed', 't', '2026-11-01T07:00:00.000Z', NULL)`,
  `INSERT INTO deliveries (subscriber_id, paper_id, outbox_id) VALUES (1, 1, 7)`,
  `INSERT INTO outbox_papers (subscriber_id, paper_id, outbox_id) VALUES (1, 2, 8), (1, 3, 8), (1, 4, 9)`,
];

/** The deliveries the merge made of RESERVATION_ROWS, as [paper, outbox] pairs. */
export const MERGED_DELIVERIES = [[1, 7], [2, 8], [3, 8]];

/** What the merge of RESERVATION_ROWS means through the port: held, delivered, and given back when the queued digest fails. */
export async function expectReservationsMerged(store: Store): Promise<void> {
  expect(await store.deliveredPaperIds(1)).toEqual([1]);
  expect(await store.heldPaperIds([1], '')).toEqual(new Map([[1, new Set([1, 2, 3])]]));
  // Unsubscribing fails the queued digest: its papers are no longer held.
  expect(await store.unsubscribe(1, '2026-11-03T08:00:00.000Z')).toBe(true);
  expect(await store.heldPaperIds([1], '')).toEqual(new Map([[1, new Set([1])]]));
  expect(await store.deliveredPaperIds(1)).toEqual([1]);
}
