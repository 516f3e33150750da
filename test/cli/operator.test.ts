import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, childEnv, runCli, runCliAsync } from '../helpers/cli.ts';
import { REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

let dir: string;
let settings: Record<string, string>;
let sink: SmtpSink | undefined;

beforeEach(() => {
  dir = tempDir();
  settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_OUTBOX_DIR: join(dir, 'outbox') };
});

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

const SECRET = 'a'.repeat(64);

describe('safe real mail (subprocess, a real SMTP server on 127.0.0.1)', () => {
  it('`paperboy start` with PAPERBOY_SMTP_URL set mails no demo subscriber, says so and what to run, exits 2', async () => {
    sink = await startSmtpSink();
    const result = await runCliAsync(['start'], { ...settings, PAPERBOY_SMTP_URL: sink.url, PAPERBOY_PUBLIC_URL: 'https://digest.example.org', PAPERBOY_SECRET: SECRET });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('PAPERBOY_SMTP_URL is set, so `paperboy start` (the demo on sample data) sends nothing to the demo subscribers; nothing was sent.');
    expect(result.stderr).toContain('`paperboy subscribers add YOU@EXAMPLE.ORG`, then `paperboy run`');
    expect(result.stdout).toBe('');
    expect(sink.accepted).toHaveLength(0);
    expect(sink.attempts.size).toBe(0);
  });

  it('`npm start` with PAPERBOY_SMTP_URL set sends nothing either, and exits non-zero', async () => {
    sink = await startSmtpSink();
    const env = childEnv({ ...settings, PAPERBOY_SMTP_URL: sink.url, PAPERBOY_PUBLIC_URL: 'https://digest.example.org', PAPERBOY_SECRET: SECRET });
    // Not spawnSync: the sink in this process must keep answering while npm runs.
    const child = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).not.toBe(0);
    expect(stderr).toContain('sends nothing to the demo subscribers; nothing was sent.');
    expect(sink.accepted).toHaveLength(0);
    expect(sink.attempts.size).toBe(0);
    expect(existsSync(settings.PAPERBOY_OUTBOX_DIR!)).toBe(false);
  });

  it('with SMTP, an http PAPERBOY_PUBLIC_URL (or none) is one line naming PAPERBOY_PUBLIC_URL, exit 2, before anything is written', () => {
    const smtp = { ...settings, PAPERBOY_SMTP_URL: 'smtp://127.0.0.1:9', PAPERBOY_SECRET: SECRET };
    const http = runCli(['run'], { ...smtp, PAPERBOY_PUBLIC_URL: 'http://digest.example.org' });
    expect(http.status).toBe(2);
    expect(http.stderr).toBe(
      'paperboy: PAPERBOY_PUBLIC_URL="http://digest.example.org" is not https: with PAPERBOY_SMTP_URL set, links in real mail need the https:// address of your pages (e.g. https://digest.example.org); PAPERBOY_ALLOW_HTTP_LINKS=true allows http\n',
    );
    const unset = runCli(['start'], smtp);
    expect(unset.status).toBe(2);
    expect(unset.stderr).toMatch(/^paperboy: PAPERBOY_PUBLIC_URL is not set: with PAPERBOY_SMTP_URL set, /);
    expect(existsSync(settings.PAPERBOY_DB!)).toBe(false);

    const allowed = runCli(['status', '--json'], { ...smtp, PAPERBOY_SMTP_URL: 'smtp://user:hunter2@127.0.0.1:9', PAPERBOY_PUBLIC_URL: 'http://lab.internal', PAPERBOY_ALLOW_HTTP_LINKS: 'true' });
    expect(allowed.status).toBe(0);
    // Where mail goes, without the credentials.
    expect(allowed.json().mailer).toBe('smtp://127.0.0.1:9');
  });

  it('warns about an unknown PAPERBOY_* variable with the closest known name, and carries on', () => {
    const result = runCli(['status'], { ...settings, PAPERBOY_SMTP_UR: 'smtp://mail.example.org', PAPERBOY_NOTHING_LIKE_IT_AT_ALL: '1' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'paperboy: warning: PAPERBOY_NOTHING_LIKE_IT_AT_ALL is not a Paperboy setting and is ignored\n' +
        'paperboy: warning: PAPERBOY_SMTP_UR is not a Paperboy setting and is ignored; did you mean PAPERBOY_SMTP_URL?\n',
    );
  });
});

