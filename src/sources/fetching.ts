import { oneLine } from '../errors.ts';
import { parseListing } from '../ingest/parse.ts';
import type { ParsedListing } from '../model/listing.ts';
import type { StateRepository } from '../store/port.ts';
import type { Clock } from '../clock.ts';
import { HttpError, type HttpClient, type HttpSettings } from './http.ts';
import type { SourceName } from './names.ts';
import type { FetchedListing, ListingSource, UnreadableListing } from './port.ts';

/**
 * What the sources that fetch over the network (Hugging Face, arXiv) share: their settings,
 * what they tell about one poll, and the facts they keep in the store between runs (the
 * cursor, the last success, the last error) under `source:<name>:…` state keys.
 */


export interface FetchingSourceDeps {
  state: Pick<StateRepository, 'getState' | 'setState'>;
  http: HttpSettings;
  timeZone: string;
  /** The first run (no cursor yet) reaches this many days back, today included. */
  backfillDays: number;
  /** `--since/--until`: fetch this range of days whatever the cursor says. */
  range?: DayRange;
  /** Plan the requests, send none. */
  dryRun?: boolean;
  random?: () => number;
}

export interface DayRange {
  since: string;
  until?: string;
}

/** What one poll of a fetching source did, beside the listings it yielded. */
export interface SourcePollStats {
  requests: number;
  notModified: number;
  /** The first failure of this poll, one line naming the URL; null when none failed. */
  error: string | null;
  /** Dry run: the URLs a real poll would ask for first. */
  planned: string[];
}

export interface FetchingSource extends ListingSource {
  readonly name: SourceName;
  /** The last poll's numbers (zeros before the first poll). */
  stats(): SourcePollStats;
}

export function emptyStats(): SourcePollStats {
  return { requests: 0, notModified: 0, error: null, planned: [] };
}

const stateKey = (name: string, fact: 'cursor' | 'last-success' | 'last-error') => `source:${name}:${fact}`;

export interface SourceStatus {
  source: string;
  /** The last day (HF) or newest submission day (arXiv) fetched completely. */
  cursor: string | null;
  last_success: string | null;
  last_error: { at: string; error: string } | null;
}

export async function readCursor(state: FetchingSourceDeps['state'], name: string): Promise<string | null> {
  return (await state.getState(stateKey(name, 'cursor'))) ?? null;
}

export async function writeCursor(state: FetchingSourceDeps['state'], name: string, cursor: string): Promise<void> {
  await state.setState(stateKey(name, 'cursor'), cursor);
}

/** After a poll: a clean one is the last success; a failed one is the last error. */
export async function recordPollOutcome(state: FetchingSourceDeps['state'], name: string, at: Date, error: string | null): Promise<void> {
  if (error === null) await state.setState(stateKey(name, 'last-success'), at.toISOString());
  else await state.setState(stateKey(name, 'last-error'), JSON.stringify({ at: at.toISOString(), error }));
}

export async function sourceStatus(state: FetchingSourceDeps['state'], name: string): Promise<SourceStatus> {
  const lastError = await state.getState(stateKey(name, 'last-error'));
  let parsedError: SourceStatus['last_error'] = null;
  if (lastError) {
    try {
      parsedError = JSON.parse(lastError) as SourceStatus['last_error'];
    } catch {
      parsedError = { at: '', error: lastError };
    }
  }
  return {
    source: name,
    cursor: await readCursor(state, name),
    last_success: (await state.getState(stateKey(name, 'last-success'))) ?? null,
    last_error: parsedError,
  };
}

/**
 * Reads a fetched body the way ingest will, before ingest sees it: wrong content (an HTML
 * page, JSON of another shape, a cut-off body, an arXiv error feed) becomes a one-line reason
 * and nothing is written for it.
 */
export function readFetchedBody(bytes: Uint8Array, contentType: string, now: Date): { parsed: ParsedListing } | { problem: string } {
  if (/^text\/html\b/i.test(contentType.trim())) return { problem: `an HTML page (Content-Type ${contentType}), not a listing` };
  try {
    return { parsed: parseListing(bytes, { now }) };
  } catch (error) {
    return { problem: oneLine(error) };
  }
}

/** The calendar day (`YYYY-MM-DD`) of an instant in a time zone. */
export function dayIn(timeZone: string, instant: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const part = (type: string) => parts.find((candidate) => candidate.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** Every day from `first` to `last`, both included; none when `first` is after `last`. */
export function daysFrom(first: string, last: string): string[] {
  const days: string[] = [];
  for (let day = first; day <= last; day = addDays(day, 1)) days.push(day);
  return days;
}

/** What one request brought a source, ready to yield or to count. */
export type FetchOutcome =
  | { kind: 'not-modified' }
  /** The request or its content failed: `listing` is yielded so ingest reports it; `error` names the URL. */
  | { kind: 'failed'; listing: UnreadableListing; error: string }
  /** A valid answer with no papers (`[]` on a weekend, an empty feed page): nothing to store. */
  | { kind: 'empty'; remember(): Promise<void> }
  | { kind: 'listing'; listing: FetchedListing; parsed: ParsedListing; remember(): Promise<void> };

/**
 * One GET as every fetching source makes it: a failure or wrong content becomes one line
 * (the first of the poll is kept in `stats.error`), and the request counts are copied to `stats`.
 */
export async function fetchListing(client: HttpClient, url: string, clock: Clock, stats: SourcePollStats): Promise<FetchOutcome> {
  const fetchedAt = clock.now();
  const failed = (problem: string, error: string): FetchOutcome => {
    stats.error ??= error;
    return { kind: 'failed', listing: { origin: url, fetchedAt, problem }, error };
  };
  let result;
  try {
    result = await client.get(url);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return failed(error.reason, error.message);
  } finally {
    Object.assign(stats, { requests: client.counts.requests, notModified: client.counts.notModified });
  }
  if (result.kind === 'not-modified') return { kind: 'not-modified' };
  // A weekend or holiday on Hugging Face answers `[]`: valid, complete, and nothing in it.
  if (result.bytes.byteLength <= 64 && new TextDecoder().decode(result.bytes).trim() === '[]') return { kind: 'empty', remember: result.remember };
  const read = readFetchedBody(result.bytes, result.contentType, clock.now());
  if ('problem' in read) return failed(read.problem, `${url}: ${read.problem}`);
  if (read.parsed.papers.length === 0) return { kind: 'empty', remember: result.remember };
  return { kind: 'listing', listing: { origin: url, fetchedAt, bytes: result.bytes }, parsed: read.parsed, remember: result.remember };
}
