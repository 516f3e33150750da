import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { deliverQueued, runDigests as runPipeline, type RunOptions } from '../../src/pipeline/run.ts';
import { spoolFolderOf } from '../../src/store/sqlite/spool.ts';
import { isPaperboyError } from '../../src/errors.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { DATABASES } from '../helpers/databases.ts';
import { startSmtpSink, type SinkBehaviour, type SmtpSink } from '../helpers/smtp-sink.ts';

/** Real time plus an offset the test can move forward (retries wait in real time). */
function travellingClock(): Clock & { travel(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), sleep: systemClock.sleep, every: systemClock.every, travel: (ms) => (offset += ms) };
}

const DAY = 24 * 60 * 60 * 1000;
let dir: string;
let sink: SmtpSink;
let app: App;
let clock: ReturnType<typeof travellingClock>;
let database = DATABASES[0]!;
let databaseEnv: Record<string, string> = {};

async function setUp(behaviour: SinkBehaviour = {}, settings: Record<string, string> = {}) {
  dir = tempDir();
  sink = await startSmtpSink(behaviour);
  clock = travellingClock();
  databaseEnv = await database.env(dir);
  app = openApp({
    clock,
    env: {
      ...databaseEnv,
      PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
      PAPERBOY_FROM: 'Paperboy Digest <digest@papers.example.org>',
      PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
      PAPERBOY_SECRET: 'delivery-tests-secret-0123456789abcdef',
      PAPERBOY_RETRY_BASE_MS: '20',
      PAPERBOY_RETRY_WAIT_MS: '10000',
      PAPERBOY_LOG_LEVEL: 'silent',
      ...settings,
    },
  });
}

function dropIntoInbox(file: string) {
  mkdirSync(app.config.inboxDir, { recursive: true });
  copyFileSync(file, join(app.config.inboxDir, basename(file)));
}

const runDigests = (target: App, options: RunOptions) => runPipeline(target.pipeline(), options);

async function subscribe(email: string, topics: string[] | null = null, name: string | null = null) {
  return (await app.store.insertSubscriber({ email, name, topics, frequency: 'daily', weekday: null }, 'active', clock.now().toISOString()))!;
}

/** Titles of the papers recorded as delivered to a subscriber (the "previously sent" record). */
async function deliveredTitles(subscriberId: number): Promise<string[]> {
  const titles = new Map((await app.store.listPapers({})).map((paper) => [paper.id, paper.title]));
  return (await app.store.deliveredPaperIds(subscriberId)).map((id) => titles.get(id)!).sort();
}

const header = (mail: ParsedMail, name: string) => mail.headerLines.filter((line) => line.key === name).map((line) => line.line);

afterEach(async () => {
  await app?.close();
  await sink?.close();
});

