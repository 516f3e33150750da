import { join } from 'node:path';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { simpleParser } from 'mailparser';
import { loadConfig } from '../../src/config/config.ts';
import { createCourier, type Courier } from '../../src/delivery/courier.ts';
import type { Mailer, RawMessage, SendOutcome } from '../../src/delivery/mailer.ts';
import { createLogger } from '../../src/log.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import { createRenderer } from '../../src/digest/render.ts';
import type { Store } from '../../src/store/port.ts';
import { tempSqliteStore } from '../helpers/store.ts';
import type { SubscriberInput } from '../../src/model/subscriber.ts';
import { signToken } from '../../src/tokens.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createWebApp, type WebDeps } from '../../src/web/app.ts';
import { REPO_ROOT, tempDir } from '../helpers/paths.ts';

const SECRET = 'routes-test-secret-0123456789abcdef0123456789';
const PUBLIC_URL = 'https://paperboy.example.org';
const START = '2025-03-03T09:00:00.000Z';
const HOUR_MS = 60 * 60 * 1000;
const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const taxonomy = loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml'));
const renderer = await createRenderer({ templatesDir: join(REPO_ROOT, 'templates') });

/** A mail as the relay received it, parsed back from the bytes the courier sent. */
interface RecordedMail {
  from: string;
  to: { email: string; name: string | null };
  subject: string;
  date: Date | undefined;
  messageId: string | undefined;
  listUnsubscribe: string | undefined;
  text: string;
  html: string;
}

/** A transport double behind the real courier: records every message handed to it, answers as told. */
class RecordingMailer implements Mailer {
  readonly description = 'recording mailer';
  readonly sent: RecordedMail[] = [];
  courier!: Courier;
  answer: () => Promise<SendOutcome> = async () => ({ status: 'sent', response: '250 OK' });

  async sendRaw(message: RawMessage): Promise<SendOutcome> {
    const parsed = await simpleParser(message.raw);
    const to = (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.value[0];
    this.sent.push({
      from: parsed.from?.text ?? '',
      to: { email: to?.address ?? '', name: to?.name || null },
      subject: parsed.subject ?? '',
      date: parsed.date,
      messageId: parsed.messageId,
      listUnsubscribe: parsed.headers.get('list-unsubscribe') as string | undefined,
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : '',
    });
    return this.answer();
  }

  send(): Promise<SendOutcome> {
    throw new Error('notices go through the outbox: only sendRaw is used');
  }

  /** Every mail sent so far, once the courier has finished what the requests queued. */
  async delivered(): Promise<RecordedMail[]> {
    await this.courier.idle();
    return this.sent;
  }

  async close(): Promise<void> {}
}

const DELIVERY = loadConfig({ PAPERBOY_FROM: 'Paperboy <digest@example.org>', PAPERBOY_RETRY_BASE_MS: '1000' }).delivery;

const stores: Store[] = [];
afterEach(async () => {
  while (stores.length > 0) await stores.pop()!.close();
});

function setup(overrides: Partial<WebDeps> = {}) {
  const { store } = tempSqliteStore();
  stores.push(store);
  const clock = fixedClock(START);
  const mailer = new RecordingMailer();
  mailer.courier = createCourier({ store, mailer, clock, config: DELIVERY, logger: createLogger('silent') });
  const logs: { level: 'error'; obj: object; msg: string }[] = [];
  const app = createWebApp({
    store,
    taxonomy,
    renderer,
    courier: mailer.courier,
    clock,
    secret: SECRET,
    publicUrl: PUBLIC_URL,
    sender: senderOf(DELIVERY),
    pendingTtlHours: 48,
    rateLimit: { perIpPerHour: 1000, perAddressPerHour: 1000 },
    logger: { error: (obj, msg) => logs.push({ level: 'error', obj, msg }) },
    ...overrides,
  });
  return { app, store, clock, mailer, logs };
}

type App = ReturnType<typeof setup>['app'];
type Fields = Record<string, string | string[]>;

function formBody(fields: Fields): URLSearchParams {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(key, item);
  return body;
}

/** The node-server bindings a real socket would give the app. */
const fromIp = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress } } });

function post(app: App, path: string, fields: Fields, options: { ip?: string; headers?: Record<string, string> } = {}) {
  return app.request(path, { method: 'POST', body: formBody(fields), headers: options.headers }, fromIp(options.ip ?? '198.51.100.1'));
}

const signUpFields = (email: string, extra: Fields = {}): Fields => ({
  email,
  name: 'Ada Lovelace',
  topics: ['reasoning', 'robotics'],
  frequency: 'weekly',
  weekday: 'wed',
  ...extra,
});

const activeInput = (email: string): SubscriberInput => ({ email, name: null, topics: ['code'], frequency: 'daily', weekday: null });

/** Confirms as a person does: the link's page, then its Confirm button (a POST with the token). */
async function confirmThrough(app: App, link: string): Promise<Response> {
  const token = new URL(link, PUBLIC_URL).searchParams.get('token') ?? '';
  return post(app, '/confirm', { token });
}

/** The site-relative path of a link in a mail. */
function linkIn(text: string, route: string): string {
  const match = new RegExp(`${PUBLIC_URL}(/${route}\\?token=[\\w.-]+)`).exec(text);
  if (!match) throw new Error(`no /${route} link in:\n${text}`);
  return match[1]!;
}

