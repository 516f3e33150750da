import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { runCli } from '../helpers/cli.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';

let dir: string;
let settings: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_PUBLIC_URL: 'https://digest.example.org' };
});

/** What a command could have recorded about subscribers, read back through the store. */
const tableCounts = async (path: string) => {
  const store = openSqliteStore(path);
  const subscribers = await store.listSubscribers({});
  let deliveries = 0;
  for (const subscriber of subscribers) deliveries += (await store.deliveredPaperIds(subscriber.id)).length;
  const result = { subscribers: subscribers.length, deliveries, lastDigests: subscribers.filter((subscriber) => subscriber.lastDigestAt !== null).length, outbox: await store.outboxCounts() };
  await store.close();
  return result;
};

describe('paperboy subscribers', () => {
  it('reactivates a bounced address: active again, bounces forgotten; an active one is refused with exit 1', async () => {
    const store = openSqliteStore(settings.PAPERBOY_DB!);
    await store.insertSubscriber({ email: 'gone@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'bounced', '2026-11-20T07:00:00.000Z');
    await store.close();
    const refusedAdd = runCli(['subscribers', 'add', 'gone@example.org'], settings);
    expect(refusedAdd.stderr).toBe('paperboy: gone@example.org is already a subscriber (bounced); `paperboy subscribers reactivate gone@example.org` takes them back\n');
    const reactivated = runCli(['subscribers', 'reactivate', 'gone@example.org', '--json'], settings);
    expect(reactivated.status).toBe(0);
    expect(reactivated.json()).toMatchObject({ subscriber: { email: 'gone@example.org', status: 'active' }, was: 'bounced', suppression: null });
    const again = runCli(['subscribers', 'reactivate', 'gone@example.org'], settings);
    expect([again.status, again.stderr]).toEqual([1, 'paperboy: gone@example.org is active: only bounced or unsubscribed addresses are reactivated\n']);
  });

  it('adds, lists and removes', async () => {
    expect(runCli(['subscribers', 'add', 'Ada@Example.com', '--name', 'Ada', '--topics', 'code,agents', '--frequency', 'weekly', '--weekday', 'thu'], settings).status).toBe(0);
    const list = runCli(['subscribers', 'list', '--json'], settings).json();
    expect(list.subscribers).toEqual([
      expect.objectContaining({ email: 'ada@example.com', name: 'Ada', status: 'active', topics: ['code', 'agents'], frequency: 'weekly', weekday: 'thu' }),
    ]);
    expect(list.by_status).toEqual({ pending: 0, active: 1, unsubscribed: 0, bounced: 0 });
    const again = runCli(['subscribers', 'add', 'ada@example.com'], settings);
    expect([again.status, again.stderr]).toEqual([1, 'paperboy: ada@example.com is already a subscriber (active)\n']);
    expect(runCli(['subscribers', 'remove', 'ada@example.com'], settings).status).toBe(0);
    expect(runCli(['subscribers', 'list', '--json'], settings).json().count).toBe(0);
  });

  it('rejects an invalid address or topic and writes nothing', async () => {
    const badTopic = runCli(['subscribers', 'add', 'a@b.org', '--topics', 'astrology'], settings);
    expect(badTopic.status).toBe(2);
    expect(badTopic.stderr).toMatch(/^paperboy: topics: unknown topic "astrology" \(known: reasoning, code, /);
    expect(runCli(['subscribers', 'add', 'a@b'], settings).stderr).toBe('paperboy: email: "a@b" is not a valid email address\n');
    expect((await tableCounts(settings.PAPERBOY_DB!)).subscribers).toBe(0);
  });

  it('imports a CSV all or nothing, and exports a file that imports as it is', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'email,name,topics\nok@example.com,Ok,all\nnope,No,all\n');
    const failed = runCli(['subscribers', 'import', bad, '--json'], settings);
    expect(failed.status).toBe(1);
    expect(failed.json()).toEqual({ file: bad, added: 0, existing: 0, errors: [{ line: 3, message: 'email: "nope" is not a valid email address' }] });
    expect((await tableCounts(settings.PAPERBOY_DB!)).subscribers).toBe(0);

    const good = join(dir, 'good.csv');
    writeFileSync(good, 'email,name,topics,frequency,weekday\nok@example.com,Ok,all,daily,\nw@example.com,W,code;data,weekly,sun\n');
    expect(runCli(['subscribers', 'import', good, '--json'], settings).json()).toEqual({ file: good, added: 2, existing: 0, errors: [] });
    expect(runCli(['subscribers', 'import', good, '--json'], settings).json()).toMatchObject({ added: 0, existing: 2 });

    const exported = join(dir, 'export.csv');
    runCli(['subscribers', 'export', '--out', exported], settings);
    const other = { ...settings, PAPERBOY_DB: join(dir, 'other.db') };
    expect(runCli(['subscribers', 'import', exported, '--json'], other).json()).toMatchObject({ added: 2, errors: [] });
    expect(runCli(['subscribers', 'list', '--json'], other).json().subscribers.map((s: { email: string; weekday: string }) => [s.email, s.weekday])).toEqual([
      ['ok@example.com', null],
      ['w@example.com', 'sun'],
    ]);
  });
});

describe('paperboy preview', () => {
  it('renders the next digest to a file and records nothing', async () => {
    runCli(['ingest', DUMP_FILES[0]!, DUMP_FILES[1]!], settings);
    runCli(['subscribers', 'add', 'reader@example.org', '--topics', 'all'], settings);
    const before = await tableCounts(settings.PAPERBOY_DB!);
    const out = join(dir, 'digest.html');
    const result = runCli(['preview', 'reader@example.org', '--out', out, '--json'], settings);
    expect(result.status).toBe(0);
    const preview = result.json();
    expect(preview.papers + preview.omitted).toBe(72);
    expect(preview.subject).toMatch(/^\d+ new papers: /);
    expect(preview.scores).toHaveLength(preview.papers);
    for (const { score } of preview.scores) expect(score.total).toBeCloseTo(score.engagement + score.recency + score.position + score.topic, 2);
    // The parts of src/digest/rank.ts, per paper.
    expect(Object.keys(preview.scores[0])).toEqual(['id', 'topic', 'carried', 'score']);
    expect(Object.keys(preview.scores[0].score)).toEqual(['engagement', 'recency', 'position', 'topic', 'total']);
    expect(preview.out).toBe(out);
    const html = readFileSync(out, 'utf8');
    expect(Buffer.byteLength(html)).toBe(preview.html_bytes);
    // Handlebars writes `=` in attributes as `&#x3D;`, which a browser reads back as `=`.
    expect(html.replaceAll('&#x3D;', '=')).toContain('href="https://digest.example.org/unsubscribe?token=');
    expect(await tableCounts(settings.PAPERBOY_DB!)).toEqual(before);

    const text = runCli(['preview', 'reader@example.org', '--text'], settings);
    expect(text.stdout).toContain('https://digest.example.org/preferences?token=');
    expect(existsSync(join(dir, 'secret'))).toBe(true);
  });

  it('says so when nothing is new, and fails for an unknown subscriber', async () => {
    runCli(['subscribers', 'add', 'reader@example.org'], settings);
    expect(runCli(['preview', 'reader@example.org'], settings).stdout).toMatch(/^Nothing new for reader@example.org since /);
    const unknown = runCli(['preview', 'nobody@example.org'], settings);
    expect([unknown.status, unknown.stderr]).toEqual([1, 'paperboy: no subscriber nobody@example.org (see `paperboy subscribers list`)\n']);
  });
});
