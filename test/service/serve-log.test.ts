import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, childEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/paths.ts';

const TOKEN = 'serve-log-admin-token-0123456789abcdef';
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** The mails the file outbox holds so far, parsed, oldest first. */
async function outboxMails(outbox: string) {
  if (!existsSync(outbox)) return [];
  const files = readdirSync(outbox).filter((name) => name.endsWith('.eml')).sort();
  return Promise.all(files.map(async (name) => simpleParser(readFileSync(join(outbox, name)))));
}

/** Waits (polling) for the courier to have written the mail with this subject; its link with this path. */
async function linkFrom(outbox: string, subject: string, path: string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const mail = (await outboxMails(outbox)).find((candidate) => candidate.subject === subject);
    const token = mail && new RegExp(`${path}\\?token=([\\w.-]+)`).exec(mail.text ?? '')?.[1];
    if (token) return token;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no mail "${subject}" with a ${path} link in ${outbox}`);
}

const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect: 'manual' as const });

describe('paperboy serve, at its default log level (subprocess)', () => {
  it('logs each run, sign-up, confirmation, unsubscribe and admin action at info, one plain line each', async () => {
    const dir = tempDir();
    const outbox = join(dir, 'outbox');
    child = spawn(process.execPath, [CLI, 'serve', '--no-schedule'], {
      env: childEnv({ PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_OUTBOX_DIR: outbox, PAPERBOY_PORT: '0', PAPERBOY_ADMIN_TOKEN: TOKEN }),
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    const url = await new Promise<string>((resolve) =>
      child!.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk;
        const match = /serving (http:\/\/[\d.:]+)/.exec(stdout);
        if (match) resolve(match[1]!);
      }),
    );

    expect((await fetch(`${url}/subscribe`, form({ email: 'ada@example.org', topics: 'reasoning', frequency: 'daily', weekday: 'mon' }))).status).toBe(200);
    const confirmToken = await linkFrom(outbox, 'Confirm your Paperboy subscription', '/confirm');
    // --no-schedule: no scheduled run time is promised.
    const confirmation = (await outboxMails(outbox)).find((mail) => mail.subject === 'Confirm your Paperboy subscription')!;
    expect(confirmation.text!.replace(/\n/g, ' ')).toContain('Your first digest comes with the first scheduled run after you confirm, if there are new papers on your topics by then.');
    expect((await fetch(`${url}/confirm`, form({ token: confirmToken }))).status).toBe(200);
    const unsubscribeToken = await linkFrom(outbox, 'You are subscribed to Paperboy', '/unsubscribe');
    expect((await fetch(`${url}/unsubscribe`, form({ token: unsubscribeToken }))).status).toBe(200);
    const send = await fetch(`${url}/admin/api/send`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(send.status).toBe(200);
    const { run_id: runId } = (await send.json()) as { run_id: number };

    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const lines = stderr.trimEnd().split('\n');
    const info = lines.filter((line) => / INFO: /.test(line)).map((line) => line.replace(/^\[\d\d:\d\d:\d\d\] INFO: /, '').replace(/ \(\d+ ms\)/, ' (N ms)'));
    // Plain text for a journal: no JSON lines, no colour codes.
    expect(lines.filter((line) => line.startsWith('{') || line.includes('\u001b['))).toEqual([]);
    expect(info.filter((line) => /^(sign-up|confirm|unsubscribe|admin action|run \d+)/.test(line)).map((line) => line.replace(/ \{.*\}$/, ''))).toEqual([
      'sign-up: POST /subscribe → 200 (N ms)',
      'confirm: POST /confirm → 200 (N ms)',
      'unsubscribe: POST /unsubscribe → 200 (N ms)',
      `run ${runId} (manual) done: 0 due, 0 queued, 0 sent, 0 failed`,
      'admin action: POST /admin/api/send → 200 (N ms)',
    ]);
    // The journal never holds a token or an address.
    expect(stderr).not.toContain(confirmToken);
    expect(stderr).not.toContain(unsubscribeToken);
    expect(stderr).not.toContain('ada@example.org');
  });
});
