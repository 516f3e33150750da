/**
 * Ingest benchmark: synthesizes a large corpus of HF dump files from the real sample blocks
 * (every paper made distinct by a numbered title), then measures
 *   1. parse alone (papers/s),
 *   2. parse + store into a fresh SQLite file, one transaction per file (papers/s),
 *   3. resident memory as the corpus grows (it should stay flat: files are streamed one by one),
 * and, in the same run and file by file in turn with 2, the baseline: a bare better-sqlite3
 * insert of the same rows (each file's listing, papers and listing links, parsed and mapped
 * beforehand, untimed) through the adapter's own prepared statements into a fresh database
 * with the same schema, indexes and pragmas, one transaction per file as ingest commits
 * them; then both again with the databases on tmpfs, which shows how much of the time is
 * disk I/O.
 *
 *   npm run bench:ingest -- [--papers 120000] [--per-file 600]
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
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { paperParams } from '../src/store/rows.ts';
import { prepareStatements } from '../src/store/sqlite/statements.ts';
import { openSqliteStore, SQLITE_CACHE_KIB } from '../src/store/sqlite/store.ts';

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

interface PairedRates {
  ingested: number;
  ingestSeconds: number;
  bareInserted: number;
  bareSeconds: number;
  storedPapers: number;
}

/**
 * Ingest (into `dir`/bench.db, through the store) and the baseline (into `dir`/bare.db),
 * file by file in turn, the one that goes first alternating: both databases grow together
 * and both see the same disk, page cache and machine load, whichever phase the machine is
 * in. (Run one after the other, the second paid for the first's writeback, and the figures
 * swung by half between runs.)
 *
 * The baseline is a bare better-sqlite3 insert of the same rows: each file's listing,
 * papers and listing links, parsed and mapped beforehand (untimed), through the adapter's
 * own prepared statements, into a database with the adapter's schema, indexes and pragmas,
 * one transaction per file as ingest commits them.
 */
async function ingestBesideBareInsert(files: readonly string[], dir: string, onQuarter?: (fraction: number) => void): Promise<PairedRates> {
  const store = openSqliteStore(join(dir, 'bench.db'));
  const deps = { store, clock: fixedClock(now.toISOString()), maxListingBytes: 1024 ** 3 };
  const barePath = join(dir, 'bare.db');
  await openSqliteStore(barePath).close();
  const bare = new Database(barePath);
  for (const pragma of ['journal_mode = WAL', 'synchronous = NORMAL', `cache_size = -${SQLITE_CACHE_KIB}`, 'temp_store = MEMORY', 'foreign_keys = ON']) bare.pragma(pragma);
  const bareSql = prepareStatements(bare);

  const rates = { ingested: 0, ingestSeconds: 0, bareInserted: 0, bareSeconds: 0, storedPapers: 0 };
  const ingestOne = async (file: string) => {
    const start = performance.now();
    rates.ingested += (await ingestListing(read(file), deps)).papers;
    rates.ingestSeconds += (performance.now() - start) / 1000;
  };
  const insertBare = (file: string) => {
    const bytes = readFileSync(file);
    const listing = { origin: file, contentHash: createHash('sha256').update(bytes).digest('hex'), format: 'hf-dump', listedOn: null, ingestedAt: now.toISOString() };
    const papers = parseListing(bytes, { now }).papers.map((record) => paperParams(fieldsFromRecord(record, titleKey(record.title)), now.toISOString()));
    const start = performance.now();
    bare.transaction(() => {
      const listingId = Number(bareSql.insertListing.run(listing).lastInsertRowid);
      papers.forEach((params, position) => {
        const paperId = Number(bareSql.insertPaper.run(params).lastInsertRowid);
        bareSql.linkPaper.run(paperId, listingId, position);
      });
    }).immediate();
    rates.bareSeconds += (performance.now() - start) / 1000;
    rates.bareInserted += papers.length;
  };
  for (const [index, file] of files.entries()) {
    if (index % 2 === 0) {
      await ingestOne(file);
      insertBare(file);
    } else {
      insertBare(file);
      await ingestOne(file);
    }
    if ((index + 1) % Math.ceil(files.length / 4) === 0 || index === files.length - 1) onQuarter?.((index + 1) / files.length);
  }
  rates.storedPapers = (await store.countPapers()).papers;
  await store.close();
  bare.close();
  return rates;
}

const workDir = join(tmpdir(), `paperboy-bench-ingest-${process.pid}`);
mkdirSync(workDir, { recursive: true });
try {
  const files = synthesize(workDir);
  console.log(`corpus: ${totalPapers.toLocaleString()} papers in ${files.length} files (${perFile}/file) under ${workDir}`);

  let start = performance.now();
  let parsed = 0;
  for (const file of files) parsed += parseListing(readFileSync(file), { now }).papers.length;
  const parseSeconds = (performance.now() - start) / 1000;

  const rssSamples: string[] = [];
  const disk = await ingestBesideBareInsert(files, workDir, (fraction) => {
    rssSamples.push(`${Math.round(fraction * 100)}%: ${rssMb().toFixed(0)} MB`);
  });
  // The I/O share: the same pair with the databases on tmpfs (memory), where the disk costs nothing.
  let tmpfs: PairedRates | null = null;
  if (existsSync('/dev/shm')) {
    const shmDir = mkdtempSync('/dev/shm/paperboy-bench-');
    try {
      tmpfs = await ingestBesideBareInsert(files, shmDir);
    } finally {
      rmSync(shmDir, { recursive: true, force: true });
    }
  }

  const row = (papers: number, seconds: number) => ({ 'papers/s': Math.round(papers / seconds), seconds: seconds.toFixed(2) });
  console.table({
    'parse only': row(parsed, parseSeconds),
    'parse + store (1 tx per file)': row(disk.ingested, disk.ingestSeconds),
    'baseline: bare insert of the same rows (1 tx per file)': row(disk.bareInserted, disk.bareSeconds),
    ...(tmpfs
      ? {
          'parse + store, databases on tmpfs': row(tmpfs.ingested, tmpfs.ingestSeconds),
          'baseline on tmpfs': row(tmpfs.bareInserted, tmpfs.bareSeconds),
        }
      : {}),
  });
  console.log(`distinct papers stored: ${disk.storedPapers.toLocaleString()} (expected ${totalPapers.toLocaleString()})`);
  console.log(`RSS as the corpus grows: ${rssSamples.join(', ')}; peak RSS ${peakRssMb().toFixed(0)} MB`);
  const share = (rates: PairedRates) => rates.bareSeconds / rates.bareInserted / (rates.ingestSeconds / rates.ingested);
  const onDisk = share(disk);
  console.log(`parse + store at ${Math.round(onDisk * 100)}% of the bare insert${tmpfs ? ` (${Math.round(share(tmpfs) * 100)}% on tmpfs)` : ''} (target ≥ 90%: ${onDisk >= 0.9 ? 'met' : 'NOT met'}); load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
