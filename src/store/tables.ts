/**
 * Every table of the store, parents before children: the order `paperboy db copy` moves them
 * in (and checks their counts). A migration that adds a table adds it here.
 */
export const STORE_TABLES = [
  'listings',
  'papers',
  'paper_listings',
  'paper_topics',
  'subscribers',
  'deliveries',
  'runs',
  'outbox',
  'outbox_bodies',
  'leases',
  'state',
  'suppressions',
  'digests',
  'topic_archive',
  'admin_sessions',
  'counters',
] as const;
export type StoreTable = (typeof STORE_TABLES)[number];

/** Tables whose `id` is generated: their sequence continues after the copied rows. */
export const TABLES_WITH_IDS: readonly StoreTable[] = ['listings', 'papers', 'subscribers', 'runs', 'outbox', 'digests'];
