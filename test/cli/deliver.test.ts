import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, childEnv, runCliAsync } from '../helpers/cli.ts';
import { DATABASES } from '../helpers/databases.ts';
import { tempDir } from '../helpers/paths.ts';
import { queueReaderDigests } from '../helpers/queued-digests.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const READERS = 24;

let sink: SmtpSink | undefined;
afterEach(async () => sink?.close());

/** A data folder with one digest queued per reader (as a run's producer phase leaves it), and the settings that reach it. */
async function queued(database: (typeof DATABASES)[number]): Promise<Record<string, string>> {
  const dir = tempDir();
  sink = await startSmtpSink();
  const settings = {
    ...(await database.env(dir)),
    PAPERBOY_INBOX: join(dir, 'inbox'),
    PAPERBOY_SMTP_URL: sink.url,
    PAPERBOY_ALLOW_HTTP_LINKS: 'true',
    PAPERBOY_SMTP_POOL: '2',
    PAPERBOY_SECRET: 'deliver-command-secret-0123456789abcdef0',
    PAPERBOY_LOG_LEVEL: 'silent',
  };
  expect(await queueReaderDigests(settings, READERS)).toBe(READERS);
  return settings;
}

const perRecipient = () => Object.fromEntries([...sink!.byRecipient()].map(([to, mails]) => [to, mails.length]));
const everyReaderOnce = () => Object.fromEntries(Array.from({ length: READERS }, (_, i) => [`reader${i}@example.org`, 1]));

describe.each(DATABASES)('paperboy deliver ($name)', (database) => {
  it('--workers 2: two worker processes share the outbox; the report adds them up', async () => {
    const settings = await queued(database);
    const result = await runCliAsync(['deliver', '--workers', '2', '--json'], settings);
    expect(result.status).toBe(0);
    expect(result.json()).toMatchObject({ workers: 2, stopped: null, delivery: { sent: READERS, failed: 0, deferred: 0, paused: false }, outbox: { queued: 0, sent: READERS, failed: 0 } });
    expect(perRecipient()).toEqual(everyReaderOnce());
  });

  it('--follow keeps claiming until SIGTERM, then exits 0 with what it sent', async () => {
    const settings = await queued(database);
    const child = spawn(process.execPath, [CLI, 'deliver', '--follow', '--json'], { env: childEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (sink!.accepted.length < READERS) await new Promise((resolve) => setTimeout(resolve, 50));
    // Still running with nothing left: it follows the outbox.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ workers: 1, stopped: 'SIGTERM', delivery: { sent: READERS, failed: 0 }, outbox: { queued: 0, sent: READERS } });
    expect(perRecipient()).toEqual(everyReaderOnce());
  });

  it('refuses --workers 0 as a usage error', async () => {
    const result = await runCliAsync(['deliver', '--workers', '0'], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--workers must be a whole number ≥ 1, got "0"');
  });
});
