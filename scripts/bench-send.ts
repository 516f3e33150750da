/**
 * Delivery throughput. Real digests (rendered from the sample papers, 5–50 papers each) are
 * queued for N subscribers in a SQLite outbox on a temp file, then `deliverOutbox` hands
 * them to the pooled SMTP mailer (`createSmtpMailer`) over TCP to a discarding sink that
 * runs in its own process (scripts/smtp-sink-server.ts), until the outbox is empty.
 *
 * In the same run, against the same sink:
 *   - the baseline: the same loop and messages through nodemailer's default transport (no
 *     pool: a new connection per message), with as many messages in flight;
 *   - the protocol ceiling: Postfix's smtp-source sending a message of the average size over
 *     as many sessions (when installed);
 *   - a sweep of pool size × transfer encoding, and of pool size against a slow server: the
 *     measures behind the shipped defaults.
 *
 * A set of distinct digests is rendered once and reused across recipients, so rendering is
 * not what is measured; SQLite holds the queue, not the process.
 *
 *   npx tsx scripts/bench-send.ts [--messages 20000] [--baseline 2000] [--sweep 3000] [--no-sweep] [--latency 20] [--seed 42]
 *
 * --latency MS (0: skip) adds a second pool sweep with the sink answering each message after
 * MS: on loopback the sender's CPU is the limit whatever the pool, so only a server that
 * makes each message wait shows what parallel connections buy.
 *
 * PAPERBOY_SMTP_POOL, if set, is the pool of the main run (default 5, as shipped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import nodemailer, { type Transporter } from 'nodemailer';
import { systemClock } from '../src/clock.ts';
import { loadConfig, type DeliveryConfig } from '../src/config/config.ts';
import { deliverOutbox } from '../src/delivery/deliver.ts';
import { mailOptions } from '../src/delivery/mail-options.ts';
import type { Mailer, OutgoingMessage } from '../src/delivery/mailer.ts';
import { outboxMessage } from '../src/delivery/queue.ts';
import { senderOf } from '../src/pipeline/run.ts';
import { createSmtpMailer, sendRawWith, sendWith } from '../src/delivery/smtp-mailer.ts';
import { createRenderer } from '../src/digest/render.ts';
import { titleKey } from '../src/ingest/identity.ts';
import { ingestSources } from '../src/ingest/ingest.ts';
import { pathsSource } from '../src/sources/files.ts';
import { createLogger } from '../src/log.ts';
import type { Store } from '../src/store/port.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';
import { sampleDigest, samplePapers } from '../test/helpers/sample-digest.ts';
import { SAMPLE_LISTINGS_DIR } from '../test/helpers/sample-papers.ts';
import type { SinkCounters } from './smtp-sink-server.ts';

const SINK_SCRIPT = join(import.meta.dirname, 'smtp-sink-server.ts');
const DISTINCT_DIGESTS = 200;
const MIN_PAPERS = 5;
const MAX_PAPERS = 50;
const QUEUE_BATCH = 1_000;
const SWEEP_POOLS = [1, 2, 5, 10];
const TARGET_RATIO = 2;
const TARGET_CEILING_SHARE = 0.5;
const FROM_DOMAIN = 'localhost';

type Encoding = 'quoted-printable' | 'base64';

interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  paperTitles: string[];
}

interface Sink {
  port: number;
  counters(): Promise<SinkCounters>;
  /** `greet-pause on|off` or `reply-delay MS`, for what follows (see scripts/smtp-sink-server.ts). */
  configure(setting: string): Promise<SinkCounters>;
}

interface Measured {
  label: string;
  inFlight: number;
  messages: number;
  seconds: number;
  bytes: number;
  connections: number;
  /** Null when the sender is another process (smtp-source). */
  senderCpuMs: number | null;
  sinkCpuMs: number;
}