describe('errors and exit codes (subprocess)', () => {
  it('a bad email in `subscribers add` is a validation error: exit 2', () => {
    const result = runCli(['subscribers', 'add', 'not-an-address'], settings);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('paperboy: email: "not-an-address" is not a valid email address\n');
  });

  it('PAPERBOY_DB under a file is one line naming PAPERBOY_DB and the reason, exit 2', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const result = runCli(['status'], { ...settings, PAPERBOY_DB: join(file, 'x.db') });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`paperboy: PAPERBOY_DB=${join(file, 'x.db')}: ${file} is not a folder\n`);
    const etc = runCli(['status'], { ...settings, PAPERBOY_DB: '/etc/hostname/x.db' });
    expect(etc.stderr).toBe('paperboy: PAPERBOY_DB=/etc/hostname/x.db: /etc/hostname is not a folder\n');
  });

  it('PAPERBOY_DB under /proc fails at once, naming the folder it cannot create', () => {
    const result = runCli(['status'], { ...settings, PAPERBOY_DB: '/proc/x/y.db' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^paperboy: PAPERBOY_DB=\/proc\/x\/y\.db: cannot create the folder \/proc\/x \(.+\)\n$/);
  });

  it('a corrupt database file is named with its path, exit 1', () => {
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'this is not a database, just text long enough to be read as a header '.repeat(100));
    const result = runCli(['status'], { ...settings, PAPERBOY_DB: corrupt });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `paperboy: PAPERBOY_DB=${corrupt}: cannot open the database: file is not a database (a damaged file, or not Paperboy's; restore a backup or point PAPERBOY_DB elsewhere)\n`,
    );
  });
});

/** `unshare -m` as root, `unshare -rm` otherwise: a private mount namespace to make read-only. */
function unshareArgs(): string[] | null {
  const args = process.getuid?.() === 0 ? ['-m'] : ['-rm'];
  return spawnSync('unshare', [...args, 'true']).status === 0 ? args : null;
}

describe.skipIf(unshareArgs() === null)('the compiled CLI under ProtectSystem=strict (unshare: every mount read-only but the data folder)', () => {
  it('`start` and `status` run with no writable HOME, TMPDIR, cache or package folder; only the data folder is written', () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    const env = {
      HOME: '/nonexistent',
      TMPDIR: join(dir, 'no-tmp'),
      PAPERBOY_DB: join(data, 'paperboy.db'),
      PAPERBOY_INBOX: join(data, 'inbox'),
      PAPERBOY_OUTBOX_DIR: join(data, 'outbox'),
    };
    // As systemd does for ProtectSystem=strict + ReadWritePaths=data: bind the data folder onto
    // itself, then remount every other mount (/, /tmp, the checkout, node_modules) read-only.
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --bind "${data}" "${data}"`,
      `for m in $(findmnt -rn -o TARGET | sort -u); do case "$m" in "${data}"|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) ;; *) mount -o bind,remount,ro "$m" 2>/dev/null || true;; esac; done`,
      // Proof the sandbox holds: nothing outside the data folder takes a write.
      `if touch "${REPO_ROOT}/.sandbox-probe" 2>/dev/null || touch "${dir}/outside" 2>/dev/null || touch /tmp/.sandbox-probe 2>/dev/null; then echo "sandbox is writable"; exit 99; fi`,
      `cd "${data}"`,
      `"${process.execPath}" "${CLI}" start --json > start.json`,
      `"${process.execPath}" "${CLI}" status --json > status.json`,
      'echo sandboxed-ok',
    ].join('\n');
    const result = spawnSync('unshare', [...unshareArgs()!, 'sh', '-c', script], { env: childEnv(env), encoding: 'utf8', timeout: 120_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('sandboxed-ok\n');
    expect(result.status).toBe(0);
    const start = JSON.parse(readFileSync(join(data, 'start.json'), 'utf8'));
    expect(start.demo_subscribers).toBe(3);
    expect(start.run.delivery.sent).toBeGreaterThan(0);
    expect(readdirSync(join(data, 'outbox')).filter((name) => name.endsWith('.eml'))).toHaveLength(start.run.delivery.sent);
    expect(JSON.parse(readFileSync(join(data, 'status.json'), 'utf8')).runs).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['data']);
  });
});
