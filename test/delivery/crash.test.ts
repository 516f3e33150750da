import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.ts';
import { DATABASES } from '../helpers/databases.ts';
import { runCli, runCliAsync } from '../helpers/cli.ts';
import { DUMP_FILES, REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

let sink: SmtpSink | undefined;
afterEach(async () => sink?.close());

// With PAPERBOY_RUN_WORKERS=1 the message in flight is the worker's, beside the run: the whole
// process group (run and worker) is killed, as a lost machine or `systemctl kill -s KILL` would.
const SENDERS = [
  { name: 'the run itself', runWorkers: '0' },
  { name: 'a worker beside the run', runWorkers: '1' },
];

describe.each(DATABASES)('crash safety ($name)', (database) => {
  it.each(SENDERS)('after kill -9 mid-delivery by $name, the next run resumes: exactly one digest per subscriber at the server', async ({ runWorkers }) => {
    const dir = tempDir();
    let holdFired!: () => void;
    const held = new Promise<void>((resolve) => (holdFired = resolve));
    let crashed = false;
    // Accept three messages, then hold the fourth in DATA (no 250) until the sender is killed.
    sink = await startSmtpSink({
      beforeAccept: () => {
        if (!crashed && sink!.accepted.length === 3) {
          holdFired();
          return new Promise<'drop'>(() => {});
        }
        return undefined;
      },
    });
    const settings = {
      ...(await database.env(dir)),
      PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
      PAPERBOY_SMTP_POOL: '1',
      PAPERBOY_RUN_WORKERS: runWorkers,
      PAPERBOY_SECRET: 'crash-test-secret-0123456789abcdef0123',
    };
    const emails = Array.from({ length: 8 }, (_, i) => `reader${i}@example.org`);
    writeFileSync(join(dir, 'subscribers.csv'), `email\n${emails.join('\n')}\n`);
    expect(runCli(['subscribers', 'import', join(dir, 'subscribers.csv')], settings).status).toBe(0);
    mkdirSync(settings.PAPERBOY_INBOX, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(settings.PAPERBOY_INBOX, basename(DUMP_FILES[0]!)));

    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/paperboy.js'), 'run'], { env: { ...inherited, ...settings }, stdio: 'ignore', detached: true });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await held;
    crashed = true;
    process.kill(-child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The held message was never accepted: the server saw three.
    expect(sink.accepted).toHaveLength(3);

    // What the killed run left: three sent, five queued, still claimed by the dead worker.
    const { store } = openApp({ env: settings });
    expect(await store.outboxCounts()).toEqual({ queued: 5, sent: 3, failed: 0 });
    expect(await store.claimHolders()).toHaveLength(1);
    await store.close();

    const rerun = await runCliAsync(['run', '--json'], settings);
    expect(rerun.status).toBe(0);
    expect(rerun.json()).toMatchObject({ due: 0, queued: 0, resumed: 5, delivery: { sent: 5, failed: 0, deferred: 0 } });
    const perRecipient = Object.fromEntries([...sink.byRecipient()].map(([to, mails]) => [to, mails.length]));
    expect(perRecipient).toEqual(Object.fromEntries(emails.map((email) => [email, 1])));

    const status = runCli(['status', '--json'], settings).json();
    expect(status.runs.map((run: { status: string }) => run.status)).toEqual(['done', 'interrupted']);
    expect(status.outbox).toEqual({ queued: 0, sent: 8, failed: 0 });
    // The run dropped the bodies of every message it settled: nothing is left to prune.
    const { store: after } = openApp({ env: settings });
    expect(await after.pruneOutboxBodies()).toBe(0);
    expect(await after.claimHolders()).toEqual([]);
    await after.close();
  });
});
