import type { Clock } from '../clock.ts';
import { addressOf, type DeliveryConfig } from '../config/config.ts';
import { deliverOutbox, type DeliveryReport } from '../delivery/deliver.ts';
import { isDue } from '../delivery/due.ts';
import { acquireDeliveryLease } from '../delivery/lease.ts';
import type { Mailer } from '../delivery/mailer.ts';
import { queueDigests, type Sender } from '../delivery/queue.ts';
import { prepareDigest, type DigestContext } from '../digest/prepare.ts';
import type { Renderer } from '../digest/render.ts';
import { PaperboyError, oneLine } from '../errors.ts';
import type { IngestReport } from '../ingest/ingest.ts';
import type { Logger } from '../log.ts';
import type { OutboxCounts } from '../model/outbox.ts';
import type { OnProgress } from '../model/progress.ts';
import type { RunRow, RunStatus, RunTrigger } from '../model/run.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { ListingSource } from '../sources/port.ts';
import type { Store } from '../store/port.ts';
import { parseEmail } from '../subscribers/subscriber.ts';
import { ingestAndLog } from './ingest.ts';

/**
 * The pipeline: ingest → file → queue → deliver, over the ports it is handed. The CLI, the
 * scheduler and the admin API all call `runDigests`; the composition root builds its deps.
 */
export interface PipelineDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
  /** Where the run's new listings come from (the inbox folder, by default). */
  sources: readonly ListingSource[];
  /** Files every paper that is new, changed, or filed by an older taxonomy version. */
  filePapers(): Promise<number>;
  /** What composing and rendering digests needs (the taxonomy and templates load on first use). */
  digests(): Promise<{ context: DigestContext; renderer: Renderer }>;
  /** Papers ingested, digests queued and messages delivered, as they go (the CLI's progress display). */
  onProgress?: OnProgress;
  /**
   * Delivery workers in processes of their own, started beside a run (the CLI spawns
   * `deliver` workers): they send while the run queues, so the two use two cores. Absent, or
   * none configured, the run delivers between its pages of queueing.
   */
  deliveryWorkers?: DeliveryWorkers;
  config: {
    maxListingBytes: number;
    timeZone: string;
    sendEmpty: boolean;
    pendingTtlHours: number;
    delivery: DeliveryConfig;
  };
}

export interface RunOptions {
  trigger: RunTrigger;
  /** Render and report; send nothing, record nothing. */
  dryRun?: boolean;
  /** Only this subscriber (by email). */
  to?: string;
  /** Everyone selected gets a digest now, whether or not their frequency says it is due. */
  force?: boolean;
  /** Asked between messages: true once a shutdown began (the server's SIGTERM). */
  stopping?: () => boolean;
}

export interface RunReport {
  run_id: number | null;
  trigger: RunTrigger;
  dry_run: boolean;
  status: RunStatus;
  ingest: IngestReport['totals'] & { pending_files?: number };
  filed: number;
  due: number;
  /** Messages queued by this run (dry run: digests that would be queued). */
  queued: number;
  nothing_new: number;
  papers: number;
  /** Messages already queued by an earlier run (a crash, a deferral) that this run resumed. */
  resumed: number;
  delivery: DeliveryReport | null;
  outbox: OutboxCounts;
  mailer: string;
  duration_ms: number;
  /** Dry run only: what each digest would be. */
  previews?: { email: string; subject: string; papers: number }[];
}

const HOUR_MS = 3_600_000;

export type DeliveryCounts = Pick<DeliveryReport, 'sent' | 'failed' | 'retried' | 'bounced'>;

export interface DeliveryWorkers {
  /** Starts PAPERBOY_RUN_WORKERS of them. */
  start(): RunningWorkers;
}

export interface RunningWorkers {
  /** Workers still running. */
  running(): number;
  /** The queue is complete: they deliver what is due and exit. What they did, added up. */
  finish(): Promise<DeliveryCounts>;
  /** Stop now (the run failed or is shutting down): in-flight messages settle, claims go back. */
  stop(): Promise<DeliveryCounts>;
}

