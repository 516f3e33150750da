import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { DUMP_FILES, REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

let dir: string;
let settings: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox') };
});

describe('paperboy ingest (subprocess)', () => {
  it('ingests the five dumps: 290 entries, 241 new; a second run adds nothing', () => {
    const first = runCli(['ingest', ...DUMP_FILES, '--json'], settings);
    expect(first.status).toBe(0);
    expect(first.json().totals).toEqual({ files: 5, papers: 290, new: 241, updated: 6, failed: 0 });
    expect(first.json().files[1]).toMatchObject({ path: DUMP_FILES[1], format: 'hf-dump', papers: 56, new: 52, updated: 4, status: 'ingested', error: null });

    const second = runCli(['ingest', ...DUMP_FILES, '--json'], settings);
    expect(second.status).toBe(0);
    expect(second.json().totals).toEqual({ files: 5, papers: 0, new: 0, updated: 0, failed: 0 });
    expect(second.json().files.map((file: { status: string }) => file.status)).toEqual(Array(5).fill('already-ingested'));
  });

  it('says "already ingested" in its human summary', () => {
    runCli(['ingest', DUMP_FILES[0]!], settings);
    const again = runCli(['ingest', DUMP_FILES[0]!], settings);
    expect(again.stdout).toContain(`skipped   ${DUMP_FILES[0]}: already ingested`);
  });

  it('exits 1 when a file fails, names it in one stderr line, and still ingests the rest', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const result = runCli(['ingest', empty, DUMP_FILES[0]!, '--json'], settings);
    expect(result.status).toBe(1);
    expect(result.json().totals).toEqual({ files: 2, papers: 20, new: 20, updated: 0, failed: 1 });
    expect(result.json().files[0]).toMatchObject({ status: 'failed', error: `${empty}: the file is empty` });
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${empty}: the file is empty`)]);
  });

  it('with no paths, ingests the inbox and files each listing away', () => {
    const inbox = settings.PAPERBOY_INBOX!;
    mkdirSync(inbox, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(inbox, basename(DUMP_FILES[0]!)));
    writeFileSync(join(inbox, 'page.html'), '<html><body>oops</body></html>');
    const result = runCli(['ingest', '--json'], settings);
    expect(result.status).toBe(1);
    expect(result.json().totals).toMatchObject({ files: 2, papers: 20, new: 20, failed: 1 });
    expect(readdirSync(inbox).sort()).toEqual(['archive', 'failed']);
    expect(readdirSync(join(inbox, 'archive'))).toEqual([basename(DUMP_FILES[0]!)]);
    expect(readdirSync(join(inbox, 'failed'))).toEqual(['page.html']);
  });
});

describe('paperboy papers', () => {
  it('lists stored papers with id, title, first_seen and sources', () => {
    runCli(['ingest', DUMP_FILES[0]!, DUMP_FILES[4]!], settings);
    const result = runCli(['papers', '--json', '--limit', '3'], settings);
    expect(result.status).toBe(0);
    const { papers, count } = result.json();
    expect(count).toBe(3);
    expect(Object.keys(papers[0]).sort()).toEqual(
      ['arxiv_id', 'author_count', 'authors', 'comments', 'evidence', 'first_seen', 'id', 'last_seen', 'organization', 'primary_topic', 'published_on', 'sources', 'title', 'topics', 'upvotes'].sort(),
    );
    for (const paper of papers) {
      expect(paper.topics[0]).toBe(paper.primary_topic);
      expect(paper.topics.length).toBeLessThanOrEqual(3);
      expect(Object.keys(paper.evidence)).toEqual(paper.topics);
      expect(paper.evidence[paper.primary_topic].length).toBeGreaterThan(0);
    }
    const all = runCli(['papers', '--json'], settings).json();
    expect(all.count).toBe(78);
    const shared = all.papers.filter((paper: { sources: string[] }) => paper.sources.length === 2);
    expect(shared).toHaveLength(4);
    expect(shared[0].sources).toEqual([DUMP_FILES[0], DUMP_FILES[4]]);
  });

  it('filters by --since', () => {
    runCli(['ingest', DUMP_FILES[0]!], settings);
    expect(runCli(['papers', '--json', '--since', '2999-01-01'], settings).json()).toEqual({ papers: [], count: 0 });
  });
});

describe('terminal output', () => {
  it('writes out control characters and bidi overrides in stored text instead of printing them', async () => {
    // Text stored before the ingest boundary stripped such characters (or by another tool).
    const store = openSqliteStore(settings.PAPERBOY_DB!);
    const listing = await store.insertListing({ origin: 'old.txt', contentHash: 'old', format: 'hf-dump', listedOn: null, ingestedAt: '2026-11-20T07:00:00.000Z' });
    const title = 'Paper \u001b]0;owned\u0007 \u202Egnp.exe';
    await store.saveListingPapers(
      listing,
      {
        inserts: [{ key: 'title-0123456789', arxivId: null, titleKey: 'paper owned gnp exe', title, abstract: 'x', authors: [], authorCount: null, organization: null, publishedOn: null, upvotes: null, comments: null, keywords: [], categories: [], links: {} }],
        updates: [],
        touches: [],
        links: [{ paper: { inserted: 0 }, position: 0 }],
      },
      '2026-11-20T07:00:00.000Z',
    );
    await store.close();
    const listed = runCli(['papers'], settings);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('Paper \\u{1b}]0;owned\\u{7} \\u{202e}gnp.exe');
    expect(listed.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
    const explained = runCli(['explain', 'title-0123456789'], settings);
    expect(explained.stdout.split('\n')[0]).toBe('title-0123456789  Paper \\u{1b}]0;owned\\u{7} \\u{202e}gnp.exe');
    // --json is for programs: JSON escapes controls itself, and the text is kept as stored.
    expect(runCli(['papers', '--json'], settings).json().papers[0].title).toBe(title);
  });
});

describe('paperboy topics, papers --topic, explain', () => {
  it('counts papers per topic, lists one topic, and explains a paper', () => {
    runCli(['ingest', ...DUMP_FILES], settings);
    const topics = runCli(['topics', '--json'], settings).json();
    expect(topics.topics.map((topic: { id: string }) => topic.id)).toEqual([
      'reasoning', 'code', 'agents', 'data', 'efficiency', 'multimodal', 'generative', 'rl-alignment',
      'sciml', 'optimization', 'graphs', 'theory', 'nlp', 'speech-audio', 'robotics', 'other',
    ]);
    expect(topics.topics.reduce((sum: number, topic: { papers: number }) => sum + topic.papers, 0)).toBe(241);
    const sciml = topics.topics.find((topic: { id: string }) => topic.id === 'sciml');
    expect(sciml.examples.length).toBe(3);

    const listed = runCli(['papers', '--topic', 'sciml', '--json'], settings).json();
    expect(listed.count).toBe(sciml.papers);
    expect(listed.papers.every((paper: { primary_topic: string }) => paper.primary_topic === 'sciml')).toBe(true);

    const paper = listed.papers[0];
    const explained = runCli(['explain', paper.id, '--json'], settings).json();
    expect(explained).toMatchObject({ id: paper.id, title: paper.title, primary_topic: 'sciml', taxonomy_version: topics.taxonomy_version });
    expect(explained.scores[0]).toMatchObject({ topic: 'sciml', evidence: paper.evidence.sciml });
    expect(runCli(['explain', paper.title, '--json'], settings).json().id).toBe(paper.id);

    const unknown = runCli(['papers', '--topic', 'astrology'], settings);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^paperboy: unknown topic "astrology"; topics are: reasoning, code, /);
    expect(runCli(['explain', 'no-such-paper'], settings).stderr).toBe('paperboy: no stored paper "no-such-paper" (ids are listed by `paperboy papers`)\n');
  });
});

describe('reclassification', () => {
  it('files every paper again when the topic file changes, and records the new version', async () => {
    runCli(['ingest', DUMP_FILES[0]!], settings);
    const before = runCli(['papers', '--json'], settings).json().papers;
    const topicsFile = join(dir, 'topics.yaml');
    // An operator adds a term: "Bayesian" now counts strongly for graphs.
    const original = readFileSync(join(REPO_ROOT, 'data/topics.yaml'), 'utf8');
    const edited = original.replace(/(- id: graphs[\s\S]*?strong: \[)/, '$1Bayesian, ');
    expect(edited).not.toBe(original);
    writeFileSync(topicsFile, edited);
    const changed = { ...settings, PAPERBOY_TOPICS: topicsFile };
    const ingestAgain = runCli(['ingest', DUMP_FILES[0]!, '--json'], changed).json();
    expect(ingestAgain.filed).toBe(20);
    // Every paper is filed by the new version: none waits to be filed under it.
    const store = openSqliteStore(settings.PAPERBOY_DB!);
    const version = runCli(['topics', '--json'], changed).json().taxonomy_version;
    expect(await store.papersToClassify(version, 100)).toEqual([]);
    expect(await store.papersToClassify(`${version}-other`, 100)).toHaveLength(20);
    await store.close();
    const after = runCli(['papers', '--json'], changed).json().papers;
    const tensorPaper = after.find((paper: { title: string }) => paper.title.startsWith('Functional Bayesian Tucker Decomposition'));
    expect(tensorPaper.topics).toContain('graphs');
    expect(before.find((paper: { id: string }) => paper.id === tensorPaper.id).evidence).not.toEqual(tensorPaper.evidence);
  });

  it('a broken topic file stops the command with the line and field at fault', () => {
    const topicsFile = join(dir, 'topics.yaml');
    writeFileSync(topicsFile, readFileSync(join(REPO_ROOT, 'data/topics.yaml'), 'utf8').replace('- id: graphs', '- id: Graphs!'));
    const result = runCli(['topics'], { ...settings, PAPERBOY_TOPICS: topicsFile });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^paperboy: ${topicsFile.replace(/[.]/g, '\\.')}:\\d+: topics\\[10\\]\\.id: `));
  });
});

describe('usage and configuration errors', () => {
  it.each([
    [['ingest', '--bogus']],
    [['papers', '--limit', 'many']],
    [['papers', '--since', 'yesterday']],
    [['frobnicate']],
  ])('%j exits 2', (args) => {
    const result = runCli(args, settings);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('an invalid PAPERBOY_* value exits 2 with one line naming the variable', () => {
    const result = runCli(['papers'], { ...settings, PAPERBOY_MAX_LISTING_BYTES: 'lots' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('paperboy: PAPERBOY_MAX_LISTING_BYTES="lots" is invalid: expected a size such as 20MB, 512KB or 1048576 (see .env.example)\n');
    expect(existsSync(settings.PAPERBOY_DB!)).toBe(false);
  });

  it.each([['ingest'], ['papers'], ['start']])('%s --help exits 0 and documents --json', (command) => {
    const result = runCli([command, '--help'], settings);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Usage: paperboy ${command}`);
    expect(result.stdout).toContain('--json');
  });
});
