import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { TEST_DATABASE_URL } from './store-adapters.ts';

/** A fresh, empty PostgreSQL database on the test server; its URL (for apps and CLI processes alike). */
export async function freshPostgresDatabase(): Promise<string> {
  if (!TEST_DATABASE_URL) throw new Error('PAPERBOY_TEST_DATABASE_URL is not set (run the tests through scripts/test-postgres.sh)');
  const name = `paperboy_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The databases an end-to-end test runs against, each as the env vars that select a fresh one:
 * SQLite in the test's folder, and (when a test server is set) a new PostgreSQL database.
 */
export const DATABASES: { name: string; env: (dir: string) => Promise<Record<string, string>> }[] = [
  { name: 'sqlite', env: async (dir) => ({ PAPERBOY_DB: join(dir, 'paperboy.db') }) },
  ...(TEST_DATABASE_URL ? [{ name: 'postgres', env: async (dir: string) => ({ PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_DATABASE_URL: await freshPostgresDatabase() }) }] : []),
];
