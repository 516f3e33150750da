import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.ts';
import { CLI, childEnv } from '../helpers/cli.ts';
import { freshPostgresDatabase } from '../helpers/databases.ts';
import { tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { TEST_DATABASE_URL } from '../helpers/store-adapters.ts';

let sink: SmtpSink | undefined;
const replicas: ChildProcess[] = [];
afterEach(async () => {
  for (const replica of replicas.splice(0)) if (replica.exitCode === null && replica.signalCode === null) replica.kill('SIGKILL');
  await sink?.close();
});

if (!TEST_DATABASE_URL) console.warn('serve replicas: PAPERBOY_TEST_DATABASE_URL is unset; the test of two `serve` replicas on one PostgreSQL is skipped (run it with scripts/test-postgres.sh)');

interface Replica {
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
  process: ChildProcess;
}

async function startReplica(settings: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: childEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
  replicas.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      const match = /serving (http:\/\/[\d.:]+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { url, stderr: () => stderr, exited, process: child };
}

const signUp = (replica: Replica, email: string) =>
  fetch(`${replica.url}/subscribe`, { method: 'POST', body: new URLSearchParams({ email, name: 'Ada', topics: 'reasoning', frequency: 'weekly', weekday: 'wed' }) });

async function waitFor<T>(what: () => T | undefined): Promise<T> {
  for (;;) {
    const found = what();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!TEST_DATABASE_URL)('two `serve` replicas on one PostgreSQL', () => {
  it('behave as one: a sign-up on one is confirmed through the other, rate limits count both, one run per tick', async () => {
    const dir = tempDir();
    sink = await startSmtpSink();
    const settings = {
      PAPERBOY_DB: join(dir, 'paperboy.db'),
      PAPERBOY_DATABASE_URL: await freshPostgresDatabase(),
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_SMTP_URL: sink.url,
      PAPERBOY_ALLOW_HTTP_LINKS: 'true',
      PAPERBOY_PUBLIC_URL: 'http://127.0.0.1',
      PAPERBOY_SECRET: 'replicas-test-secret-0123456789abcdef01',
      PAPERBOY_PORT: '0',
      PAPERBOY_RATE_LIMIT_IP: '4',
      // Every two seconds: each replica's cron fires every tick.
      PAPERBOY_SCHEDULE: '*/2 * * * * *',
      PAPERBOY_LOG_LEVEL: 'info',
    };
    const [a, b] = [await startReplica(settings), await startReplica(settings)];

    expect((await signUp(a, 'ada@example.org')).status).toBe(200);
    const confirmation = await waitFor(() => sink!.byRecipient().get('ada@example.org')?.[0]);
    const token = /\/confirm\?token=([\w.-]+)/.exec(confirmation.text ?? '')![1]!;
    const confirmed = await fetch(`${b.url}/confirm`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(confirmed.status).toBe(200);
    await waitFor(() => (sink!.byRecipient().get('ada@example.org')?.length === 2 ? true : undefined));
    const { store } = openApp({ env: settings });
    expect(await store.subscriberByEmail('ada@example.org')).toMatchObject({ status: 'active' });

    // Four sign-ups per IP per hour, whichever replica takes them: one was on `a`.
    expect((await signUp(b, 'b1@example.org')).status).toBe(200);
    expect((await signUp(a, 'a1@example.org')).status).toBe(200);
    expect((await signUp(b, 'b2@example.org')).status).toBe(200);
    expect((await signUp(a, 'a2@example.org')).status).toBe(429);
    expect((await signUp(b, 'b3@example.org')).status).toBe(429);

    // Let the schedule fire a few times on both, then stop them.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    for (const replica of [a, b]) replica.process.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);

    const runs = await store.recentRuns(100);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.every((run) => run.status === 'done')).toBe(true);
    // One run per fire time: no two runs started in the same second.
    const seconds = runs.map((run) => run.startedAt.slice(0, 19));
    expect(new Set(seconds).size).toBe(runs.length);
    // Both replicas were firing: ticks the other had taken were skipped.
    expect(`${a.stderr()}${b.stderr()}`).toContain('another replica took this tick: skipped');
    await store.close();
  }, 120_000);
});
