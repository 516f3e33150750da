import { randomBytes } from 'node:crypto';
import type { Store } from '../../src/store/port.ts';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { tempSqliteStore } from './store.ts';

/**
 * The PostgreSQL server the tests may use (scripts/test-postgres.sh starts a throwaway one
 * and sets it); without it the Postgres entries are skipped with a message.
 */
export const TEST_DATABASE_URL = process.env.PAPERBOY_TEST_DATABASE_URL ?? null;

/** A fresh, empty Postgres store in a schema of its own on the test server. */
export async function tempPostgresStore(options: { pool?: number } = {}): Promise<Store & { schema: string }> {
  if (!TEST_DATABASE_URL) throw new Error('PAPERBOY_TEST_DATABASE_URL is not set (run the tests through scripts/test-postgres.sh)');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const { default: postgres } = await import('postgres');
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const store = await openPostgresStore({ url: TEST_DATABASE_URL, schema, pool: options.pool ?? 4 });
  return Object.assign(store, { schema });
}

if (!TEST_DATABASE_URL) {
  console.warn('store adapters: PAPERBOY_TEST_DATABASE_URL is unset; PostgreSQL adapter tests are skipped (run them with scripts/test-postgres.sh)');
}

/** Every store adapter, each opening a fresh, empty store: what the contract suite runs against. */
export const STORE_ADAPTERS: { name: string; open: () => Promise<Store> }[] = [
  { name: 'sqlite', open: async () => tempSqliteStore().store },
  ...(TEST_DATABASE_URL ? [{ name: 'postgres', open: () => tempPostgresStore() }] : []),
];
