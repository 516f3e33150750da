/**
 * End to end at scale, as an operator runs it. For each N: a fresh data folder and SQLite
 * database; N daily subscribers with mixed topic subsets imported by the real CLI
 * (`paperboy subscribers import`); the shipped listings (data/listings) dropped into the
 * inbox; then the real `paperboy run --json` as a subprocess, delivering to the SMTP sink
 * (scripts/smtp-sink-server.ts) in its own process. In the same run, the ceiling: Postfix's
 * smtp-source sending as many messages of the size the sink saw over as many connections
 * (PAPERBOY_SMTP_POOL) to the same sink.
 *
 *   npm run bench:scale -- [--sizes 10000,30000,100000] [--seed 42] [--cpu-prof DIR] [--node-flags="--max-old-space-size=256"]
 *
 * Figures: the run's wall time (spawn to exit, Node start-up included); its ingest, queue
 * and delivery counts and duration_ms from its --json report; per phase wall time, from
 * the moment each of the run's info log lines reached the bench (start-up, ingest + file,
 * select + render + queue, deliver + settle); the delivery phase also from the sink's
 * counters sampled every 250 ms (first to last message the sink received); peak RSS of the
 * run process (VmHWM from /proc, polled every 250 ms); the database file (+ -wal, + the spool folder) before and
 * after the run. Each figure is printed with the load average (`uptime`), as the machine may
 * be shared. `--cpu-prof DIR` writes a V8 CPU profile of each run and of its delivery workers into DIR (one file per process); `--node-flags`
 * are given to the run's Node process (as an operator would in NODE_OPTIONS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { SinkCounters } from './smtp-sink-server.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'paperboy.js');
const SINK_SCRIPT = join(import.meta.dirname, 'smtp-sink-server.ts');
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const POSTFIX_SMTP_SINK = '/usr/sbin/smtp-sink';
const SAMPLE_MS = 250;
const TARGET_SECONDS_100K = 180;
const TARGET_CEILING_SHARE = 0.5;
const TARGET_RSS_MB = 300;
const TARGET_GROWTH_KB = 5;

export interface Sink {
  port: number;
  counters(): Promise<SinkCounters>;
}

interface RunReport {
  status: string;
  duration_ms: number;
  due: number;
  queued: number;
  papers: number;
  ingest: { files: number; new: number; failed: number };
  delivery?: { sent: number; failed: number; deferred: number; retried: number };
}

function seeded(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}/${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The SMTP sink in a process of its own; `children` gets it, to kill at the end. Postfix's
 * smtp-sink when installed: written in C, it takes a few percent of a core where our Node
 * sink (scripts/smtp-sink-server.ts, smtp-server) took a third of one at 450 msgs/s, on a
 * machine with two cores that the run, its workers and the sink share.
 */
export async function startSink(children: Set<ChildProcess>): Promise<Sink> {
  return existsSync(POSTFIX_SMTP_SINK) ? startPostfixSink(children) : startNodeSink(children);
}

/**
 * `smtp-sink -c` prints `sess=N quit=N mesg=N` after each event; the bytes it received are
 * what it read from its sockets (`rchar` in /proc/PID/io), and its CPU time is in /proc/PID/stat.
 */