/** A number in [0, 1) fixed by the seed and a key: seeded choices without carrying PRNG state around. */
function seeded(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}/${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Distinct digests of 5–50 consecutive sample papers, rendered once by the real renderer. */
async function renderDigests(templatesDir: string, seed: number): Promise<RenderedDigest[]> {
  const renderer = await createRenderer({ templatesDir });
  const papers = samplePapers();
  return Array.from({ length: DISTINCT_DIGESTS }, (_, index) => {
    const count = MIN_PAPERS + Math.floor(seeded(seed, `count ${index}`) * (MAX_PAPERS - MIN_PAPERS + 1));
    const start = Math.floor(seeded(seed, `start ${index}`) * papers.length);
    const chosen = Array.from({ length: count }, (_, offset) => papers[(start + offset) % papers.length]!);
    const { subject, html, text } = renderer.renderDigest(sampleDigest(chosen));
    return { subject, html, text, paperTitles: chosen.map((paper) => paper.title) };
  });
}

/** Recipient `index`'s message, as deliverOutbox would build it from its outbox row. */
function outgoingMessage(digest: RenderedDigest, index: number, delivery: DeliveryConfig, now: string): OutgoingMessage {
  return {
    messageId: `<bench-${index}@${FROM_DOMAIN}>`,
    from: delivery.from,
    to: { email: `reader${index}@example.com`, name: index % 3 === 0 ? null : `Reader ${index}` },
    subject: digest.subject,
    html: digest.html,
    text: digest.text,
    date: new Date(now),
    list: { id: senderOf(delivery).listId, name: delivery.listName, unsubscribeUrl: `https://paperboy.example.com/unsubscribe?token=bench${index}`, unsubscribeMailto: delivery.unsubscribeMailto },
  };
}

/** The shipped options, with the body encoding swapped at nodemailer's compile step when asked. */
function withEncoding(transport: Transporter, encoding: Encoding): Transporter {
  if (encoding !== 'quoted-printable') {
    transport.use('compile', (mail, done) => {
      mail.data.textEncoding = encoding;
      done();
    });
  }
  return transport;
}

function mailerOver(transport: Transporter, description: string): Mailer {
  return {
    description,
    send: (message) => sendWith(transport, message),
    sendRaw: (message) => sendRawWith(transport, message),
    close: async () => transport.close(),
  };
}

/** Digest `index` as it goes on the wire (CRLF line ends), to report sizes and feed smtp-source. */
function onTheWire(delivery: DeliveryConfig, encoding: Encoding): (digest: RenderedDigest, index: number) => Promise<Buffer> {
  const transport = withEncoding(nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }), encoding);
  const now = new Date().toISOString();
  return async (digest, index) => (await transport.sendMail(mailOptions(outgoingMessage(digest, index, delivery, now)))).message as Buffer;
}

async function wireSizes(digests: readonly RenderedDigest[], delivery: DeliveryConfig, encoding: Encoding): Promise<number[]> {
  const wire = onTheWire(delivery, encoding);
  const sizes: number[] = [];
  for (const [index, digest] of digests.entries()) sizes.push((await wire(digest, index)).length);
  return sizes;
}

/**
 * A fresh store in its own folder: the sample papers ingested (deliveries reference them),
 * then `count` active subscribers, each with one queued digest of the rendered set, in
 * batches of one transaction. Returns the store and how long queueing took.
 */