/**
 * Queued but unsent messages a run lets the workers beside it fall behind by before it
 * waits for them: each is ~100 KB on disk until sent.
 */
const MAX_BACKLOG = 2000;
/** How often a run that waits for its workers looks at the backlog again. */
const BACKLOG_POLL_MS = 100;

/**
 * The scheduled job, and the admin's manual send: ingest the sources, file papers by topic,
 * queue a digest for every due subscriber, deliver the outbox (including anything an
 * earlier run left queued), and record the run. The run lease keeps a second run from
 * producing meanwhile; delivery itself is safe beside other workers (claims).
 */
export async function runDigests(deps: PipelineDeps, options: RunOptions): Promise<RunReport> {
  const started = deps.clock.now();
  return options.dryRun ? dryRunReport(deps, options, started) : realRun(deps, options, started);
}

async function realRun(deps: PipelineDeps, options: RunOptions, started: Date): Promise<RunReport> {
  const { store, clock, config, logger, mailer } = deps;
  const lease = await acquireDeliveryLease(store, clock, config.delivery.leaseSeconds);
  // The lease is renewed on a timer for as long as the run lives (queueing, retry waits), not
  // only between messages; a run that loses it stops producing at once.
  let leaseLost: Error | null = null;
  const heartbeat = () => lease.renew().catch((error: unknown) => void (leaseLost ??= error as Error));
  const stopHeartbeat = clock.every((config.delivery.leaseSeconds * 1000) / 6, () => void heartbeat());
  const stopping = () => leaseLost !== null || (options.stopping?.() ?? false);
  const run: RunRow = {
    id: 0,
    trigger: options.trigger,
    startedAt: started.toISOString(),
    finishedAt: null,
    status: 'running',
    ingested: 0,
    due: 0,
    queued: 0,
    sent: 0,
    failed: 0,
    deferred: 0,
    retried: 0,
    bounced: 0,
    error: null,
  };
  try {
    const interrupted = await store.interruptRuns(started.toISOString());
    if (interrupted > 0) logger.warn({ interrupted }, `${interrupted} earlier run(s) ended without finishing (crash or kill); resuming their outbox`);
    run.id = await store.insertRun(options.trigger, started.toISOString());
    const ingest = await ingestAndLog(deps.sources, { store, clock, logger, maxListingBytes: config.maxListingBytes, onProgress: deps.onProgress });
    const expired = await store.expirePending(new Date(started.getTime() - config.pendingTtlHours * HOUR_MS).toISOString());
    if (expired > 0) logger.info({ expired }, `forgot ${expired} sign-ups never confirmed`);
    run.ingested = ingest.totals.new;
    const filed = await deps.filePapers();
    const resumed = (await store.outboxCounts()).queued;
    const { context, renderer } = await deps.digests();
    const due = options.to ? await dueSubscribers(deps, options) : duePages(deps, options);
    // Delivery runs between pages of queueing, every DRAIN_EVERY digests, so the outbox (and
    // the database file) holds that many bodies at most, not the whole list's.
    const delivery: DeliveryReport = { sent: 0, failed: 0, retried: 0, deferred: 0, bounced: 0, paused: false, pauseReason: null };
    let deliveredSinceQueueing = false;
    const addCounts = (counts: DeliveryCounts) => {
      for (const count of ['sent', 'failed', 'retried', 'bounced'] as const) delivery[count] += counts[count];
    };
    const deliver = async () => {
      if (delivery.paused || stopping()) return;
      const counted = { ...delivery };
      const report = await deliverOutbox({
        store,
        mailer,
        clock,
        config: config.delivery,
        logger,
        worker: lease.holder,
        heartbeat,
        stopping,
        onProgress: deps.onProgress,
        onSettled: (so) => store.updateRun({ ...run, sent: counted.sent + so.sent, failed: counted.failed + so.failed, retried: counted.retried + so.retried, bounced: counted.bounced + so.bounced }),
      });
      addCounts(report);
      Object.assign(delivery, { deferred: report.deferred, paused: report.paused, pauseReason: report.pauseReason });
      deliveredSinceQueueing = true;
    };
    // One subscriber's digest (`send --to`) is not worth starting a process for.
    const workers = !options.to && config.delivery.runWorkers > 0 ? (deps.deliveryWorkers?.start() ?? null) : null;
    // With workers beside it, the run waits for them when they fall behind (and delivers
    // itself if none is left); alone, it delivers between pages.
    const keepUp = async () => {
      while (workers && workers.running() > 0 && !stopping() && (await store.outboxCounts()).queued > MAX_BACKLOG) await clock.sleep(BACKLOG_POLL_MS);
      if (!workers || workers.running() === 0) await deliver();
    };
    let queued: Awaited<ReturnType<typeof queueDigests>>;
    try {
      queued = await queueDigests(due, {
        store,
        context,
        renderer,
        clock,
        sendEmpty: config.sendEmpty,
        sender: senderOf(config.delivery),
        runId: run.id,
        stopping,
        heartbeat,
        drain: { every: DRAIN_EVERY, run: keepUp },
        keepHtml: mailer.readsHtml !== false,
        onProgress: deps.onProgress,
      });
      if (leaseLost) throw leaseLost;
      run.due = queued.due;
      run.queued = queued.queued;
      await store.updateRun(run);
      logger.info({ due: run.due, queued: run.queued, resumed }, `queued ${run.queued} digests; delivering via ${mailer.description}`);
    } catch (error) {
      // Whatever ends the run before its workers are told to finish (a lost lease included) stops them.
      if (workers) addCounts(await workers.stop());
      throw error;
    }
    if (workers) {
      // What they sent is theirs to report; what they leave (retries, a pause) the run's own delivery below sees.
      const counts = stopping() ? await workers.stop() : await workers.finish();
      addCounts(counts);
      logger.info({ ...counts, workers: config.delivery.runWorkers }, `the delivery workers beside the run sent ${counts.sent} messages`);
    }

    deliveredSinceQueueing = false;
    await deliver();
    if (leaseLost) throw leaseLost;
    // A pause or a shutdown skipped the last delivery: what is still queued is deferred.
    if (!deliveredSinceQueueing) delivery.deferred = (await store.outboxCounts()).queued;
    await store.pruneOutboxBodies();
    Object.assign(run, {
      status: delivery.paused ? 'paused' : 'done',
      sent: delivery.sent,
      failed: delivery.failed,
      deferred: delivery.deferred,
      retried: delivery.retried,
      bounced: delivery.bounced,
      error: delivery.pauseReason,
      finishedAt: clock.now().toISOString(),
    } satisfies Partial<RunRow>);
    await store.updateRun(run);
    return {
      run_id: run.id,
      trigger: options.trigger,
      dry_run: false,
      status: run.status,
      ingest: ingest.totals,
      filed,
      due: run.due,
      queued: run.queued,
      nothing_new: queued.nothingNew,
      papers: queued.papers,
      resumed,
      delivery,
      outbox: await store.outboxCounts(),
      mailer: mailer.description,
      duration_ms: clock.now().getTime() - started.getTime(),
    };
  } catch (error) {
    if (run.id) await store.updateRun({ ...run, status: 'failed', error: oneLine(error), finishedAt: clock.now().toISOString() });
    throw error;
  } finally {
    stopHeartbeat();
    await lease.release();
  }
}

