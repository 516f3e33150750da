import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { ingestSources, type IngestDeps } from '../../src/ingest/ingest.ts';
import { pathsSource } from '../../src/sources/files.ts';
import type { Store } from '../../src/store/port.ts';
import { DUMP_FILES, HF_API_SAMPLE, tempDir } from '../helpers/paths.ts';
import { ingestSnapshot, tempSqliteStore } from '../helpers/store.ts';

let dir: string;
let store: Store;
let clock: ReturnType<typeof fixedClock>;
let deps: IngestDeps;

beforeEach(() => {
  dir = tempDir();
  store = tempSqliteStore().store;
  clock = fixedClock('2026-11-23T08:00:00.000Z');
  deps = { store, clock, maxListingBytes: 20 * 1024 * 1024 };
});
afterEach(() => store.close());

const snapshot = () => ingestSnapshot(store);
const ingestFiles = (paths: string[], ingestDeps: IngestDeps = deps) => ingestSources([pathsSource(paths)], ingestDeps);

const HEADER = 'new\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n\n';
const ABSTRACT = 'We propose a method for a problem. It is fast and accurate on every benchmark we tried.';

describe('ingest into the store', () => {
  it('stores the five dumps as 241 distinct papers out of 290 entries', async () => {
    const report = await ingestFiles(DUMP_FILES, deps);
    expect(report.totals).toEqual({ files: 5, papers: 290, new: 241, updated: 6, failed: 0 });
    expect(report.files.map((file) => [file.status, file.format, file.papers, file.new])).toEqual([
      ['ingested', 'hf-dump', 20, 20],
      ['ingested', 'hf-dump', 56, 52],
      ['ingested', 'hf-dump', 65, 49],
      ['ingested', 'hf-dump', 87, 79],
      ['ingested', 'hf-dump', 62, 41],
    ]);
    expect(await store.countPapers()).toEqual({ papers: 241, paperListings: 290 });
  });

  it('is idempotent: the same content again adds nothing and says already ingested', async () => {
    await ingestFiles(DUMP_FILES, deps);
    const before = await snapshot();
    clock.advance(60_000);
    const again = await ingestFiles(DUMP_FILES, deps);
    expect(again.totals).toEqual({ files: 5, papers: 0, new: 0, updated: 0, failed: 0 });
    expect(again.files.every((file) => file.status === 'already-ingested')).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('updates a revised abstract and keeps first_seen', async () => {
    const v1 = join(dir, 'v1.txt');
    const v2 = join(dir, 'v2.txt');
    writeFileSync(v1, `${HEADER}Paper A\n\n${ABSTRACT}\n\n  • 3 authors\n·\nOct 2, 2023\n`);
    writeFileSync(v2, `${HEADER}Paper A\n\n${ABSTRACT.replace('fast', 'very fast')}\n`);
    await ingestFiles([v1], deps);
    clock.set('2026-11-24T08:00:00.000Z');
    const report = await ingestFiles([v2], deps);
    expect(report.totals).toMatchObject({ papers: 1, new: 0, updated: 1 });
    const [paper] = await store.listPapers({});
    expect(paper).toMatchObject({
      abstract: ABSTRACT.replace('fast', 'very fast'),
      authorCount: 3,
      publishedOn: '2023-10-02',
      firstSeen: '2026-11-23T08:00:00.000Z',
      lastSeen: '2026-11-24T08:00:00.000Z',
      sources: [v1, v2],
    });
  });

  it('merges a title-keyed paper into the arXiv id an API listing brings', async () => {
    await ingestFiles(DUMP_FILES, deps);
    const before = (await store.paperByTitleKey('unleashing reasoning capability of llms via scalable question synthesis from scratch'))!;
    expect(before.key).toMatch(/^title-[0-9a-f]{10}$/);
    clock.advance(60_000);
    const report = await ingestFiles([HF_API_SAMPLE], deps);
    expect(report.totals).toMatchObject({ papers: 14, new: 13, updated: 1 });
    const after = (await store.paperByKey('2410.18693'))!;
    expect(after).toMatchObject({ id: before.id, arxivId: '2410.18693', firstSeen: before.firstSeen, upvotes: 35, comments: 2, authorCount: 6 });
    expect((await store.countPapers()).papers).toBe(254);
  });

  it('keeps a whole abstract when a truncated dump brings a partial one', async () => {
    const whole = join(dir, 'whole.txt');
    const cut = join(dir, 'cut.txt');
    writeFileSync(whole, `${HEADER}Paper A\n\n${ABSTRACT}\n`);
    writeFileSync(cut, `${HEADER}Paper A\n\nWe propose a meth`);
    await ingestFiles([whole], deps);
    const report = await ingestFiles([cut], deps);
    expect(report.files[0]).toMatchObject({ status: 'ingested', papers: 1, new: 0, updated: 0 });
    expect(report.files[0]!.warnings).toEqual([{ line: 9, message: 'last block "Paper A" is truncated; kept with a partial abstract' }]);
    expect((await store.listPapers({}))[0]!.abstract).toBe(ABSTRACT);
  });
});

describe('bad input: one clear line, nothing written, the other files still ingest', () => {
  const cases: [string, (path: string) => void, string][] = [
    ['an empty file', (path) => writeFileSync(path, ''), 'the file is empty'],
    ['a whitespace-only file', (path) => writeFileSync(path, ' \n\r\n\t\n'), 'the file is empty'],
    ['a binary file', (path) => writeFileSync(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'the file is binary (it contains NUL bytes)'],
    ['a Latin-1 file', (path) => writeFileSync(path, Buffer.concat([Buffer.from(`${HEADER}Light Schr`), Buffer.from([0xf6]), Buffer.from('dinger Bridge\n')])), 'the file is not valid UTF-8 (first bad byte at offset 66)'],
    ['an HTML page', (path) => writeFileSync(path, '<!DOCTYPE html>\n<html><head><title>Daily Papers - Hugging Face</title></head><body></body></html>'), 'this is an HTML page, not a listing: save the page as text, or use the API JSON'],
    [
      'an HTML page saved with a leading comment',
      (path) => writeFileSync(path, `\uFEFF\n<!-- saved from url=(0029)https://huggingface.co/papers -->\n<!DOCTYPE html>\n<html><body>${HEADER}Paper A\n\n${ABSTRACT}\n</body></html>`),
      'this is an HTML page, not a listing: save the page as text, or use the API JSON',
    ],
    [
      'a dump whose titles are markup',
      (path) => writeFileSync(path, `${HEADER}<div class="paper-title">Paper A</div>\n\n${ABSTRACT}\n`),
      "every block's title contains HTML markup (1 block): this is a web page, not a dump",
    ],
    ['a dump cut off after its header', (path) => writeFileSync(path, 'new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n'), 'no paper blocks after the header (is the dump cut off?)'],
    ['text of no known format', (path) => writeFileSync(path, 'Dear reader,\n\nthis is a letter.\n'), 'not an arXiv Atom feed, an arXiv RSS feed, HF API JSON or a Hugging Face Daily Papers dump'],
    ['JSON of another shape', (path) => writeFileSync(path, '{"papers": []}'), 'JSON that is not a Hugging Face daily_papers response (expected an array of {paper: …})'],
    ['a directory', (path) => mkdirSync(path), 'is a directory, not a listing file'],
    ['a missing path', () => {}, 'no such file'],
  ];

  it.each(cases)('%s', async (_, make, reason) => {
    await ingestFiles([DUMP_FILES[0]!], deps);
    const before = await snapshot();
    const bad = join(dir, 'bad-input');
    make(bad);
    const report = await ingestFiles([bad, DUMP_FILES[1]!], deps);
    expect(report.files[0]).toMatchObject({ path: bad, status: 'failed', papers: 0, new: 0, error: `${bad}: ${reason}` });
    expect(report.files[1]).toMatchObject({ status: 'ingested', papers: 56 });
    expect(report.totals.failed).toBe(1);
    // The bad file added nothing: the papers and links now are exactly those of the good file.
    const after = await snapshot();
    expect(after.papers.length).toBe(before.papers.length + 52);
    expect(after.ingested.length).toBe(before.ingested.length + 1);
    expect(after.counts.paperListings).toBe(before.counts.paperListings + 56);
  });

  it('a file over the size limit', async () => {
    const before = await snapshot();
    const report = await ingestFiles([DUMP_FILES[0]!], { ...deps, maxListingBytes: 10_000 });
    expect(report.files[0]!.error).toBe(`${DUMP_FILES[0]}: is 32.5 KB, over the 9.8 KB limit (PAPERBOY_MAX_LISTING_BYTES)`);
    expect(await snapshot()).toEqual(before);
  });

  it('records a failed listing for the record and replaces it once the content ingests', async () => {
    const bad = join(dir, 'empty.txt');
    writeFileSync(bad, '');
    await ingestFiles([bad], deps);
    expect((await store.recentListings(5)).map((listing) => [listing.status, listing.error])).toEqual([['failed', `${bad}: the file is empty`]]);
    expect(await snapshot()).toEqual({ papers: [], ingested: [], counts: { papers: 0, paperListings: 0 } });
  });

  it('rolls back a file whose store write fails halfway: no paper of it remains', async () => {
    await ingestFiles([DUMP_FILES[0]!], deps);
    const before = await snapshot();
    // The papers of the first file are written, then finishing its listing fails: the
    // transaction must take the papers back with it.
    let listings = 0;
    const failingStore: IngestDeps['store'] = {
      listingByHash: (hash) => store.listingByHash(hash),
      recordFailedListing: (failure) => store.recordFailedListing(failure),
      withTransaction: (work) =>
        store.withTransaction((tx) => {
          if (++listings > 1) return work(tx);
          const failing = Object.create(tx) as typeof tx;
          failing.finishListing = async () => {
            throw new Error('disk I/O error');
          };
          return work(failing);
        }),
    };
    const report = await ingestFiles([DUMP_FILES[1]!, DUMP_FILES[2]!], { ...deps, store: failingStore });
    expect(report.files[0]).toMatchObject({ status: 'failed', error: `${DUMP_FILES[1]}: could not be stored: disk I/O error` });
    expect(report.files[1]).toMatchObject({ status: 'ingested', papers: 65 });
    const after = await snapshot();
    expect(after.ingested.length).toBe(before.ingested.length + 1);
    expect(after.counts.paperListings).toBe(before.counts.paperListings + 65);
    // Exactly as if the failed file had never been offered.
    const reference = tempSqliteStore().store;
    await ingestSources([pathsSource([DUMP_FILES[0]!, DUMP_FILES[2]!])], { ...deps, store: reference });
    expect(after.counts).toEqual(await reference.countPapers());
    expect(after.papers.map((paper) => paper.key).sort()).toEqual((await reference.listPapers({})).map((paper) => paper.key).sort());
    await reference.close();
    expect(readFileSync(DUMP_FILES[1]!).length).toBeGreaterThan(0);
  });
});

describe('hostile text at the ingest boundary', () => {
  it('drops the blocks whose title is markup, with a warning, and keeps the rest', async () => {
    const path = join(dir, 'mixed.txt');
    writeFileSync(path, `${HEADER}Paper A\n\n${ABSTRACT}\n\n<a href="https://evil.example">Paper B</a>\n\n${ABSTRACT}\n`);
    const report = await ingestFiles([path], deps);
    expect(report.files[0]).toMatchObject({ status: 'ingested', papers: 1, new: 1 });
    expect(report.files[0]!.warnings).toEqual([{ message: 'block "<a href="https://evil.example">Paper B</a>" rejected: its title contains HTML markup (a saved web page is not a dump)' }]);
    expect((await store.listPapers({})).map((paper) => paper.title)).toEqual(['Paper A']);
  });

  it('strips terminal escapes, control characters and bidi overrides from titles, abstracts and names', async () => {
    const path = join(dir, 'controls.json');
    const entry = JSON.parse(readFileSync(HF_API_SAMPLE, 'utf8'))[0];
    entry.paper.title = 'Paper \u001b[31mA\u001b[0m \u202Egnp.exe';
    entry.paper.summary = 'An abstract\u0007 with a bell.';
    entry.paper.authors = [{ name: 'Ada \u202ELovelace', hidden: false }];
    writeFileSync(path, JSON.stringify([entry]));
    await ingestFiles([path], deps);
    const [paper] = await store.listPapers({});
    expect(paper).toMatchObject({ title: 'Paper [31mA[0m gnp.exe', abstract: 'An abstract with a bell.', authors: ['Ada Lovelace'] });
  });
});
