import type { OutboxProblem, RunRecipient } from './model/outbox.ts';
import type { RunRow } from './model/run.ts';
import type { Subscriber } from './model/subscriber.ts';
import { WEEKDAYS } from './subscribers/subscriber.ts';

/** The JSON shapes of runs and subscribers, shared by `--json` output and the admin API. */

export function runJson(run: RunRow) {
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    ingested: run.ingested,
    due: run.due,
    queued: run.queued,
    sent: run.sent,
    failed: run.failed,
    deferred: run.deferred,
    retried: run.retried,
    bounced: run.bounced,
    duration_ms: run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null,
    error: run.error,
  };
}

/** A message that failed or waits for a retry, with the relay's last answer. */
export function problemJson(problem: OutboxProblem) {
  return {
    recipient: problem.recipient,
    status: problem.status === 'queued' ? 'retrying' : 'failed',
    attempts: problem.attempts,
    next_attempt_at: problem.status === 'queued' ? problem.nextAttemptAt : null,
    error: problem.lastError,
    queued_at: problem.createdAt,
  };
}

export function subscriberJson(subscriber: Subscriber) {
  return {
    id: subscriber.id,
    email: subscriber.email,
    name: subscriber.name,
    status: subscriber.status,
    topics: subscriber.topics ?? 'all',
    frequency: subscriber.frequency,
    weekday: subscriber.weekday === null ? null : WEEKDAYS[subscriber.weekday],
    created_at: subscriber.createdAt,
    confirmed_at: subscriber.confirmedAt,
    last_digest_at: subscriber.lastDigestAt,
  };
}

/** One message of a run: who, and how the relay answered (status --recipients, the admin API). */
export function recipientJson(r: RunRecipient) {
  return { subscriber_id: r.subscriberId, recipient: r.recipient, kind: r.kind, status: r.status, attempts: r.attempts, smtp_reply: r.lastError, sent_at: r.sentAt };
}
