import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/cli.ts';
import { startListingServer, type ListingServer } from '../helpers/listing-server.ts';
import { tempDir } from '../helpers/paths.ts';

let server: ListingServer;
let settings: Record<string, string>;

beforeEach(async () => {
  server = await startListingServer();
  const dir = tempDir();
  settings = {
    PAPERBOY_DB: join(dir, 'paperboy.db'),
    PAPERBOY_INBOX: join(dir, 'inbox'),
    PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
    PAPERBOY_SOURCES: 'hf',
    PAPERBOY_HF_URL: server.url,
    PAPERBOY_TZ: 'UTC',
    PAPERBOY_FROM: 'Paperboy <digest@example.org>',
    PAPERBOY_LOG_LEVEL: 'error',
  };
});
afterEach(() => server.close());

const RANGE = ['--since', '2026-07-13', '--until', '2026-07-24'];

describe('paperboy fetch, as a subprocess against a local server (PAPERBOY_HF_URL)', () => {
  it('--json prints the documented document; a rerun costs only 304s; status shows the cursor', async () => {
    const first = await runCliAsync(['fetch', '--json', ...RANGE], settings);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const report = first.json();
    expect(Object.keys(report)).toEqual(['sources', 'totals']);
    expect(Object.keys(report.sources[0])).toEqual(['source', 'requests', 'not_modified', 'listings', 'papers', 'new', 'updated', 'status', 'error']);
    expect(report.sources[0]).toEqual({ source: 'hf', requests: 12, not_modified: 0, listings: 10, papers: 158, new: report.totals.new, updated: 0, status: 'ok', error: null });
    expect(report.totals).toEqual({ papers: 158, new: report.totals.new, updated: 0, failed: 0 });
    expect(report.totals.new).toBeGreaterThan(150);
    expect(server.requests.every((request) => request.headers['user-agent'] === 'Paperboy/0.1.0 (+mailto:digest@example.org)')).toBe(true);

    const again = (await runCliAsync(['fetch', '--json', ...RANGE], settings)).json();
    expect(again.sources[0]).toMatchObject({ requests: 12, not_modified: 12, listings: 0, new: 0, status: 'ok' });

    const status = (await runCliAsync(['status', '--json'], settings)).json();
    expect(status.sources).toEqual([{ source: 'hf', cursor: '2026-07-24', last_success: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), last_error: null }]);

    const papers = (await runCliAsync(['papers', '--json', '--limit', '1'], settings)).json();
    expect(JSON.stringify(papers)).toContain(`${server.url}/api/daily_papers?date=`);
  });

  it('a failing source exits 1 with the URL and reason; the other days are stored', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-16', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>rate limited</body></html>' });
    const result = await runCliAsync(['fetch', '--json', ...RANGE], settings);
    expect(result.status).toBe(1);
    const source = result.json().sources[0];
    expect(source).toMatchObject({ status: 'failed', listings: 9, error: `${server.url}/api/daily_papers?date=2026-07-16: an HTML page (Content-Type text/html), not a listing` });
    expect(result.stderr).toContain(`${server.url}/api/daily_papers?date=2026-07-16: an HTML page (Content-Type text/html), not a listing`);
  });

  it('prints a table per source for a person, and status shows each source', async () => {
    server.failAlways('/api/daily_papers?date=2026-07-14', { status: 404, body: 'Not Found' });
    const result = await runCliAsync(['fetch', '--since', '2026-07-13', '--until', '2026-07-15'], settings);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(
      [
        'SOURCE  STATUS  REQUESTS  NOT MODIFIED  LISTINGS  PAPERS  NEW  UPDATED',
        'hf      failed  3         0             2         15      15   0',
        `hf: ${server.url}/api/daily_papers?date=2026-07-14: HTTP 404 Not Found`,
        '',
        '15 papers read, 15 new, 0 updated; 1 source failed',
        '',
      ].join('\n'),
    );
    const status = await runCliAsync(['status'], settings);
    expect(status.stdout).toMatch(new RegExp(`\\n  hf        cursor 2026-07-13, last success never, last error \\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z: ${server.url.replace(/[.]/g, '\\.')}/api/daily_papers\\?date=2026-07-14: HTTP 404 Not Found\\n`));
  });

  it('--dry-run lists the requests and sends none', async () => {
    const result = await runCliAsync(['fetch', '--dry-run', '--since', '2026-07-13', '--until', '2026-07-14'], settings);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`Dry run: nothing was requested or stored. A fetch would start with:\n  hf  ${server.url}/api/daily_papers?date=2026-07-13\n  hf  ${server.url}/api/daily_papers?date=2026-07-14\n`);
    expect(server.requests).toHaveLength(0);
  });

  it('--until without --since is a usage error', async () => {
    const result = await runCliAsync(['fetch', '--until', '2026-07-14'], settings);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('paperboy: --until needs --since\n');
  });

  it('paperboy run fetches first; a source that fails is reported and the run still delivers', async () => {
    server.failAlways('/api/daily_papers', { status: 503 });
    const result = await runCliAsync(['run', '--json'], { ...settings, PAPERBOY_BACKFILL_DAYS: '1', PAPERBOY_HTTP_RETRIES: '0' });
    const run = result.json();
    expect(run.status).toBe('done');
    expect(run.ingest.failed).toBe(2); // yesterday and today
    expect(server.requests).toHaveLength(2);
    expect(result.stderr).toMatch(/api\/daily_papers\?date=\d{4}-\d{2}-\d{2}: HTTP 503 Service Unavailable \(gave up after 1 attempt\)/);
    expect(result.status).toBe(1);
  });

  it('npm start (paperboy start) stays offline and prints the line that turns fetching on', async () => {
    const result = await runCliAsync(['start'], settings);
    expect(result.status).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(result.stdout).toContain('This demo fetched nothing from the network: `npx paperboy fetch` gets the latest papers from Hugging Face (PAPERBOY_SOURCES picks the sources), and `npx paperboy run` fetches before every digest.');
  });
});
