import type { Clock } from '../clock.ts';
import { addressOf, type DeliveryConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { ClaimedMessage, OutboxKind, OutboxTransition } from '../model/outbox.ts';
import type { OnProgress } from '../model/progress.ts';
import type { OutboxRepository, Settlement } from '../store/port.ts';
import type { Mailer, RawMessage } from './mailer.ts';
import { createDeliveryLimits, type BatchOutcome, type DeliveryLimits, type LimitsStore } from './limits.ts';
import { decideTransition, pauseReason, type AttemptTally } from './transition.ts';
import { describeWorker, isDeadLocalWorker, workerName } from './worker.ts';

export type DeliveryStore = Pick<OutboxRepository, 'claimHolders' | 'claimDue' | 'extendClaims' | 'releaseClaims' | 'settle' | 'settleMany' | 'nextRetryAt' | 'outboxCounts'> & LimitsStore;

export interface DeliverDeps {
  store: DeliveryStore;
  mailer: Mailer;
  clock: Clock;
  config: Pick<
    DeliveryConfig,
    'from' | 'poolSize' | 'hourlyCap' | 'maxAttempts' | 'retryBaseMs' | 'retryWaitMs' | 'bounceLimit' | 'pauseErrorRate' | 'pauseMinAttempts' | 'claimSeconds' | 'ratePerSecond'
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
  /** The run-wide limits shared with every other worker; made from the store when absent. */
  limits?: DeliveryLimits;
  random?: () => number;
  /** The queued messages once, then one event per message sent or failed for good. */
  onProgress?: OnProgress;
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
  const claimMs = config.claimSeconds * 1000;
  const limits = deps.limits ?? createDeliveryLimits({ store, clock, config });
  const report: DeliveryReport = { sent: 0, failed: 0, retried: 0, deferred: 0, bounced: 0, paused: false, pauseReason: null };
  const tally: AttemptTally = { attempted: 0, failures: 0, deliveryError: null };
  let claimsRenewedAt = clock.now().getTime();
  const halted = () => report.paused || (deps.stopping?.() ?? false);

  const settler = groupCommit(store, worker, clock);
  /** Sends one message and records what became of it; the transition's status. */
  const deliverOne = async (message: ClaimedMessage): Promise<OutboxTransition['status']> => {
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
    if (transition.status !== 'queued') deps.onProgress?.({ stage: 'deliver', done: 1 });
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
    return transition.status;
  };

  if (deps.onProgress) deps.onProgress({ stage: 'deliver', added: (await store.outboxCounts()).queued });
  // Claims of a worker on this host that died (kill -9) need not wait for their expiry.
  for (const holder of await store.claimHolders()) {
    if (!isDeadLocalWorker(holder)) continue;
    const released = await store.releaseClaims(holder);
    logger.warn({ holder, released }, `took back ${released} messages claimed by ${describeWorker(holder)}, which is gone`);
  }

  // Slots take messages from one batch after another: the next batch is claimed as soon as the
  // last message of this one is in a slot, so no slot waits for a claim or for the batch's
  // slowest message (a worker claiming only once its batch was done was idle 40% of a 10k run).
  const inFlight = new Set<Promise<void>>();
  const batchDone = async (batch: BatchOutcome) => {
    const runWide = await limits.settled(batch);
    if (runWide && !report.paused) {
      report.paused = true;
      report.pauseReason = runWide;
      logger.error(tally, runWide);
    }
    await deps.onSettled?.(report);
  };
  // A slot that failed (the store gone) fails the delivery, where the slots are waited for.
  let slotFailure: { error: unknown } | null = null;
  const throwIfSlotFailed = () => {
    if (slotFailure) throw slotFailure.error;
  };
  const inSlot = (message: ClaimedMessage, batch: BatchOutcome & { left: number }) => {
    const slot: Promise<void> = deliverOne(message)
      .then(async (status) => {
        batch.attempted++;
        if (status !== 'sent') batch.failures++;
        if (--batch.left === 0) await batchDone(batch);
      })
      .catch((error: unknown) => void (slotFailure ??= { error }))
      .finally(() => inFlight.delete(slot));
    inFlight.add(slot);
  };
  const untilSlotFree = async () => {
    while (inFlight.size >= config.poolSize) await Promise.race(inFlight);
    throwIfSlotFailed();
  };
  // Slots never reject (a failure is kept in slotFailure), so waiting for them cannot throw.
  const inFlightSettled = async () => {
    while (inFlight.size > 0) await Promise.all(inFlight);
  };
  const allSettled = async () => {
    await inFlightSettled();
    throwIfSlotFailed();
  };

  try {
    for (;;) {
      if (halted()) break;
      const now = clock.now();
      const allowance = await limits.allowance(config.poolSize * 8);
      if ('waitMs' in allowance) {
        if (allowance.waitMs === null) {
          logger.warn({ hourlyCap: config.hourlyCap }, allowance.reason);
          break;
        }
        await clock.sleep(allowance.waitMs);
        continue;
      }
      claimsRenewedAt = now.getTime();
      // The SMTP mailer sends the raw bytes only: the HTML copy stays on disk.
      const claimed = await store.claimDue(worker, allowance.granted, now.toISOString(), new Date(now.getTime() + claimMs).toISOString(), deps.kinds, {
        html: deps.mailer.readsHtml !== false,
        onUnsendable: (message, error) => {
          report.failed++;
          deps.onProgress?.({ stage: 'deliver', done: 1 });
          logger.warn({ to: message.recipient, messageId: message.messageId, worker, reason: error }, `delivery to ${message.recipient} failed: ${error}`);
        },
      });
      if (claimed.length === 0) {
        await limits.settled({ granted: allowance.granted, attempted: 0, failures: 0 });
        // Messages still in flight may come back as retries: look again once they are settled.
        if (inFlight.size > 0) {
          await allSettled();
          continue;
        }
        const next = await store.nextRetryAt(deps.kinds);
        const wait = next ? Date.parse(next) - now.getTime() : Number.POSITIVE_INFINITY;
        if (wait > config.retryWaitMs) break;
        await clock.sleep(Math.max(wait, 0));
        continue;
      }
      const batch = { granted: allowance.granted, attempted: 0, failures: 0, left: claimed.length };
      for (const [index, message] of claimed.entries()) {
        await untilSlotFree();
        if (halted()) {
          // Not attempted: their sends go back to the limits, their claims at the end.
          batch.left -= claimed.length - index;
          if (batch.left === 0) await batchDone(batch);
          break;
        }
        inSlot(message, batch);
      }
    }
    await allSettled();
  } finally {
    // What a pause or a shutdown left unsent goes back to the outbox for any worker, once
    // the messages in flight are settled (theirs are not given back).
    await inFlightSettled();
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
