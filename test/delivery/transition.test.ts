import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../src/delivery/mailer.ts';
import { backoff, decideTransition, pauseReason, type AttemptTally, type RetryPolicy } from '../../src/delivery/transition.ts';
import type { OutboxTransition } from '../../src/model/outbox.ts';

const NOW = new Date('2026-11-23T07:00:00.000Z');
const POLICY: RetryPolicy = { maxAttempts: 6, retryBaseMs: 2000, bounceLimit: 2 };
const MIDDLE = () => 0.5;

const sent: SendOutcome = { status: 'sent', response: '250 2.0.0 Ok: queued as 4F2A1' };
const greylisted: SendOutcome = { status: 'temporary', code: 451, response: '451 4.7.1 Greylisted, try again later' };
const dropped: SendOutcome = { status: 'temporary', code: null, response: 'ECONNECTION: Connection closed unexpectedly' };
const timedOut: SendOutcome = { status: 'temporary', code: null, response: 'ETIMEDOUT: Timeout' };
const noMailbox: SendOutcome = { status: 'permanent', code: 550, response: '550 5.1.1 <gone@example.org>: Recipient address rejected' };
const senderRejected: SendOutcome = { status: 'delivery-error', code: 554, response: '554 5.7.1 <digest@papers.example.org>: Sender address rejected: Access denied' };

describe('decideTransition: what one attempt does to a message', () => {
  const cases: [string, { attempts: number; hardBounces: number }, SendOutcome, OutboxTransition][] = [
    ['250 on the first attempt → sent', { attempts: 0, hardBounces: 0 }, sent, { status: 'sent', attempts: 1, sentAt: NOW.toISOString() }],
    ['250 after two retries → sent, three attempts counted', { attempts: 2, hardBounces: 0 }, sent, { status: 'sent', attempts: 3, sentAt: NOW.toISOString() }],
    [
      '4xx on the first attempt → queued again after 1.5 s (base 2 s, half fixed, half jitter)',
      { attempts: 0, hardBounces: 0 },
      greylisted,
      { status: 'queued', attempts: 1, nextAttemptAt: '2026-11-23T07:00:01.500Z', error: greylisted.response },
    ],
    [
      'a dropped connection on the third attempt → queued again after 6 s',
      { attempts: 2, hardBounces: 0 },
      dropped,
      { status: 'queued', attempts: 3, nextAttemptAt: '2026-11-23T07:00:06.000Z', error: dropped.response },
    ],
    [
      'a timeout on the last allowed attempt → failed: retries exhausted, no bounce',
      { attempts: 5, hardBounces: 0 },
      timedOut,
      { status: 'failed', attempts: 6, error: timedOut.response, hardBounce: false, bounceSubscriber: false, deliveryError: false },
    ],
    [
      '5xx below the bounce limit → failed, one more hard bounce, subscriber stays',
      { attempts: 0, hardBounces: 0 },
      noMailbox,
      { status: 'failed', attempts: 1, error: noMailbox.response, hardBounce: true, bounceSubscriber: false, deliveryError: false },
    ],
    [
      '5xx reaching the bounce limit → failed and the subscriber bounced',
      { attempts: 0, hardBounces: 1 },
      noMailbox,
      { status: 'failed', attempts: 1, error: noMailbox.response, hardBounce: true, bounceSubscriber: true, deliveryError: false },
    ],
    [
      '5xx after temporary failures → failed at once, bounce counted',
      { attempts: 3, hardBounces: 4 },
      noMailbox,
      { status: 'failed', attempts: 4, error: noMailbox.response, hardBounce: true, bounceSubscriber: true, deliveryError: false },
    ],
    [
      'a delivery error (the relay refused the sender) → failed, nobody bounced, even at the bounce limit',
      { attempts: 0, hardBounces: 1 },
      senderRejected,
      { status: 'failed', attempts: 1, error: senderRejected.response, hardBounce: false, bounceSubscriber: false, deliveryError: true },
    ],
  ];

  it.each(cases)('%s', (_, message, outcome, expected) => {
    expect(decideTransition(message, outcome, POLICY, NOW, MIDDLE)).toEqual(expected);
  });

  it('with a bounce limit of 1, the first 5xx bounces the subscriber', () => {
    expect(decideTransition({ attempts: 0, hardBounces: 0 }, noMailbox, { ...POLICY, bounceLimit: 1 }, NOW, MIDDLE)).toMatchObject({ bounceSubscriber: true });
  });

  it('with one attempt allowed, a temporary failure fails the message at once', () => {
    expect(decideTransition({ attempts: 0, hardBounces: 0 }, greylisted, { ...POLICY, maxAttempts: 1 }, NOW, MIDDLE)).toEqual({
      status: 'failed',
      attempts: 1,
      error: greylisted.response,
      hardBounce: false,
      bounceSubscriber: false,
      deliveryError: false,
    });
  });
});

describe('backoff', () => {
  it('doubles per attempt, half fixed and half jitter', () => {
    expect([1, 2, 3, 4].map((attempt) => backoff(attempt, 2000, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((attempt) => backoff(attempt, 2000, () => 0.999999))).toEqual([2000, 4000, 8000, 16000]);
    expect(backoff(3, 2000, () => 0.5)).toBe(6000);
  });

  it('never waits more than six hours', () => {
    expect(backoff(40, 2000, () => 1)).toBe(6 * 60 * 60 * 1000);
    expect(backoff(40, 2000, () => 0)).toBe(3 * 60 * 60 * 1000);
  });
});

describe('pauseReason: when a run stops burning through the list', () => {
  const policy = { pauseErrorRate: 0.5, pauseMinAttempts: 20 };
  const cases: [string, AttemptTally, string | null][] = [
    ['no attempts yet', { attempted: 0, failures: 0, deliveryError: null }, null],
    ['every attempt failed, but fewer than the minimum', { attempted: 19, failures: 19, deliveryError: null }, null],
    ['exactly the threshold share failed', { attempted: 20, failures: 10, deliveryError: null }, null],
    ['over the threshold at the minimum', { attempted: 20, failures: 11, deliveryError: null }, '11 of 20 attempts failed (over 50%): delivery paused'],
    ['well past the minimum, under the threshold', { attempted: 400, failures: 150, deliveryError: null }, null],
    [
      'one delivery error, at the first attempt',
      { attempted: 1, failures: 1, deliveryError: senderRejected.response },
      'the relay refused delivery (not the recipient): 554 5.7.1 <digest@papers.example.org>: Sender address rejected: Access denied; delivery paused, nobody was marked bounced',
    ],
  ];

  it.each(cases)('%s', (_, tally, expected) => {
    expect(pauseReason(tally, policy)).toBe(expected);
  });

  it('a minimum of zero pauses on the first failure only when it is over the rate', () => {
    expect(pauseReason({ attempted: 1, failures: 1, deliveryError: null }, { pauseErrorRate: 0.5, pauseMinAttempts: 0 })).toBe('1 of 1 attempts failed (over 50%): delivery paused');
    expect(pauseReason({ attempted: 1, failures: 0, deliveryError: null }, { pauseErrorRate: 0.5, pauseMinAttempts: 0 })).toBeNull();
  });
});
