import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { fetchSources } from '../../src/pipeline/fetch.ts';
import { readCursor, sourceStatus } from '../../src/sources/fetching.ts';
import { hfDailySource } from '../../src/sources/hf-daily.ts';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http.ts';
import type { Store } from '../../src/store/port.ts';
import { startListingServer, type ListingServer } from '../helpers/listing-server.ts';
import { STORE_ADAPTERS } from '../helpers/store-adapters.ts';

/** Cursors, validators and fetched listings live in the store: the same on every adapter. */
describe.each(STORE_ADAPTERS)('fetching into the $name store', ({ open }) => {
  let server: ListingServer;
  let store: Store;
  const clock = fixedClock('2026-07-24T10:00:00Z');

  beforeEach(async () => {
    server = await startListingServer();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await server.close();
  });

  const fetchHf = async () =>
    (
      await fetchSources(
        [hfDailySource(server.url, { state: store, timeZone: 'UTC', backfillDays: 12, random: () => 0, http: { ...DEFAULT_HTTP_SETTINGS, userAgent: 'Paperboy/test', retries: 0 } })],
        { store, clock, logger: createLogger('silent'), maxListingBytes: 1 << 30 },
      )
    ).sources[0]!;

  it('backfills once, keeps the cursor and the validators, and a rerun adds nothing', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-22', { status: 500 });
    const first = await fetchHf();
    expect(first).toMatchObject({ requests: 12, listings: 9, status: 'failed' });
    expect(await readCursor(store, 'hf')).toBe('2026-07-21');
    server.heal();
    const second = await fetchHf();
    expect(second).toMatchObject({ requests: 3, not_modified: 2, listings: 1, status: 'ok' });
    const third = await fetchHf();
    expect(third).toMatchObject({ requests: 2, not_modified: 2, listings: 0, new: 0, status: 'ok' });
    expect(await sourceStatus(store, 'hf')).toEqual({ source: 'hf', cursor: '2026-07-24', last_success: clock.now().toISOString(), last_error: { at: clock.now().toISOString(), error: expect.stringContaining('date=2026-07-22: HTTP 500') } });
    expect((await store.countPapers()).papers).toBe(first.new + second.new);
  });
});
