import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { fixedClock } from '../../src/clock.ts';
import { ingestSources } from '../../src/ingest/ingest.ts';
import type { ProgressEvent } from '../../src/model/progress.ts';
import { deliverQueued, runDigests } from '../../src/pipeline/run.ts';
import { pathsSource } from '../../src/sources/files.ts';
import { DUMP_FILES, HF_API_SAMPLE, tempDir } from '../helpers/paths.ts';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function open(dir: string): App {
  app = openApp({
    clock: fixedClock('2026-11-23T07:00:00.000Z'),
    env: {
      PAPERBOY_DB: join(dir, 'paperboy.db'),
      PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
      PAPERBOY_LOG_LEVEL: 'silent',
    },
  });
  return app;
}

/** The HF API sample grown to `count` distinct papers: one large listing. */
function largeListing(dir: string, count: number): string {
  const [entry] = JSON.parse(readFileSync(HF_API_SAMPLE, 'utf8')) as [{ paper: { id: string; title: string } }];
  const entries = Array.from({ length: count }, (_, index) => ({
    ...entry,
    paper: { ...entry.paper, id: `2410.${String(10000 + index)}`, title: `Paper number ${index}` },
    title: `Paper number ${index}`,
  }));
  const path = join(dir, 'large.json');
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

const byStage = (events: ProgressEvent[], stage: ProgressEvent['stage']) => events.filter((event) => event.stage === stage).map(({ added, done }) => ({ added, done }));

describe('progress events', () => {
  it('count papers within a single listing, in batches, while it is ingested', async () => {
    const dir = tempDir();
    const { store, clock } = open(dir);
    const events: ProgressEvent[] = [];
    const report = await ingestSources([pathsSource([largeListing(dir, 250)])], { store, clock, maxListingBytes: 20 * 1024 ** 2, onProgress: (event) => events.push(event) });
    expect(report.totals).toMatchObject({ files: 1, papers: 250, new: 250 });
    // Read as it is parsed, then counted as each paper's merge is decided.
    expect(byStage(events, 'ingest')).toEqual([
      { added: 100, done: undefined },
      { added: 100, done: undefined },
      { added: 50, done: undefined },
      { added: undefined, done: 100 },
      { added: undefined, done: 100 },
      { added: undefined, done: 50 },
    ]);
    expect(events).toHaveLength(6);
  });

  it('count a run\'s papers, its digests as they are queued and its messages as they are delivered', async () => {
    const dir = tempDir();
    const opened = open(dir);
    for (const email of ['ada@example.org', 'grace@example.org', 'alan@example.org']) {
      await opened.store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', '2026-11-01T00:00:00.000Z');
    }
    mkdirSync(opened.config.inboxDir, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(opened.config.inboxDir, basename(DUMP_FILES[0]!)));
    const events: ProgressEvent[] = [];
    const report = await runDigests({ ...opened.pipeline(), onProgress: (event) => events.push(event) }, { trigger: 'manual' });
    expect(report).toMatchObject({ due: 3, queued: 3, ingest: { files: 1, papers: 20 }, delivery: { sent: 3 } });

    expect(byStage(events, 'ingest')).toEqual([
      { added: 20, done: undefined },
      { added: undefined, done: 20 },
    ]);
    const one = { added: undefined, done: 1 };
    expect(byStage(events, 'queue')).toEqual([{ added: 3, done: undefined }, one, one, one]);
    expect(byStage(events, 'deliver')).toEqual([{ added: 3, done: undefined }, one, one, one]);
    expect(events.map((event) => event.stage)).toEqual(['ingest', 'ingest', 'queue', 'queue', 'queue', 'queue', 'deliver', 'deliver', 'deliver', 'deliver']);
  });

  it('take back what they announced when a listing turns out unreadable half-way', async () => {
    const dir = tempDir();
    const { store, clock } = open(dir);
    const good = JSON.parse(readFileSync(largeListing(dir, 150), 'utf8')) as object[];
    const path = join(dir, 'broken.json');
    // Entry 151 has no paper: the HF API parser rejects the listing after reading 150 entries.
    writeFileSync(path, JSON.stringify([...good, { title: 'no paper here' }]));
    const events: ProgressEvent[] = [];
    const report = await ingestSources([pathsSource([path])], { store, clock, maxListingBytes: 20 * 1024 ** 2, onProgress: (event) => events.push(event) });
    expect(report.totals.failed).toBe(1);
    expect(byStage(events, 'ingest')).toEqual([
      { added: 100, done: undefined },
      { added: -100, done: undefined },
    ]);
  });

  it('count nothing to deliver as nothing', async () => {
    const events: ProgressEvent[] = [];
    const report = await deliverQueued({ ...open(tempDir()).pipeline(), onProgress: (event) => events.push(event) });
    expect(report.delivery.sent).toBe(0);
    expect(events).toEqual([{ stage: 'deliver', added: 0 }]);
  });
});
