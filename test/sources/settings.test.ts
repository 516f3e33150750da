import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { retryAfterMs } from '../../src/sources/http.ts';
import { advancedCursor, daysToFetch } from '../../src/sources/hf-daily.ts';
import { tempDir } from '../helpers/paths.ts';

const load = (env: Record<string, string>) => loadConfig({ PAPERBOY_DB: ':memory:', ...env }, tempDir());

describe('PAPERBOY_SOURCES and the source settings', () => {
  it('defaults to the Hugging Face source at huggingface.co', () => {
    const { sources } = load({});
    expect(sources.enabled).toEqual(['hf']);
    expect(sources.hfUrl).toBe('https://huggingface.co');
    expect(sources.arxiv).toEqual({ url: 'https://export.arxiv.org', query: 'cat:cs.LG OR cat:cs.CL', pageSize: 100, maxPages: 5 });
    expect(sources.arxivRss).toEqual({ url: 'https://rss.arxiv.org/rss/', categories: ['cs.LG'] });
  });

  it('takes none, or a comma list in its order without repeats', () => {
    expect(load({ PAPERBOY_SOURCES: 'none' }).sources.enabled).toEqual([]);
    expect(load({ PAPERBOY_SOURCES: 'arxiv-rss, HF,arxiv,hf' }).sources.enabled).toEqual(['arxiv-rss', 'hf', 'arxiv']);
    expect(load({ PAPERBOY_ARXIV_RSS: 'cs.LG, cs.CL' }).sources.arxivRss.categories).toEqual(['cs.LG', 'cs.CL']);
  });

  it('rejects an unknown source in one line naming the variable', () => {
    expect(() => load({ PAPERBOY_SOURCES: 'hf,reddit' })).toThrow('PAPERBOY_SOURCES="hf,reddit" is invalid: expected none, or a comma list of hf, arxiv, arxiv-rss (see .env.example)');
    expect(() => load({ PAPERBOY_HF_URL: 'ftp://example.org' })).toThrow('PAPERBOY_HF_URL="ftp://example.org" is invalid: expected an http(s) URL such as https://huggingface.co (see .env.example)');
  });

  it('knows every new variable (no unknown-variable warning)', () => {
    const env = {
      PAPERBOY_SOURCES: 'hf', PAPERBOY_HF_URL: 'http://127.0.0.1:1', PAPERBOY_ARXIV_URL: 'http://127.0.0.1:1', PAPERBOY_ARXIV_QUERY: 'cat:cs.LG',
      PAPERBOY_ARXIV_PAGE_SIZE: '10', PAPERBOY_ARXIV_MAX_PAGES: '2', PAPERBOY_ARXIV_RSS: 'cs.LG', PAPERBOY_ARXIV_RSS_URL: 'http://127.0.0.1:1/rss/',
      PAPERBOY_HTTP_CONNECT_TIMEOUT_MS: '1000', PAPERBOY_HTTP_TIMEOUT_MS: '2000', PAPERBOY_HTTP_RETRIES: '0', PAPERBOY_HTTP_RETRY_BASE_MS: '5',
    };
    const config = load(env);
    expect(config.warnings).toEqual([]);
    expect(config.sources.http).toEqual({ connectTimeoutMs: 1000, bodyTimeoutMs: 2000, retries: 0, retryBaseMs: 5 });
  });
});

describe('the Hugging Face day plan', () => {
  it('first run: the backfill days up to today; later: after the cursor, always yesterday and today', () => {
    expect(daysToFetch(null, '2026-07-24', 3)).toEqual(['2026-07-22', '2026-07-23', '2026-07-24']);
    expect(daysToFetch(null, '2026-07-24', 0)).toEqual(['2026-07-23', '2026-07-24']);
    expect(daysToFetch('2026-07-24', '2026-07-24', 7)).toEqual(['2026-07-23', '2026-07-24']);
    expect(daysToFetch('2026-07-20', '2026-07-24', 7)).toEqual(['2026-07-21', '2026-07-22', '2026-07-23', '2026-07-24']);
  });

  it('the cursor moves over unbroken complete days only, never back', () => {
    const days = ['2026-07-21', '2026-07-22', '2026-07-23'];
    const outcomes = (...states: ('complete' | 'failed')[]) => new Map(days.map((day, index) => [day, states[index]!]));
    expect(advancedCursor('2026-07-20', days, outcomes('complete', 'failed', 'complete'))).toBe('2026-07-21');
    expect(advancedCursor('2026-07-20', days, outcomes('failed', 'complete', 'complete'))).toBeNull();
    expect(advancedCursor('2026-07-23', days, outcomes('complete', 'complete', 'complete'))).toBeNull();
    // A range that starts after a gap cannot close it.
    expect(advancedCursor('2026-07-10', days, outcomes('complete', 'complete', 'complete'))).toBeNull();
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-07-24T10:00:00Z');
  it('reads seconds and HTTP dates; ignores what it cannot read', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Fri, 24 Jul 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Fri, 24 Jul 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});
