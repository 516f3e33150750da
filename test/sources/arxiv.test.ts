import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, type Clock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { fetchSources, type SourceFetchReport } from '../../src/pipeline/fetch.ts';
import { arxivApiSource, type ArxivApiOptions } from '../../src/sources/arxiv-api.ts';
import { arxivRssSource } from '../../src/sources/arxiv-rss.ts';
import { readCursor, writeCursor, type FetchingSource, type FetchingSourceDeps } from '../../src/sources/fetching.ts';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http.ts';
import type { Store } from '../../src/store/port.ts';
import { startListingServer, type ListingServer } from '../helpers/listing-server.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { tempSqliteStore } from '../helpers/store.ts';

let server: ListingServer;
let store: Store;
const base = fixedClock('2026-04-13T10:00:00Z');
/** The fixed clock, with every wait it is asked for written down. */
let sleeps: number[];
const clock: Clock = { ...base, sleep: async (ms) => void (sleeps.push(ms), await base.sleep(ms)) };
const logger = createLogger('silent');

beforeEach(async () => {
  server = await startListingServer();
  store = tempSqliteStore().store;
  base.set('2026-04-13T10:00:00Z');
  sleeps = [];
});
afterEach(async () => {
  await store.close();
  await server.close();
});

function deps(overrides: Partial<FetchingSourceDeps> = {}): FetchingSourceDeps {
  return {
    state: store,
    timeZone: 'UTC',
    backfillDays: 7,
    random: () => 0,
    http: { ...DEFAULT_HTTP_SETTINGS, userAgent: 'Paperboy/0.1.0 (+mailto:digest@example.org)', retries: 2, retryBaseMs: 100 },
    ...overrides,
  };
}

const options = (overrides: Partial<ArxivApiOptions> = {}): ArxivApiOptions => ({ baseUrl: server.url, query: 'all:testing', pageSize: 10, maxPages: 5, ...overrides });

async function fetchOne(source: FetchingSource): Promise<SourceFetchReport> {
  return (await fetchSources([source], { store, clock, logger, maxListingBytes: 20 * 1024 ** 2 })).sources[0]!;
}

describe('arXiv API source against a local server replaying three real pages', () => {
  it('pages newest first until the feed runs out, one request every 3 s (on the clock), and moves the cursor to the newest submission', async () => {
    await writeCursor(store, 'arxiv', '2000-01-01');
    const report = await fetchOne(arxivApiSource(options(), deps()));
    expect(report).toEqual({ source: 'arxiv', requests: 4, not_modified: 0, listings: 3, papers: 30, new: 30, updated: 0, status: 'ok', error: null });
    expect(server.requests.map((request) => request.query.get('start'))).toEqual(['0', '10', '20', '30']);
    expect(sleeps).toEqual([3_000, 3_000, 3_000]);
    const first = server.requests[0]!.query;
    expect(Object.fromEntries(first)).toEqual({ search_query: 'all:testing', sortBy: 'submittedDate', sortOrder: 'descending', start: '0', max_results: '10' });
    expect(await readCursor(store, 'arxiv')).toBe('2026-02-17');
  });

  it('stops at the configured page count', async () => {
    await writeCursor(store, 'arxiv', '2000-01-01');
    const report = await fetchOne(arxivApiSource(options({ maxPages: 2 }), deps()));
    expect(report).toMatchObject({ requests: 2, listings: 2, papers: 20 });
    expect(sleeps).toEqual([3_000]);
  });

  it('stops at the first page that reaches papers older than the cursor', async () => {
    await writeCursor(store, 'arxiv', '2025-01-01');
    const report = await fetchOne(arxivApiSource(options(), deps()));
    expect(report).toMatchObject({ requests: 1, listings: 1, papers: 10 });
    expect(await readCursor(store, 'arxiv')).toBe('2025-03-07');
  });

  it('an arXiv error feed is an error with arXiv message: no paper, no listing, the cursor stays', async () => {
    await writeCursor(store, 'arxiv', '2000-01-01');
    server.fail('/api/query', { status: 200, headers: { 'content-type': 'application/atom+xml' }, body: readFileSync(join(REPO_ROOT, 'test/fixtures/arxiv-api/error.atom.xml'), 'utf8') });
    const report = await fetchOne(arxivApiSource(options(), deps()));
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/query\?search_query=all%3Atesting&.+: an arXiv API error feed: incorrect id format for 1234\.12345$/);
    expect(report).toMatchObject({ requests: 1, listings: 0, papers: 0 });
    expect((await store.countPapers()).papers).toBe(0);
    expect(await store.recentListings(5)).toEqual([]);
    expect(await readCursor(store, 'arxiv')).toBe('2000-01-01');
  });

  it('keeps the 3 s pace on retries too, and a page that fails for good leaves the cursor', async () => {
    await writeCursor(store, 'arxiv', '2000-01-01');
    server.fail('/api/query?search_query=all%3Atesting&sortBy=submittedDate&sortOrder=descending&start=10&max_results=10', { status: 503 }, { status: 503 }, { status: 503 });
    const report = await fetchOne(arxivApiSource(options(), deps()));
    expect(report).toMatchObject({ status: 'failed', requests: 4, listings: 1 });
    expect(report.error).toMatch(/start=10&max_results=10: HTTP 503 Service Unavailable \(gave up after 3 attempts\)$/);
    expect(sleeps).toEqual([3_000, 3_000, 3_000]);
    expect(await readCursor(store, 'arxiv')).toBe('2000-01-01');
  });
});

describe('arXiv RSS source', () => {
  it('fetches each category feed and ingests its new and cross-listed papers', async () => {
    const report = await fetchOne(arxivRssSource(`${server.url}/rss/`, ['cs.LG'], deps()));
    expect(report).toEqual({ source: 'arxiv-rss', requests: 1, not_modified: 0, listings: 1, papers: 2, new: 2, updated: 0, status: 'ok', error: null });
    expect(server.requests[0]!.path).toBe('/rss/cs.LG');
    expect(await readCursor(store, 'arxiv-rss')).toBe('2026-07-21');
    const again = await fetchOne(arxivRssSource(`${server.url}/rss/`, ['cs.LG'], deps()));
    expect(again).toMatchObject({ requests: 1, not_modified: 1, new: 0 });
  });

  it('a category with no feed fails with the URL and the status', async () => {
    const report = await fetchOne(arxivRssSource(`${server.url}/rss/`, ['cs.LG', 'cs.XX'], deps()));
    expect(report).toMatchObject({ status: 'failed', listings: 1, error: `${server.url}/rss/cs.XX: HTTP 404 Not Found` });
    expect(sleeps).toEqual([3_000]);
  });
});