async function queueOutbox(dir: string, count: number, digests: readonly RenderedDigest[], delivery: DeliveryConfig): Promise<{ store: Store; seconds: number }> {
  mkdirSync(dir);
  const store = openSqliteStore(join(dir, 'bench.db'));
  const dumps = readdirSync(SAMPLE_LISTINGS_DIR).filter((file) => file.endsWith('.txt')).sort();
  await ingestSources([pathsSource(dumps.map((name) => join(SAMPLE_LISTINGS_DIR, name)))], { store, clock: systemClock, maxListingBytes: 20 * 1024 ** 2 });
  const paperIds: number[][] = [];
  for (const digest of digests) {
    const ids: number[] = [];
    for (const title of digest.paperTitles) ids.push((await store.paperByTitleKey(titleKey(title)))!.id);
    paperIds.push(ids);
  }
  const sender = senderOf(delivery);
  const started = performance.now();
  for (let from = 0; from < count; from += QUEUE_BATCH) {
    const now = systemClock.now();
    // The product's own path: the whole message is built (MIME, quoted-printable) when queued.
    const batch: { message: Awaited<ReturnType<typeof outboxMessage>>; papers: number[] }[] = [];
    for (let index = from; index < Math.min(from + QUEUE_BATCH, count); index++) {
      const digest = digests[index % digests.length]!;
      const recipient = { email: `reader${index}@example.com`, name: index % 3 === 0 ? null : `Reader ${index}` };
      const subscriber = (await store.insertSubscriber({ ...recipient, topics: null, frequency: 'daily', weekday: null }, 'active', now.toISOString()))!;
      const rendered = { subject: digest.subject, preheader: '', html: digest.html, text: digest.text };
      batch.push({ message: await outboxMessage(rendered, subscriber, sender, now, `https://paperboy.example.com/unsubscribe?token=bench${index}`), papers: paperIds[index % digests.length]! });
    }
    await store.withTransaction(async (tx) => {
      for (const { message, papers } of batch) await tx.queueMessage({ ...message, runId: null, kind: 'digest', windowSince: null }, papers);
    });
  }
  return { store, seconds: (performance.now() - started) / 1000 };
}

/** deliverOutbox until the outbox is empty; anything not sent is a broken benchmark, not a figure. */
async function deliverAll(store: Store, mailer: Mailer, delivery: DeliveryConfig, poolSize: number): Promise<number> {
  try {
    const report = await deliverOutbox({
      store,
      mailer,
      clock: systemClock,
      config: { ...delivery, poolSize },
      logger: createLogger('silent'),
    });
    if (report.failed + report.retried + report.deferred > 0 || report.paused) {
      throw new Error(`${mailer.description}: ${report.failed} failed, ${report.retried} retried, ${report.deferred} left queued (${report.pauseReason ?? 'not paused'})`);
    }
    return report.sent;
  } finally {
    await mailer.close();
  }
}

async function startSink(children: Set<ChildProcess>): Promise<Sink> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), SINK_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the SMTP sink (${SINK_SCRIPT}) exited`);
    return line.value;
  };
  const command = async (line: string) => {
    child.stdin.write(`${line}\n`);
    return JSON.parse(await nextLine()) as SinkCounters;
  };
  const port = Number(await nextLine());
  return { port, counters: () => command('counters'), configure: command };
}

/** Times `send` (which returns how many messages it sent) and checks the sink received exactly those. */
async function measure(sink: Sink, label: string, inFlight: number, send: () => Promise<number>, senderIsUs = true): Promise<Measured> {
  const before = await sink.counters();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const messages = await send();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await sink.counters();
  if (after.messages - before.messages !== messages) {
    throw new Error(`${label}: the sender counted ${messages} messages, the sink ${after.messages - before.messages}`);
  }
  return {
    label,
    inFlight,
    messages,
    seconds,
    bytes: after.bytes - before.bytes,
    connections: after.connections - before.connections,
    senderCpuMs: senderIsUs ? (cpu.user + cpu.system) / 1000 : null,
    sinkCpuMs: after.cpuMs - before.cpuMs,
  };
}

function findSmtpSource(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin'];
  return dirs.map((dir) => join(dir, 'smtp-source')).find((path) => existsSync(path)) ?? null;
}

/** smtp-source -d: every session keeps its connection, as the pool does; -F sends the file as the message. */
async function runSmtpSource(binary: string, port: number, file: string, count: number, sessions: number, children: Set<ChildProcess>): Promise<number> {
  const args = ['-d', '-s', String(sessions), '-m', String(count), '-F', file, '-M', FROM_DOMAIN, '-f', `paperboy@${FROM_DOMAIN}`, '-t', 'reader@example.com', `127.0.0.1:${port}`];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  children.delete(child);
  if (code !== 0) throw new Error(`smtp-source exited with ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
  return count;
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const rate = (run: Measured) => run.messages / run.seconds;
const cpuShare = (ms: number | null, run: Measured) => (ms === null ? '—' : `${Math.round(ms / (run.seconds * 10))}%`);
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Text in the first column; the others right-aligned when they hold figures. */
function table(header: string[], rows: string[][], figures = true): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, column) => (column > 0 && figures ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd()}`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const RESULT_HEADER = ['run', 'in flight', 'messages', 'seconds', 'msgs/s', 'MB/s', 'KB/msg', 'connections', 'sender CPU', 'sink CPU'];

function resultRow(run: Measured): string[] {
  return [
    run.label,
    String(run.inFlight),
    int(run.messages),
    run.seconds.toFixed(2),
    int(rate(run)),
    mb(run.bytes / run.seconds),
    (run.bytes / run.messages / 1024).toFixed(1),
    int(run.connections),
    cpuShare(run.senderCpuMs, run),
    cpuShare(run.sinkCpuMs, run),
  ];
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} takes a positive integer, not ${JSON.stringify(text)}`);
  return value;
}