describe.each(DATABASES)('a run against a real SMTP server ($name)', (adapter) => {
  beforeEach(() => {
    database = adapter;
  });

  beforeEach(() => setUp());

  it('delivers one digest per due subscriber with the standard headers, both parts and the right papers', async () => {
    const ada = await subscribe('ada@example.org', null, 'Ada Lovelace');
    const grace = await subscribe('grace@example.org', ['code', 'agents', 'reasoning']);
    dropIntoInbox(DUMP_FILES[0]!);
    const report = await runDigests(app, { trigger: 'manual' });
    expect(report).toMatchObject({ status: 'done', due: 2, queued: 2, delivery: { sent: 2, failed: 0, deferred: 0 } });
    expect(report.ingest).toMatchObject({ files: 1, new: 20 });

    const mails = sink.byRecipient();
    expect([...mails.keys()].sort()).toEqual(['ada@example.org', 'grace@example.org']);
    const adaMail = mails.get('ada@example.org')![0]!;
    expect(adaMail.from?.text).toBe('"Paperboy Digest" <digest@papers.example.org>');
    expect(adaMail.to && !Array.isArray(adaMail.to) && adaMail.to.text).toBe('"Ada Lovelace" <ada@example.org>');
    expect(adaMail.messageId).toMatch(/^<[a-z0-9]+\.1\.[0-9a-f]{12}@papers\.example\.org>$/);
    expect(adaMail.date).toBeInstanceOf(Date);
    expect(header(adaMail, 'list-id')).toEqual(['List-ID: "Paperboy digest" <digest.papers.example.org>']);
    const list = adaMail.headers.get('list') as { unsubscribe: { url: string; mail: string } };
    const unsubscribe = list.unsubscribe;
    expect(unsubscribe.url).toMatch(/^https:\/\/papers\.example\.org\/unsubscribe\?token=[\w-]+\.[\w-]+$/);
    expect(unsubscribe.mail).toBe('digest@papers.example.org?subject=unsubscribe');
    expect(header(adaMail, 'list-unsubscribe-post')).toEqual(['List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
    expect(adaMail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(adaMail.text).toContain('https://papers.example.org/unsubscribe?token=');
    expect(adaMail.html).toContain('<html');

    // Every paper recorded as delivered is in the mail, and the mail has no other.
    expect(await deliveredTitles(ada.id)).toHaveLength(20);
    for (const title of await deliveredTitles(ada.id)) expect(adaMail.text).toContain(title.slice(0, 40));
    const graceTitles = await deliveredTitles(grace.id);
    expect(graceTitles.length).toBeGreaterThan(0);
    expect(graceTitles.length).toBeLessThan(20);
    const graceMail = mails.get('grace@example.org')![0]!;
    for (const title of (await deliveredTitles(ada.id)).filter((title) => !graceTitles.includes(title))) {
      expect(graceMail.text).not.toContain(title.slice(0, 40));
    }
  });

  it('sends nothing on a second run, and only the new papers after a new listing', async () => {
    const ada = await subscribe('ada@example.org');
    dropIntoInbox(DUMP_FILES[0]!);
    await runDigests(app, { trigger: 'scheduled' });
    expect(sink.accepted).toHaveLength(1);

    const again = await runDigests(app, { trigger: 'scheduled' });
    expect(again).toMatchObject({ due: 0, queued: 0, delivery: { sent: 0 } });
    const forced = await runDigests(app, { trigger: 'manual', force: true });
    expect(forced).toMatchObject({ due: 1, queued: 0, nothing_new: 1 });
    expect(sink.accepted).toHaveLength(1);

    clock.travel(DAY);
    dropIntoInbox(DUMP_FILES[4]!); // 62 entries; 4 of them were in dump 000
    const next = await runDigests(app, { trigger: 'scheduled' });
    expect(next).toMatchObject({ due: 1, queued: 1, delivery: { sent: 1 } });
    expect(sink.accepted).toHaveLength(2);
    const delivered = await deliveredTitles(ada.id);
    expect(new Set(delivered).size).toBe(delivered.length);
    // 58 papers are new; the per-topic cap (10) leaves some out, noted as "N more".
    expect(next.papers).toBeGreaterThan(30);
    expect(next.papers + next.nothing_new).toBeLessThanOrEqual(50);
    expect(delivered.length).toBe(20 + next.papers);
    expect(sink.accepted[1]!.subject).toMatch(new RegExp(`^${next.papers} new papers: `));
    const secondText = sink.accepted[1]!.text ?? '';
    // Each delivered paper is in exactly one of the two digests.
    for (const title of await deliveredTitles(ada.id)) expect(sink.accepted[0]!.text?.includes(title.slice(0, 40)) !== secondText.includes(title.slice(0, 40))).toBe(true);
  });

  it('a dry run renders and reports, and sends and records nothing', async () => {
    await subscribe('ada@example.org');
    dropIntoInbox(DUMP_FILES[0]!);
    await runDigests(app, { trigger: 'manual' });
    clock.travel(DAY);
    dropIntoInbox(DUMP_FILES[1]!);
    const tables = async () => ({
      runs: (await app.store.recentRuns(1000)).length,
      outbox: await app.store.outboxCounts(),
      delivered: (await app.store.deliveredPaperIds(1)).length,
      papers: await app.store.countPapers(),
    });
    const before = await tables();
    const dry = await runDigests(app, { trigger: 'manual', dryRun: true });
    expect(dry).toMatchObject({ dry_run: true, run_id: null, due: 1, queued: 0, ingest: { pending_files: 1 } });
    expect(await tables()).toEqual(before);
    expect(sink.accepted).toHaveLength(1);
  });

  it('forgets sign-ups never confirmed within PAPERBOY_PENDING_TTL_HOURS', async () => {
    const stale = await app.store.insertSubscriber({ email: 'stale@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'pending', new Date(clock.now().getTime() - 49 * 3_600_000).toISOString())!;
    const fresh = await app.store.insertSubscriber({ email: 'fresh@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'pending', new Date(clock.now().getTime() - 47 * 3_600_000).toISOString())!;
    await runDigests(app, { trigger: 'scheduled' });
    expect(await app.store.subscriberById(stale!.id)).toBeUndefined();
    expect(await app.store.subscriberById(fresh!.id)).toMatchObject({ status: 'pending' });
  });

  it('refuses a second run while one holds the lease', async () => {
    await subscribe('ada@example.org');
    const other = openApp({ clock, env: { ...process.env, ...databaseEnv, PAPERBOY_LOG_LEVEL: 'silent' } });
    try {
      expect(await other.store.acquireLease('delivery', 'other-host:1:abcd', clock.now().toISOString(), new Date(clock.now().getTime() + 60_000).toISOString())).toBe(true);
      const error = await runDigests(app, { trigger: 'manual' }).catch((caught: unknown) => caught);
      expect(isPaperboyError(error, 'LEASE_HELD')).toBe(true);
      expect((error as Error).message).toMatch(/^another run is delivering \(pid 1 on other-host, lease until /);
      expect(sink.accepted).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe.each(DATABASES)('faults ($name)', (adapter) => {
  beforeEach(() => {
    database = adapter;
  });

  it('451s are retried, a dropped connection is retried, a 550 bounces: every good subscriber gets exactly one digest', async () => {
    await setUp({
      rcpt: (address, attempt) => (address.startsWith('slow') && attempt <= 2 ? 451 : address === 'gone@example.org' ? 550 : undefined),
      beforeAccept: (to, attempt) => (to === 'flaky@example.org' && attempt === 1 ? 'drop' : undefined),
    });
    const emails = ['ok1@example.org', 'slow1@example.org', 'slow2@example.org', 'gone@example.org', 'flaky@example.org', 'ok2@example.org'];
    const ids = new Map<string, number>();
    for (const email of emails) ids.set(email, (await subscribe(email)).id);
    dropIntoInbox(DUMP_FILES[0]!);
    const report = await runDigests(app, { trigger: 'scheduled' });

    const counts = Object.fromEntries([...sink.byRecipient()].map(([to, mails]) => [to, mails.length]));
    expect(counts).toEqual({ 'ok1@example.org': 1, 'slow1@example.org': 1, 'slow2@example.org': 1, 'flaky@example.org': 1, 'ok2@example.org': 1 });
    expect(report.delivery).toMatchObject({ sent: 5, failed: 1, bounced: 1, deferred: 0 });
    expect(report.delivery!.retried).toBeGreaterThanOrEqual(4);
    expect(await app.store.subscriberById(ids.get('gone@example.org')!)).toMatchObject({ status: 'bounced', hardBounces: 1 });
    expect(await deliveredTitles(ids.get('gone@example.org')!)).toEqual([]);
    for (const email of emails.filter((email) => email !== 'gone@example.org')) expect(await deliveredTitles(ids.get(email)!)).toHaveLength(20);
    expect((await app.store.recentRuns(1))[0]).toMatchObject({ status: 'done', sent: 5, failed: 1 });
    expect((await app.store.outboxProblems(10)).map((problem) => [problem.recipient, problem.status, problem.attempts, problem.lastError])).toEqual([
      ['gone@example.org', 'failed', 1, '550 Mailbox unavailable'],
    ]);

    const again = await runDigests(app, { trigger: 'scheduled' });
    expect(again.due).toBe(0);
    expect(sink.accepted).toHaveLength(5);
  });

  it('pauses instead of burning through the list when most attempts fail', async () => {
    await setUp({ rcpt: () => 550 }, { PAPERBOY_PAUSE_MIN_ATTEMPTS: '3', PAPERBOY_PAUSE_ERROR_RATE: '0.5', PAPERBOY_SMTP_POOL: '1' });
    for (let i = 0; i < 8; i++) await subscribe(`reader${i}@example.org`);
    dropIntoInbox(DUMP_FILES[0]!);
    const report = await runDigests(app, { trigger: 'scheduled' });
    expect(report.status).toBe('paused');
    expect(report.delivery).toMatchObject({ failed: 3, paused: true, deferred: 5 });
    expect(report.delivery!.pauseReason).toBe('3 of 3 attempts failed (over 50%): delivery paused');
    expect(sink.attempts.size).toBe(3);
  });

  it('signs with DKIM, list headers included, when configured', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await setUp({}, {
      PAPERBOY_DKIM_DOMAIN: 'papers.example.org',
      PAPERBOY_DKIM_SELECTOR: 'paperboy',
      PAPERBOY_DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    await subscribe('ada@example.org');
    dropIntoInbox(DUMP_FILES[0]!);
    await runDigests(app, { trigger: 'scheduled' });
    const [signature] = header(sink.accepted[0]!, 'dkim-signature');
    expect(signature).toMatch(/d=papers\.example\.org;/);
    expect(signature).toMatch(/s=paperboy;/);
    const signed = /;h=([^;]+);/.exec(signature!.replace(/\s+/g, ''))![1]!.toLowerCase().split(':');
    expect(signed).toEqual(expect.arrayContaining(['from', 'subject', 'date', 'message-id', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post']));
  });

  it('keeps CR/LF in stored names and subjects out of the headers', async () => {
    await setUp();
    const victim = await subscribe('victim@example.org');
    // The store keeps what it is given; validation is the boundary's job, so this name stands for one that slipped past it.
    await app.store.updatePreferences(victim.id, { ...victim, name: 'Eve\r\nBcc: attacker@example.org' });
    dropIntoInbox(DUMP_FILES[0]!);
    await runDigests(app, { trigger: 'scheduled' });
    const [mail] = sink.accepted;
    expect(mail!.headers.has('bcc')).toBe(false);
    expect(mail!.headerLines.some((line) => /^bcc:/i.test(line.line))).toBe(false);
    expect([...sink.attempts.keys()]).toEqual(['victim@example.org']);
  });
});

describe('delivery from the SQLite adapter\'s spool', () => {
  beforeEach(async () => {
    database = DATABASES[0]!;
    await setUp();
  });

  it('a message whose spooled bytes are gone fails for good and is counted in the delivery report; the others are sent', async () => {
    const now = clock.now().toISOString();
    const queue = async (email: string) => {
      const reader = await subscribe(email);
      const raw = Buffer.from(`From: digest@papers.example.org\r\nTo: ${email}\r\nSubject: Welcome\r\nMessage-ID: <welcome.${reader.id}@papers.example.org>\r\n\r\nHello ${email}\r\n`);
      const message = { runId: null, subscriberId: reader.id, kind: 'welcome' as const, messageId: `<welcome.${reader.id}@papers.example.org>`, recipient: email, recipientName: null, subject: 'Welcome', raw, html: '', unsubscribeUrl: '', windowSince: null, now };
      // Each in a page of its own: a segment file of its own.
      await app.store.queueMessage(message, []);
    };
    await queue('ada@example.org');
    await queue('grace@example.org');
    const folder = spoolFolderOf(databaseEnv.PAPERBOY_DB!);
    const adas = readdirSync(folder).find((name) => readFileSync(join(folder, name), 'latin1').includes('To: ada@example.org'))!;
    unlinkSync(join(folder, adas));

    const report = await deliverQueued(app.pipeline());
    expect(report.delivery).toMatchObject({ sent: 1, failed: 1, deferred: 0 });
    expect([...sink.byRecipient().keys()]).toEqual(['grace@example.org']);
    expect(report.outbox).toEqual({ queued: 0, sent: 1, failed: 1 });
    expect((await app.store.outboxProblems(10)).map((problem) => problem.lastError)).toEqual([
      `${join(folder, adas)}: cannot read the queued message (no such file); the folder moves with the database`,
    ]);
  });
});
