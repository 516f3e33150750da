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
 *   - a sweep of pool size × transfer encoding, the measure behind the shipped defaults.
 *
 * A pool of distinct digests is rendered once and reused across recipients, so rendering is
 * not what is measured; SQLite holds the queue, not the process.
 *
 *   npx tsx scripts/bench-send.ts [--messages 20000] [--baseline 2000] [--sweep 3000] [--no-sweep] [--seed 42]
 *
 * PAPERBOY_SMTP_POOL, if set, is the pool of the main run (default 5, as shipped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import nodemailer, { type Transporter } from 'nodemailer';
import { systemClock } from '../src/clock.ts';
import { loadConfig, type DeliveryConfig } from '../src/config/config.ts';
import { deliverOutbox } from '../src/delivery/deliver.ts';
import { mailOptions } from '../src/delivery/mail-options.ts';
import type { Mailer, OutgoingMessage } from '../src/delivery/mailer.ts';
import { listId } from '../src/delivery/run.ts';
import { createSmtpMailer, sendWith } from '../src/delivery/smtp-mailer.ts';
import { createRenderer } from '../src/digest/render.ts';
import { titleKey } from '../src/ingest/identity.ts';
import { ingestFile } from '../src/ingest/ingest.ts';
import { createLogger } from '../src/log.ts';
import { Store } from '../src/store/store.ts';
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

interface PoolDigest {
  subject: string;
  html: string;
  text: string;
  paperTitles: string[];
}

interface Sink {
  port: number;
  counters(): Promise<SinkCounters>;
  stop(): void;
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
async function renderDigests(templatesDir: string, seed: number): Promise<PoolDigest[]> {
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
function outgoingMessage(digest: PoolDigest, index: number, delivery: DeliveryConfig, now: string): OutgoingMessage {
  return {
    messageId: `<bench-${index}@${FROM_DOMAIN}>`,
    from: delivery.from,
    to: { email: `reader${index}@example.com`, name: index % 3 === 0 ? null : `Reader ${index}` },
    subject: digest.subject,
    html: digest.html,
    text: digest.text,
    date: new Date(now),
    list: { id: listId(delivery.from), unsubscribeUrl: `https://paperboy.example.com/unsubscribe?token=bench${index}`, unsubscribeMailto: delivery.unsubscribeMailto },
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
  return { description, send: (message) => sendWith(transport, message), close: async () => transport.close() };
}

/** Every pool digest as it goes on the wire (CRLF), to report sizes and feed smtp-source. */
async function wireMessages(digests: readonly PoolDigest[], delivery: DeliveryConfig, encoding: Encoding): Promise<Buffer[]> {
  const transport = withEncoding(nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }), encoding);
  const now = new Date().toISOString();
  const messages: Buffer[] = [];
  for (const [index, digest] of digests.entries()) {
    const info = await transport.sendMail(mailOptions(outgoingMessage(digest, index, delivery, now)));
    messages.push(info.message as Buffer);
  }
  return messages;
}

/**
 * A fresh store in its own folder: the sample papers ingested (deliveries reference them),
 * then `count` active subscribers, each with one queued digest from the pool, in batches of
 * one transaction. Returns the store and how long queueing took.
 */
function queueOutbox(dir: string, count: number, digests: readonly PoolDigest[], delivery: DeliveryConfig): { store: Store; seconds: number } {
  mkdirSync(dir);
  const store = new Store(join(dir, 'bench.db'));
  const started = performance.now();
  for (const name of readdirSync(SAMPLE_LISTINGS_DIR).filter((file) => file.endsWith('.txt')).sort()) {
    ingestFile(join(SAMPLE_LISTINGS_DIR, name), { store, clock: systemClock, maxListingBytes: 20 * 1024 ** 2 });
  }
  const paperIds = digests.map((digest) => digest.paperTitles.map((title) => store.paperByTitleKey(titleKey(title))!.id));
  for (let from = 0; from < count; from += QUEUE_BATCH) {
    const now = systemClock.now().toISOString();
    store.transaction(() => {
      for (let index = from; index < Math.min(from + QUEUE_BATCH, count); index++) {
        const digest = digests[index % digests.length]!;
        const message = outgoingMessage(digest, index, delivery, now);
        const subscriber = store.insertSubscriber(
          { email: message.to.email, name: message.to.name, topics: null, frequency: 'daily', weekday: null },
          'active',
          now,
        )!;
        store.queueMessage(
          {
            runId: null,
            subscriberId: subscriber.id,
            kind: 'digest',
            messageId: message.messageId,
            recipient: message.to.email,
            recipientName: message.to.name,
            subject: message.subject,
            html: message.html,
            text: message.text,
            unsubscribeUrl: message.list!.unsubscribeUrl,
            windowSince: null,
            now,
          },
          paperIds[index % digests.length]!,
        );
      }
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
      listId: listId(delivery.from),
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
  const port = Number(await nextLine());
  return {
    port,
    counters: async () => {
      child.stdin.write('counters\n');
      return JSON.parse(await nextLine()) as SinkCounters;
    },
    stop: () => child.kill(),
  };
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

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`;
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
      seed: { type: 'string', default: '42' },
    },
  });
  const messages = positiveInteger('messages', values.messages);
  const baselineCount = positiveInteger('baseline', values.baseline);
  const sweepCount = values['no-sweep'] ? 0 : positiveInteger('sweep', values.sweep);
  const seed = positiveInteger('seed', values.seed);

  const sink = await startSink(children);
  const config = loadConfig({ PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`, PAPERBOY_SMTP_POOL: process.env.PAPERBOY_SMTP_POOL });
  const delivery = config.delivery;
  const pool = delivery.poolSize;
  const smtpSource = findSmtpSource();

  const digests = await renderDigests(config.templatesDir, seed);
  const wireQp = await wireMessages(digests, delivery, 'quoted-printable');
  const wireBase64 = await wireMessages(digests, delivery, 'base64');
  const htmlSizes = digests.map((digest) => Buffer.byteLength(digest.html));
  const paperCounts = digests.map((digest) => digest.paperTitles.length);
  const meanWire = mean(wireQp.map((message) => message.length));

  console.log(`\nPaperboy delivery: deliverOutbox → createSmtpMailer → SMTP sink on 127.0.0.1:${sink.port} (separate process)\n`);
  console.log(
    table(
      ['setting', 'value'],
      [
        ['messages (main run)', `${int(messages)}, from ${DISTINCT_DIGESTS} distinct digests reused across recipients (seed ${seed})`],
        ['papers per digest', `${Math.min(...paperCounts)}–${Math.max(...paperCounts)}, ${mean(paperCounts).toFixed(1)} on average`],
        ['HTML per digest', `${kb(Math.min(...htmlSizes))}–${kb(Math.max(...htmlSizes))}, ${kb(mean(htmlSizes))} on average; text ${kb(mean(digests.map((digest) => Buffer.byteLength(digest.text))))}`],
        ['on the wire', `${kb(meanWire)} quoted-printable (as shipped), ${kb(mean(wireBase64.map((message) => message.length)))} base64, on average`],
        ['pool (in flight)', `${pool}${process.env.PAPERBOY_SMTP_POOL ? ' (PAPERBOY_SMTP_POOL)' : ' (shipped default)'}, maxMessages 1000 per connection`],
        ['baseline', `${int(baselineCount)} messages, nodemailer default transport (a new connection per message), ${pool} in flight`],
        ['sweep', sweepCount ? `${int(sweepCount)} messages per cell: pool ${SWEEP_POOLS.join(', ')} × quoted-printable, base64` : 'skipped (--no-sweep)'],
        ['ceiling', smtpSource ? `${smtpSource}, ${int(messages)} messages of ${kb(meanWire)} over ${pool} sessions` : 'smtp-source not found (Postfix not installed)'],
        ['outbox', `SQLite on a temp file under ${workDir}`],
        ['machine', `${availableParallelism()} cores, Node ${process.version}`],
      ],
    ),
  );
  console.log('');

  const queued = queueOutbox(join(workDir, 'main'), messages, digests, delivery);
  const dbBytes = statSync(join(workDir, 'main', 'bench.db')).size + statSync(join(workDir, 'main', 'bench.db-wal')).size;
  const rssAfterQueue = process.resourceUsage().maxRSS * 1024;
  let rssDuringDelivery = 0;
  const sampler = setInterval(() => (rssDuringDelivery = Math.max(rssDuringDelivery, process.memoryUsage().rss)), 100);
  const paperboy = await measure(sink, `Paperboy (pool ${pool}, quoted-printable)`, pool, () => deliverAll(queued.store, createSmtpMailer(delivery), delivery, pool));
  clearInterval(sampler);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  queued.store.close();
  rmSync(join(workDir, 'main'), { recursive: true, force: true });

  const smtpOptions = { host: '127.0.0.1', port: sink.port, secure: false } as const;

  // Each smaller run gets its own fresh outbox; only its delivery is timed.
  const timed = async (name: string, label: string, count: number, poolSize: number, mailer: () => Mailer) => {
    const { store } = queueOutbox(join(workDir, name), count, digests, delivery);
    try {
      return await measure(sink, label, poolSize, () => deliverAll(store, mailer(), delivery, poolSize));
    } finally {
      store.close();
      rmSync(join(workDir, name), { recursive: true, force: true });
    }
  };
  const baseline = await timed('baseline', 'baseline: nodemailer defaults (no pool)', baselineCount, pool, () =>
    mailerOver(nodemailer.createTransport({ ...smtpOptions, ignoreTLS: true }), 'nodemailer default transport'),
  );

  const sweep: Measured[] = [];
  for (const poolSize of sweepCount ? SWEEP_POOLS : []) {
    sweep.push(await timed(`sweep-${poolSize}-qp`, `pool ${poolSize}, quoted-printable`, sweepCount, poolSize, () => createSmtpMailer({ ...delivery, poolSize })));
    sweep.push(
      await timed(`sweep-${poolSize}-b64`, `pool ${poolSize}, base64`, sweepCount, poolSize, () =>
        // The pooled options createSmtpMailer sets that bear on throughput; only the encoding differs.
        mailerOver(withEncoding(nodemailer.createTransport({ ...smtpOptions, pool: true, maxConnections: poolSize, maxMessages: 1000 }), 'base64'), 'pooled, base64'),
      ),
    );
  }

  let ceiling: Measured | null = null;
  let ceilingMissing = 'smtp-source not found: install Postfix (apt-get install postfix) for the protocol ceiling';
  if (smtpSource) {
    const closest = wireQp.reduce((best, message) => (Math.abs(message.length - meanWire) < Math.abs(best.length - meanWire) ? message : best));
    const file = join(workDir, 'message.eml');
    // smtp-source appends CRLF to every line of the file it reads.
    writeFileSync(file, closest.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    try {
      ceiling = await measure(sink, `smtp-source -d (Postfix, C)`, pool, () => runSmtpSource(smtpSource, sink.port, file, messages, pool, children), false);
    } catch (error) {
      ceilingMissing = `smtp-source failed: ${(error as Error).message}`;
    }
  }

  console.log(`Queued ${int(messages)} messages in ${queued.seconds.toFixed(1)} s (${int(messages / queued.seconds)}/s, outbox ${mb(dbBytes)} MB on disk); then delivered:\n`);
  console.log(table(RESULT_HEADER, [paperboy, baseline, ...(ceiling ? [ceiling] : [])].map(resultRow)));
  if (!ceiling) console.log(`  protocol ceiling not measured: ${ceilingMissing}`);
  console.log('');
  console.log(`  peak RSS ${mb(peakRss)} MB (whole process: render, queue, deliver; ${mb(rssAfterQueue)} MB after queueing), RSS during delivery ≤ ${mb(rssDuringDelivery)} MB`);
  console.log(`  CPU is % of one core over the run; the sink is smtp-server (JavaScript) in its own process.`);

  if (sweep.length) {
    console.log(`\nSweep: ${int(sweepCount)} messages per cell (quoted-printable through createSmtpMailer; base64 swaps only the encoding)\n`);
    console.log(table(RESULT_HEADER, sweep.map(resultRow)));
  }

  const ratio = rate(paperboy) / rate(baseline);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log('');
  console.log(`Paperboy ${int(rate(paperboy))} msgs/s, ${mb(paperboy.bytes / paperboy.seconds)} MB/s, peak RSS ${mb(peakRss)} MB`);
  console.log(`vs baseline: ${ratio.toFixed(1)}× (${int(rate(baseline))} msgs/s; target ≥ ${TARGET_RATIO}×: ${verdict(ratio >= TARGET_RATIO)})`);
  console.log(
    ceiling
      ? `vs smtp-source: ${Math.round((rate(paperboy) / rate(ceiling)) * 100)}% of ${int(rate(ceiling))} msgs/s (target ≥ ${TARGET_CEILING_SHARE * 100}%: ${verdict(rate(paperboy) / rate(ceiling) >= TARGET_CEILING_SHARE)})`
      : `vs smtp-source: not measured (${ceilingMissing})`,
  );
  if (sweep.length) {
    const best = sweep.reduce((top, run) => (rate(run) > rate(top) ? run : top));
    const shipped = sweep.find((run) => run.label === `pool ${pool}, quoted-printable`);
    console.log(`sweep: fastest is ${best.label} at ${int(rate(best))} msgs/s${shipped ? `; pool ${pool} quoted-printable reaches ${Math.round((rate(shipped) / rate(best)) * 100)}% of it` : ''}`);
  }
  console.log('');
}

const workDir = mkdtempSync(join(tmpdir(), 'paperboy-bench-send-'));
const children = new Set<ChildProcess>();
const cleanUp = () => {
  for (const child of children) child.kill();
  rmSync(workDir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
try {
  await main(workDir, children);
} finally {
  cleanUp();
}
