import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.ts';
import { CLI, childEnv } from '../helpers/cli.ts';
import { freshPostgresDatabase } from '../helpers/databases.ts';
import { tempDir } from '../helpers/paths.ts';
import { queueReaderDigests } from '../helpers/queued-digests.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { TEST_DATABASE_URL } from '../helpers/store-adapters.ts';

const READERS = 2000;
const WORKERS = 3;

let sink: SmtpSink | undefined;
const workers: ChildProcess[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  await sink?.close();
});

if (!TEST_DATABASE_URL) console.warn('delivery workers: PAPERBOY_TEST_DATABASE_URL is unset; the crash test of 3 `deliver` workers on PostgreSQL is skipped (run it with scripts/test-postgres.sh)');

describe.skipIf(!TEST_DATABASE_URL)('`paperboy deliver --follow` workers on PostgreSQL', () => {
  it('one of 3 workers SIGKILLed mid-batch: every subscriber gets exactly one digest at the server, the outbox ends empty', async () => {
    const dir = tempDir();
    const databaseUrl = await freshPostgresDatabase();
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    let holdingOne = false;
    let holding!: (recipient: string) => void;
    const held = new Promise<string>((resolve) => (holding = resolve));
    // A third of the way through, the next message is held in DATA (no 250) and its sender is
    // killed: with one connection per worker, nothing it sent is left unsettled, so the
    // server must see each reader exactly once.
    sink = await startSmtpSink({
      beforeAccept: (to) => {
        if (!holdingOne && sink!.accepted.length >= READERS / 3) {
          holdingOne = true;
          holding(to);
          return new Promise<'drop'>(() => {});
        }
        return undefined;
      },
    });
    const settings = {
      PAPERBOY_DB: join(dir, 'paperboy.db'),
      PAPERBOY_DATABASE_URL: databaseUrl,
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_SMTP_URL: sink.url,
      PAPERBOY_ALLOW_HTTP_LINKS: 'true',
      PAPERBOY_SMTP_POOL: '1',
      PAPERBOY_CLAIM_SECONDS: '5',
      PAPERBOY_SECRET: 'workers-crash-test-secret-0123456789abcd',
      PAPERBOY_LOG_LEVEL: 'warn',
    };

    expect(await queueReaderDigests(settings, READERS)).toBe(READERS);
    const app = openApp({ env: settings });

    const reports = Array.from({ length: WORKERS }, () => {
      const worker = spawn(process.execPath, [CLI, 'deliver', '--follow', '--json'], { env: childEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
      workers.push(worker);
      let stdout = '';
      worker.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
      worker.stderr!.on('data', () => {});
      return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal, stdout })));
    });

    const recipient = await held;
    const [claim] = await sql`SELECT claimed_by FROM outbox WHERE recipient = ${recipient} AND status = 'queued'`;
    const victimPid = Number(String(claim!.claimed_by).split(':')[1]);
    const victimIndex = workers.findIndex((worker) => worker.pid === victimPid);
    expect(victimIndex).toBeGreaterThanOrEqual(0);
    workers[victimIndex]!.kill('SIGKILL');
    expect((await reports[victimIndex]!).signal).toBe('SIGKILL');
    // Mid-batch: the dead worker still holds claims on messages it never sent.
    const [stranded] = await sql`SELECT count(*)::int AS n FROM outbox WHERE status = 'queued' AND claimed_by = ${claim!.claimed_by}`;
    expect(stranded!.n).toBeGreaterThan(0);

    // The others take its messages over once its claims expire; then they are stopped.
    while ((await app.store.outboxCounts()).queued > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    const survivors = workers.filter((_, index) => index !== victimIndex);
    for (const worker of survivors) worker.kill('SIGTERM');
    const finished = await Promise.all(reports.filter((_, index) => index !== victimIndex));
    expect(finished.map(({ code }) => code)).toEqual([0, 0]);
    const summaries = finished.map(({ stdout }) => JSON.parse(stdout));
    expect(summaries.map((summary) => summary.stopped)).toEqual(['SIGTERM', 'SIGTERM']);
    expect(summaries.every((summary) => summary.delivery.sent > 0 && summary.delivery.failed === 0)).toBe(true);

    // Counted at the server: every reader exactly once.
    const perRecipient = new Map([...sink.byRecipient()].map(([to, mails]) => [to, mails.length]));
    expect(perRecipient.size).toBe(READERS);
    expect([...perRecipient.values()].every((count) => count === 1)).toBe(true);
    expect(new Set(sink.accepted.map((mail) => mail.messageId)).size).toBe(READERS);
    expect(await app.store.outboxCounts()).toEqual({ queued: 0, sent: READERS, failed: 0 });
    expect(await app.store.claimHolders()).toEqual([]);
    await app.close();
    await sql.end();
  }, 180_000);
});
