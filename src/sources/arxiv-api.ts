import type { Clock } from '../clock.ts';
import { createHttpClient, type HttpClient, type HttpSettings } from './http.ts';
import {
  addDays,
  dayIn,
  emptyStats,
  fetchListing,
  readCursor,
  recordPollOutcome,
  writeCursor,
  type FetchingSource,
  type FetchingSourceDeps,
  type SourcePollStats,
} from './fetching.ts';
import type { ListingOutcomeStatus, PollContext, PolledListing } from './port.ts';

export const DEFAULT_ARXIV_URL = 'https://export.arxiv.org';
/** arXiv's terms of use: no more than one request every three seconds, on one connection. */
export const ARXIV_REQUEST_INTERVAL_MS = 3_000;

export interface ArxivApiOptions {
  baseUrl: string;
  /** `search_query`, e.g. `cat:cs.LG OR cat:cs.CL`. */
  query: string;
  pageSize: number;
  maxPages: number;
}

export function arxivQueryUrl(options: Pick<ArxivApiOptions, 'baseUrl' | 'query'>, start: number, pageSize: number): string {
  const params = new URLSearchParams({ search_query: options.query, sortBy: 'submittedDate', sortOrder: 'descending', start: String(start), max_results: String(pageSize) });
  return `${options.baseUrl.replace(/\/+$/, '')}/api/query?${params}`;
}

/**
 * A client that keeps arXiv's pace: every request, retries included, starts at least
 * three seconds after the one before ended (waited on the injected clock). Requests go one at a
 * time, so they share one keep-alive connection.
 */
export function pacedClient(settings: HttpSettings, deps: { clock: Clock; maxBytes: number; state: FetchingSourceDeps['state']; random?: () => number }): HttpClient {
  let lastEnded: number | null = null;
  const pacedClock: Clock = { ...deps.clock, sleep: (ms) => deps.clock.sleep(Math.max(ms, ARXIV_REQUEST_INTERVAL_MS)) };
  const client = createHttpClient({ ...deps, clock: pacedClock, settings });
  return {
    counts: client.counts,
    get: async (url) => {
      if (lastEnded !== null) {
        const since = deps.clock.now().getTime() - lastEnded;
        if (since < ARXIV_REQUEST_INTERVAL_MS) await deps.clock.sleep(ARXIV_REQUEST_INTERVAL_MS - since);
      }
      try {
        return await client.get(url);
      } finally {
        lastEnded = deps.clock.now().getTime();
      }
    },
  };
}

/**
 * The arXiv API, newest submissions first, page after page until a page reaches papers
 * older than the cursor (the newest submission day fetched completely), at most
 * `maxPages` pages. A failed page stops the poll and leaves the cursor where it was.
 */
export function arxivApiSource(options: ArxivApiOptions, deps: FetchingSourceDeps): FetchingSource {
  const name = 'arxiv';
  let stats: SourcePollStats = emptyStats();
  let acked: ListingOutcomeStatus | null = null;
  let pendingRemember: (() => Promise<void>) | null = null;

  async function* poll(context: PollContext): AsyncIterable<PolledListing> {
    stats = emptyStats();
    const client = pacedClient(deps.http, { clock: context.clock, maxBytes: context.maxListingBytes, state: deps.state, random: deps.random });
    const today = dayIn(deps.timeZone, context.clock.now());
    const cursor = await readCursor(deps.state, name);
    const oldestWanted = deps.range?.since ?? cursor ?? addDays(today, -(Math.max(deps.backfillDays, 1) - 1));
    const query = deps.range ? `(${options.query}) AND submittedDate:[${compact(deps.range.since)}0000 TO ${compact(deps.range.until ?? today)}2359]` : options.query;
    let newest: string | null = null;
    let failed = false;

    for (let page = 0; page < options.maxPages; page++) {
      const url = arxivQueryUrl({ baseUrl: options.baseUrl, query }, page * options.pageSize, options.pageSize);
      if (deps.dryRun) {
        stats.planned.push(url);
        break;
      }
      const outcome = await fetchListing(client, url, context.clock, stats);
      if (outcome.kind === 'failed') {
        failed = true;
        yield outcome.listing;
        break;
      }
      // Unchanged since the last poll (nothing newer was submitted), or past the last result.
      if (outcome.kind !== 'listing') break;
      const { papers } = outcome.parsed;
      const days = papers.flatMap((paper) => (paper.publishedOn ? [paper.publishedOn] : [])).sort();
      acked = null;
      pendingRemember = outcome.remember;
      yield outcome.listing;
      if (acked === 'failed') {
        failed = true;
        stats.error ??= `${url}: could not be ingested`;
        break;
      }
      if (days.length > 0 && (newest === null || days.at(-1)! > newest)) newest = days.at(-1)!;
      if ((days[0] !== undefined && days[0] < oldestWanted) || papers.length < options.pageSize) break;
    }

    if (deps.dryRun) return;
    if (!failed && newest && !deps.range && (!cursor || newest > cursor)) await writeCursor(deps.state, name, newest);
    await recordPollOutcome(deps.state, name, context.clock.now(), stats.error);
  }

  const ack = async (_listing: PolledListing, status: ListingOutcomeStatus) => {
    acked = status;
    if (status !== 'failed') await pendingRemember?.();
    pendingRemember = null;
  };

  return { name, poll, ack, stats: () => stats };
}

const compact = (day: string) => day.replaceAll('-', '');
