/**
 * Digest rendering throughput: personalized digests for N subscribers (random topic sets
 * over the real sample papers), split across worker threads that each compile the templates
 * once; then, in the same run, the naive way (MJML compiled per recipient) on a sample of
 * 300 digests, for the speedup ratio. Each way is measured in several rounds, and every
 * figure comes with its spread (slowest and fastest round), so a ratio from one lucky or
 * unlucky round shows as such.
 *
 *   npm run bench:render -- [--subscribers 10000] [--workers N] [--seed 42] [--rounds 3]
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DEFAULT_LIST_NAME } from '../src/config/config.ts';
import type { DigestData, DigestPaper, DigestSection } from '../src/digest/digest-data.ts';
import { plural } from '../src/digest/format.ts';
import { createRenderer } from '../src/digest/render.ts';
import { compileHandlebars, mjmlToHtml } from '../src/digest/template-compiler.ts';
import { digestText } from '../src/digest/text.ts';
import { digestView, type DigestView } from '../src/digest/views.ts';
import { digestOf, SAMPLE_TOPICS, samplePapers } from '../test/helpers/sample-digest.ts';

// tsx's loader does not follow into worker threads: each worker registers it, then loads this file.
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url));
// 300 naive renders in 5 rounds of 60: ~10 s, enough for a ratio that holds between runs
// (30 renders made it swing from 91× to 247×).
const NAIVE_SAMPLE = 300;
const NAIVE_ROUNDS = 5;
// Untimed naive renders first, so the baseline is not charged for a cold JIT.
const NAIVE_WARMUP = 3;
const MAX_TOPICS = 5;
const MAX_PER_TOPIC = 10;
const MAX_PER_DIGEST = 50;
const TARGET_RATE = 3_000;
const TARGET_SPEEDUP = 100;

interface Job {
  from: number;
  to: number;
  seed: number;
  /** Copy every paper per digest, as a selection that builds rows afresh would: no view reuse. */
  freshPapers: boolean;
}

type WorkerMessage =
  | { type: 'ready'; compileMs: number }
  | { type: 'done'; rendered: number; papers: number; htmlBytes: number; textBytes: number };

/** mulberry32: tiny, seedable, good enough to pick topics. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  for (let i = 0; i < count && i < pool.length; i += 1) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}

/**
 * Subscriber `index`'s digest, the same whatever the worker count: its own PRNG stream, a
 * random set of topics, a random share of each topic's new papers, the per-digest cap.
 */
function subscriberDigest(index: number, seed: number, pools: readonly DigestPaper[][]): DigestData {
  const random = prng(seed * 1_000_003 + index);
  const topicIndexes = pick([...pools.keys()], 1 + Math.floor(random() * MAX_TOPICS), random);
  let room = MAX_PER_DIGEST;
  const sections: DigestSection[] = [];
  for (const topicIndex of topicIndexes) {
    const pool = pools[topicIndex] ?? [];
    const papers = pick(pool, Math.min(room, 1 + Math.floor(random() * MAX_PER_TOPIC)), random);
    room -= papers.length;
    if (papers.length === 0) continue;
    sections.push({
      topic: { id: `topic-${topicIndex}`, name: SAMPLE_TOPICS[topicIndex] ?? '' },
      papers,
      moreCount: Math.floor(random() * 4),
    });
  }
  return {
    ...digestOf(sections),
    recipient: { email: `subscriber${index}@example.com`, name: index % 3 === 0 ? null : `Reader ${index}` },
    frequency: index % 4 === 0 ? 'weekly' : 'daily',
  };
}

function topicPools(): DigestPaper[][] {
  const papers = samplePapers();
  return SAMPLE_TOPICS.map((_, topic) => papers.filter((__, index) => index % SAMPLE_TOPICS.length === topic));
}

async function runWorker(job: Job): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('bench worker started without a parent port');
  const started = performance.now();
  const renderer = await createRenderer({ templatesDir: TEMPLATES_DIR });
  const compileMs = performance.now() - started;
  const pools = topicPools();
  const digests: DigestData[] = [];
  for (let index = job.from; index < job.to; index += 1) {
    const data = subscriberDigest(index, job.seed, pools);
    if (job.freshPapers) {
      for (const section of data.sections) section.papers = section.papers.map((paper) => ({ ...paper }));
    }
    digests.push(data);
  }
  port.once('message', () => {
    let papers = 0;
    let htmlBytes = 0;
    let textBytes = 0;
    for (const data of digests) {
      const message = renderer.renderDigest(data);
      papers += data.paperCount;
      htmlBytes += message.html.length;
      textBytes += message.text.length;
    }
    port.postMessage({ type: 'done', rendered: digests.length, papers, htmlBytes, textBytes } satisfies WorkerMessage);
  });
  port.postMessage({ type: 'ready', compileMs } satisfies WorkerMessage);
}

/** Starts every worker, waits until all have compiled and built their data, then times the renders alone. */
async function runPersonalized(subscribers: number, workerCount: number, seed: number, freshPapers: boolean) {
  const workers = Array.from({ length: workerCount }, (_, w) => {
    const job: Job = {
      from: Math.floor((subscribers * w) / workerCount),
      to: Math.floor((subscribers * (w + 1)) / workerCount),
      seed,
      freshPapers,
    };
    return new Worker(WORKER_BOOT, { eval: true, workerData: job });
  });
  const next = (worker: Worker) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const ready = await Promise.all(workers.map(next));
  const started = performance.now();
  const finished = workers.map(next);
  for (const worker of workers) worker.postMessage('start');
  const done = await Promise.all(finished);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((worker) => worker.terminate()));
  const sum = (key: 'rendered' | 'papers' | 'htmlBytes' | 'textBytes') =>
    done.reduce((total, message) => total + (message.type === 'done' ? message[key] : 0), 0);
  return {
    seconds,
    rendered: sum('rendered'),
    papers: sum('papers'),
    htmlBytes: sum('htmlBytes'),
    textBytes: sum('textBytes'),
    compileMs: Math.max(...ready.map((message) => (message.type === 'ready' ? message.compileMs : 0))),
  };
}

