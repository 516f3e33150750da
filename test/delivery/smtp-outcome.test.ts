import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { classifySmtpFailure, type SmtpFailure } from '../../src/delivery/smtp-outcome.ts';
import type { SendOutcome } from '../../src/delivery/mailer.ts';
import { runDigests } from '../../src/pipeline/run.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SinkBehaviour, type SmtpSink } from '../helpers/smtp-sink.ts';

describe('classifySmtpFailure: by stage and code, only a refused recipient bounces', () => {
  const failure = (command: string | undefined, responseCode: number | undefined, text: string, code = 'EENVELOPE', recipients = 1): SmtpFailure => ({
    command,
    responseCode,
    code,
    text,
    recipients,
  });
  const cases: [string, SmtpFailure, SendOutcome['status']][] = [
    ['RCPT 550 5.1.1 no such user', failure('RCPT TO', 550, '550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown'), 'permanent'],
    ['RCPT 551 user not local', failure('RCPT TO', 551, '551 User not local'), 'permanent'],
    ['RCPT 553 bad mailbox name', failure('RCPT TO', 553, '553 5.1.3 Bad recipient address syntax'), 'permanent'],
    ['RCPT 550 without an enhanced code', failure('RCPT TO', 550, '550 Mailbox unavailable'), 'permanent'],
    ['RCPT 554 5.7.1 relay access denied', failure('RCPT TO', 554, '554 5.7.1 <a@example.org>: Relay access denied'), 'delivery-error'],
    ['RCPT 550 5.7.1 policy (a blocklist)', failure('RCPT TO', 550, '550 5.7.1 Service unavailable; client host blocked'), 'delivery-error'],
    ['MAIL FROM 554 5.7.1 sender rejected', failure('MAIL FROM', 554, '554 5.7.1 <digest@papers.example.org>: Sender address rejected: Access denied'), 'delivery-error'],
    ['MAIL FROM 553 5.1.8 bad sender domain', failure('MAIL FROM', 553, '553 5.1.8 <digest@nowhere.invalid>: Sender address rejected: Domain not found'), 'delivery-error'],
    ['DATA 552 5.2.2 mailbox full, one recipient', failure('DATA', 552, '552 5.2.2 Mailbox full', 'EMESSAGE'), 'permanent'],
    ['DATA 550 5.1.1 for one recipient', failure('DATA', 550, '550 5.1.1 No such user', 'EMESSAGE'), 'permanent'],
    ['DATA 554 5.7.1 content rejected as spam', failure('DATA', 554, '554 5.7.1 Message rejected as spam', 'EMESSAGE'), 'delivery-error'],
    ['DATA 550 5.1.1 with two recipients', failure('DATA', 550, '550 5.1.1 No such user', 'EMESSAGE', 2), 'delivery-error'],
    ['a 554 greeting', failure('CONN', 554, '554 5.3.2 Service not available, closing', 'EPROTOCOL'), 'delivery-error'],
    ['AUTH 535 bad credentials', failure('AUTH PLAIN', 535, '535 5.7.8 Authentication credentials invalid', 'EAUTH'), 'delivery-error'],
    ['a TLS handshake failure', failure('CONN', undefined, 'self-signed certificate', 'ETLS'), 'delivery-error'],
    ['RCPT 451 4.7.1 greylisted', failure('RCPT TO', 451, '451 4.7.1 Greylisted'), 'temporary'],
    ['MAIL FROM 421 4.3.2 shutting down', failure('MAIL FROM', 421, '421 4.3.2 Service shutting down'), 'temporary'],
    ['DATA 452 4.2.2 over quota', failure('DATA', 452, '452 4.2.2 Over quota', 'EMESSAGE'), 'temporary'],
    ['a dropped connection', failure('CONN', undefined, 'Connection closed unexpectedly', 'ECONNECTION'), 'temporary'],
    ['a timeout', failure('CONN', undefined, 'Timeout', 'ETIMEDOUT'), 'temporary'],
    ['an address nodemailer itself refused', failure('API', undefined, 'Invalid recipient "a@"'), 'permanent'],
  ];

  it.each(cases)('%s', (_, input, status) => {
    expect(classifySmtpFailure(input).status).toBe(status);
  });

  it('keeps the server\'s reply as the reason, and names the error code where there is no reply', () => {
    expect(classifySmtpFailure(failure('MAIL FROM', 554, '554 5.7.1 Sender address rejected'))).toEqual({ status: 'delivery-error', code: 554, response: '554 5.7.1 Sender address rejected' });
    expect(classifySmtpFailure(failure('CONN', undefined, 'Timeout', 'ETIMEDOUT'))).toEqual({ status: 'temporary', code: null, response: 'ETIMEDOUT: Timeout' });
  });
});

