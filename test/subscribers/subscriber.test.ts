import { describe, expect, it } from 'vitest';
import { parseSubscriberCsv, subscribersToCsv } from '../../src/subscribers/csv.ts';
import type { Subscriber } from '../../src/model/subscriber.ts';
import { subscriberInput } from '../../src/subscribers/subscriber.ts';

const TOPICS = ['reasoning', 'code', 'agents', 'other'];

describe('subscriberInput', () => {
  it('normalizes the email, trims the name, keeps topics in taxonomy order', () => {
    expect(subscriberInput({ email: '  Ada@Example.COM ', name: ' Ada ', topics: 'agents, reasoning,agents', frequency: 'weekly', weekday: 'Friday' }, TOPICS)).toEqual({
      email: 'ada@example.com',
      name: 'Ada',
      topics: ['reasoning', 'agents'],
      frequency: 'weekly',
      weekday: 5,
    });
  });

  it('strips bidi overrides from a name, so To: and the pages show it as typed', () => {
    expect(subscriberInput({ email: 'a@b.org', name: 'Eve \u202Emoc.elgoog@ \u2066x\u2069' }, TOPICS).name).toBe('Eve moc.elgoog@ x');
    expect(subscriberInput({ email: 'a@b.org', name: '\u202E' }, TOPICS).name).toBeNull();
  });

  it('defaults to all topics, daily, and Monday for weekly', () => {
    expect(subscriberInput({ email: 'a@b.org' }, TOPICS)).toEqual({ email: 'a@b.org', name: null, topics: null, frequency: 'daily', weekday: null });
    expect(subscriberInput({ email: 'a@b.org', frequency: 'weekly' }, TOPICS).weekday).toBe(1);
  });

  it.each([
    [{ email: 'not-an-email' }, 'email: "not-an-email" is not a valid email address'],
    [{ email: 'a@b.org\r\nBcc: victim@example.org' }, 'email: "a@b.org??Bcc: victim@example.org" contains control characters'],
    [{ email: 'a@b.org', name: 'Eve\r\nBcc: x@y.org' }, 'name: "Eve??Bcc: x@y.org" contains control characters'],
    [{ email: 'a@b.org', topics: 'code,quantum' }, 'topics: unknown topic "quantum" (known: reasoning, code, agents, other)'],
    [{ email: 'a@b.org', topics: 'all,code' }, 'topics: "all" cannot be combined with topic ids'],
    [{ email: 'a@b.org', frequency: 'hourly' }, 'frequency: "hourly" is not daily or weekly'],
    [{ email: 'a@b.org', frequency: 'weekly', weekday: 'someday' }, 'weekday: "someday" is not a day of the week (mon … sun)'],
  ])('rejects %j', (fields, message) => {
    expect(() => subscriberInput(fields, TOPICS)).toThrow(message);
  });
});

describe('subscriber CSV', () => {
  it('reads every valid row, with columns in any order and quoted comma lists', () => {
    const csv = 'name,email,topics,frequency,weekday\nAda,ada@example.com,all,daily,\n"Hopper, Grace",GRACE@example.com,"code,agents",weekly,wed\n';
    expect(parseSubscriberCsv(csv, TOPICS)).toEqual({
      rows: [
        { email: 'ada@example.com', name: 'Ada', topics: null, frequency: 'daily', weekday: null },
        { email: 'grace@example.com', name: 'Hopper, Grace', topics: ['code', 'agents'], frequency: 'weekly', weekday: 3 },
      ],
      errors: [],
    });
  });

  it('reports every bad row with its line', () => {
    const csv = 'email,topics\nok@example.com,code\nbad-address,code\nok2@example.com,astrology\nOK@example.com,all\n';
    expect(parseSubscriberCsv(csv, TOPICS).errors).toEqual([
      { line: 3, message: 'email: "bad-address" is not a valid email address' },
      { line: 4, message: 'topics: unknown topic "astrology" (known: reasoning, code, agents, other)' },
      { line: 5, message: 'email: ok@example.com is already on line 2' },
    ]);
  });

  it('rejects a file without an email column or with unknown columns', () => {
    expect(parseSubscriberCsv('mail,name\na@b.org,A\n', TOPICS).errors).toEqual([{ line: 1, message: 'the header row has no "email" column' }]);
    expect(parseSubscriberCsv('email,plan\na@b.org,pro\n', TOPICS).errors).toEqual([{ line: 1, message: 'unknown column "plan" (columns: email, name, topics, frequency, weekday)' }]);
  });

  it('exports a file that imports as it is', () => {
    const subscriber: Subscriber = {
      id: 1, email: 'grace@example.com', name: 'Hopper, Grace', status: 'active', topics: ['code', 'agents'], frequency: 'weekly', weekday: 3,
      createdAt: '2026-11-23T08:00:00.000Z', confirmedAt: '2026-11-23T08:00:00.000Z', unsubscribedAt: null, lastDigestAt: null, hardBounces: 0,
      tokenKey: '',
    };
    const csv = subscribersToCsv([subscriber]);
    expect(csv).toBe('email,name,topics,frequency,weekday,status,created_at,confirmed_at\ngrace@example.com,"Hopper, Grace",code;agents,weekly,wed,active,2026-11-23T08:00:00.000Z,2026-11-23T08:00:00.000Z\n');
    expect(parseSubscriberCsv(csv, TOPICS).rows).toEqual([{ email: 'grace@example.com', name: 'Hopper, Grace', topics: ['code', 'agents'], frequency: 'weekly', weekday: 3 }]);
  });
});
