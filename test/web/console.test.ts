import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import type { RunOptions, RunReport } from '../../src/pipeline/run.ts';
import type { Store } from '../../src/store/port.ts';
import { createAdminRoutes } from '../../src/web/admin.ts';
import { hashSessionId, SESSION_COOKIE } from '../../src/web/console.ts';
import { tempSqliteStore } from '../helpers/store.ts';

const TOKEN = 'console-test-token-0123456789abcdef';
const START = '2026-11-23T07:00:00.000Z';
const HTML = { accept: 'text/html' };

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function setup(options: { secureCookie?: boolean } = {}) {
  const { store } = tempSqliteStore();
  stores.push(store);
  const clock = fixedClock(START);
  const sends: RunOptions[] = [];
  const send = async (run: RunOptions): Promise<RunReport> => {
    sends.push(run);
    return { run_id: null, trigger: run.trigger, dry_run: Boolean(run.dryRun), status: 'ok', due: 0, queued: 0 } as unknown as RunReport;
  };
  const app = new Hono();
  app.route('/admin', createAdminRoutes({ token: TOKEN, store, clock, send }, { sessionHours: 12, secureCookie: options.secureCookie ?? false, schedule: '0 7 * * *', timeZone: 'Europe/Berlin' }));
  return { app, store, clock, sends };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded', ...HTML };

/** Signs in and returns the cookie header and the session's CSRF token. */
async function signIn(app: Hono) {
  const response = await app.request('/admin/sign-in', { method: 'POST', headers: FORM, body: form({ token: TOKEN }) });
  expect(response.status).toBe(303);
  expect(response.headers.get('location')).toBe('/admin');
  const setCookie = response.headers.get('set-cookie')!;
  const cookie = setCookie.split(';')[0]!;
  const page = await (await app.request('/admin', { headers: { ...HTML, cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf, setCookie };
}

describe('admin console sessions', () => {
  it('sends a visitor without a session to the sign-in page', async () => {
    const { app } = setup();
    for (const path of ['/admin', '/admin/runs', '/admin/subscribers', '/admin/runs/1', '/admin/send']) {
      const response = await app.request(path, { headers: HTML });
      expect([path, response.status, response.headers.get('location')]).toEqual([path, 303, '/admin/sign-in']);
    }
    const post = await app.request('/admin/send', { method: 'POST', headers: FORM, body: form({ csrf: 'x' }) });
    expect([post.status, post.headers.get('location')]).toEqual([303, '/admin/sign-in']);
    const signInPage = await app.request('/admin/sign-in', { headers: HTML });
    expect(signInPage.status).toBe(200);
    expect(await signInPage.text()).toContain('name="token"');
  });

  it('refuses a wrong token and sets an HttpOnly, SameSite=Strict cookie for the right one; the store keeps its hash', async () => {
    const { app, store } = setup({ secureCookie: true });
    const wrong = await app.request('/admin/sign-in', { method: 'POST', headers: FORM, body: form({ token: 'nope' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const { cookie, setCookie } = await signIn(app);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Path=\/admin/);
    const id = cookie.slice(SESSION_COOKIE.length + 1);
    expect(await store.adminSession(id, START)).toBeUndefined();
    expect((await store.adminSession(hashSessionId(id), START))?.expiresAt).toBe('2026-11-23T19:00:00.000Z');
  });

  it('answers 403 to a POST with a wrong or missing CSRF token, and does nothing', async () => {
    const { app, sends } = setup();
    const { cookie, csrf } = await signIn(app);
    for (const body of [form({ csrf: 'wrong' }), form({}), form({ csrf: csrf.slice(1) })]) {
      const response = await app.request('/admin/send', { method: 'POST', headers: { ...FORM, cookie }, body });
      expect(response.status).toBe(403);
    }
    const signOut = await app.request('/admin/sign-out', { method: 'POST', headers: { ...FORM, cookie }, body: form({ csrf: 'wrong' }) });
    expect(signOut.status).toBe(403);
    expect(sends).toEqual([]);
    const ok = await app.request('/admin/send', { method: 'POST', headers: { ...FORM, cookie }, body: form({ csrf, dry_run: 'true' }) });
    expect(ok.status).toBe(200);
    expect(sends).toEqual([{ trigger: 'manual', dryRun: true }]);
  });

  it('ends a session once it expires', async () => {
    const { app, clock } = setup();
    const { cookie } = await signIn(app);
    clock.advance(12 * 3_600_000 - 1);
    expect((await app.request('/admin', { headers: { ...HTML, cookie } })).status).toBe(200);
    clock.advance(1);
    const response = await app.request('/admin', { headers: { ...HTML, cookie } });
    expect([response.status, response.headers.get('location')]).toEqual([303, '/admin/sign-in']);
  });

  it('signing out invalidates the session, also for a copy of the cookie', async () => {
    const { app } = setup();
    const { cookie, csrf } = await signIn(app);
    const response = await app.request('/admin/sign-out', { method: 'POST', headers: { ...FORM, cookie }, body: form({ csrf }) });
    expect([response.status, response.headers.get('location')]).toEqual([303, '/admin/sign-in']);
    expect(response.headers.get('set-cookie')).toMatch(new RegExp(`^${SESSION_COOKIE}=;`));
    const again = await app.request('/admin', { headers: { ...HTML, cookie } });
    expect([again.status, again.headers.get('location')]).toEqual([303, '/admin/sign-in']);
  });

  it('shares sessions between replicas through the store', async () => {
    const { app, store, clock, sends } = setup();
    const { cookie } = await signIn(app);
    const replica = new Hono();
    replica.route('/admin', createAdminRoutes({ token: TOKEN, store, clock, send: async () => { sends.push({ trigger: 'manual' }); return {} as RunReport; } }, { sessionHours: 12, secureCookie: false, timeZone: 'UTC' }));
    expect((await replica.request('/admin', { headers: { ...HTML, cookie } })).status).toBe(200);
  });

  it('keeps the JSON API at /admin/api/... and its old aliases behind the bearer token', async () => {
    const { app, store } = setup();
    const runId = await store.insertRun('manual', START);
    expect((await app.request('/admin/runs')).status).toBe(401);
    expect((await app.request('/admin/api/runs')).status).toBe(401);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    for (const path of ['/admin/runs', '/admin/api/runs']) {
      const response = await app.request(path, { headers: bearer });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { runs: { id: number }[] }).runs.map((run) => run.id)).toEqual([runId]);
    }
    const run = await app.request(`/admin/api/runs/${runId}`, { headers: bearer });
    expect(await run.json()).toMatchObject({ run: { id: runId }, recipients: [] });
    const send = await app.request('/admin/api/send', { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ dry_run: true }) });
    expect(send.status).toBe(200);
  });
});

describe('admin subscriber search', () => {
  /** 120 subscribers: every third at lab.example.org, the rest elsewhere; every fifth of all bounced. */
  async function populate(store: Store) {
    for (let i = 0; i < 120; i++) {
      const email = i % 3 === 0 ? `reader${i}@lab.example.org` : `reader${i}@example.net`;
      await store.insertSubscriber({ email, name: null, topics: null, frequency: 'daily', weekday: null }, i % 5 === 0 ? 'bounced' : 'active', START);
    }
  }
  const addresses = (page: string) => [...page.matchAll(/<td><a href="\/admin\/subscribers\/\d+">([^<]+)<\/a><\/td>/g)].map((match) => match[1]);

  it('the console searches by address and status in the store, 50 to a page, with a link to the next', async () => {
    const { app, store } = setup();
    await populate(store);
    const { cookie } = await signIn(app);
    const get = async (path: string) => (await app.request(path, { headers: { ...HTML, cookie } })).text();

    const first = await get('/admin/subscribers?q=LAB.Example&status=');
    const lab = Array.from({ length: 40 }, (_, k) => `reader${k * 3}@lab.example.org`);
    expect(addresses(first)).toEqual(lab);
    expect(first).not.toContain('>Next 50</a>');

    const everyone = await get('/admin/subscribers');
    expect(addresses(everyone)).toHaveLength(50);
    const next = /<a href="([^"]+)">Next 50<\/a>/.exec(everyone)![1]!.replaceAll('&amp;', '&');
    expect(next).toBe(`/admin/subscribers?q=&status=&after=${(await store.subscriberByEmail('reader49@example.net'))!.id}`);
    const second = await get(next);
    expect(addresses(second)).toEqual(Array.from({ length: 50 }, (_, k) => (k + 50) % 3 === 0 ? `reader${k + 50}@lab.example.org` : `reader${k + 50}@example.net`));
    const third = await get(/<a href="([^"]+)">Next 50<\/a>/.exec(second)![1]!.replaceAll('&amp;', '&'));
    expect(addresses(third)).toHaveLength(20);
    expect(third).not.toContain('>Next 50</a>');

    const bouncedLab = await get('/admin/subscribers?q=lab&status=bounced');
    expect(addresses(bouncedLab)).toEqual(lab.filter((_, k) => (k * 3) % 5 === 0));
    // The text goes back into the form escaped; it is never markup.
    expect(await get('/admin/subscribers?q=%3Cb%3E')).toContain('value="&lt;b&gt;"');
  });

  it('the JSON API searches the same way, by q, status and keyset', async () => {
    const { app, store } = setup();
    await populate(store);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const get = async (query: string) => (await (await app.request(`/admin/api/subscribers?${query}`, { headers: bearer })).json()) as { subscribers: { email: string }[]; next_after: number | null };
    const page = await get('q=LAB&status=active&limit=10');
    const activeLab = Array.from({ length: 40 }, (_, k) => k * 3).filter((i) => i % 5 !== 0).map((i) => `reader${i}@lab.example.org`);
    expect(page.subscribers.map((subscriber) => subscriber.email)).toEqual(activeLab.slice(0, 10));
    const rest = await get(`q=LAB&status=active&limit=100&after=${page.next_after}`);
    expect(rest.subscribers.map((subscriber) => subscriber.email)).toEqual(activeLab.slice(10));
    expect(rest.next_after).toBeNull();
  });
});
