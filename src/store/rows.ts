import type { ListingRow } from '../model/listing.ts';
import type { OutboxState } from '../model/outbox.ts';
import type { PaperFields, PaperToClassify, StoredPaper } from '../model/paper.ts';
import type { RunRow } from '../model/run.ts';
import type { Subscriber } from '../model/subscriber.ts';

/** Row mapping shared by the SQLite and PostgreSQL adapters (both keep JSON columns as text). */
export type Row = Record<string, unknown>;

export function paperParams(fields: PaperFields, now: string) {
  return {
    ...fields,
    authors: JSON.stringify(fields.authors),
    keywords: JSON.stringify(fields.keywords),
    categories: JSON.stringify(fields.categories),
    links: JSON.stringify(fields.links),
    now,
  };
}



/** `first_seen` → `firstSeen`: rows become the camelCase objects the rest of the code reads. */
export function camelCase(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()), value]));
}

export function toPaper(row: Row): StoredPaper {
  const { sources: _sources, topics: _topics, ...columns } = camelCase(row);
  return {
    ...(columns as unknown as StoredPaper),
    authors: JSON.parse(row.authors as string) as string[],
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
    links: JSON.parse(row.links as string) as PaperFields['links'],
  };
}

/** A paper as a digest's web view or the archive reads it (JSON columns decoded). */
export function toDigestPaper(row: Row): Row {
  return { ...camelCase(row), authors: JSON.parse(row.authors as string) as string[], links: JSON.parse(row.links as string) as PaperFields['links'] };
}

export function toSubscriber(row: Row): Subscriber {
  return { ...(camelCase(row) as unknown as Subscriber), topics: row.topics === null ? null : (JSON.parse(row.topics as string) as string[]) };
}

export const toOutbox = (row: Row) => camelCase(row) as unknown as OutboxState;
export const toRun = (row: Row) => camelCase(row) as unknown as RunRow;
export const toListing = (row: Row) => {
  const { warnings: _warnings, ...columns } = camelCase(row);
  return columns as unknown as ListingRow;
};

/** A paper as the classifier reads it: its text and the lists stored as JSON. */
export function toPaperToClassify(row: Row): PaperToClassify {
  return {
    id: row.id as number,
    title: row.title as string,
    abstract: row.abstract as string,
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
  };
}

/** How many of `wanted` hits a counter grants when `used` are taken of `limit` (null: no limit, and a negative `wanted` gives hits back). */
export function hitsGranted(wanted: number, limit: number | null, used: number): number {
  if (limit === null) return wanted;
  return Math.max(0, Math.min(wanted, limit - used));
}