function count(haystack: string, needle: RegExp): number {
  return [...haystack.matchAll(needle)].length;
}

describe('GET /', () => {
  it('shows the sign-up form with every topic as a labelled checkbox, none ticked, daily on Monday by default', async () => {
    const { app } = setup();
    const response = await app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html; charset=UTF-8/i);
    const body = await response.text();
    expect(taxonomy.topics).toHaveLength(16);
    expect(count(body, /<input type="checkbox" id="topic-[a-z-]+" name="topics"/g)).toBe(16);
    for (const topic of taxonomy.topics) {
      expect(body).toContain(`<label for="topic-${topic.id}">${topic.name.replace(/&/g, '&amp;')}</label>`);
    }
    expect(body).not.toMatch(/name="topics"[^>]* checked/);
    expect(body).toMatch(/<fieldset[^>]*>\s*<legend>Topics<\/legend>/);
    expect(body).toMatch(/<fieldset[^>]*>\s*<legend>How often<\/legend>/);
    expect(body).toMatch(/value="daily" checked/);
    expect(body).toMatch(/<option value="mon" selected>Monday<\/option>/);
    expect(body).toContain('<label for="email">Email address</label>');
    expect(body).toContain('<form method="post" action="/subscribe" novalidate>');
    expect(body).not.toMatch(/<script|<link|src=/i);
    // The style sheet is ours and goes out as written, quotes and all.
    expect(body).toMatch(/<style>[^<]*font: 16px\/1\.6 system-ui, [^<]*"Segoe UI"[^<]*<\/style>/);
  });

  it('answers HEAD like GET, without a body', async () => {
    const { app } = setup();
    const response = await app.request('/', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});

describe('POST /subscribe', () => {
  it('stores a new address as pending and mails a confirmation link that expires', async () => {
    const { app, store, mailer } = setup();
    const response = await post(app, '/subscribe', signUpFields('  Ada@Example.ORG '));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<h1>Check your inbox</h1>');

    const subscriber = (await store.subscriberByEmail('ada@example.org'));
    expect(subscriber).toMatchObject({ status: 'pending', name: 'Ada Lovelace', topics: ['reasoning', 'robotics'], frequency: 'weekly', weekday: 3, createdAt: START });

    expect((await mailer.delivered())).toHaveLength(1);
    const [mail] = (await mailer.delivered());
    expect(mail).toMatchObject({
      from: '"Paperboy" <digest@example.org>',
      to: { email: 'ada@example.org', name: 'Ada Lovelace' },
      subject: 'Confirm your Paperboy subscription',
      date: new Date(START),
    });
    expect(mail!.messageId).toMatch(/^<[a-z0-9]+\.\d+\.[0-9a-f]{12}@example\.org>$/);
    expect(mail!.listUnsubscribe).toBeUndefined();
    expect(mail!.text).toContain('Reasoning & Math');
    expect(mail!.html).toContain('Robotics &amp; Embodied AI');
    const confirm = linkIn(mail!.text, 'confirm');
    expect(mail!.html).toContain(`${PUBLIC_URL}${confirm.replace('=', '&#x3D;')}`);
  });

  it('answers byte for byte the same for a new, pending, active, unsubscribed and bounced address', async () => {
    const { app, store, mailer, clock } = setup();
    await post(app, '/subscribe', signUpFields('pending@example.org'));
    (await store.insertSubscriber(activeInput('active@example.org'), 'active', START));
    const unsubscribed = (await store.insertSubscriber(activeInput('gone@example.org'), 'active', START))!;
    (await store.unsubscribe(unsubscribed.id, START));
    (await store.insertSubscriber(activeInput('bounced@example.org'), 'bounced', START));
    (await mailer.delivered()).length = 0;
    clock.advance(HOUR_MS);

    const change = { topics: ['agents'], frequency: 'daily', name: 'Changed' };
    const bodies = new Map<string, string>();
    for (const email of ['new@example.org', 'pending@example.org', 'active@example.org', 'gone@example.org', 'bounced@example.org']) {
      const response = await post(app, '/subscribe', signUpFields(email, change));
      expect(response.status, email).toBe(200);
      bodies.set(email, await response.text());
    }
    expect(new Set(bodies.values()).size).toBe(1);

    const now = clock.now().toISOString();
    expect((await store.subscriberByEmail('new@example.org'))).toMatchObject({ status: 'pending', topics: ['agents'], frequency: 'daily', weekday: null });
    // Pending again or still: the latest choices, and a fresh window to confirm in.
    expect((await store.subscriberByEmail('pending@example.org'))).toMatchObject({ status: 'pending', name: 'Changed', topics: ['agents'], createdAt: now });
    expect((await store.subscriberByEmail('gone@example.org'))).toMatchObject({ status: 'pending', topics: ['agents'], unsubscribedAt: null, createdAt: now });
    // Active and bounced addresses are untouched: a stranger must not change someone's digest.
    expect((await store.subscriberByEmail('active@example.org'))).toMatchObject({ status: 'active', topics: ['code'], name: null });
    expect((await store.subscriberByEmail('bounced@example.org'))).toMatchObject({ status: 'bounced', topics: ['code'] });

    // The active subscriber gets their links again (the welcome); the bounced address nothing.
    expect((await mailer.delivered()).map((mail) => mail.to.email)).toEqual(['new@example.org', 'pending@example.org', 'active@example.org', 'gone@example.org']);
    expect((await mailer.delivered()).filter((mail) => mail.to.email !== 'active@example.org').every((mail) => mail.subject === 'Confirm your Paperboy subscription')).toBe(true);
    const links = (await mailer.delivered()).find((mail) => mail.to.email === 'active@example.org')!;
    expect(links.text).toContain('/preferences?token=');
  });

  it('a new sign-up of the address makes the earlier confirmation link stop working', async () => {
    const { app, store, mailer } = setup();
    await post(app, '/subscribe', signUpFields('twice@example.org'));
    await post(app, '/subscribe', signUpFields('twice@example.org', { frequency: 'daily' }));
    const [first, second] = (await mailer.delivered()).map((mail) => linkIn(mail.text, 'confirm'));
    const old = await confirmThrough(app, first!);
    expect(old.status).toBe(400);
    expect(await old.text()).toContain('<h1>This link does not work</h1>');
    expect((await store.subscriberByEmail('twice@example.org'))?.status).toBe('pending');
    expect((await confirmThrough(app, second!)).status).toBe(200);
    expect(await store.subscriberByEmail('twice@example.org')).toMatchObject({ status: 'active', frequency: 'daily' });
  });

  it('drops sign-ups left unconfirmed past the time limit', async () => {
    const { app, store, clock } = setup();
    await post(app, '/subscribe', signUpFields('stale@example.org'));
    clock.advance(49 * HOUR_MS);
    await post(app, '/subscribe', signUpFields('fresh@example.org'));
    expect((await store.subscriberByEmail('stale@example.org'))).toBeUndefined();
    expect((await store.subscriberByEmail('fresh@example.org'))?.status).toBe('pending');
  });

  it.each([
    ['an invalid address', { email: 'not-an-email' }, 'email', 'The address is not a valid email address.'],
    ['no address', { email: '   ' }, 'email', 'Enter your email address.'],
    ['an unknown topic', { topics: ['reasoning', 'astrology'] }, 'topics', 'Pick topics from the list.'],
    ['no topic', { topics: [] }, 'topics', 'Pick at least one topic.'],
    ['CR/LF in the name', { name: 'Ada\r\nBcc: victim@example.org' }, 'name', 'The name contains control characters.'],
    ['a name too long', { name: 'x'.repeat(101) }, 'name', 'The name is longer than 100 characters.'],
    ['an unknown frequency', { frequency: 'hourly' }, 'frequency', 'Choose daily or weekly.'],
    ['an unknown weekday', { weekday: 'someday' }, 'weekday', 'Choose a day of the week.'],
  ])('refuses %s with 400 and the message next to the field, storing and sending nothing', async (_, change, field, message) => {
    const { app, store, mailer } = setup();
    const response = await post(app, '/subscribe', signUpFields('ada@example.org', change));
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain(`<span class="error-text" id="${field}-error">${message}</span>`);
    expect(body).toContain(`<a href="#${field === 'topics' ? 'topic-reasoning' : field === 'frequency' ? 'frequency-daily' : field}">${message}</a>`);
    expect(body).toContain('<title>Please check the form · Paperboy</title>');
    expect((await store.subscriberCounts())).toEqual({ pending: 0, active: 0, unsubscribed: 0, bounced: 0 });
    expect((await mailer.delivered())).toEqual([]);
  });

  it('keeps what was typed, escaped, when the form comes back', async () => {
    const { app } = setup();
    const hostile = '"><script>alert(1)</script>';
    const response = await post(app, '/subscribe', signUpFields(`x${hostile}@example.org`, { name: `Ada ${hostile}`, topics: ['robotics', `evil${hostile}`] }));
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).not.toContain('<script>');
    expect(body).toContain('value="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@example.org"');
    expect(body).toContain('value="Ada &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(body).toMatch(/value="robotics" aria-describedby="topic-robotics-hint" checked/);
    expect(body).toMatch(/value="wed" selected/);
    expect(body).toMatch(/value="weekly" checked/);
  });

  it('takes multipart form data as well', async () => {
    const { app, store } = setup();
    const body = new FormData();
    for (const [key, value] of Object.entries(signUpFields('multi@example.org'))) for (const item of [value].flat()) body.append(key, item);
    const response = await app.request('/subscribe', { method: 'POST', body });
    expect(response.status).toBe(200);
    expect((await store.subscriberByEmail('multi@example.org'))?.topics).toEqual(['reasoning', 'robotics']);
  });

  it('stores every topic ticked as "all topics", including later ones', async () => {
    const { app, store } = setup();
    await post(app, '/subscribe', signUpFields('all@example.org', { topics: taxonomy.topics.map((topic) => topic.id) }));
    expect((await store.subscriberByEmail('all@example.org'))?.topics).toBeNull();
  });

  it('still shows "check your inbox" when the mail cannot be sent; the confirmation is retried, then kept as failed', async () => {
    const { app, mailer, store } = setup();
    const reference = await (await post(app, '/subscribe', signUpFields('ok@example.org'))).text();
    await mailer.delivered();

    mailer.answer = async () => ({ status: 'temporary', code: 451, response: '451 4.3.0 Try again later' });
    const deferred = await post(app, '/subscribe', signUpFields('deferred@example.org'));
    expect(deferred.status).toBe(200);
    expect(await deferred.text()).toBe(reference);
    // Every try the courier made (the clock moves through the backoff), up to PAPERBOY_MAX_ATTEMPTS.
    expect((await mailer.delivered()).filter((mail) => mail.to.email === 'deferred@example.org')).toHaveLength(DELIVERY.maxAttempts);

    mailer.answer = async () => ({ status: 'permanent', code: 550, response: '550 5.1.1 mailbox unavailable' });
    const rejected = await post(app, '/subscribe', signUpFields('rejected@example.org'));
    expect(await rejected.text()).toBe(reference);
    await mailer.delivered();

    expect((await store.outboxProblems(10)).map((problem) => [problem.recipient, problem.status, problem.attempts, problem.lastError])).toEqual([
      ['rejected@example.org', 'failed', 1, '550 5.1.1 mailbox unavailable'],
      ['deferred@example.org', 'failed', DELIVERY.maxAttempts, '451 4.3.0 Try again later'],
    ]);
    expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 1, failed: 2 });
  });

  it('sends the confirmation on the retry when the first attempt fails', async () => {
    const { app, mailer, store, clock } = setup();
    let attempts = 0;
    mailer.answer = async () => (++attempts === 1 ? { status: 'temporary', code: 421, response: '421 4.4.2 Connection dropped' } : { status: 'sent', response: '250 OK' });
    await post(app, '/subscribe', signUpFields('retry@example.org'));
    const mails = await mailer.delivered();
    expect(mails.map((mail) => mail.subject)).toEqual(['Confirm your Paperboy subscription', 'Confirm your Paperboy subscription']);
    expect(mails[1]!.messageId).toBe(mails[0]!.messageId);
    expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 1, failed: 0 });
    // The retry came after the backoff (PAPERBOY_RETRY_BASE_MS 1000: between 0.5 s and 1 s).
    expect(clock.now().getTime() - Date.parse(START)).toBeGreaterThanOrEqual(500);
    expect(clock.now().getTime() - Date.parse(START)).toBeLessThanOrEqual(1000);
  });

  it('sends a reload of /subscribe back to the form', async () => {
    const { app } = setup();
    const response = await app.request('/subscribe');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
  });
});

