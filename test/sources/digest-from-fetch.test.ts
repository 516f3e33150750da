import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { prepareDigest } from '../../src/digest/prepare.ts';
import { createLogger } from '../../src/log.ts';
import { fetchSources } from '../../src/pipeline/fetch.ts';
import { hfDailySource } from '../../src/sources/hf-daily.ts';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http.ts';
import type { Store } from '../../src/store/port.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { startListingServer, type ListingServer } from '../helpers/listing-server.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { tempSqliteStore } from '../helpers/store.ts';

let server: ListingServer;
let store: Store;
const clock = fixedClock('2026-07-21T12:00:00Z');

beforeEach(async () => {
  server = await startListingServer();
  store = tempSqliteStore().store;
});
afterEach(async () => {
  await store.close();
  await server.close();
});

describe('a digest built from fetched Hugging Face papers', () => {
  it('links every paper to its Hugging Face page and arXiv, and ranks by upvotes', async () => {
    const source = hfDailySource(server.url, {
      state: store,
      timeZone: 'UTC',
      backfillDays: 1,
      range: { since: '2026-07-21', until: '2026-07-21' },
      http: { ...DEFAULT_HTTP_SETTINGS, userAgent: 'Paperboy/0.1.0 (+mailto:digest@example.org)' },
    });
    const fetched = await fetchSources([source], { store, clock, logger: createLogger('silent'), maxListingBytes: 1 << 30 });
    expect(fetched.totals).toEqual({ papers: 25, new: 25, updated: 0, failed: 0 });

    // One topic, one score for all: what orders them is what the fetch brought.
    const ids = (await store.papersToClassify('test', 1000)).map((paper) => paper.id);
    await store.saveFilings('test', ids.map((paperId) => ({ paperId, topics: [{ topicId: 'reasoning', score: 10, evidence: ['test'] }] })));
    const subscriber = (await store.insertSubscriber({ email: 'reader@example.org', name: null, topics: ['reasoning'], frequency: 'daily', weekday: null }, 'active', clock.now().toISOString()))!;
    const digest = await prepareDigest(
      {
        store,
        taxonomy: loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml')),
        publicUrl: 'https://digest.example.org',
        secret: 'digest-from-fetch-secret-0123456789abcdef',
        rules: { backfillDays: 7, carryOverDays: 7, maxPerTopic: 50, maxPerDigest: 50 },
      },
      subscriber,
      clock.now(),
    );

    const papers = digest.data.sections.flatMap((section) => section.papers);
    expect(papers).toHaveLength(25);
    for (const paper of papers) {
      const arxivId = paper.id;
      expect(arxivId).toMatch(/^2607\.\d{5}$/);
      expect(paper.links.slice(0, 2)).toEqual([
        { label: 'Hugging Face', url: `https://huggingface.co/papers/${arxivId}` },
        { label: 'arXiv', url: `https://arxiv.org/abs/${arxivId}` },
      ]);
      expect(paper.url).toBe(`https://huggingface.co/papers/${arxivId}`);
    }
    // Same day, same topic, same score: readers' votes decide, comments weighing half
    // (src/digest/rank.ts: 2·log2(1 + upvotes) + log2(1 + comments)).
    expect(papers.slice(0, 5).map((paper) => paper.upvotes)).toEqual([59, 56, 56, 38, 30]);
    const engagement = (paper: (typeof papers)[number]) => 2 * Math.log2(1 + paper.upvotes!) + Math.log2(1 + (paper.comments ?? 0));
    expect(papers.map(engagement)).toEqual(papers.map(engagement).sort((a, b) => b - a));
    expect(papers.find((paper) => paper.upvotes === 19 && paper.comments === 4)).toBe(papers[5]);
  });
});
