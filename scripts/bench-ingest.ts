/**
 * Ingest benchmark: synthesizes a large corpus of HF dump files from the real sample blocks
 * (every paper made distinct by a numbered title), then measures
 *   1. parse alone (papers/s),
 *   2. parse + store into a fresh SQLite file, one transaction per file (papers/s),
 *   3. resident memory as the corpus grows (it should stay flat: files are streamed one by one),
 * and, in the same run, the baseline (the same store work with one autocommit per statement)
 * and the same ingest with the database on tmpfs, which shows how much of the time is disk I/O.
 *
 *   npx tsx scripts/bench-ingest.ts [--papers 120000] [--per-file 600]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixedClock } from '../src/clock.ts';
import { ingestListing } from '../src/ingest/ingest.ts';
import { titleKey } from '../src/ingest/identity.ts';
import { fieldsFromRecord } from '../src/ingest/merge.ts';
import { parseListing } from '../src/ingest/parse.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';

const read = (path: string) => ({ origin: path, fetchedAt: now, bytes: readFileSync(path) });

const { values } = parseArgs({
  options: { papers: { type: 'string', default: '120000' }, 'per-file': { type: 'string', default: '600' } },
});
const totalPapers = Number(values.papers);
const perFile = Number(values['per-file']);
const listingsDir = join(import.meta.dirname, '../data/listings');
const now = new Date('2026-11-23T08:00:00Z');

/** The real blocks of the sample dumps, as text, to be repeated with numbered titles. */
function sampleBlocks(): { title: string; rest: string }[] {
  return readdirSync(listingsDir)
    .filter((name) => name.endsWith('.txt'))
    .flatMap((name) => parseListing(readFileSync(join(listingsDir, name)), { now }).papers)
    .map((paper) => ({
      title: paper.title,
      rest: `${paper.abstract}\n\n${paper.authorCount ? `  • ${paper.authorCount} authors\n·\n` : ''}${paper.publishedOn ? 'Jun 28, 2023\n' : ''}`,
    }));
}

function synthesize(dir: string): string[] {
  const blocks = sampleBlocks();
  const files: string[] = [];
  for (let written = 0, fileIndex = 0; written < totalPapers; fileIndex++) {
    const count = Math.min(perFile, totalPapers - written);
    const parts = ['new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n'];
    for (let i = 0; i < count; i++) {
      const block = blocks[(written + i) % blocks.length]!;
      parts.push(`${block.title} (variant ${written + i})\n\n${block.rest}`);
    }
    const path = join(dir, `dump-${String(fileIndex).padStart(5, '0')}.txt`);
    writeFileSync(path, parts.join('\n'));
    files.push(path);
    written += count;
  }
  return files;
}

const rssMb = () => process.memoryUsage().rss / 1024 ** 2;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

const workDir = join(tmpdir(), `paperboy-bench-ingest-${process.pid}`);
mkdirSync(workDir, { recursive: true });
try {
  const files = synthesize(workDir);
  console.log(`corpus: ${totalPapers.toLocaleString()} papers in ${files.length} files (${perFile}/file) under ${workDir}`);

  let start = performance.now();
  let parsed = 0;
  for (const file of files) parsed += parseListing(readFileSync(file), { now }).papers.length;
  const parseSeconds = (performance.now() - start) / 1000;

  const store = openSqliteStore(join(workDir, 'bench.db'));
  const deps = { store, clock: fixedClock(now.toISOString()), maxListingBytes: 1024 ** 3 };
  const rssSamples: string[] = [];
  start = performance.now();
  let stored = 0;
  for (const [index, file] of files.entries()) {
    stored += (await ingestListing(read(file), deps)).papers;
    if ((index + 1) % Math.ceil(files.length / 4) === 0 || index === files.length - 1) {
      rssSamples.push(`${Math.round(((index + 1) / files.length) * 100)}%: ${rssMb().toFixed(0)} MB`);
    }
  }
  const storeSeconds = (performance.now() - start) / 1000;
  const storedPapers = (await store.countPapers()).papers;
  await store.close();

  // Baseline: the same inserts, one autocommit transaction per statement (no batching per file).
  const baselineStore = openSqliteStore(join(workDir, 'baseline.db'));
  const baselineRecords = parseListing(readFileSync(files[0]!), { now }).papers.slice(0, 300);
  start = performance.now();
  for (const record of baselineRecords) {
    const key = titleKey(record.title);
    if ((await baselineStore.papersMatching({ arxivIds: [], titleKeys: [key] })).length === 0) {
      await baselineStore.saveListingPapers(0, { inserts: [fieldsFromRecord(record, key)], updates: [], touches: [], links: [] }, now.toISOString());
    }
  }
  const baselineRate = baselineRecords.length / ((performance.now() - start) / 1000);
  await baselineStore.close();

  // The I/O share: the same ingest with the database on tmpfs (memory), where the disk costs nothing.
  let tmpfsRate: number | null = null;
  if (existsSync('/dev/shm')) {
    const shmDir = mkdtempSync('/dev/shm/paperboy-bench-');
    const shmStore = openSqliteStore(join(shmDir, 'bench.db'));
    start = performance.now();
    let shmStored = 0;
    for (const file of files) shmStored += (await ingestListing(read(file), { ...deps, store: shmStore })).papers;
    tmpfsRate = shmStored / ((performance.now() - start) / 1000);
    await shmStore.close();
    rmSync(shmDir, { recursive: true, force: true });
  }

  const storeRate = stored / storeSeconds;
  console.table({
    'parse only': { 'papers/s': Math.round(parsed / parseSeconds), seconds: parseSeconds.toFixed(2) },
    'parse + store (1 tx per file)': { 'papers/s': Math.round(storeRate), seconds: storeSeconds.toFixed(2) },
    ...(tmpfsRate ? { 'parse + store, database on tmpfs': { 'papers/s': Math.round(tmpfsRate), seconds: (totalPapers / tmpfsRate).toFixed(2) } } : {}),
    'baseline: autocommit per paper': { 'papers/s': Math.round(baselineRate), seconds: '(300 papers)' },
  });
  console.log(`distinct papers stored: ${storedPapers.toLocaleString()} (expected ${totalPapers.toLocaleString()})`);
  console.log(`RSS as the corpus grows: ${rssSamples.join(', ')}; peak RSS ${peakRssMb().toFixed(0)} MB`);
  console.log(`speedup over baseline: ${(storeRate / baselineRate).toFixed(1)}×; target ≥ 100,000 papers/s parse+store: ${storeRate >= 100_000 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
