import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { isPaperboyError, oneLine } from '../errors.ts';
import type { Subscriber, SubscriberInput } from '../model/subscriber.ts';
import { WEEKDAYS, subscriberInput } from './subscriber.ts';

/**
 * Subscriber CSV: a header row naming the columns (any order), `email` required;
 * `name`, `topics` (`all` or ids separated by `;`, `|` or spaces, or by commas inside a
 * quoted cell), `frequency` (daily, weekly) and `weekday` (mon … sun) optional.
 */
export const CSV_COLUMNS = ['email', 'name', 'topics', 'frequency', 'weekday'] as const;
/** Written by export for the record, ignored by import, so an export imports as it is. */
const EXPORT_ONLY_COLUMNS = ['status', 'created_at', 'confirmed_at'] as const;
const KNOWN_COLUMNS: readonly string[] = [...CSV_COLUMNS, ...EXPORT_ONLY_COLUMNS];

export interface CsvRowError {
  /** 1-based line in the file. */
  line: number;
  message: string;
}

export interface ParsedCsv {
  rows: SubscriberInput[];
  errors: CsvRowError[];
}

/** Pure: validates every row; the caller writes nothing unless `errors` is empty. */
export function parseSubscriberCsv(text: string, knownTopics: readonly string[]): ParsedCsv {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), {
      columns: (header: string[]) => header.map((column) => column.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      info: true,
      relax_column_count: false,
    });
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    return { rows: [], errors: [{ line: line ?? 1, message: oneLine(error).replace(/^Invalid Record Length: /, '') }] };
  }
  const first = records[0]?.record;
  if (first && !('email' in first)) return { rows: [], errors: [{ line: 1, message: 'the header row has no "email" column' }] };
  const unknownColumns = first ? Object.keys(first).filter((column) => !KNOWN_COLUMNS.includes(column)) : [];
  if (unknownColumns.length > 0) {
    return { rows: [], errors: [{ line: 1, message: `unknown column ${unknownColumns.map((c) => `"${c}"`).join(', ')} (columns: ${CSV_COLUMNS.join(', ')})` }] };
  }

  const rows: SubscriberInput[] = [];
  const errors: CsvRowError[] = [];
  const seen = new Map<string, number>();
  for (const { record, info } of records) {
    try {
      const input = subscriberInput({ email: '', ...record }, knownTopics);
      const earlier = seen.get(input.email);
      if (earlier !== undefined) throw new Error(`email: ${input.email} is already on line ${earlier}`);
      seen.set(input.email, info.lines);
      rows.push(input);
    } catch (error) {
      errors.push({ line: info.lines, message: isPaperboyError(error) ? error.message : oneLine(error) });
    }
  }
  return { rows, errors };
}

export function subscribersToCsv(subscribers: readonly Subscriber[]): string {
  return stringify(
    subscribers.map((subscriber) => ({
      email: subscriber.email,
      name: subscriber.name ?? '',
      topics: subscriber.topics ? subscriber.topics.join(';') : 'all',
      frequency: subscriber.frequency,
      weekday: subscriber.weekday === null ? '' : WEEKDAYS[subscriber.weekday],
      status: subscriber.status,
      created_at: subscriber.createdAt,
      confirmed_at: subscriber.confirmedAt ?? '',
    })),
    { header: true, columns: [...KNOWN_COLUMNS] },
  );
}