describe('rate limits on sign-up', () => {
  it('refuses the same IP past its hourly limit with 429 and Retry-After, then lets it in again', async () => {
    const { app, clock, store } = setup({ rateLimit: { perIpPerHour: 3, perAddressPerHour: 100 } });
    for (let i = 0; i < 3; i += 1) expect((await post(app, '/subscribe', signUpFields(`a${i}@example.org`), { ip: '203.0.113.9' })).status).toBe(200);
    clock.advance(10 * 60 * 1000);

    const refused = await post(app, '/subscribe', signUpFields('a3@example.org'), { ip: '203.0.113.9' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(50 * 60));
    expect(await refused.text()).toContain('Please try again in about 50 minutes.');
    expect((await store.subscriberByEmail('a3@example.org'))).toBeUndefined();
    // Invalid posts count too: the limit is on attempts, not on successes.
    expect((await post(app, '/subscribe', { email: 'junk' }, { ip: '203.0.113.9' })).status).toBe(429);

    expect((await post(app, '/subscribe', signUpFields('b@example.org'), { ip: '203.0.113.10' })).status).toBe(200);
    clock.advance(50 * 60 * 1000);
    expect((await post(app, '/subscribe', signUpFields('a3@example.org'), { ip: '203.0.113.9' })).status).toBe(200);
  });

  it('refuses the same address past its hourly limit whatever IP asks, however it is spelled', async () => {
    const { app, mailer } = setup({ rateLimit: { perIpPerHour: 100, perAddressPerHour: 2 } });
    expect((await post(app, '/subscribe', signUpFields('target@example.org'), { ip: '203.0.113.1' })).status).toBe(200);
    expect((await post(app, '/subscribe', signUpFields('TARGET@example.org '), { ip: '203.0.113.2' })).status).toBe(200);
    const refused = await post(app, '/subscribe', signUpFields('Target@Example.org'), { ip: '203.0.113.3' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(3600);
    expect((await mailer.delivered())).toHaveLength(2);
    expect((await post(app, '/subscribe', signUpFields('other@example.org'), { ip: '203.0.113.3' })).status).toBe(200);
  });

  it('ignores X-Forwarded-For unless told to trust the proxy, and then takes the hop the proxy added', async () => {
    const limits = { perIpPerHour: 1, perAddressPerHour: 100 };
    const direct = setup({ rateLimit: limits }).app;
    expect((await post(direct, '/subscribe', signUpFields('a@example.org'), { headers: { 'x-forwarded-for': '192.0.2.1' } })).status).toBe(200);
    expect((await post(direct, '/subscribe', signUpFields('b@example.org'), { headers: { 'x-forwarded-for': '192.0.2.2' } })).status).toBe(429);

    const proxied = setup({ rateLimit: limits, trustProxy: true }).app;
    const via = (forwarded: string) => ({ ip: '10.0.0.1', headers: { 'x-forwarded-for': forwarded } });
    expect((await post(proxied, '/subscribe', signUpFields('a@example.org'), via('192.0.2.1'))).status).toBe(200);
    expect((await post(proxied, '/subscribe', signUpFields('b@example.org'), via('192.0.2.2'))).status).toBe(200);
    // A client cannot escape its bucket by writing its own X-Forwarded-For in front.
    expect((await post(proxied, '/subscribe', signUpFields('c@example.org'), via('1.2.3.4, 192.0.2.2'))).status).toBe(429);
  });
});

describe('/confirm', () => {
  async function signedUp(context: ReturnType<typeof setup>, email = 'ada@example.org') {
    await post(context.app, '/subscribe', signUpFields(email));
    const mail = (await context.mailer.delivered()).at(-1)!;
    return linkIn(mail.text, 'confirm');
  }

  it('GET and HEAD only ask: a link scanner fetching the link confirms nothing', async () => {
    const context = setup();
    const confirm = await signedUp(context);
    (await context.mailer.delivered()).length = 0;
    const asked = await context.app.request(confirm);
    expect(asked.status).toBe(200);
    const page = await asked.text();
    expect(page).toContain('<h1>Confirm your subscription</h1>');
    expect(page).toContain('<form method="post" action="/confirm">');
    expect(page).toContain(`value="${new URL(confirm, PUBLIC_URL).searchParams.get('token')}"`);
    expect((await context.app.request(confirm, { method: 'HEAD' })).status).toBe(200);
    expect((await context.store.subscriberByEmail('ada@example.org'))?.status).toBe('pending');
    expect(await context.mailer.delivered()).toEqual([]);
  });

  it('the Confirm button activates a pending subscriber, mails the welcome and says what comes when', async () => {
    const context = setup();
    const { app, store, mailer } = context;
    const confirm = await signedUp(context);
    (await mailer.delivered()).length = 0;

    const response = await confirmThrough(app, confirm);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<h1>You are subscribed</h1>');
    expect(body).toContain('<strong>weekly digest</strong>, every Wednesday');
    expect(body).toContain('<li>Reasoning &amp; Math</li>');
    expect(body).toContain('<li>Robotics &amp; Embodied AI</li>');
    expect(body).toContain(`href="${PUBLIC_URL}/preferences?token=`);

    const subscriber = (await store.subscriberByEmail('ada@example.org'))!;
    expect(subscriber).toMatchObject({ status: 'active', confirmedAt: START });
    expect((await mailer.delivered())).toHaveLength(1);
    expect((await mailer.delivered())[0]).toMatchObject({ subject: 'You are subscribed to Paperboy', to: { email: 'ada@example.org' } });
    expect(linkIn((await mailer.delivered())[0]!.text, 'preferences')).toBe(`/preferences?token=${signToken(SECRET, 'preferences', subscriber)}`);
    expect(linkIn((await mailer.delivered())[0]!.text, 'unsubscribe')).toBe(`/unsubscribe?token=${signToken(SECRET, 'unsubscribe', subscriber)}`);

    const again = await confirmThrough(app, confirm);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(body);
    // Once active, the link's page is the welcome too.
    expect(await (await app.request(confirm)).text()).toBe(body);
    expect((await mailer.delivered())).toHaveLength(1);
  });

  it('describes a daily digest on every topic', async () => {
    const context = setup();
    await post(context.app, '/subscribe', signUpFields('all@example.org', { topics: taxonomy.topics.map((topic) => topic.id), frequency: 'daily' }));
    const body = await (await confirmThrough(context.app, linkIn((await context.mailer.delivered())[0]!.text, 'confirm'))).text();
    expect(body).toContain('<strong>daily digest</strong>, every day there are new papers');
    expect(body).toContain('<strong>every topic</strong>, including any added later');
  });

  it('says an expired link has expired and invites a new sign-up', async () => {
    const context = setup();
    const confirm = await signedUp(context);
    context.clock.advance(48 * HOUR_MS);
    expect((await context.app.request(confirm)).status).toBe(400);
    const response = await confirmThrough(context.app, confirm);
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain('<h1>This link has expired</h1>');
    expect(body).toContain('Confirmation links work for 48 hours');
    expect(body).toContain('<a href="/">Sign up again</a>');
    expect((await context.store.subscriberByEmail('ada@example.org'))?.status).toBe('pending');
  });

  it('refuses a token made for another purpose, a tampered one and none at all with 400', async () => {
    const context = setup();
    const confirm = await signedUp(context);
    const ada = (await context.store.subscriberByEmail('ada@example.org'))!;
    const token = new URL(confirm, PUBLIC_URL).searchParams.get('token')!;
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const forged = `${Buffer.from(`confirm.${ada.id + 1}.0.${ada.tokenKey}`).toString('base64url')}.${token.split('.')[1]}`;
    for (const path of [
      `/confirm?token=${signToken(SECRET, 'unsubscribe', ada)}`,
      `/confirm?token=${signToken(SECRET, 'preferences', ada)}`,
      `/confirm?token=${tampered}`,
      `/confirm?token=${forged}`,
      `/confirm?token=${signToken('another-secret-entirely-0123456789abc', 'confirm', ada)}`,
      // The right subscriber and purpose, but made for a sign-up that is not theirs.
      `/confirm?token=${signToken(SECRET, 'confirm', { id: ada.id, tokenKey: '' })}`,
      '/confirm?token=',
      '/confirm',
    ]) {
      for (const response of [await context.app.request(path), await confirmThrough(context.app, path)]) {
        expect(response.status, path).toBe(400);
        expect(await response.text(), path).toContain('<h1>This link does not work</h1>');
      }
    }
    expect((await context.store.subscriberByEmail('ada@example.org'))?.status).toBe('pending');
    expect((await context.mailer.delivered())).toHaveLength(1);
  });

  it('answers 404 for a subscriber that does not exist', async () => {
    const { app } = setup();
    const response = await app.request(`/confirm?token=${signToken(SECRET, 'confirm', { id: 4242, tokenKey: 'k' }, new Date(Date.parse(START) + HOUR_MS))}`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('We could not find this subscription');
  });

  it('does not bring back someone who unsubscribed after confirming', async () => {
    const context = setup();
    const confirm = await signedUp(context);
    await confirmThrough(context.app, confirm);
    const id = (await context.store.subscriberByEmail('ada@example.org'))!.id;
    (await context.store.unsubscribe(id, START));
    expect((await context.app.request(confirm)).status).toBe(400);
    const response = await confirmThrough(context.app, confirm);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('This link is no longer valid');
    expect((await context.store.subscriberById(id))?.status).toBe('unsubscribed');
  });
});

describe('/preferences', () => {
  async function activeSubscriber(context: ReturnType<typeof setup>) {
    const subscriber = (await context.store.insertSubscriber(
      { email: 'grace@example.org', name: 'Grace <Hopper>', topics: ['code', 'agents'], frequency: 'weekly', weekday: 5 },
      'active',
      START,
    ))!;
    return { subscriber, token: signToken(SECRET, 'preferences', subscriber) };
  }

  it('shows the form filled in with their choices, and a way to unsubscribe', async () => {
    const context = setup();
    const { subscriber, token } = await activeSubscriber(context);
    const response = await context.app.request(`/preferences?token=${token}`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<strong>grace@example.org</strong>');
    expect(body).toContain('value="Grace &lt;Hopper&gt;"');
    expect(count(body, /name="topics" value="[a-z-]+" aria-describedby="[^"]+" checked/g)).toBe(2);
    expect(body).toMatch(/value="code" aria-describedby="topic-code-hint" checked/);
    expect(body).toMatch(/value="weekly" checked/);
    expect(body).toMatch(/<option value="fri" selected>Friday<\/option>/);
    expect(body).toContain(`<input type="hidden" name="token" value="${token}">`);
    expect(body).toContain(`<input type="hidden" name="token" value="${signToken(SECRET, 'unsubscribe', subscriber)}">`);
    expect(body).toContain('<form method="post" action="/unsubscribe">');
  });

  it('ticks every box for a subscriber to all topics', async () => {
    const context = setup();
    const subscriber = (await context.store.insertSubscriber({ ...activeInput('all@example.org'), topics: null }, 'active', START))!;
    const body = await (await context.app.request(`/preferences?token=${signToken(SECRET, 'preferences', subscriber)}`)).text();
    expect(count(body, /name="topics" value="[a-z-]+" aria-describedby="[^"]+" checked/g)).toBe(16);
  });

  it('saves valid changes and says so', async () => {
    const context = setup();
    const { subscriber, token } = await activeSubscriber(context);
    const response = await post(context.app, '/preferences', { token, name: '', topics: ['theory', 'nlp'], frequency: 'daily', weekday: 'fri' });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<strong>Saved.</strong>');
    expect(body).toMatch(/value="daily" checked/);
    expect((await context.store.subscriberById(subscriber.id))).toMatchObject({ status: 'active', name: null, topics: ['theory', 'nlp'], frequency: 'daily', weekday: null });
  });

  it('refuses invalid changes with 400, keeping what was typed and storing nothing', async () => {
    const context = setup();
    const { subscriber, token } = await activeSubscriber(context);
    const response = await post(context.app, '/preferences', { token, name: 'Grace\nHopper', topics: [], frequency: 'daily', weekday: 'fri' });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain('Pick at least one topic.');
    expect(body).toContain('The name contains control characters.');
    expect(body).not.toContain('Saved.');
    expect(body).toMatch(/value="daily" checked/);
    expect((await context.store.subscriberById(subscriber.id))).toMatchObject({ name: 'Grace <Hopper>', topics: ['code', 'agents'], frequency: 'weekly' });
  });

  it('refuses a bad token with 400 on GET and POST, and another purpose\'s token too', async () => {
    const context = setup();
    const { subscriber, token } = await activeSubscriber(context);
    const unsubscribeToken = signToken(SECRET, 'unsubscribe', subscriber);
    expect((await context.app.request(`/preferences?token=${token}x`)).status).toBe(400);
    expect((await context.app.request(`/preferences?token=${unsubscribeToken}`)).status).toBe(400);
    expect((await context.app.request('/preferences')).status).toBe(400);
    const posted = await post(context.app, '/preferences', { token: unsubscribeToken, topics: ['nlp'], frequency: 'daily', weekday: 'mon' });
    expect(posted.status).toBe(400);
    expect(await posted.text()).toContain('This link does not work');
    expect((await post(context.app, '/preferences', { topics: ['nlp'], frequency: 'daily', weekday: 'mon' })).status).toBe(400);
    expect((await context.store.subscriberById(subscriber.id))?.topics).toEqual(['code', 'agents']);
  });

  it('tells an unsubscribed reader that saving does not resubscribe them', async () => {
    const context = setup();
    const { subscriber, token } = await activeSubscriber(context);
    (await context.store.unsubscribe(subscriber.id, START));
    const body = await (await context.app.request(`/preferences?token=${token}`)).text();
    expect(body).toContain('You are unsubscribed, so these choices are kept but no digest is sent.');
  });
});

describe('links of a removed subscriber', () => {
  it('never reach the next person: ids are not reused, and a link made with another sign-up\'s key is refused with 400, changing nothing', async () => {
    const { app, store } = setup();
    const removed = (await store.insertSubscriber(activeInput('first@example.org'), 'active', START))!;
    const oldLinks = { preferences: signToken(SECRET, 'preferences', removed), unsubscribe: signToken(SECRET, 'unsubscribe', removed) };
    await store.deleteSubscriber(removed.id);
    const next = (await store.insertSubscriber(activeInput('next@example.org'), 'active', START))!;
    expect(next.id).not.toBe(removed.id);
    for (const path of [`/preferences?token=${oldLinks.preferences}`, `/unsubscribe?token=${oldLinks.unsubscribe}`]) {
      const body = await (await app.request(path)).text();
      expect(body, path).not.toContain('next@example.org');
    }
    expect((await post(app, `/unsubscribe?token=${oldLinks.unsubscribe}`, { 'List-Unsubscribe': 'One-Click' })).status).toBe(200);
    // Had the id been reused (a database from before), the old key still gives the link away.
    for (const purpose of ['preferences', 'unsubscribe'] as const) {
      const reused = signToken(SECRET, purpose, { id: next.id, tokenKey: removed.tokenKey });
      const response = await app.request(`/${purpose}?token=${reused}`);
      expect(response.status, purpose).toBe(400);
      expect(await response.text(), purpose).not.toContain('next@example.org');
      expect((await post(app, `/unsubscribe?token=${reused}`, { 'List-Unsubscribe': 'One-Click' })).status).toBe(400);
    }
    expect(await store.subscriberById(next.id)).toMatchObject({ status: 'active', topics: ['code'] });
  });
});

describe('/unsubscribe', () => {
  async function subscribed(context: ReturnType<typeof setup>) {
    const subscriber = (await context.store.insertSubscriber(activeInput('lin@example.org'), 'active', START))!;
    return { id: subscriber.id, token: signToken(SECRET, 'unsubscribe', subscriber) };
  }

  it('GET shows a button and changes nothing', async () => {
    const context = setup();
    const { id, token } = await subscribed(context);
    const response = await context.app.request(`/unsubscribe?token=${token}`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<strong>lin@example.org</strong>');
    expect(body).toMatch(/<form method="post" action="\/unsubscribe">\s*<input type="hidden" name="token" value="[^"]+">\s*<button type="submit">Unsubscribe<\/button>/);
    expect((await context.store.subscriberById(id))?.status).toBe('active');
  });

  it('POST with the token in the body unsubscribes, and again is fine', async () => {
    const context = setup();
    const { id, token } = await subscribed(context);
    const response = await post(context.app, '/unsubscribe', { token });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<h1>You are unsubscribed</h1>');
    expect(body).toContain('<a href="/">Sign up again</a>');
    expect((await context.store.subscriberById(id))).toMatchObject({ status: 'unsubscribed', unsubscribedAt: START });

    context.clock.advance(HOUR_MS);
    const again = await post(context.app, '/unsubscribe', { token });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(body);
    expect((await context.store.subscriberById(id))?.unsubscribedAt).toBe(START);
    expect((await context.app.request(`/unsubscribe?token=${token}`)).status).toBe(200);
  });

  it('POST with the token in the query string unsubscribes', async () => {
    const context = setup();
    const { id, token } = await subscribed(context);
    expect((await post(context.app, `/unsubscribe?token=${token}`, {})).status).toBe(200);
    expect((await context.store.subscriberById(id))?.status).toBe('unsubscribed');
  });

  it('takes RFC 8058 one-click POSTs, urlencoded and multipart, idempotently', async () => {
    const context = setup();
    const { id, token } = await subscribed(context);
    const oneClick = () =>
      context.app.request(`/unsubscribe?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    const first = await oneClick();
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('Unsubscribed.');
    expect((await context.store.subscriberById(id))?.status).toBe('unsubscribed');
    expect((await oneClick()).status).toBe(200);

    const other = (await context.store.insertSubscriber(activeInput('multi@example.org'), 'active', START))!;
    const body = new FormData();
    body.append('List-Unsubscribe', 'One-Click');
    for (let i = 0; i < 2; i += 1) {
      const response = await context.app.request(`/unsubscribe?token=${signToken(SECRET, 'unsubscribe', other)}`, { method: 'POST', body });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('Unsubscribed.');
    }
    expect((await context.store.subscriberById(other.id))?.status).toBe('unsubscribed');
  });

  it('refuses a bad token with 400, one-click or not', async () => {
    const context = setup();
    const { id } = await subscribed(context);
    const wrong = signToken(SECRET, 'preferences', (await context.store.subscriberById(id))!);
    const oneClick = await context.app.request(`/unsubscribe?token=${wrong}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(400);
    expect((await post(context.app, '/unsubscribe', { token: wrong })).status).toBe(400);
    expect((await context.app.request(`/unsubscribe?token=${wrong}`)).status).toBe(400);
    expect((await context.app.request('/unsubscribe')).status).toBe(400);
    expect((await context.store.subscriberById(id))?.status).toBe('active');
  });

  it('counts a deleted subscriber as unsubscribed', async () => {
    const context = setup();
    const { id, token } = await subscribed(context);
    (await context.store.deleteSubscriber(id));
    const response = await post(context.app, '/unsubscribe', { token });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('This address gets no more digests.');
  });
});

describe('every response', () => {
  it('carries the security headers, on pages, errors and token pages alike', async () => {
    const { app, store } = setup();
    const subscriber = (await store.insertSubscriber(activeInput('h@example.org'), 'active', START))!;
    vi.spyOn(store, 'ping').mockImplementationOnce(async () => {
      throw new Error('disk on fire');
    });
    const responses = [
      await app.request('/'),
      await app.request('/nope'),
      await app.request(`/preferences?token=${signToken(SECRET, 'preferences', subscriber)}`),
      await app.request('/confirm?token=bad'),
      await app.request('/healthz'),
      await post(app, '/subscribe', {}),
      await app.request('/', { method: 'DELETE' }),
    ];
    for (const response of responses) {
      const where = `${response.status} ${response.url}`;
      expect(response.headers.get('content-security-policy'), where).toBe(CSP);
      expect(response.headers.get('x-content-type-options'), where).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), where).toBe('no-referrer');
      expect(response.headers.get('x-frame-options'), where).toBe('DENY');
      expect(response.headers.get('cache-control'), where).toBe('no-store');
    }
  });

  it('answers an unknown route with a 404 page', async () => {
    const { app } = setup();
    const response = await app.request('/wp-login.php');
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('<h1>Page not found</h1>');
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const { app } = setup();
    const put = await app.request('/subscribe', { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    const putConfirm = await app.request('/confirm', { method: 'PUT' });
    expect(putConfirm.status).toBe(405);
    expect(putConfirm.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('turns an exception into a plain 500 page and logs it, with no stack trace or message shown', async () => {
    const { app, store, logs } = setup();
    vi.spyOn(store, 'subscriberById').mockImplementation(() => {
      throw new Error('SQLITE_CORRUPT: /var/lib/paperboy/secret-path.db');
    });
    const token = signToken(SECRET, 'preferences', { id: 1, tokenKey: '' });
    const response = await app.request(`/preferences?token=${token}`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain('<h1>Something went wrong</h1>');
    expect(body).not.toMatch(/SQLITE|secret-path|at .*\.ts|Error/);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'error', msg: 'web request failed', obj: { method: 'GET', path: '/preferences' } });
    expect(JSON.stringify(logs[0]!.obj)).not.toContain(token);
  });

  it('refuses a body far larger than any form with 413', async () => {
    const { app, store } = setup();
    const response = await post(app, '/subscribe', signUpFields('big@example.org', { name: 'x'.repeat(100_000) }));
    expect(response.status).toBe(413);
    expect((await store.subscriberByEmail('big@example.org'))).toBeUndefined();
  });

  it('refuses a broken multipart body with 400', async () => {
    const { app } = setup();
    const response = await app.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=nope' },
      body: 'this is not multipart',
    });
    expect(response.status).toBe(400);
  });
});

describe('GET /healthz', () => {
  it('says ok as JSON once the store answers', async () => {
    const { app } = setup();
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('says error with 503 when the store does not answer', async () => {
    const { app, store, logs } = setup();
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const response = await app.request('/healthz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'error' });
    expect(logs[0]?.msg).toBe('health check: the store does not answer');
  });
});

describe('admin routes', () => {
  it('are mounted at /admin when given', async () => {
    const admin = new Hono();
    admin.get('/ping', (c) => c.json({ pong: true }));
    const { app } = setup({ admin });
    const response = await app.request('/admin/ping');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ pong: true });
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('pass their own refusals through, headers and all', async () => {
    const admin = new Hono();
    admin.get('/secret', () => {
      throw new HTTPException(401, { res: new Response('unauthorized', { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }) });
    });
    const { app, logs } = setup({ admin });
    const response = await app.request('/admin/secret');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.text()).toBe('unauthorized');
    expect(logs).toEqual([]);
  });
});

describe('email me my preferences link', () => {
  it('answers the same for every address and mails the links only to an active subscriber', async () => {
    const { app, store, mailer } = setup();
    await store.insertSubscriber(activeInput('active@example.org'), 'active', START);
    await store.insertSubscriber(activeInput('bounced@example.org'), 'bounced', START);
    const bodies = new Set<string>();
    for (const email of ['active@example.org', 'bounced@example.org', 'nobody@example.org', 'ACTIVE@example.org']) {
      const response = await post(app, '/preferences/link', { email });
      expect(response.status, email).toBe(200);
      bodies.add(await response.text());
    }
    expect(bodies.size).toBe(1);
    expect([...bodies][0]).toContain('If this address gets our digest');
    const sent = await mailer.delivered();
    expect(sent.map((mail) => mail.to.email)).toEqual(['active@example.org', 'active@example.org']);
    expect(sent[0]!.text).toContain(`${PUBLIC_URL}/preferences?token=`);
    const bad = await post(app, '/preferences/link', { email: 'not an address' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Enter the address your digest comes to');
  });

  it('is rate limited per address like sign-ups', async () => {
    const { app } = setup({ rateLimit: { perIpPerHour: 1000, perAddressPerHour: 3 } });
    for (let i = 0; i < 3; i++) expect((await post(app, '/preferences/link', { email: 'same@example.org' })).status).toBe(200);
    const limited = await post(app, '/preferences/link', { email: 'same@example.org' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