export interface DeliverRunReport {
  delivery: DeliveryReport;
  outbox: OutboxCounts;
  mailer: string;
  duration_ms: number;
}

/**
 * Delivery alone (`paperboy deliver`): sends what is queued, as one more worker beside any
 * run or other `deliver` process. It takes no lease: each message it sends, it has claimed.
 */
export async function deliverQueued(deps: PipelineDeps, options: Pick<RunOptions, 'stopping'> = {}): Promise<DeliverRunReport> {
  const started = deps.clock.now();
  const delivery = await deliverOutbox({
    store: deps.store,
    mailer: deps.mailer,
    clock: deps.clock,
    config: deps.config.delivery,
    logger: deps.logger,
    onProgress: deps.onProgress,
    ...(options.stopping ? { stopping: options.stopping } : {}),
  });
  await deps.store.pruneOutboxBodies();
  return { delivery, outbox: await deps.store.outboxCounts(), mailer: deps.mailer.description, duration_ms: deps.clock.now().getTime() - started.getTime() };
}

const DUE_PAGE = 250;
/** Digests queued between two deliveries within a run (each ~100 KB on disk until it is sent). */
const DRAIN_EVERY = 1000;

/**
 * `dueSubscribers` for every active subscriber, a keyset page at a time, so a run never
 * holds the whole list.
 */
