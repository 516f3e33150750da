/**
 * Scale-out, end to end, in one run: N daily subscribers imported by the real CLI, the
 * shipped listings in the inbox, then two phases into the SMTP sink (Postfix's smtp-sink when installed, else scripts/smtp-sink-server.ts;
 * its own process):
 *   - queue: `paperboy run --json` with PAPERBOY_SMTP_HOURLY_CAP=1 and PAPERBOY_RUN_WORKERS=0, so it ingests, files,
 *     renders and queues every digest, sends one and leaves the rest queued;
 *   - deliver: W `paperboy deliver --json` processes started at once over that outbox,
 *     until each finds nothing left;
 * on SQLite with one worker (the embedded baseline) and on PostgreSQL with 1, 2 and 4.
 * Postgres queues once: the later worker counts deliver a copy of that queued database.
 *
 *   npx tsx scripts/bench-scale-postgres.ts [--subscribers 100000] [--workers 1,2,4] [--database-url postgres://…] [--cpu-prof DIR]
 *
 * Without --database-url (or PAPERBOY_TEST_DATABASE_URL) it re-runs itself under
 * scripts/test-postgres.sh, which starts a throwaway PostgreSQL 15 cluster. Each scenario
 * gets a fresh database (CREATE DATABASE on that server) and data folder.
 *
 * Figures per scenario: the queue phase's wall time; the delivery phase's wall time (the
 * first worker's spawn to the last one's exit) and msgs/s, with the sink's first-to-last span
 * beside it; peak RSS (VmHWM from /proc, sampled every 250 ms) of every Paperboy process; the
 * CPU seconds each worker, the PostgreSQL server and the sink spent while delivering.
 * `--cpu-prof DIR` writes a V8 CPU profile of every Paperboy process into DIR (one file per
 * process, named by pid; the bench prints which pid was which).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { shippedTopicIds, startSink, subscribersCsv, type Sink } from './bench-scale.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'paperboy.js');
const SAMPLE_MS = 250;

interface Scenario {
  store: 'sqlite' | 'postgres';
  workers: number;
}

interface Measured {
  scenario: Scenario;
  /** `paperboy run`, spawn to exit: start-up, ingest, filing, selection, rendering, queueing. */
  queueSeconds: number;
  /** The workers, spawn of the first to exit of the last. */
  deliverSeconds: number;
  /** The sink's first to last message (sampled every 250 ms). */
  sinkSeconds: number;
  received: number;
  peakRss: { name: string; bytes: number }[];
  /** CPU seconds of the delivery phase: each worker, the PostgreSQL server (all its processes), the sink. */
  deliverCpu: { name: string; seconds: number }[];
  sentByWorker: number[];
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);

/** Node flags for every Paperboy process (`--cpu-prof`); none by default. */
let nodeArgs: string[] = [];

