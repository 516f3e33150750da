/**
 * The kill -9 trial: N trials of M subscribers each. Every trial runs the real `paperboy run`
 * as its own process group (setsid), kills the whole group with SIGKILL at a random moment,
 * then reruns `paperboy run` until it completes, and counts what an independent SMTP server
 * (in this process, never killed) accepted. Prints, over all trials, the digests lost (a
 * subscriber who got none) and duplicated (a subscriber who got more than one), and where
 * the kills landed. Lost must be 0; a duplicate is possible only if the kill falls between
 * the server's 250 and the local commit (the documented "not exactly-once" window).
 *
 *   npx tsx scripts/trial-kill9.ts [--trials 20] [--subscribers 300] [--seed 7]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' }, subscribers: { type: 'string', default: '300' }, seed: { type: 'string', default: '7' } } });
const TRIALS = Number(values.trials);
const SUBSCRIBERS = Number(values.subscribers);
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/paperboy.js');
const DUMP = join(ROOT, 'data/listings/000_cd13bc2b975ed213.txt');

let seed = Number(values.seed);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

// The independent server: counts each accepted message per recipient, with a small delay per
// message so that a run is long enough for kills to land in every phase.
const accepted = new Map<string, number>();
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  disableReverseLookup: true,
  logger: false,
  onData(stream, session, callback) {
    stream.resume();
    stream.on('end', () =>
      setTimeout(() => {
        const to = session.envelope.rcptTo[0]?.address ?? '';
        accepted.set(to, (accepted.get(to) ?? 0) + 1);
        callback();
      }, 3),
    );
  },
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server as unknown as { server: { address(): AddressInfo } }).server.address().port;

const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));

interface RunningCli extends Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  kill(): void;
}

function run(settings: Record<string, string>): RunningCli {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', '--json'], { env: { ...inherited, ...settings }, stdio: 'ignore', detached: true });
  let killed = false;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: performance.now() - started })),
  );
  return Object.assign(done, {
    kill: () => {
      if (killed || child.exitCode !== null) return;
      killed = true;
      process.kill(-child.pid!, 'SIGKILL');
    },
  }) as RunningCli;
}

/** Reruns until a run exits 0 with nothing left queued (async: this process also serves SMTP). */
async function runUntilDone(settings: Record<string, string>): Promise<{ reruns: number; code: number | null }> {
  for (let reruns = 1; reruns <= 5; reruns++) {
    const result = await run(settings);
    const status = JSON.parse((await cli(['status', '--json'], settings)).stdout);
    if (result.code === 0 && status.outbox.queued === 0) return { reruns, code: result.code };
  }
  return { reruns: 5, code: null };
}

function cli(args: string[], settings: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...inherited, ...settings }, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

let lost = 0;
let duplicated = 0;
let killedMidRun = 0;
/** Each result is printed as it comes, so a trial cut short still reports what it ran. */
const rows = { push: (row: string) => console.log(`  ${row}`) };
console.log(`kill -9 trial: ${TRIALS} trials × ${SUBSCRIBERS} subscribers, the whole process group killed at a random moment, reruns to completion`);
try {
  // An uninterrupted run first: how long the kills have to land in.
  const base = mkdtempSync(join(tmpdir(), 'paperboy-kill9-'));
  try {
    for (let trial = 0; trial <= TRIALS; trial++) {
      const dir = join(base, `trial-${trial}`);
      mkdirSync(join(dir, 'inbox'), { recursive: true });
      const emails = Array.from({ length: SUBSCRIBERS }, (_, i) => `t${trial}-reader${i}@example.org`);
      writeFileSync(join(dir, 'readers.csv'), `email\n${emails.join('\n')}\n`);
      copyFileSync(DUMP, join(dir, 'inbox', basename(DUMP)));
      const settings = {
        PAPERBOY_DB: join(dir, 'paperboy.db'),
        PAPERBOY_INBOX: join(dir, 'inbox'),
        PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
        PAPERBOY_SECRET: 'kill9-trial-secret-0123456789abcdef0123',
        PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
        PAPERBOY_SOURCES: 'none',
      };
      await cli(['subscribers', 'import', join(dir, 'readers.csv')], settings);
      const running = run(settings);
      if (trial === 0) {
        const whole = await running;
        rows.push(`calibration: an uninterrupted run of ${SUBSCRIBERS} took ${(whole.ms / 1000).toFixed(1)} s (exit ${whole.code})`);
        seed += Math.round(whole.ms);
        (globalThis as { runMs?: number }).runMs = whole.ms;
      } else {
        const span = (globalThis as { runMs?: number }).runMs ?? 3000;
        const at = 200 + random() * span;
        const timer = setTimeout(() => running.kill(), at);
        const first = await running;
        clearTimeout(timer);
        const wasKilled = first.signal === 'SIGKILL';
        if (wasKilled) killedMidRun++;
        const before = emails.reduce((sum, email) => sum + (accepted.get(email) ?? 0), 0);
        const after = await runUntilDone(settings);
        const counts = emails.map((email) => accepted.get(email) ?? 0);
        const trialLost = counts.filter((count) => count === 0).length;
        const trialDuplicated = counts.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
        lost += trialLost;
        duplicated += trialDuplicated;
        rows.push(
          `trial ${String(trial).padStart(2)}: kill at ${(at / 1000).toFixed(2)} s ${wasKilled ? `(killed; ${before} accepted before)` : '(the run had finished)'}, ` +
            `${after.reruns} rerun(s) to finish, lost ${trialLost}, duplicated ${trialDuplicated}`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
} finally {
  server.close();
}

console.log(`killed mid-run: ${killedMidRun} of ${TRIALS}; digests lost: ${lost}; duplicated: ${duplicated} (of ${TRIALS * SUBSCRIBERS})`);
console.log(lost === 0 ? 'lost = 0: every subscriber got their digest' : 'LOST DIGESTS: the guarantee is broken');
process.exitCode = lost === 0 ? 0 : 1;
