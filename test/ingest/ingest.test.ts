import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { ingestFiles, type IngestDeps } from '../../src/ingest/ingest.ts';
import { Store } from '../../src/store/store.ts';
import { DUMP_FILES, HF_API_SAMPLE, tempDir } from '../helpers/paths.ts';

let dir: string;
let store: Store;
let clock: ReturnType<typeof fixedClock>;
let deps: IngestDeps;

beforeEach(() => {
  dir = tempDir();
  store = new Store(join(dir, 'paperboy.db'));
  clock = fixedClock('2026-11-23T08:00:00.000Z');
  deps = { store, clock, maxListingBytes: 20 * 1024 * 1024 };
});
afterEach(() => store.close());

/** Everything ingest can write, so a test can say "nothing changed". */
function snapshot() {
  return {
    papers: store.db.prepare('SELECT * FROM papers ORDER BY id').all(),
    links: store.db.prepare('SELECT * FROM paper_listings ORDER BY paper_id, listing_id').all(),
    ingested: store.db.prepare(`SELECT * FROM listings WHERE status = 'ingested' ORDER BY id`).all(),
  };
}

const HEADER = 'new\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n\n';
const ABSTRACT = 'We propose a method for a problem. It is fast and accurate on every benchmark we tried.';

describe('ingest into the store', () => {
  it('stores the five dumps as 241 distinct papers out of 290 entries', () => {
    const report = ingestFiles(DUMP_FILES, deps);
    expect(report.totals).toEqual({ files: 5, papers: 290, new: 241, updated: 6, failed: 0 });
    expect(report.files.map((file) => [file.status, file.format, file.papers, file.new])).toEqual([
      ['ingested', 'hf-dump', 20, 20],
      ['ingested', 'hf-dump', 56, 52],
      ['ingested', 'hf-dump', 65, 49],
      ['ingested', 'hf-dump', 87, 79],
      ['ingested', 'hf-dump', 62, 41],
    ]);
    expect(store.counts()).toEqual({ papers: 241, paperListings: 290 });
  });

  it('is idempotent: the same content again adds nothing and says already ingested', () => {
    ingestFiles(DUMP_FILES, deps);
    const before = snapshot();
    clock.advance(60_000);
    const again = ingestFiles(DUMP_FILES, deps);
    expect(again.totals).toEqual({ files: 5, papers: 0, new: 0, updated: 0, failed: 0 });
    expect(again.files.every((file) => file.status === 'already-ingested')).toBe(true);
    expect(snapshot()).toEqual(before);
  });

  it('updates a revised abstract and keeps first_seen', () => {
    const v1 = join(dir, 'v1.txt');
    const v2 = join(dir, 'v2.txt');
    writeFileSync(v1, `${HEADER}Paper A\n\n${ABSTRACT}\n\n  • 3 authors\n·\nOct 2, 2023\n`);
    writeFileSync(v2, `${HEADER}Paper A\n\n${ABSTRACT.replace('fast', 'very fast')}\n`);
    ingestFiles([v1], deps);
    clock.set('2026-11-24T08:00:00.000Z');
    const report = ingestFiles([v2], deps);
    expect(report.totals).toMatchObject({ papers: 1, new: 0, updated: 1 });
    const [paper] = store.listPapers({});
    expect(paper).toMatchObject({
      abstract: ABSTRACT.replace('fast', 'very fast'),
      authorCount: 3,
      publishedOn: '2023-10-02',
      firstSeen: '2026-11-23T08:00:00.000Z',
      lastSeen: '2026-11-24T08:00:00.000Z',
      sources: [v1, v2],
    });
  });

  it('merges a title-keyed paper into the arXiv id an API listing brings', () => {
    ingestFiles(DUMP_FILES, deps);
    const before = store.paperByTitleKey('unleashing reasoning capability of llms via scalable question synthesis from scratch')!;
    expect(before.key).toMatch(/^title-[0-9a-f]{10}$/);
    clock.advance(60_000);
    const report = ingestFiles([HF_API_SAMPLE], deps);
    expect(report.totals).toMatchObject({ papers: 14, new: 13, updated: 1 });
    const after = store.paperByKey('2410.18693')!;
    expect(after).toMatchObject({ id: before.id, arxivId: '2410.18693', firstSeen: before.firstSeen, upvotes: 35, comments: 2, authorCount: 6 });
    expect(store.counts().papers).toBe(254);
  });

  it('keeps a whole abstract when a truncated dump brings a partial one', () => {
    const whole = join(dir, 'whole.txt');
    const cut = join(dir, 'cut.txt');
    writeFileSync(whole, `${HEADER}Paper A\n\n${ABSTRACT}\n`);
    writeFileSync(cut, `${HEADER}Paper A\n\nWe propose a meth`);
    ingestFiles([whole], deps);
    const report = ingestFiles([cut], deps);
    expect(report.files[0]).toMatchObject({ status: 'ingested', papers: 1, new: 0, updated: 0 });
    expect(report.files[0]!.warnings).toEqual([{ line: 9, message: 'last block "Paper A" is truncated; kept with a partial abstract' }]);
    expect(store.listPapers({})[0]!.abstract).toBe(ABSTRACT);
  });
});

