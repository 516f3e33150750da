import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { PaperboyError } from '../../errors.ts';
import type { StoreTable } from '../tables.ts';
import { openBodySpool } from './spool.ts';
import { openSqliteStore, spooledBodyOf } from './store.ts';

/**
 * A read-only view of a SQLite store's tables, for `paperboy db copy`. The store is brought
 * to this Paperboy's schema first (as any command opening it would), so its tables are the
 * ones the copy lists.
 */
export async function openSqliteExport(path: string) {
  if (!existsSync(path)) throw new PaperboyError('USAGE', `${path}: no such SQLite database`);
  await openSqliteStore(path).close();
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const spool = openBodySpool(path);
  /** A body as every store holds it: its bytes, wherever this one keeps them. */
  const withBytes = (row: Record<string, unknown>): Record<string, unknown> => {
    const { spool_file: _file, spool_offset: _offset, spooled_bytes: _bytes, ...body } = row;
    if (body.raw !== null) return body;
    const [raw] = spool.readMany([spooledBodyOf(row)]);
    if (typeof raw === 'string') throw new PaperboyError('USAGE', `${raw}; deliver or fail that message first`);
    return { ...body, raw };
  };
  return {
    count: (table: StoreTable) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    /** The rows of a table in batches, in rowid order (the order they were written). */
    *batches(table: StoreTable, size: number): Generator<Record<string, unknown>[]> {
      let batch: Record<string, unknown>[] = [];
      for (const row of db.prepare(`SELECT * FROM ${table}`).iterate() as Iterable<Record<string, unknown>>) {
        batch.push(table === 'outbox_bodies' ? withBytes(row) : row);
        if (batch.length === size) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
    close: () => db.close(),
  };
}
