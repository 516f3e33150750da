import type { Clock } from '../clock.ts';
import { addressOf, type DeliveryConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { ClaimedMessage, OutboxKind } from '../model/outbox.ts';
import type { OutboxRepository, Settlement } from '../store/port.ts';
import type { Mailer, RawMessage } from './mailer.ts';
import { decideTransition, pauseReason, type AttemptTally } from './transition.ts';
import { describeWorker, isDeadLocalWorker, workerName } from './worker.ts';

export type DeliveryStore = Pick<OutboxRepository, 'claimHolders' | 'claimDue' | 'extendClaims' | 'releaseClaims' | 'settle' | 'settleMany' | 'nextRetryAt' | 'sentSince' | 'outboxCounts'>;

export interface DeliverDeps {
  store: DeliveryStore;
  mailer: Mailer;
  clock: Clock;
  config: Pick<
    DeliveryConfig,
    'from' | 'poolSize' | 'hourlyCap' | 'maxAttempts' | 'retryBaseMs' | 'retryWaitMs' | 'bounceLimit' | 'pauseErrorRate' | 'pauseMinAttempts' | 'leaseSeconds'
  >;
  logger: Logger;
  /** Names this worker's claims; one is made up when absent. */
  worker?: string;
  /** Deliver only these kinds of message (the notice courier); all when absent. */
  kinds?: readonly OutboxKind[];
  /** Called after every message: renews the run's lease. */
  heartbeat?: () => Promise<void>;
  /** Called after each claimed batch has settled, with the counts so far (a run records them as it goes). */
  onSettled?: (report: DeliveryReport) => Promise<void>;
  /** Asked before taking each message: true once a shutdown began. */
  stopping?: () => boolean;
  random?: () => number;
}

export interface DeliveryReport {
  sent: number;
  /** Failed for good in this run (5xx, or out of attempts). */
  failed: number;
  /** Temporary failures scheduled for a retry. */
  retried: number;
  /** Still queued at the end: retries due later, the hourly cap, a pause or a shutdown. */
  deferred: number;
  bounced: number;
  paused: boolean;
  pauseReason: string | null;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * A delivery worker: claims batches of due outbox messages, hands them to the mailer with at
 * most `poolSize` in flight, and settles each with the transition `decideTransition` picks.
 * Only the claim holder may settle a message, so workers in several processes share one
 * outbox and each message is sent by one of them. A message is marked sent (and its papers
 * delivered) only after the server accepted it. If the failure rate passes the threshold,
 * delivery pauses instead of burning through the list.
 */
export async function deliverOutbox(deps: DeliverDeps): Promise<DeliveryReport> {
  const { store, config, clock, logger } = deps;
  const worker = deps.worker ?? workerName();
  const random = deps.random ?? Math.random;
  const claimMs = config.leaseSeconds * 1000;
  const report: DeliveryReport = { sent: 0, failed: 0, retried: 0, deferred: 0, bounced: 0, paused: false, pauseReason: null };
  const tally: AttemptTally = { attempted: 0, failures: 0, deliveryError: null };
  let claimsRenewedAt = clock.now().getTime();
  const halted = () => report.paused || (deps.stopping?.() ?? false);

  const settler = groupCommit(store, worker, clock);
  const deliverOne = async (message: ClaimedMessage) => {
    const outcome = await deps.mailer.sendRaw(rawMessage(message, config.from));
    const now = clock.now();
    const transition = decideTransition(message, outcome, config, now, random);
    // Written before this slot takes another message, in one commit with the other slots' answers.
    if (!(await settler.settle({ message, transition }))) {
      logger.warn({ to: message.recipient, messageId: message.messageId, worker }, `the claim on the message to ${message.recipient} was lost before it settled`);
    }
    tally.attempted++;
    if (transition.status !== 'sent') tally.failures++;
    if (transition.status === 'failed' && transition.deliveryError) tally.deliveryError ??= transition.error;
    switch (transition.status) {
      case 'sent':
        report.sent++;
        break;
      case 'queued':
        report.retried++;
        logger.info({ to: message.recipient, attempt: transition.attempts, nextAttemptAt: transition.nextAttemptAt, reason: transition.error }, `will retry ${message.recipient}`);
        break;
      case 'failed':
        report.failed++;
        if (transition.bounceSubscriber) report.bounced++;
        logger.warn({ to: message.recipient, messageId: message.messageId, attempts: transition.attempts, reason: transition.error }, `delivery to ${message.recipient} failed: ${transition.error}`);
        break;
    }
    const reason = report.paused ? null : pauseReason(tally, config);
    if (reason) {
      report.paused = true;
      report.pauseReason = reason;
      logger.error(tally, reason);
    }
    // A claim outlives a slow batch only if renewed: a third of its time is the margin.
    if (now.getTime() - claimsRenewedAt > claimMs / 3) {
      claimsRenewedAt = now.getTime();
      await store.extendClaims(worker, new Date(now.getTime() + claimMs).toISOString());
    }
    await deps.heartbeat?.();
  };

  // Claims of a worker on this host that died (kill -9) need not wait for their expiry.
  for (const holder of await store.claimHolders()) {
    if (!isDeadLocalWorker(holder)) continue;
    const released = await store.releaseClaims(holder);
    logger.warn({ holder, released }, `took back ${released} messages claimed by ${describeWorker(holder)}, which is gone`);
  }

  try {
    for (;;) {
      if (halted()) break;
      const now = clock.now();
      let budget = Number.POSITIVE_INFINITY;
      if (config.hourlyCap > 0) {
        budget = config.hourlyCap - (await store.sentSince(new Date(now.getTime() - HOUR_MS).toISOString()));
        if (budget <= 0) {
          logger.warn({ hourlyCap: config.hourlyCap }, 'hourly cap reached: the rest waits for the next run');
          break;
        }
      }
      claimsRenewedAt = now.getTime();
      // The SMTP mailer sends the raw bytes only: the HTML copy stays on disk.
      const batch = await store.claimDue(worker, Math.min(budget, config.poolSize * 8), now.toISOString(), new Date(now.getTime() + claimMs).toISOString(), deps.kinds, {
        html: deps.mailer.readsHtml !== false,
      });
      if (batch.length === 0) {
        const next = await store.nextRetryAt(deps.kinds);
        const wait = next ? Date.parse(next) - now.getTime() : Number.POSITIVE_INFINITY;
        if (wait > config.retryWaitMs) break;
        await clock.sleep(Math.max(wait, 0));
        continue;
      }
      await inParallel(batch, config.poolSize, async (message) => {
        if (!halted()) await deliverOne(message);
      });
      await deps.onSettled?.(report);
    }
  } finally {
    // What a pause or a shutdown left unsent goes back to the outbox for any worker.
    await store.releaseClaims(worker);
  }
  report.deferred = (await store.outboxCounts()).queued;
  return report;
}

/**
 * Group commit of settlements: every answer handed in before the event loop's next turn
 * goes into one `settleMany` transaction, so with N messages in flight a commit carries up
 * to N answers instead of one each; each caller learns whether its own transition was
 * written once that commit is done.
 */
function groupCommit(store: Pick<DeliveryStore, 'settleMany'>, worker: string, clock: Clock) {
  let pending: { settlement: Settlement; done: (written: boolean) => void; failed: (error: unknown) => void }[] = [];
  const flush = async () => {
    const group = pending;
    pending = [];
    try {
      const written = await store.settleMany(
        group.map((entry) => entry.settlement),
        worker,
        clock.now().toISOString(),
      );
      group.forEach((entry, index) => entry.done(written[index] ?? false));
    } catch (error) {
      for (const entry of group) entry.failed(error);
    }
  };
  return {
    settle(settlement: Settlement): Promise<boolean> {
      return new Promise<boolean>((done, failed) => {
        if (pending.length === 0) setImmediate(() => void flush());
        pending.push({ settlement, done, failed });
      });
    },
  };
}

function rawMessage(message: ClaimedMessage, from: string): RawMessage {
  return { messageId: message.messageId, envelope: { from: addressOf(from), to: message.recipient }, raw: message.raw, html: message.html };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
