import type { ClaimedMessage, OutboxTransition } from '../model/outbox.ts';
import type { SendOutcome } from './mailer.ts';

/**
 * What becomes of an outbox message after one attempt, and when a run pauses: pure
 * decisions over plain data (as Ghost keeps its sending status), so every outcome is tested
 * without a database or a mail server. The store only persists what is decided here.
 */

export interface RetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  /** Hard bounces after which a subscriber is bounced. */
  bounceLimit: number;
}

const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;

/**
 * - 250 → sent (its papers become deliveries);
 * - a temporary failure (4xx, a dropped connection, a timeout) → queued again after an
 *   exponential backoff, until `maxAttempts` is used up → failed, with no bounce;
 * - the recipient refused for good → failed and one more hard bounce; at `bounceLimit` the
 *   subscriber is bounced;
 * - a delivery error (the relay refused the sender, a policy, the login, TLS, the session)
 *   → failed, nobody bounced; the run pauses (see `pauseReason`).
 * A failed message releases its papers and restores the subscriber's window.
 */
export function decideTransition(
  message: Pick<ClaimedMessage, 'attempts' | 'hardBounces'>,
  outcome: SendOutcome,
  policy: RetryPolicy,
  now: Date,
  random: () => number,
): OutboxTransition {
  const attempts = message.attempts + 1;
  if (outcome.status === 'sent') return { status: 'sent', attempts, sentAt: now.toISOString() };
  // SMTP replies already start with their code (`550 5.1.1 …`); connection errors name theirs.
  const error = outcome.response;
  const failed = { status: 'failed', attempts, error, hardBounce: false, bounceSubscriber: false, deliveryError: false } as const;
  if (outcome.status === 'permanent') return { ...failed, hardBounce: true, bounceSubscriber: message.hardBounces + 1 >= policy.bounceLimit };
  if (outcome.status === 'delivery-error') return { ...failed, deliveryError: true };
  if (attempts >= policy.maxAttempts) return failed;
  const delay = backoff(attempts, policy.retryBaseMs, random);
  return { status: 'queued', attempts, nextAttemptAt: new Date(now.getTime() + delay).toISOString(), error };
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, capped. */
export function backoff(attempt: number, baseMs: number, random: () => number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface PausePolicy {
  /** Pause once more than this share of attempts failed… */
  pauseErrorRate: number;
  /** …and at least this many were made. */
  pauseMinAttempts: number;
}

/** A run's failure tally so far: attempts made, how many did not end in a 250, and the first delivery error. */
export interface AttemptTally {
  attempted: number;
  failures: number;
  /** What the relay answered when it refused delivery for a reason not the recipient's. */
  deliveryError: string | null;
}

/**
 * Why delivery should pause now, or null: at once on a delivery error (the relay would refuse
 * every other message alike), or when the failure rate passes the threshold (a broken relay
 * must not burn through the list).
 */
export function pauseReason(tally: AttemptTally, policy: PausePolicy): string | null {
  if (tally.deliveryError) return `the relay refused delivery (not the recipient): ${tally.deliveryError}; delivery paused, nobody was marked bounced`;
  if (tally.attempted === 0 || tally.attempted < policy.pauseMinAttempts || tally.failures / tally.attempted <= policy.pauseErrorRate) return null;
  return `${tally.failures} of ${tally.attempted} attempts failed (over ${Math.round(policy.pauseErrorRate * 100)}%): delivery paused`;
}
