import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { fetchSources, type SourceFetchReport } from '../../src/pipeline/fetch.ts';
import { readCursor, sourceStatus, type FetchingSourceDeps } from '../../src/sources/fetching.ts';
import { hfDailySource } from '../../src/sources/hf-daily.ts';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http.ts';
import type { Store } from '../../src/store/port.ts';
import { startListingServer, type ListingServer } from '../helpers/listing-server.ts';
import { tempSqliteStore } from '../helpers/store.ts';

const USER_AGENT = 'Paperboy/0.1.0 (+mailto:digest@example.org)';
/** Papers per day in test/fixtures/hf-daily-papers/ (07-18 and 07-19, a weekend, have none). */
const PAPERS_PER_DAY: Record<string, number> = {
  '2026-07-13': 13, '2026-07-14': 12, '2026-07-15': 2, '2026-07-16': 16, '2026-07-17': 20,
  '2026-07-20': 18, '2026-07-21': 25, '2026-07-22': 21, '2026-07-23': 15, '2026-07-24': 16,
};
const ALL_DAYS = ['2026-07-13', '2026-07-14', '2026-07-15', '2026-07-16', '2026-07-17', '2026-07-18', '2026-07-19', '2026-07-20', '2026-07-21', '2026-07-22', '2026-07-23', '2026-07-24'];

let server: ListingServer;
let store: Store;
const clock = fixedClock('2026-07-24T10:00:00Z');
const logger = createLogger('silent');

beforeEach(async () => {
  server = await startListingServer();
  store = tempSqliteStore().store;
  clock.set('2026-07-24T10:00:00Z');
});
afterEach(async () => {
  await store.close();
  await server.close();
});

function deps(overrides: Partial<FetchingSourceDeps> = {}): FetchingSourceDeps {
  return {
    state: store,
    timeZone: 'UTC',
    backfillDays: 12,
    random: () => 0.5,
    http: { ...DEFAULT_HTTP_SETTINGS, userAgent: USER_AGENT, connectTimeoutMs: 5_000, bodyTimeoutMs: 5_000, retries: 2, retryBaseMs: 1_000 },
    ...overrides,
  };
}

async function fetchHf(overrides: Partial<FetchingSourceDeps> = {}): Promise<SourceFetchReport> {
  const report = await fetchSources([hfDailySource(server.url, deps(overrides))], { store, clock, logger, maxListingBytes: 20 * 1024 ** 2 });
  return report.sources[0]!;
}

const url = (day: string) => `${server.url}/api/daily_papers?date=${day}`;
const totalPapers = Object.values(PAPERS_PER_DAY).reduce((sum, count) => sum + count, 0);