async function startPostfixSink(children: Set<ChildProcess>): Promise<Sink> {
  const port = await freePort();
  const child = spawn(POSTFIX_SMTP_SINK, ['-c', ...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '1024'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let messages = 0;
  let sessions = 0;
  child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
    const last = /sess=(\d+) quit=\d+ mesg=(\d+)\r?[^\r]*$/.exec(chunk.trimEnd());
    if (last) [sessions, messages] = [Number(last[1]), Number(last[2])];
  });
  const ticks = 100; // USER_HZ on Linux
  const counters = async (): Promise<SinkCounters> => {
    const io = readFileSync(`/proc/${child.pid}/io`, 'utf8');
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { messages, bytes: Number(/rchar: (\d+)/.exec(io)![1]), connections: sessions, cpuMs: ((Number(stat[11]) + Number(stat[12])) * 1000) / ticks };
  };
  // Listening once it answers a connection.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => createConnection(port, '127.0.0.1', resolve).on('error', reject).setTimeout(1000));
      break;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { port, counters };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startNodeSink(children: Set<ChildProcess>): Promise<Sink> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), SINK_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the SMTP sink (${SINK_SCRIPT}) exited`);
    return line.value;
  };
  const port = Number(await nextLine());
  // One question at a time: answers come back in order on one stream.
  let pending: Promise<unknown> = Promise.resolve();
  const counters = () => {
    const answer = pending.then(async () => {
      child.stdin.write('counters\n');
      return JSON.parse(await nextLine()) as SinkCounters;
    });
    pending = answer.catch(() => undefined);
    return answer;
  };
  return { port, counters };
}

/** Runs the CLI to completion; returns stdout, wall seconds and peak RSS (VmHWM) in bytes. */
interface CliResult {
  stdout: string;
  seconds: number;
  peakRss: number;
  /** Peak RSS of each process the run started (its delivery workers). */
  workerPeakRss: number[];
  code: number | null;
  /** Each JSON log line's `msg` with the seconds since spawn at which it reached us. */
  logLines: { at: number; msg: string }[];
}

async function runCli(args: string[], env: NodeJS.ProcessEnv, children: Set<ChildProcess>, onSample?: () => void, nodeArgs: string[] = []): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const logLines: CliResult['logLines'] = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr += `${line}\n`;
    try {
      logLines.push({ at: (performance.now() - started) / 1000, msg: String((JSON.parse(line) as { msg?: unknown }).msg ?? '') });
    } catch {
      // Not a JSON log line (a stack trace): kept in stderr only.
    }
  });
  let peakRss = 0;
  // The delivery workers a run starts beside itself (PAPERBOY_RUN_WORKERS), by pid.
  const workerPeaks = new Map<number, number>();
  const hwmOf = (pid: number) => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      // The process is gone between two samples: the last sample stands.
      return 0;
    }
  };
  const readHwm = () => {
    peakRss = Math.max(peakRss, hwmOf(child.pid!));
    for (const pid of childPids(child.pid!)) workerPeaks.set(pid, Math.max(workerPeaks.get(pid) ?? 0, hwmOf(pid)));
  };
  const timer = setInterval(() => {
    readHwm();
    onSample?.();
  }, SAMPLE_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  children.delete(child);
  if (process.env.BENCH_RUN_STDERR) writeFileSync(process.env.BENCH_RUN_STDERR, stderr);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0 && code !== 1) throw new Error(`paperboy ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { stdout, seconds, peakRss, workerPeakRss: [...workerPeaks.values()], code, logLines };
}

/** Pids whose parent is `pid` (from the children file of each of its threads in /proc). */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** `uptime`'s load averages, printed beside each figure: the machine may be shared. */
export function load(): string {
  return `load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`;
}

/**
 * N daily subscribers as a `subscribers import` CSV: mixed topic subsets (each topic with
 * probability 1/4, one in ten follows all), the same for a seed.
 */
export function subscribersCsv(n: number, seed: number, topicIds: readonly string[]): string {
  const rows = ['email,name,topics,frequency,weekday'];
  for (let index = 0; index < n; index++) {
    const topics = topicIds.filter((id) => seeded(seed, `${index} ${id}`) < 0.25);
    const choice = seeded(seed, `all ${index}`) < 0.1 || topics.length === 0 ? 'all' : topics.join(';');
    rows.push(`reader${index}@example.com,Reader ${index},${choice},daily,`);
  }
  return `${rows.join('\n')}\n`;
}

/** The shipped taxonomy's topic ids. */
export function shippedTopicIds(): string[] {
  const taxonomy = parseYaml(readFileSync(join(ROOT, 'data', 'topics.yaml'), 'utf8')) as { topics: { id: string }[] };
  return taxonomy.topics.map((topic) => topic.id);
}

/** The wall time between two of the run's log lines (the first line whose msg matches each). */
function phaseSeconds(lines: CliResult['logLines'], from: RegExp | 'spawn', to: RegExp | 'exit', exitAt: number): number | null {
  const at = (mark: RegExp | 'spawn' | 'exit') => (mark === 'spawn' ? 0 : mark === 'exit' ? exitAt : (lines.find((line) => mark.test(line.msg))?.at ?? null));
  const start = at(from);
  const end = at(to);
  return start === null || end === null ? null : end - start;
}