describe('bad input: one clear line, nothing written, the other files still ingest', () => {
  const cases: [string, (path: string) => void, string][] = [
    ['an empty file', (path) => writeFileSync(path, ''), 'the file is empty'],
    ['a whitespace-only file', (path) => writeFileSync(path, ' \n\r\n\t\n'), 'the file is empty'],
    ['a binary file', (path) => writeFileSync(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'the file is binary (it contains NUL bytes)'],
    ['a Latin-1 file', (path) => writeFileSync(path, Buffer.concat([Buffer.from(`${HEADER}Light Schr`), Buffer.from([0xf6]), Buffer.from('dinger Bridge\n')])), 'the file is not valid UTF-8 (first bad byte at offset 66)'],
    ['an HTML page', (path) => writeFileSync(path, '<!DOCTYPE html>\n<html><head><title>Daily Papers - Hugging Face</title></head><body></body></html>'), 'this is an HTML page, not a listing: save the page as text, or use the API JSON'],
    ['a dump cut off after its header', (path) => writeFileSync(path, 'new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n'), 'no paper blocks after the header (is the dump cut off?)'],
    ['text of no known format', (path) => writeFileSync(path, 'Dear reader,\n\nthis is a letter.\n'), 'not a Hugging Face Daily Papers dump, HF API JSON or arXiv Atom feed'],
    ['JSON of another shape', (path) => writeFileSync(path, '{"papers": []}'), 'JSON that is not a Hugging Face daily_papers response (expected an array of {paper: …})'],
    ['a directory', (path) => mkdirSync(path), 'is a directory, not a listing file'],
    ['a missing path', () => {}, 'no such file'],
  ];

  it.each(cases)('%s', (_, make, reason) => {
    ingestFiles([DUMP_FILES[0]!], deps);
    const before = snapshot();
    const bad = join(dir, 'bad-input');
    make(bad);
    const report = ingestFiles([bad, DUMP_FILES[1]!], deps);
    expect(report.files[0]).toMatchObject({ path: bad, status: 'failed', papers: 0, new: 0, error: `${bad}: ${reason}` });
    expect(report.files[1]).toMatchObject({ status: 'ingested', papers: 56 });
    expect(report.totals.failed).toBe(1);
    // The bad file added nothing: the papers and links now are exactly those of the good file.
    const after = snapshot();
    expect(after.papers.length).toBe(before.papers.length + 52);
    expect(after.ingested.length).toBe(before.ingested.length + 1);
  });

  it('a file over the size limit', () => {
    const before = snapshot();
    const report = ingestFiles([DUMP_FILES[0]!], { ...deps, maxListingBytes: 10_000 });
    expect(report.files[0]!.error).toBe(`${DUMP_FILES[0]}: is 32.5 KB, over the 9.8 KB limit (PAPERBOY_MAX_LISTING_BYTES)`);
    expect(snapshot()).toEqual(before);
  });

  it('records a failed listing for the record and replaces it once the content ingests', () => {
    const bad = join(dir, 'empty.txt');
    writeFileSync(bad, '');
    ingestFiles([bad], deps);
    expect(store.recentListings(5).map((listing) => [listing.status, listing.error])).toEqual([['failed', `${bad}: the file is empty`]]);
    expect(snapshot()).toEqual({ papers: [], links: [], ingested: [] });
  });

  it('rolls back a file whose store write fails halfway: no paper of it remains', () => {
    ingestFiles([DUMP_FILES[0]!], deps);
    const before = snapshot();
    let inserted = 0;
    const failingStore = Object.create(store) as Store;
    failingStore.insertPaper = (fields, now) => {
      if (++inserted === 10) throw new Error('disk I/O error');
      return store.insertPaper(fields, now);
    };
    const report = ingestFiles([DUMP_FILES[1]!, DUMP_FILES[2]!], { ...deps, store: failingStore });
    expect(report.files[0]).toMatchObject({ status: 'failed', error: `${DUMP_FILES[1]}: could not be stored: disk I/O error` });
    expect(report.files[1]).toMatchObject({ status: 'ingested', papers: 65 });
    const after = snapshot();
    expect(after.ingested.length).toBe(before.ingested.length + 1);
    expect(after.links.length).toBe(before.links.length + 65);
    expect(readFileSync(DUMP_FILES[1]!).length).toBeGreaterThan(0);
  });
});
