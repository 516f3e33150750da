import postgres from 'postgres';
import { PaperboyError } from '../../errors.ts';
import { STORE_TABLES, TABLES_WITH_IDS, type StoreTable } from '../tables.ts';
import { describeDatabaseUrl, messageText, openPostgresStore, type PostgresOptions } from './store.ts';

export interface TableSource {
  count(table: StoreTable): number;
  batches(table: StoreTable, size: number): Iterable<Record<string, unknown>[]>;
}

/**
 * Copies every table of `source` into an empty, migrated Postgres store in one transaction
 * (all or nothing), moves the id sequences past the copied rows, and answers each table's
 * count on both sides. Refuses a target that holds anything.
 */
export async function importIntoPostgres(source: TableSource, options: PostgresOptions): Promise<{ table: StoreTable; source: number; target: number }[]> {
  await (await openPostgresStore(options)).close();
  const where = describeDatabaseUrl(options.url);
  const sql = postgres(options.url, { max: 1, onnotice: () => {}, connection: options.schema ? { search_path: options.schema } : {} });
  try {
    return (await sql.begin(async (tx) => {
      for (const table of STORE_TABLES) {
        const [row] = await tx`SELECT count(*)::int AS n FROM ${tx(table)}`;
        if ((row!.n as number) > 0) throw new PaperboyError('USAGE', `${where}: table ${table} already holds ${row!.n} rows; db copy needs an empty target`);
      }
      const counts: { table: StoreTable; source: number; target: number }[] = [];
      for (const table of STORE_TABLES) {
        for (const batch of source.batches(table, 500)) await tx`INSERT INTO ${tx(table)} ${tx(table === 'outbox_bodies' ? batch.map(bodyAsText) : batch)}`;
        if (TABLES_WITH_IDS.includes(table)) {
          await tx`SELECT setval(pg_get_serial_sequence(${table}, 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM ${tx(table)}`;
        }
        const [row] = await tx`SELECT count(*)::int AS n FROM ${tx(table)}`;
        counts.push({ table, source: source.count(table), target: row!.n as number });
      }
      const wrong = counts.filter((entry) => entry.source !== entry.target);
      if (wrong.length > 0) {
        throw new PaperboyError('USAGE', `${where}: counts differ after the copy (${wrong.map((w) => `${w.table}: ${w.source} → ${w.target}`).join(', ')}); nothing was written`);
      }
      return counts;
    })) as { table: StoreTable; source: number; target: number }[];
  } finally {
    await sql.end();
  }
}

/** SQLite keeps a body's bytes as a blob; Postgres keeps them as text (migration 6). */
function bodyAsText(row: Record<string, unknown>): Record<string, unknown> {
  return { ...row, raw: Buffer.isBuffer(row.raw) ? messageText({ raw: row.raw, messageId: `of outbox row ${String(row.outbox_id)}` }) : row.raw };
}