describe('Hugging Face Daily Papers source against a local server replaying ten real days', () => {
  it('first run: backfills every day once, as Paperboy, gzipped; cursor on today', async () => {
    const report = await fetchHf();
    expect(report).toEqual({ source: 'hf', requests: 12, not_modified: 0, listings: 10, papers: totalPapers, new: report.new, updated: 0, status: 'ok', error: null });
    expect(report.new).toBe((await store.countPapers()).papers);
    expect(report.new).toBeGreaterThan(150);
    for (const day of ALL_DAYS) expect(server.requestsFor(day)).toHaveLength(1);
    expect(server.requests.every((request) => request.headers['user-agent'] === USER_AGENT && /gzip/.test(String(request.headers['accept-encoding'])))).toBe(true);
    expect(await readCursor(store, 'hf')).toBe('2026-07-24');
    // Each response body is a listing whose origin is its URL.
    expect((await store.recentListings(20)).map((listing) => listing.origin).sort()).toEqual(Object.keys(PAPERS_PER_DAY).map(url).sort());
    expect((await store.recentListings(20)).find((listing) => listing.origin === url('2026-07-21'))!.listedOn).toBe('2026-07-21');
  });

  it('a rerun asks only conditionally for yesterday and today, and adds nothing', async () => {
    await fetchHf();
    server.requests.length = 0;
    const report = await fetchHf();
    expect(report).toMatchObject({ requests: 2, not_modified: 2, listings: 0, papers: 0, new: 0, updated: 0, status: 'ok' });
    expect(server.requests.map((request) => request.query.get('date'))).toEqual(['2026-07-23', '2026-07-24']);
    expect(server.requests.every((request) => typeof request.headers['if-none-match'] === 'string')).toBe(true);
  });

  it('catches up a gap of days exactly once after downtime', async () => {
    clock.set('2026-07-16T10:00:00Z');
    expect((await fetchHf({ backfillDays: 4 })).requests).toBe(4); // 07-13 … 07-16
    clock.set('2026-07-24T10:00:00Z');
    server.requests.length = 0;
    const report = await fetchHf();
    expect(server.requests.map((request) => request.query.get('date'))).toEqual(ALL_DAYS.slice(4)); // 07-17 … 07-24, once each
    expect(report).toMatchObject({ requests: 8, not_modified: 0, listings: 6, status: 'ok' });
    expect(await readCursor(store, 'hf')).toBe('2026-07-24');
  });

  it('429 with Retry-After: waits what the server asks (on the clock), then succeeds', async () => {
    server.fail('/api/daily_papers?date=2026-07-24', { status: 429, headers: { 'retry-after': '7' } });
    const started = clock.now().getTime();
    const report = await fetchHf();
    expect(report).toMatchObject({ requests: 13, listings: 10, status: 'ok', error: null });
    expect(server.requestsFor('2026-07-24')).toHaveLength(2);
    expect(clock.now().getTime() - started).toBe(7_000);
  });

  it('a Retry-After longer than a run waits fails the day at once instead of stalling the run', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-24', { status: 429, headers: { 'retry-after': '3600' } });
    const started = clock.now().getTime();
    const report = await fetchHf();
    expect(report.error).toBe(`${url('2026-07-24')}: HTTP 429 Too Many Requests; the server asks to wait 3600 s, longer than Paperboy waits in a run`);
    expect(server.requestsFor('2026-07-24')).toHaveLength(1);
    expect(clock.now().getTime()).toBe(started);
    expect(await readCursor(store, 'hf')).toBe('2026-07-23');
  });

  it('503 once: retried with backoff (1 s base, doubling, jittered) and succeeds', async () => {
    server.fail('/api/daily_papers?date=2026-07-20', { status: 503 }, { status: 503 });
    const started = clock.now().getTime();
    const report = await fetchHf();
    expect(report).toMatchObject({ requests: 14, listings: 10, status: 'ok' });
    // random() = 0.5: 1 s × 1.5, then 2 s × 1.5.
    expect(clock.now().getTime() - started).toBe(4_500);
  });

  it('503 that persists: the day fails with one line naming the URL, the days after it are still stored, and the cursor stops before it', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-20', { status: 503 });
    const report = await fetchHf();
    expect(report.status).toBe('failed');
    expect(report.error).toBe(`${url('2026-07-20')}: HTTP 503 Service Unavailable (gave up after 3 attempts)`);
    expect(report.listings).toBe(9);
    expect(await readCursor(store, 'hf')).toBe('2026-07-19');
    expect((await sourceStatus(store, 'hf')).last_error).toEqual({ at: clock.now().toISOString(), error: report.error });

    server.heal();
    server.requests.length = 0;
    const next = await fetchHf();
    expect(next).toMatchObject({ status: 'ok', listings: 1, new: PAPERS_PER_DAY['2026-07-20'], requests: 5, not_modified: 4 });
    expect(await readCursor(store, 'hf')).toBe('2026-07-24');
  });

  it('a 404 is not retried', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-22', { status: 404, body: 'Not Found' });
    const report = await fetchHf();
    expect(server.requestsFor('2026-07-22')).toHaveLength(1);
    expect(report.error).toBe(`${url('2026-07-22')}: HTTP 404 Not Found`);
    expect(await readCursor(store, 'hf')).toBe('2026-07-21');
  });

  it('a dropped connection is retried; one that keeps dropping fails the day', async () => {
    server.fail('/api/daily_papers?date=2026-07-14', 'drop');
    expect(await fetchHf()).toMatchObject({ status: 'ok', listings: 10 });
    expect(server.requestsFor('2026-07-14')).toHaveLength(2);

    server.failAlways('/api/daily_papers?date=2026-07-24', 'drop');
    const report = await fetchHf({ range: { since: '2026-07-24' } });
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(new RegExp(`^${escape(url('2026-07-24'))}: connection failed: .+ \\(gave up after 3 attempts\\)$`));
  });

  it('a body slower than the timeout fails the day; nothing is written and the cursor stays', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-13', { slowMs: 1_500 });
    const report = await fetchHf({ http: { ...deps().http, bodyTimeoutMs: 200, retries: 0 } });
    expect(report.error).toBe(`${url('2026-07-13')}: the response did not finish within 200 ms (gave up after 1 attempt)`);
    expect(await readCursor(store, 'hf')).toBeNull();
    expect((await store.recentListings(20)).some((listing) => listing.origin === url('2026-07-13'))).toBe(false);
  });

  it.each([
    ['an HTML page with status 200', { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><html><body>Hugging Face is down</body></html>' }, 'an HTML page (Content-Type text/html; charset=utf-8), not a listing'],
    ['an HTML page labelled as JSON', { status: 200, headers: { 'content-type': 'application/json' }, body: '<!DOCTYPE html><html><body>Error</body></html>' }, 'this is an HTML page, not a listing: save the page as text, or use the API JSON'],
    ['a JSON object instead of an array', { status: 200, headers: { 'content-type': 'application/json' }, body: '{"error":"Invalid date"}' }, 'JSON that is not a Hugging Face daily_papers response (expected an array of {paper: …})'],
    ['a truncated body', { status: 200, headers: { 'content-type': 'application/json' }, body: '[{"paper":{"id":"2607.18213","title":"SWE-Pruner' }, 'the JSON is cut off (a truncated file or response): Unterminated string in JSON at position 48'],
  ])('%s: one line naming the URL and the reason; nothing written; the cursor does not pass the day', async (_name, fault, reason) => {
    server.failAlways('/api/daily_papers?date=2026-07-16', fault);
    const report = await fetchHf();
    expect(report.status).toBe('failed');
    expect(report.error).toBe(`${url('2026-07-16')}: ${reason}`);
    expect(report.listings).toBe(9);
    expect((await store.recentListings(20)).some((listing) => listing.origin === url('2026-07-16'))).toBe(false);
    expect(await readCursor(store, 'hf')).toBe('2026-07-15');
    // Its validators were not kept either: the next run asks for the whole body again.
    server.heal();
    server.requests.length = 0;
    expect(await fetchHf()).toMatchObject({ status: 'ok', listings: 1, new: PAPERS_PER_DAY['2026-07-16'] });
    expect(server.requestsFor('2026-07-16')[0]!.headers['if-none-match']).toBeUndefined();
  });

  it('--since/--until refetch a range whatever the cursor, and a dry run requests nothing', async () => {
    const dry = await fetchSources([hfDailySource(server.url, deps({ range: { since: '2026-07-13', until: '2026-07-15' }, dryRun: true }))], { store, clock, logger, maxListingBytes: 1 << 30, dryRun: true });
    expect(dry.sources[0]).toMatchObject({ status: 'dry-run', requests: 0, planned: [url('2026-07-13'), url('2026-07-14'), url('2026-07-15')] });
    expect(server.requests).toHaveLength(0);
    expect(await readCursor(store, 'hf')).toBeNull();

    const report = await fetchHf({ range: { since: '2026-07-13', until: '2026-07-15' } });
    expect(report).toMatchObject({ requests: 3, listings: 3, papers: 27, status: 'ok' });
    expect(await readCursor(store, 'hf')).toBe('2026-07-15');
  });

  it('a response over PAPERBOY_MAX_LISTING_BYTES is not read', async () => {
    const report = (await fetchSources([hfDailySource(server.url, deps({ range: { since: '2026-07-21', until: '2026-07-21' } }))], { store, clock, logger, maxListingBytes: 10_000 })).sources[0]!;
    expect(report.error).toMatch(new RegExp(`^${escape(url('2026-07-21'))}: the response is .+, over the 9.8 KB limit \\(PAPERBOY_MAX_LISTING_BYTES\\)$`));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