/** A Paperboy process whose peak RSS and CPU time are sampled until it exits. */
function startPaperboy(args: string[], env: NodeJS.ProcessEnv, children: Set<ChildProcess>) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  if (nodeArgs.length > 0) console.log(`  pid ${child.pid}: paperboy ${args.join(' ')}${env.PAPERBOY_DATABASE_URL ? ' (postgres)' : ''}`);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peakRss = 0;
  let cpuSeconds = 0;
  const timer = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakRss = Math.max(peakRss, Number(match[1]) * 1024);
      cpuSeconds = processCpuSeconds(child.pid!);
    } catch {
      // Gone between two samples: the last sample stands.
    }
  }, SAMPLE_MS);
  const done = (once(child, 'exit') as Promise<[number | null]>).then(([code]) => {
    clearInterval(timer);
    children.delete(child);
    if (code !== 0) throw new Error(`paperboy ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return { stdout, peakRss, cpuSeconds };
  });
  return { child, done };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU of a process so far, and of its children it has waited for (from /proc). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** CPU of every `postgres` process on this machine so far: the live ones, and the backends the postmaster has reaped. */
function postgresCpuSeconds(): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') seconds += processCpuSeconds(Number(entry));
    } catch {
      // Gone meanwhile: its time is in the postmaster's children now.
    }
  }
  return seconds;
}

async function freshDatabase(serverUrl: string, template?: string): Promise<string> {
  const name = `paperboy_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${new URL(template).pathname.slice(1)}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(serverUrl: string, databaseUrl: string): Promise<void> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${new URL(databaseUrl).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * The first Postgres scenario's outbox, queued once and kept as a template database: each
 * later scenario starts from a byte-identical copy (CREATE DATABASE … TEMPLATE) and measures
 * only its delivery, so the 1/2/4-worker runs deliver exactly the same messages and a
 * 100,000-subscriber bench does not spend most of its time re-queueing.
 */
interface QueuedTemplate {
  databaseUrl: string;
  queueSeconds: number;
  queued: number;
  runPeakRss: number;
}

async function benchOne(scenario: Scenario, n: number, csvRows: string, serverUrl: string, sink: Sink, workDir: string, children: Set<ChildProcess>, templates: Map<string, QueuedTemplate>): Promise<Measured> {
  const dir = join(workDir, `${scenario.store}-${scenario.workers}`);
  const inbox = join(dir, 'inbox');
  mkdirSync(inbox, { recursive: true });
  const template = scenario.store === 'postgres' ? templates.get('postgres') : undefined;
  const databaseUrl = scenario.store === 'postgres' ? await freshDatabase(serverUrl, template?.databaseUrl) : null;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PAPERBOY_DB: join(dir, 'paperboy.db'),
    ...(databaseUrl ? { PAPERBOY_DATABASE_URL: databaseUrl } : {}),
    PAPERBOY_INBOX: inbox,
    PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
    PAPERBOY_SOURCES: 'none',
    PAPERBOY_LOG_LEVEL: 'warn',
    PAPERBOY_SECRET: createHash('sha256').update('bench-scale-postgres').digest('hex'),
    PAPERBOY_SMTP_TLS: 'none',
    PAPERBOY_SMTP_POOL: process.env.PAPERBOY_SMTP_POOL ?? '5',
  };
  const sending = { ...env, PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true' };
  let queueSeconds: number;
  let queued: number;
  let runPeakRss: number;
  if (template) {
    ({ queueSeconds, queued, runPeakRss } = template);
  } else {
    const csv = join(dir, 'subscribers.csv');
    writeFileSync(csv, csvRows);
    await startPaperboy(['subscribers', 'import', csv], env, children).done;
    const listingsDir = join(ROOT, 'data', 'listings');
    for (const file of readdirSync(listingsDir)) copyFileSync(join(listingsDir, file), join(inbox, file));

    // Queue: the real run, held at an hourly cap of one, so it sends one digest and leaves the
    // rest queued; delivery is then measured apart, by the workers alone.
    const queueStarted = performance.now();
    const run = await startPaperboy(['run', '--json'], { ...sending, PAPERBOY_SMTP_HOURLY_CAP: '1', PAPERBOY_RUN_WORKERS: '0' }, children).done;
    queueSeconds = (performance.now() - queueStarted) / 1000;
    const report = JSON.parse(run.stdout) as { queued: number; delivery: { sent: number; deferred: number } };
    if (report.delivery.sent !== 1 || report.delivery.deferred !== report.queued - 1) throw new Error(`the queueing run sent ${report.delivery.sent} and left ${report.delivery.deferred} of ${report.queued} queued`);
    queued = report.queued;
    runPeakRss = run.peakRss;
    if (databaseUrl) templates.set('postgres', { databaseUrl: await freshDatabase(serverUrl, databaseUrl), queueSeconds, queued, runPeakRss });
  }

  const sinkStart = await sink.counters();
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let lastCount = sinkStart.messages;
  const postgresCpuStart = postgresCpuSeconds();
  const started = performance.now();
  const sampler = setInterval(() => {
    void sink.counters().then((now) => {
      if (now.messages > lastCount) {
        const at = performance.now();
        firstAt ??= at;
        lastAt = at;
        lastCount = now.messages;
      }
    });
  }, SAMPLE_MS);
  const workers = await Promise.all(Array.from({ length: scenario.workers }, () => startPaperboy(['deliver', '--json'], sending, children).done));
  const deliverSeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const sinkEnd = await sink.counters();
  const deliverCpu = [
    ...workers.map((worker, index) => ({ name: `deliver#${index + 1}`, seconds: worker.cpuSeconds })),
    { name: 'postgres', seconds: postgresCpuSeconds() - postgresCpuStart },
    { name: 'sink', seconds: (sinkEnd.cpuMs - sinkStart.cpuMs) / 1000 },
  ];
  if (databaseUrl) await dropDatabase(serverUrl, databaseUrl);
  rmSync(dir, { recursive: true, force: true });
  const received = sinkEnd.messages - sinkStart.messages;
  const sentByWorker = workers.map((worker) => (JSON.parse(worker.stdout) as { delivery: { sent: number } }).delivery.sent);
  if (received !== queued - 1 || sentByWorker.reduce((a, b) => a + b, 0) !== received) {
    throw new Error(`${scenario.store} × ${scenario.workers}: ${queued - 1} left queued, the sink received ${received}, the workers reported ${sentByWorker.join(' + ')} sent`);
  }
  return {
    scenario,
    queueSeconds,
    deliverSeconds,
    received,
    sinkSeconds: firstAt !== null && lastAt !== null ? Math.max((lastAt - firstAt) / 1000, SAMPLE_MS / 1000) : 0,
    peakRss: [{ name: template ? 'run (queued once, reused)' : 'run', bytes: runPeakRss }, ...workers.map((worker, index) => ({ name: `deliver#${index + 1}`, bytes: worker.peakRss }))],
    sentByWorker,
    deliverCpu,
  };
}

async function main(serverUrl: string, workDir: string, children: Set<ChildProcess>): Promise<void> {
  const { values } = parseArgs({
    options: { subscribers: { type: 'string', default: '100000' }, workers: { type: 'string', default: '1,2,4' }, seed: { type: 'string', default: '42' }, 'database-url': { type: 'string' }, 'cpu-prof': { type: 'string' } },
  });
  if (values['cpu-prof'] !== undefined) nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`];
  const n = Number(values.subscribers);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--subscribers takes a positive integer, not ${JSON.stringify(values.subscribers)}`);
  const workerCounts = values.workers.split(',').map(Number);
  if (workerCounts.some((count) => !Number.isInteger(count) || count < 1)) throw new Error(`--workers takes positive integers separated by commas, not ${JSON.stringify(values.workers)}`);
  const seed = Number(values.seed);
  const csvRows = subscribersCsv(n, seed, shippedTopicIds());

  const sink = await startSink(children);
  console.log(`Scale-out: ${int(n)} daily subscribers, queued by \`paperboy run\`, then delivered by \`paperboy deliver\` workers, into the SMTP sink on 127.0.0.1:${sink.port} (its own process)`);
  console.log(`  ${availableParallelism()} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}, PostgreSQL at ${new URL(serverUrl).host}, PAPERBOY_SMTP_POOL=${process.env.PAPERBOY_SMTP_POOL ?? '5'} per worker`);
  const scenarios: Scenario[] = [{ store: 'sqlite', workers: 1 }, ...workerCounts.map((workers) => ({ store: 'postgres' as const, workers }))];
  const results: Measured[] = [];
  const templates = new Map<string, QueuedTemplate>();
  for (const scenario of scenarios) {
    const measured = await benchOne(scenario, n, csvRows, serverUrl, sink, workDir, children, templates);
    results.push(measured);
    const rate = measured.received / measured.deliverSeconds;
    console.log(
      `\n${scenario.store} × ${scenario.workers} worker${scenario.workers === 1 ? '' : 's'}: queue ${measured.queueSeconds.toFixed(1)} s (paperboy run), deliver ${measured.deliverSeconds.toFixed(1)} s (${int(rate)} msgs/s, ${int(measured.received)} digests; the sink saw ${measured.sinkSeconds.toFixed(1)} s first to last)` +
        `\n  end to end ${(measured.queueSeconds + measured.deliverSeconds).toFixed(1)} s; sent per worker: ${measured.sentByWorker.map(int).join(' / ')}` +
        `\n  peak RSS: ${measured.peakRss.map((process) => `${process.name} ${mb(process.bytes)} MB`).join(', ')}` +
        `\n  CPU while delivering: ${measured.deliverCpu.map((process) => `${process.name} ${process.seconds.toFixed(1)} s`).join(', ')} (the machine had ${availableParallelism()} × ${measured.deliverSeconds.toFixed(1)} s)`,
    );
  }
  for (const template of templates.values()) await dropDatabase(serverUrl, template.databaseUrl);
  const baselineRate = results[0]!.received / results[0]!.deliverSeconds;
  console.log('\nSummary (delivery = the workers, spawn to exit; against SQLite × 1 in this run):');
  for (const result of results) {
    const rate = result.received / result.deliverSeconds;
    console.log(
      `  ${`${result.scenario.store} × ${result.scenario.workers}`.padEnd(13)} queue ${result.queueSeconds.toFixed(1).padStart(6)} s  deliver ${result.deliverSeconds.toFixed(1).padStart(6)} s  ${int(rate).padStart(6)} msgs/s (${(rate / baselineRate).toFixed(2)}×)  peak RSS ${result.peakRss.map((process) => mb(process.bytes)).join('/')} MB`,
    );
  }
}

const { values: early } = parseArgs({ options: { 'database-url': { type: 'string' } }, strict: false, allowPositionals: true });
const serverUrl = (early['database-url'] as string | undefined) ?? process.env.PAPERBOY_TEST_DATABASE_URL;
if (!serverUrl) {
  // No server given: the same benchmark under a throwaway cluster.
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'test-postgres.sh'), process.execPath, '--import', import.meta.resolve('tsx'), import.meta.filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
const workDir = mkdtempSync(join(tmpdir(), 'paperboy-bench-scale-postgres-'));
const children = new Set<ChildProcess>();
const cleanUp = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
};
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
try {
  await main(serverUrl, workDir, children);
} finally {
  cleanUp();
}