async function main(workDir: string, children: Set<ChildProcess>): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      baseline: { type: 'string', default: '2000' },
      sweep: { type: 'string', default: '3000' },
      'no-sweep': { type: 'boolean', default: false },
      latency: { type: 'string', default: '20' },
      seed: { type: 'string', default: '42' },
    },
  });
  const messages = positiveInteger('messages', values.messages);
  const baselineCount = positiveInteger('baseline', values.baseline);
  const sweepCount = values['no-sweep'] ? 0 : positiveInteger('sweep', values.sweep);
  const seed = positiveInteger('seed', values.seed);
  const latencyMs = Number(values.latency);
  if (!Number.isInteger(latencyMs) || latencyMs < 0) throw new Error(`--latency takes a whole number of milliseconds, not ${JSON.stringify(values.latency)}`);
  // Every message waits latencyMs there: a third of the sample keeps pool 1 under half a minute at 20 ms.
  const latencyCount = latencyMs > 0 ? Math.ceil(sweepCount / 3) : 0;

  const sink = await startSink(children);
  const config = loadConfig({ PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true', PAPERBOY_SMTP_POOL: process.env.PAPERBOY_SMTP_POOL });
  const delivery = config.delivery;
  const pool = delivery.poolSize;
  const smtpSource = findSmtpSource();

  const digests = await renderDigests(config.templatesDir, seed);
  const qpSizes = await wireSizes(digests, delivery, 'quoted-printable');
  const meanWire = mean(qpSizes);
  const htmlSizes = digests.map((digest) => Buffer.byteLength(digest.html));
  const paperCounts = digests.map((digest) => digest.paperTitles.length);

  console.log(`\nPaperboy delivery: deliverOutbox → createSmtpMailer → SMTP sink on 127.0.0.1:${sink.port} (smtp-server, its own process)\n`);
  console.log(
    table(
      ['setting', 'value'],
      [
        ['messages', `${int(messages)}, from ${DISTINCT_DIGESTS} distinct digests reused across recipients (seed ${seed})`],
        ['papers per digest', `${Math.min(...paperCounts)}–${Math.max(...paperCounts)}, ${mean(paperCounts).toFixed(1)} on average`],
        ['HTML per digest', `${kb(Math.min(...htmlSizes))}–${kb(Math.max(...htmlSizes))}, ${kb(mean(htmlSizes))} on average; text ${kb(mean(digests.map((digest) => Buffer.byteLength(digest.text))))}`],
        ['on the wire', `${kb(meanWire)} quoted-printable (as shipped), ${kb(mean(await wireSizes(digests, delivery, 'base64')))} base64, on average`],
        ['pool (in flight)', `${pool}${process.env.PAPERBOY_SMTP_POOL ? ' (PAPERBOY_SMTP_POOL)' : ' (the shipped default)'}, up to 1,000 messages per connection`],
        ['baseline', `${int(baselineCount)} messages, nodemailer's default transport (a new connection per message), ${pool} in flight, same loop and the same prebuilt messages`],
        ['sweep', sweepCount ? `${int(sweepCount)} messages per pool size: ${SWEEP_POOLS.join(', ')}` : 'skipped (--no-sweep)'],
        ['latency sweep', latencyCount ? `${int(latencyCount)} messages per pool size, the sink answering each message after ${latencyMs} ms` : 'skipped (--no-sweep or --latency 0)'],
        ['ceiling', smtpSource ? `${smtpSource} -d, ${int(messages)} messages of ${kb(meanWire)} over ${pool} sessions` : 'smtp-source not found (Postfix not installed)'],
        ['outbox', `SQLite on a temp file under ${workDir}, a fresh one per run`],
        ['machine', `${availableParallelism()} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} (other work on the machine competes for the cores)`],
      ],
      false,
    ),
  );
  console.log('');

  const queued = await queueOutbox(join(workDir, 'main'), messages, digests, delivery);
  const outboxBytes = statSync(join(workDir, 'main', 'bench.db')).size + statSync(join(workDir, 'main', 'bench.db-wal')).size;
  const rssAfterQueue = process.resourceUsage().maxRSS * 1024;
  let rssDuringDelivery = 0;
  const sampler = setInterval(() => (rssDuringDelivery = Math.max(rssDuringDelivery, process.memoryUsage().rss)), 100);
  const paperboy = await measure(sink, `Paperboy (pool ${pool}, quoted-printable)`, pool, () => deliverAll(queued.store, createSmtpMailer(delivery), delivery, pool));
  clearInterval(sampler);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  await queued.store.close();
  rmSync(join(workDir, 'main'), { recursive: true, force: true });

  // Each smaller run gets a fresh outbox of its own; only its delivery is timed.
  const timed = async (name: string, label: string, count: number, poolSize: number, mailer: () => Mailer) => {
    const { store } = await queueOutbox(join(workDir, name), count, digests, delivery);
    try {
      return await measure(sink, label, poolSize, () => deliverAll(store, mailer(), delivery, poolSize));
    } finally {
      await store.close();
      rmSync(join(workDir, name), { recursive: true, force: true });
    }
  };
  const smtpOptions = { host: '127.0.0.1', port: sink.port, secure: false } as const;
  const unpooled = () => mailerOver(nodemailer.createTransport({ ...smtpOptions, ignoreTLS: true }), "nodemailer's default transport");

  const baseline = await timed('baseline', 'baseline: nodemailer defaults (no pool)', baselineCount, pool, unpooled);
  await sink.configure('greet-pause off');
  const baselineNoPause = await timed('baseline-no-pause', '  same, sink greets at once', baselineCount, pool, unpooled);
  const paperboyNoPause = await timed('paperboy-no-pause', `  Paperboy, sink greets at once`, baselineCount, pool, () => createSmtpMailer(delivery));
  await sink.configure('greet-pause on');

  const sweep: Measured[] = [];
  for (const poolSize of sweepCount ? SWEEP_POOLS : []) {
    sweep.push(await timed(`sweep-${poolSize}`, `pool ${poolSize}`, sweepCount, poolSize, () => createSmtpMailer({ ...delivery, poolSize })));
  }

  const latencySweep: Measured[] = [];
  if (latencyCount) {
    await sink.configure(`reply-delay ${latencyMs}`);
    for (const poolSize of SWEEP_POOLS) {
      latencySweep.push(await timed(`latency-${poolSize}`, `pool ${poolSize}, ${latencyMs} ms per message`, latencyCount, poolSize, () => createSmtpMailer({ ...delivery, poolSize })));
    }
    await sink.configure('reply-delay 0');
  }

  let ceiling: Measured | null = null;
  let ceilingMissing = 'smtp-source not found: install Postfix (apt-get install postfix; its daemon need not run) for the protocol ceiling';
  if (smtpSource) {
    const closest = qpSizes.reduce((best, size, index) => (Math.abs(size - meanWire) < Math.abs(qpSizes[best]! - meanWire) ? index : best), 0);
    const file = join(workDir, 'message.eml');
    // smtp-source appends CRLF to every line it reads from the file.
    writeFileSync(file, (await onTheWire(delivery, 'quoted-printable')(digests[closest]!, closest)).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    try {
      ceiling = await measure(sink, 'smtp-source -d (Postfix, C)', pool, () => runSmtpSource(smtpSource, sink.port, file, messages, pool, children), false);
    } catch (error) {
      ceilingMissing = `smtp-source failed: ${(error as Error).message}`;
    }
  }

  console.log(`Queued ${int(messages)} messages in ${queued.seconds.toFixed(1)} s (${int(messages / queued.seconds)}/s; outbox ${mb(outboxBytes)} MB on disk), then delivered:\n`);
  console.log(table(RESULT_HEADER, [paperboy, baseline, baselineNoPause, paperboyNoPause, ...(ceiling ? [ceiling] : [])].map(resultRow)));
  if (!ceiling) console.log(`  protocol ceiling not measured: ${ceilingMissing}`);
  console.log('');
  console.log(`  The sink pauses 100 ms before greeting (smtp-server's early-talker check) except in the "greets at once" rows.`);
  console.log(`  CPU: % of one core over the run; load average now ${loadavg()[0]!.toFixed(1)}. Peak RSS ${mb(peakRss)} MB (render, queue and deliver; ${mb(rssAfterQueue)} MB after queueing; at most ${mb(rssDuringDelivery)} MB sampled during delivery).`);

  if (sweep.length) {
    console.log(`\nSweep: ${int(sweepCount)} messages per pool size through createSmtpMailer\n`);
    console.log(table(RESULT_HEADER, sweep.map(resultRow)));
  }
  if (latencySweep.length) {
    console.log(`\nLatency sweep: ${int(latencyCount)} messages per pool size, quoted-printable; the sink waits ${latencyMs} ms before accepting each message (a relay that commits to disk or is a network away)\n`);
    console.log(table(RESULT_HEADER, latencySweep.map(resultRow)));
  }

  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const ratio = rate(paperboy) / rate(baseline);
  console.log('');
  console.log(`Paperboy: ${int(rate(paperboy))} msgs/s, ${mb(paperboy.bytes / paperboy.seconds)} MB/s, peak RSS ${mb(peakRss)} MB`);
  console.log(
    `vs baseline: ${ratio.toFixed(1)}× ${int(rate(baseline))} msgs/s (target ≥ ${TARGET_RATIO}×: ${verdict(ratio >= TARGET_RATIO)}); ` +
      `against a sink that greets at once ${(rate(paperboyNoPause) / rate(baselineNoPause)).toFixed(1)}× (${int(rate(paperboyNoPause))} vs ${int(rate(baselineNoPause))} msgs/s)`,
  );
  console.log(
    ceiling
      ? `vs smtp-source: ${Math.round((rate(paperboy) / rate(ceiling)) * 100)}% of ${int(rate(ceiling))} msgs/s (target ≥ ${TARGET_CEILING_SHARE * 100}%: ${verdict(rate(paperboy) / rate(ceiling) >= TARGET_CEILING_SHARE)})`
      : `vs smtp-source: not measured (${ceilingMissing})`,
  );
  if (sweep.length) {
    const best = sweep.reduce((top, run) => (rate(run) > rate(top) ? run : top));
    const shipped = sweep.find((run) => run.label === `pool ${pool}, quoted-printable`);
    console.log(`sweep: fastest ${best.label}, ${int(rate(best))} msgs/s${shipped ? `; pool ${pool} quoted-printable is ${Math.round((rate(shipped) / rate(best)) * 100)}% of it` : ''}`);
  }
  if (latencySweep.length) {
    console.log(`latency sweep (${latencyMs} ms): ${latencySweep.map((run) => `pool ${run.inFlight} ${int(rate(run))}`).join(', ')} msgs/s`);
  }
  console.log('');
}

const workDir = mkdtempSync(join(tmpdir(), 'paperboy-bench-send-'));
const children = new Set<ChildProcess>();
const cleanUp = () => {
  for (const child of children) child.kill();
  rmSync(workDir, { recursive: true, force: true });
};
// Also after a signal, or an error raised outside main's promise chain (a pipe to the sink).
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
try {
  await main(workDir, children);
} finally {
  cleanUp();
}