async function* duePages(deps: PipelineDeps, options: RunOptions): AsyncIterable<Subscriber[]> {
  const withQueuedMail = await deps.store.subscribersWithQueuedMail();
  for (let after = 0; ; ) {
    const page = await deps.store.listSubscribers({ status: 'active', after, limit: DUE_PAGE });
    if (page.length === 0) return;
    after = page[page.length - 1]!.id;
    const now = deps.clock.now();
    const due = page.filter((subscriber) => !withQueuedMail.has(subscriber.id) && (options.force || isDue(subscriber, now, deps.config.timeZone)));
    if (due.length > 0) yield due;
  }
}

/** Active subscribers owed a digest now (or, with --force, all selected), minus those with mail still queued. */
async function dueSubscribers(deps: PipelineDeps, options: RunOptions): Promise<Subscriber[]> {
  const withQueuedMail = await deps.store.subscribersWithQueuedMail();
  const now = deps.clock.now();
  let candidates: Subscriber[];
  if (options.to) {
    const subscriber = await deps.store.subscriberByEmail(parseEmail(options.to));
    if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${options.to}`);
    if (subscriber.status !== 'active') throw new PaperboyError('SUBSCRIBER_INVALID', `${subscriber.email} is ${subscriber.status}: only active subscribers get mail`);
    candidates = [subscriber];
  } else {
    candidates = await deps.store.listSubscribers({ status: 'active' });
  }
  return candidates.filter((subscriber) => !withQueuedMail.has(subscriber.id) && (options.force || isDue(subscriber, now, deps.config.timeZone)));
}

async function dryRunReport(deps: PipelineDeps, options: RunOptions, started: Date): Promise<RunReport> {
  // Filing is derived data (a cache of the classifier's answer), so the preview matches a real run.
  const filed = await deps.filePapers();
  const due = await dueSubscribers(deps, options);
  const { context, renderer } = await deps.digests();
  const previews: NonNullable<RunReport['previews']> = [];
  for (const subscriber of due) {
    const digest = await prepareDigest(context, subscriber, deps.clock.now());
    if (digest.selection.paperIds.length === 0 && !deps.config.sendEmpty) continue;
    previews.push({ email: subscriber.email, subject: renderer.renderDigest(digest.data).subject, papers: digest.selection.paperIds.length });
  }
  let pending = 0;
  for (const source of deps.sources) pending += (await source.pending?.()) ?? 0;
  const outbox = await deps.store.outboxCounts();
  return {
    run_id: null,
    trigger: options.trigger,
    dry_run: true,
    status: 'done',
    ingest: { files: 0, papers: 0, new: 0, updated: 0, failed: 0, pending_files: pending },
    filed,
    due: due.length,
    queued: previews.length,
    nothing_new: due.length - previews.length,
    papers: previews.reduce((sum, preview) => sum + preview.papers, 0),
    resumed: outbox.queued,
    delivery: null,
    outbox,
    mailer: deps.mailer.description,
    duration_ms: deps.clock.now().getTime() - started.getTime(),
    previews,
  };
}

/** The From domain names our Message-IDs and the RFC 2919 List-Id (`digest.<domain>`). */
export function senderOf(delivery: DeliveryConfig): Sender {
  const domain = addressOf(delivery.from).split('@')[1] ?? 'localhost';
  return {
    from: delivery.from,
    replyTo: delivery.replyTo,
    listId: `digest.${domain}`,
    listName: delivery.listName,
    unsubscribeMailto: delivery.unsubscribeMailto,
    messageIdDomain: domain,
  };
}