/** The database, its WAL and the spool folder of queued messages' bytes beside it. */
function dbBytes(path: string): number {
  const spool = `${path}-bodies`;
  const spooled = existsSync(spool) ? readdirSync(spool).map((name) => join(spool, name)) : [];
  return [path, `${path}-wal`, ...spooled].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

async function runSmtpSource(port: number, file: string, count: number, sessions: number, children: Set<ChildProcess>): Promise<void> {
  const args = ['-d', '-s', String(sessions), '-m', String(count), '-F', file, '-M', 'localhost', '-f', 'paperboy@localhost', '-t', 'reader@example.com', `127.0.0.1:${port}`];
  const child = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  children.delete(child);
  if (code !== 0) throw new Error(`smtp-source exited with ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
}

/** A message of `size` bytes in the shape smtp-source sends (it appends CRLF to each line). */
function messageOfSize(size: number): string {
  const header = 'From: paperboy@localhost\nTo: reader@example.com\nSubject: bench-scale ceiling\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n';
  const line = `${'x'.repeat(74)}\n`;
  const bodyBytes = Math.max(0, size - header.length);
  return header + line.repeat(Math.floor(bodyBytes / line.length + 0.5));
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

async function benchOne(n: number, seed: number, topicIds: string[], sink: Sink, workDir: string, children: Set<ChildProcess>, cpuProfDir: string | undefined, nodeFlags: string[]): Promise<void> {
  const dir = join(workDir, `n${n}`);
  const inbox = join(dir, 'inbox');
  mkdirSync(inbox, { recursive: true });
  const db = join(dir, 'paperboy.db');
  const pool = process.env.PAPERBOY_SMTP_POOL ?? '5';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PAPERBOY_DB: db,
    PAPERBOY_INBOX: inbox,
    PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
    PAPERBOY_SOURCES: 'none',
    PAPERBOY_LOG_LEVEL: 'info',
    PAPERBOY_SECRET: createHash('sha256').update(`bench-scale ${seed}`).digest('hex'),
    PAPERBOY_SMTP_TLS: 'none',
    PAPERBOY_SMTP_POOL: pool,
  };

  const csv = join(dir, 'subscribers.csv');
  writeFileSync(csv, subscribersCsv(n, seed, topicIds));
  const imported = await runCli(['subscribers', 'import', csv], env, children);

  const listingsDir = join(ROOT, 'data', 'listings');
  for (const file of readdirSync(listingsDir)) copyFileSync(join(listingsDir, file), join(inbox, file));
  const before = dbBytes(db);

  const sinkStart = await sink.counters();
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let lastCount = sinkStart.messages;
  const started = performance.now();
  const sampleSink = () => {
    void sink.counters().then((now) => {
      const at = performance.now();
      if (now.messages > lastCount) {
        firstAt ??= at;
        lastAt = at;
        lastCount = now.messages;
      }
    });
  };
  const nodeArgs = [...nodeFlags, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [])];
  const loadBefore = load();
  const run = await runCli(['run', '--json'], { ...env, PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true' }, children, sampleSink, nodeArgs);
  const loadAfterRun = load();
  const sinkEnd = await sink.counters();
  const after = dbBytes(db);
  const report = JSON.parse(run.stdout) as RunReport;
  const received = sinkEnd.messages - sinkStart.messages;
  const meanSize = received ? (sinkEnd.bytes - sinkStart.bytes) / received : 0;
  const deliverySeconds = firstAt !== null && lastAt !== null ? Math.max((lastAt - firstAt) / 1000, SAMPLE_MS / 1000) : 0;

  let ceiling: { seconds: number; rate: number } | null = null;
  if (existsSync(SMTP_SOURCE) && received > 0) {
    const file = join(dir, 'message.eml');
    writeFileSync(file, messageOfSize(Math.round(meanSize)));
    const ceilingStarted = performance.now();
    await runSmtpSource(sink.port, file, received, Number(pool), children);
    const seconds = (performance.now() - ceilingStarted) / 1000;
    ceiling = { seconds, rate: received / seconds };
  }
  const loadAfterCeiling = load();
  const phase = (from: RegExp | 'spawn', to: RegExp | 'exit') => {
    const seconds = phaseSeconds(run.logLines, from, to, run.seconds);
    return seconds === null ? '—' : `${seconds.toFixed(1)} s`;
  };
  const deliveryRate = deliverySeconds ? received / deliverySeconds : 0;

  console.log(`\nN = ${int(n)} daily subscribers (import ${imported.seconds.toFixed(1)} s by the CLI)`);
  console.log(`  paperboy run: ${run.seconds.toFixed(1)} s wall (spawn to exit), report duration_ms ${int(report.duration_ms)}, status ${report.status}, exit ${run.code} (${loadBefore} before, ${loadAfterRun} after)`);
  console.log(`    phases (from its log lines): start-up ${phase('spawn', /^ingesting listings/)}, ingest + file ${phase(/^ingesting listings/, /^(filed \d+ papers|queued \d+ digests)/)}, select + render + queue, with a delivery every 1,000 digests ${phase(/^(filed \d+ papers|ingesting listings)/, /^queued \d+ digests/)}, the last delivery + prune ${phase(/^queued \d+ digests/, 'exit')}`);
  console.log(`    ingest: ${report.ingest.files} files, ${report.ingest.new} new papers, ${report.ingest.failed} failed`);
  console.log(`    queue:  ${int(report.due)} due, ${int(report.queued)} queued, ${int(report.papers)} papers`);
  console.log(`    delivery: ${int(report.delivery?.sent ?? 0)} sent, ${report.delivery?.failed ?? 0} failed, ${report.delivery?.deferred ?? 0} deferred; sink received ${int(received)} (${(meanSize / 1024).toFixed(1)} KB each)`);
  console.log(`    phases (sink sampled every ${SAMPLE_MS} ms): before the first message ${firstAt !== null ? ((firstAt - started) / 1000).toFixed(1) : '—'} s (start-up, ingest, file, select, render, queue), delivery ${deliverySeconds.toFixed(1)} s, after the last ${lastAt !== null ? (run.seconds - (lastAt - started) / 1000).toFixed(1) : '—'} s`);
  console.log(`  delivery: ${int(deliveryRate)} msgs/s` + (ceiling ? `; smtp-source ${int(ceiling.rate)} msgs/s (${ceiling.seconds.toFixed(1)} s, ${int(received)} msgs, ${pool} sessions, ${loadAfterCeiling} after): ${Math.round((deliveryRate / ceiling.rate) * 100)}% (target ≥ ${TARGET_CEILING_SHARE * 100}%: ${verdict(deliveryRate / ceiling.rate >= TARGET_CEILING_SHARE)})` : '; smtp-source not measured'));
  const peaks = [run.peakRss, ...run.workerPeakRss];
  const workersRss = run.workerPeakRss.length ? `, its ${run.workerPeakRss.length} delivery worker(s): ${run.workerPeakRss.map(mb).join(', ')} MB` : '';
  console.log(`  peak RSS of the run: ${mb(run.peakRss)} MB${workersRss} (target ≤ ${TARGET_RSS_MB} MB per process, flat across N: ${verdict(Math.max(...peaks) <= TARGET_RSS_MB * 1024 ** 2)})`);
  const growth = (after - before) / n / 1024;
  console.log(`  database + wal + spooled bodies: ${mb(before)} MB before, ${mb(after)} MB after: ${growth.toFixed(1)} KB per subscriber (target ≤ ${TARGET_GROWTH_KB} KB: ${verdict(growth <= TARGET_GROWTH_KB)})`);
  if (n >= 100_000) console.log(`  end to end: ${run.seconds.toFixed(1)} s (target ≤ ${TARGET_SECONDS_100K} s at 100k: ${verdict(run.seconds <= TARGET_SECONDS_100K)})`);
  rmSync(dir, { recursive: true, force: true });
}

async function main(workDir: string, children: Set<ChildProcess>): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: 'string' }, subscribers: { type: 'string' }, seed: { type: 'string', default: '42' }, 'cpu-prof': { type: 'string' }, 'node-flags': { type: 'string' } },
  });
  const sizes = (values.sizes ?? values.subscribers ?? '10000,30000,100000').split(',').map((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--sizes takes positive integers separated by commas, not ${JSON.stringify(text)}`);
    return value;
  });
  const seed = Number(values.seed);
  const topicIds = shippedTopicIds();
  const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const sink = await startSink(children);
  console.log(`Paperboy at scale: CLI import, shipped listings, \`paperboy run --json\` into the SMTP sink on 127.0.0.1:${sink.port} (its own process)`);
  console.log(`  ${availableParallelism()} cores, Node ${process.version}, ${load()}; ceiling: ${existsSync(SMTP_SOURCE) ? SMTP_SOURCE : 'smtp-source not installed (apt-get install postfix)'}`);
  const nodeFlags = values['node-flags']?.split(' ').filter(Boolean) ?? [];
  if (nodeFlags.length > 0) console.log(`  the run's Node flags: ${nodeFlags.join(' ')}`);
  for (const n of sizes) await benchOne(n, seed, topicIds, sink, workDir, children, cpuProfDir, nodeFlags);
}

// Run as a script (not imported for its helpers by another bench).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const workDir = mkdtempSync(join(tmpdir(), 'paperboy-bench-scale-'));
  const children = new Set<ChildProcess>();
  const cleanUp = () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  try {
    await main(workDir, children);
  } finally {
    cleanUp();
  }
}
