import type { App } from '../app.ts';
import { addressOf, type DeliveryConfig } from '../config/config.ts';
import { prepareDigest } from '../digest/prepare.ts';
import { PaperboyError, oneLine } from '../errors.ts';
import { ingestInboxOf } from '../ingest/app-ingest.ts';
import { listingFilesIn } from '../ingest/inbox.ts';
import type { IngestReport } from '../ingest/ingest.ts';
import type { RunRow, RunTrigger } from '../store/store.ts';
import { parseEmail, type Subscriber } from '../subscribers/subscriber.ts';
import { deliverOutbox, type DeliveryReport } from './deliver.ts';
import { isDue } from './due.ts';
import { acquireDeliveryLease } from './lease.ts';
import { queueDigests, type Sender } from './queue.ts';

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
  status: RunRow['status'];
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
  outbox: { queued: number; sent: number; failed: number };
  mailer: string;
  duration_ms: number;
  /** Dry run only: what each digest would be. */
  previews?: { email: string; subject: string; papers: number }[];
}

/**
 * The scheduled job, and the admin's manual send: ingest the inbox, file papers by topic,
 * queue a digest for every due subscriber, deliver the outbox (including anything an
 * earlier run left queued), and record the run. Holds the delivery lease throughout.
 */
export async function runDigests(app: App, options: RunOptions): Promise<RunReport> {
  const started = app.clock.now();
  const dryRun = options.dryRun ?? false;
  return dryRun ? dryRunReport(app, options, started) : realRun(app, options, started);
}

async function realRun(app: App, options: RunOptions, started: Date): Promise<RunReport> {
  const { store, clock, config, logger } = app;
  const lease = acquireDeliveryLease(store, clock, config.delivery.leaseSeconds);
  const interrupted = store.interruptRuns(started.toISOString());
  if (interrupted > 0) logger.warn({ interrupted }, `${interrupted} earlier run(s) ended without finishing (crash or kill); resuming their outbox`);
  const run: RunRow = {
    id: store.insertRun(options.trigger, started.toISOString()),
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
    error: null,
  };
  const mailer = app.mailer();
  try {
    const ingest = ingestInboxOf(app);
    const expired = store.expirePending(new Date(started.getTime() - config.service.pendingTtlHours * 3_600_000).toISOString());
    if (expired > 0) logger.info({ expired }, `forgot ${expired} sign-ups never confirmed`);
    run.ingested = ingest.totals.new;
    const filed = app.filePapers();
    const resumed = store.outboxCounts().queued;
    const due = dueSubscribers(app, options);
    run.due = due.length;
    const queued = await queueDigests(due, {
      store,
      context: app.digestContext(),
      renderer: await app.renderer(),
      clock,
      sendEmpty: config.digest.sendEmpty,
      sender: senderOf(config.delivery),
      runId: run.id,
    });
    run.queued = queued.queued;
    store.updateRun(run);
    logger.info({ due: run.due, queued: run.queued, resumed }, `queued ${run.queued} digests; delivering via ${mailer.description}`);

    const delivery = await deliverOutbox({
      store,
      mailer,
      clock,
      config: config.delivery,
      logger,
      heartbeat: () => lease.renew(),
      stopping: options.stopping,
    });
    store.pruneOutboxBodies();
    Object.assign(run, {
      status: delivery.paused ? 'paused' : 'done',
      sent: delivery.sent,
      failed: delivery.failed,
      deferred: delivery.deferred,
      error: delivery.pauseReason,
      finishedAt: clock.now().toISOString(),
    } satisfies Partial<RunRow>);
    store.updateRun(run);
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
      outbox: store.outboxCounts(),
      mailer: mailer.description,
      duration_ms: clock.now().getTime() - started.getTime(),
    };
  } catch (error) {
    store.updateRun({ ...run, status: 'failed', error: oneLine(error), finishedAt: clock.now().toISOString() });
    throw error;
  } finally {
    lease.release();
  }
}

/** Active subscribers owed a digest now (or, with --force, all selected), minus those with mail still queued. */
function dueSubscribers(app: App, options: RunOptions): Subscriber[] {
  const withQueuedMail = app.store.subscribersWithQueuedMail();
  const now = app.clock.now();
  let candidates: Subscriber[];
  if (options.to) {
    const subscriber = app.store.subscriberByEmail(parseEmail(options.to));
    if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${options.to}`);
    if (subscriber.status !== 'active') throw new PaperboyError('SUBSCRIBER_INVALID', `${subscriber.email} is ${subscriber.status}: only active subscribers get mail`);
    candidates = [subscriber];
  } else {
    candidates = app.store.listSubscribers({ status: 'active' });
  }
  return candidates.filter(
    (subscriber) => !withQueuedMail.has(subscriber.id) && (options.force || isDue(subscriber, now, app.config.timeZone)),
  );
}

async function dryRunReport(app: App, options: RunOptions, started: Date): Promise<RunReport> {
  // Filing is derived data (a cache of the classifier's answer), so the preview matches a real run.
  const filed = app.filePapers();
  const due = dueSubscribers(app, options);
  const renderer = await app.renderer();
  const context = app.digestContext();
  const previews = due.flatMap((subscriber) => {
    const digest = prepareDigest(context, subscriber, app.clock.now());
    if (digest.selection.paperIds.length === 0 && !app.config.digest.sendEmpty) return [];
    return [{ email: subscriber.email, subject: renderer.renderDigest(digest.data).subject, papers: digest.selection.paperIds.length }];
  });
  return {
    run_id: null,
    trigger: options.trigger,
    dry_run: true,
    status: 'done',
    ingest: { files: 0, papers: 0, new: 0, updated: 0, failed: 0, pending_files: listingFilesIn(app.config.inboxDir).length },
    filed,
    due: due.length,
    queued: previews.length,
    nothing_new: due.length - previews.length,
    papers: previews.reduce((sum, preview) => sum + preview.papers, 0),
    resumed: app.store.outboxCounts().queued,
    delivery: null,
    outbox: app.store.outboxCounts(),
    mailer: app.mailer().description,
    duration_ms: app.clock.now().getTime() - started.getTime(),
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
    unsubscribeMailto: delivery.unsubscribeMailto,
    messageIdDomain: domain,
  };
}
