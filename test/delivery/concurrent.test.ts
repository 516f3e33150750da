import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/paths.ts';
import { queueReaderDigests } from '../helpers/queued-digests.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { DATABASES } from '../helpers/databases.ts';

let sink: SmtpSink | undefined;
afterEach(async () => sink?.close());

const READERS = 30;

describe.each(DATABASES)('two delivery processes over one outbox ($name)', (database) => {
  it('send every queued message exactly once between them, because each message is claimed once', async () => {
    const dir = tempDir();
    // The first message waits at the server until a second arrives while it is held: with
    // one connection per process, that proves both processes are delivering at once.
    let inFlight = 0;
    let overlapped!: () => void;
    const overlap = new Promise<void>((resolve) => (overlapped = resolve));
    sink = await startSmtpSink({
      beforeAccept: async () => {
        inFlight++;
        if (inFlight >= 2) overlapped();
        await Promise.race([overlap, new Promise((resolve) => setTimeout(resolve, 20_000))]);
        await new Promise((resolve) => setTimeout(resolve, 15));
        inFlight--;
        return undefined;
      },
    });
    const settings = {
      ...(await database.env(dir)),
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
      PAPERBOY_SMTP_POOL: '1',
      PAPERBOY_SECRET: 'concurrent-delivery-secret-0123456789ab',
      PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
      PAPERBOY_LOG_LEVEL: 'silent',
    };

    // Queue one digest per reader, as a run's producer phase does, and deliver nothing.
    expect(await queueReaderDigests(settings, READERS)).toBe(READERS);

    const [first, second] = await Promise.all([runCliAsync(['deliver', '--json'], settings), runCliAsync(['deliver', '--json'], settings)]);
    expect([first.status, second.status]).toEqual([0, 0]);
    const reports = [first.json(), second.json()];
    for (const report of reports) expect(report.delivery.sent).toBeGreaterThan(0);
    expect(reports[0].delivery.sent + reports[1].delivery.sent).toBe(READERS);
    expect(reports.map((report) => report.delivery.failed)).toEqual([0, 0]);

    // Counted at the server: every reader once, every Message-ID once.
    const perRecipient = Object.fromEntries([...sink.byRecipient()].map(([to, mails]) => [to, mails.length]));
    expect(perRecipient).toEqual(Object.fromEntries(Array.from({ length: READERS }, (_, i) => [`reader${i}@example.org`, 1])));
    expect(new Set(sink.accepted.map((mail) => mail.messageId)).size).toBe(READERS);
    expect((await runCliAsync(['status', '--json'], settings)).json().outbox).toEqual({ queued: 0, sent: READERS, failed: 0 });
  });
});
