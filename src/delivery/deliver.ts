import type { Clock } from '../clock.ts';
import { addressOf, type DeliveryConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { OutboxRow, Store } from '../store/store.ts';
import type { Mailer, RawMessage, SendOutcome } from './mailer.ts';

export type DeliveryStore = Pick<
  Store,
  'dueOutbox' | 'nextRetryAt' | 'markSent' | 'markRetry' | 'markFailed' | 'recordHardBounce' | 'sentSince' | 'outboxCounts'
>;

export interface DeliverDeps {
  store: DeliveryStore;
  mailer: Mailer;
  clock: Clock;
  config: Pick<DeliveryConfig, 'from' | 'poolSize' | 'hourlyCap' | 'maxAttempts' | 'retryBaseMs' | 'retryWaitMs' | 'bounceLimit' | 'pauseErrorRate' | 'pauseMinAttempts'>;
  logger: Logger;
  /** Called after every message: renews the run's lease. */
  heartbeat?: () => void;
  /** Asked before taking each message: true once a shutdown began. */
  stopping?: () => boolean;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
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

const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * Hands queued messages to the mailer, at most `poolSize` in flight. A message is marked
 * sent (and its papers delivered) only after the server accepted it; temporary failures
 * retry with exponential backoff and jitter; permanent ones fail and count a hard bounce.
 * If the failure rate passes the threshold, delivery pauses instead of burning the list.
 */
export async function deliverOutbox(deps: DeliverDeps): Promise<DeliveryReport> {
  const { store, config, clock, logger } = deps;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const report: DeliveryReport = { sent: 0, failed: 0, retried: 0, deferred: 0, bounced: 0, paused: false, pauseReason: null };
  let attempted = 0;
  let failures = 0;

  const handle = (row: OutboxRow, outcome: SendOutcome) => {
    const now = clock.now();
    attempted++;
    if (outcome.status === 'sent') {
      store.markSent(row.id, row.messageId, now.toISOString());
      report.sent++;
    } else {
      failures++;
      // SMTP replies already start with their code (`550 5.1.1 …`); connection errors name theirs.
      const reason = outcome.response;
      if (outcome.status === 'permanent' || row.attempts + 1 >= config.maxAttempts) {
        store.markFailed(row.id, reason);
        report.failed++;
        if (outcome.status === 'permanent' && store.recordHardBounce(row.subscriberId, config.bounceLimit) === 'bounced') report.bounced++;
        logger.warn({ to: row.recipient, messageId: row.messageId, attempts: row.attempts + 1, reason }, `delivery to ${row.recipient} failed: ${reason}`);
      } else {
        const delay = backoff(row.attempts + 1, config.retryBaseMs, random);
        store.markRetry(row.id, new Date(now.getTime() + delay).toISOString(), reason);
        report.retried++;
        logger.info({ to: row.recipient, attempt: row.attempts + 1, retryInMs: delay, reason }, `will retry ${row.recipient}`);
      }
    }
    if (!report.paused && attempted >= config.pauseMinAttempts && failures / attempted > config.pauseErrorRate) {
      report.paused = true;
      report.pauseReason = `${failures} of ${attempted} attempts failed (over ${Math.round(config.pauseErrorRate * 100)}%): delivery paused`;
      logger.error({ failures, attempted }, report.pauseReason);
    }
    deps.heartbeat?.();
  };

  for (;;) {
    if (report.paused || deps.stopping?.()) break;
    const now = clock.now();
    let budget = Number.POSITIVE_INFINITY;
    if (config.hourlyCap > 0) {
      budget = config.hourlyCap - store.sentSince(new Date(now.getTime() - HOUR_MS).toISOString());
      if (budget <= 0) {
        logger.warn({ hourlyCap: config.hourlyCap }, 'hourly cap reached: the rest waits for the next run');
        break;
      }
    }
    const batch = store.dueOutbox(now.toISOString(), Math.min(budget, config.poolSize * 8));
    if (batch.length === 0) {
      const next = store.nextRetryAt();
      const wait = next ? Date.parse(next) - now.getTime() : Number.POSITIVE_INFINITY;
      if (wait > config.retryWaitMs) break;
      await sleep(Math.max(wait, 0));
      continue;
    }
    await inParallel(batch, config.poolSize, async (row) => {
      if (report.paused || deps.stopping?.()) return;
      handle(row, await deps.mailer.sendRaw(rawMessage(row, deps.config.from)));
    });
  }
  report.deferred = store.outboxCounts().queued;
  return report;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, capped. */
export function backoff(attempt: number, baseMs: number, random: () => number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function rawMessage(row: OutboxRow, from: string): RawMessage {
  return { messageId: row.messageId, envelope: { from: addressOf(from), to: row.recipient }, raw: row.raw, html: row.html };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