/** The naive way: Handlebars fills the MJML source, then MJML compiles it, per recipient. */
async function runNaive(seed: number) {
  const file = 'digest.mjml';
  const path = join(TEMPLATES_DIR, file);
  const fillMjml = compileHandlebars<DigestView>(await readFile(path, 'utf8'), file);
  const pools = topicPools();
  const render = async (data: DigestData) => {
    const view = digestView(data, DEFAULT_LIST_NAME);
    return { html: await mjmlToHtml(fillMjml(view), path, file), text: digestText(view) };
  };
  for (let index = 0; index < NAIVE_WARMUP; index += 1) await render(subscriberDigest(-1 - index, seed, pools));
  const digests = Array.from({ length: NAIVE_SAMPLE }, (_, index) => subscriberDigest(index, seed, pools));
  const perRound = NAIVE_SAMPLE / NAIVE_ROUNDS;
  const rates: number[] = [];
  let seconds = 0;
  for (let round = 0; round < NAIVE_ROUNDS; round++) {
    const started = performance.now();
    for (const data of digests.slice(round * perRound, (round + 1) * perRound)) await render(data);
    const roundSeconds = (performance.now() - started) / 1000;
    seconds += roundSeconds;
    rates.push(perRound / roundSeconds);
  }
  return { seconds, rendered: digests.length, rates };
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '10000' },
      workers: { type: 'string', default: String(availableParallelism()) },
      seed: { type: 'string', default: '42' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const rounds = Number(values.rounds);
  const subscribers = Number(values.subscribers);
  const workerCount = Number(values.workers);
  const seed = Number(values.seed);
  if (![subscribers, workerCount, seed].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--subscribers, --workers and --seed take positive integers');
  }

  const fastRounds = [];
  for (let round = 0; round < rounds; round++) fastRounds.push(await runPersonalized(subscribers, workerCount, seed, false));
  const fastRss = process.resourceUsage().maxRSS * 1024;
  const fastRates = fastRounds.map((round) => round.rendered / round.seconds);
  const fast = fastRounds.reduce((sum, round) => ({ ...sum, rendered: sum.rendered + round.rendered, seconds: sum.seconds + round.seconds, papers: sum.papers + round.papers, htmlBytes: sum.htmlBytes + round.htmlBytes, textBytes: sum.textBytes + round.textBytes }));
  const fresh = await runPersonalized(subscribers, workerCount, seed, true);
  const naive = await runNaive(seed);

  const rate = fast.rendered / fast.seconds;
  const naiveRate = naive.rendered / naive.seconds;
  const speedup = rate / naiveRate;
  const spread = (rates: number[], digits = 0) => `${rates.length} rounds, ${Math.min(...rates).toFixed(digits)}–${Math.max(...rates).toFixed(digits)}`;
  const speedupLow = Math.min(...fastRates) / Math.max(...naive.rates);
  const speedupHigh = Math.max(...fastRates) / Math.min(...naive.rates);
  // The naive way would spread over workers just as well: the like-for-like ratio is per core.
  const speedupPerCore = speedup / workerCount;
  const verdict = (ok: boolean) => (ok ? 'meets target' : 'BELOW TARGET');

  console.log(`\nPaperboy digest rendering: ${int(subscribers)} subscribers × ${rounds} rounds, ${plural(workerCount, 'worker')}, seed ${seed}\n`);
  console.log(
    table([
      ['papers per digest', `${(fast.papers / fast.rendered).toFixed(1)} on average (1 to ${MAX_PER_DIGEST})`],
      ['average message', `${kb(fast.htmlBytes / fast.rendered)} HTML + ${kb(fast.textBytes / fast.rendered)} text`],
      ['template compile', `${int(fast.compileMs)} ms per worker, once (all three templates)`],
      ['personalized', `${int(fast.rendered)} digests in ${fast.seconds.toFixed(2)} s (paper objects shared, as in one run)`],
      ['  throughput', `${int(rate)} digests/s (${spread(fastRates)}; target ${int(TARGET_RATE)}: ${verdict(rate >= TARGET_RATE)})`],
      ['  same, papers not shared', `${int(fresh.rendered / fresh.seconds)} digests/s (paper objects copied per digest)`],
      ['naive (MJML per recipient)', `${naive.rendered} digests in ${naive.seconds.toFixed(2)} s on one thread`],
      ['  throughput', `${naiveRate.toFixed(1)} digests/s (${spread(naive.rates, 1)})`],
      ['speedup', `${int(speedup)}× (spread ${int(speedupLow)}–${int(speedupHigh)}×, slowest against fastest round; target ${TARGET_SPEEDUP}×: ${verdict(speedup >= TARGET_SPEEDUP)})`],
      ['  per core', `${int(speedupPerCore)}× (both ways on one core each)`],
      ['peak RSS', `${int(fastRss / 1024 / 1024)} MB (personalized run, all workers)`],
      ['machine', `load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`],
    ]),
  );
  console.log('');
}

if (isMainThread) await main();
else await runWorker(workerData as Job);