describe('SMTP outcomes from a real server, through a whole run', () => {
  let sink: SmtpSink | undefined;
  let app: App | undefined;
  afterEach(async () => {
    await app?.close();
    await sink?.close();
  });

  async function runAgainst(behaviour: SinkBehaviour, readers: string[]) {
    const dir = tempDir();
    sink = await startSmtpSink(behaviour);
    app = openApp({
      env: {
        PAPERBOY_DB: join(dir, 'paperboy.db'),
        PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
        PAPERBOY_INBOX: join(dir, 'inbox'),
        PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
        PAPERBOY_SMTP_POOL: '1',
        PAPERBOY_FROM: 'Paperboy <digest@papers.example.org>',
        PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
        PAPERBOY_SECRET: 'smtp-outcome-secret-0123456789abcdef01',
        PAPERBOY_LOG_LEVEL: 'silent',
      },
    });
    for (const email of readers) await app.store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', app.clock.now().toISOString());
    mkdirSync(app.config.inboxDir, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(app.config.inboxDir, basename(DUMP_FILES[0]!)));
    return runDigests(app.pipeline(), { trigger: 'manual' });
  }

  const status = async (email: string) => (await app!.store.subscriberByEmail(email))!;

  it('RCPT 550 bounces that subscriber; the others get their digest', async () => {
    const report = await runAgainst({ rcpt: (address) => (address === 'gone@example.org' ? { code: 550, message: '5.1.1 <gone@example.org>: Recipient address rejected: User unknown' } : undefined) }, [
      'ok@example.org',
      'gone@example.org',
    ]);
    expect(report.delivery).toMatchObject({ sent: 1, failed: 1, bounced: 1, paused: false });
    expect(await status('gone@example.org')).toMatchObject({ status: 'bounced', hardBounces: 1 });
    expect(await status('ok@example.org')).toMatchObject({ status: 'active', hardBounces: 0 });
  });

  it('MAIL FROM 554 bounces nobody, pauses the run after the first attempt, and keeps the relay\'s reply', async () => {
    const readers = ['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org'];
    const report = await runAgainst({ mailFrom: () => ({ code: 554, message: '5.7.1 <digest@papers.example.org>: Sender address rejected: Access denied' }) }, readers);
    const reply = '554 5.7.1 <digest@papers.example.org>: Sender address rejected: Access denied';
    expect(report.status).toBe('paused');
    expect(report.delivery).toMatchObject({ sent: 0, failed: 1, bounced: 0, paused: true, deferred: 3 });
    expect(report.delivery!.pauseReason).toBe(`the relay refused delivery (not the recipient): ${reply}; delivery paused, nobody was marked bounced`);
    for (const email of readers) expect(await status(email)).toMatchObject({ status: 'active', hardBounces: 0 });
    expect((await app!.store.outboxProblems(10)).map((problem) => [problem.status, problem.lastError])).toEqual([['failed', reply]]);
    expect((await app!.store.recentRuns(1))[0]).toMatchObject({ status: 'paused', error: report.delivery!.pauseReason });
  });

  it('DATA 552 for a single recipient bounces them', async () => {
    const report = await runAgainst({ beforeAccept: (to) => (to === 'full@example.org' ? { code: 552, message: '5.2.2 Mailbox full' } : undefined) }, ['full@example.org', 'ok@example.org']);
    expect(report.delivery).toMatchObject({ sent: 1, failed: 1, bounced: 1, paused: false });
    expect(await status('full@example.org')).toMatchObject({ status: 'bounced' });
    expect((await app!.store.outboxProblems(10))[0]).toMatchObject({ recipient: 'full@example.org', lastError: '552 5.2.2 Mailbox full' });
  });
});
