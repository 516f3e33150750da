import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import { DEFAULT_LIST_NAME } from '../config/config.ts';
import { isDue } from '../delivery/due.ts';
import type { AdminSession, RunRow } from '../model/run.ts';
import type { Subscriber, SubscriberStatus } from '../model/subscriber.ts';
import type { RunOptions, RunReport } from '../pipeline/run.ts';
import type { AdminSessionRepository, OutboxRepository, RunRepository, SubscriberRepository } from '../store/port.ts';
import { isPaperboyError } from '../errors.ts';
import { updateSubscriber, type SubscriberChange } from '../subscribers/update.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './pages.ts';

/**
 * The admin console: server-rendered pages behind a sign-in with the admin token. A session is
 * a random id in an HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256 hash and
 * the session's form token, so every web replica knows every session. Every POST carries the
 * form token, compared in constant time.
 */

export const SESSION_COOKIE = 'paperboy_admin';

/** One source's health, for the overview (filled once sources report it). */
export interface SourceHealth {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ConsoleDeps {
  token: string;
  store: Pick<RunRepository, 'recentRuns' | 'runById' | 'runRecipients'> &
    Pick<SubscriberRepository, 'searchSubscribers' | 'subscriberCounts' | 'subscriberById' | 'reactivateSubscriber' | 'updatePreferences' | 'deleteSubscriber'> &
    Pick<OutboxRepository, 'outboxCounts' | 'outboxProblems'> &
    AdminSessionRepository;
  clock: Clock;
  send(options: RunOptions): Promise<RunReport>;
  /** Sessions end this many hours after sign-in. */
  sessionHours: number;
  /** Secure cookies when the public URL is https. */
  secureCookie: boolean;
  schedule?: string;
  timeZone: string;
  /** PAPERBOY_LIST_NAME; the default name when not given. */
  listName?: string;
  sources?: () => Promise<SourceHealth[]>;
  /** The taxonomy's topic ids, for edits of a subscriber's topics. */
  topicIds?: readonly string[];
  /** A subscriber's next digest as it stands now, recording nothing; null when nothing is new. */
  preview?: (subscriber: Subscriber) => Promise<RenderedPreview | null>;
  /** Sends a rendered digest to `to` at once, outside the outbox, recording no delivery; the relay's answer. */
  sendTest?: (preview: RenderedPreview, to: string) => Promise<{ ok: boolean; response: string }>;
}

export interface RenderedPreview {
  subject: string;
  html: string;
  text: string;
}

const STATUSES: readonly SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];
const SUBSCRIBERS_PAGE = 50;

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

type Page = (c: Context, session: AdminSession) => Response | Promise<Response>;

export function createConsoleRoutes(deps: ConsoleDeps): Hono {
  const { store, clock } = deps;
  const listName = deps.listName ?? DEFAULT_LIST_NAME;
  const page = (title: string, session: AdminSession | null, content: SafeHtml) => consolePage(listName, title, session, content);
  const noSuchSubscriber = (c: Context, session: AdminSession) => c.html(page('No such subscriber', session, html`<h1>No such subscriber</h1>`), 404);
  const app = new Hono();

  const session = async (c: Context): Promise<AdminSession | undefined> => {
    const id = getCookie(c, SESSION_COOKIE);
    if (!id) return undefined;
    return store.adminSession(hashSessionId(id), clock.now().toISOString());
  };

  /** A console page: no session → the sign-in page; a POST without the session's form token → 403. */
  const guarded =
    (handler: Page) =>
    async (c: Context): Promise<Response> => {
      const current = await session(c);
      if (!current) return c.redirect('/admin/sign-in', 303);
      if (c.req.method === 'POST') {
        const body = await c.req.parseBody();
        const csrf = typeof body.csrf === 'string' ? body.csrf : '';
        if (!sameSecret(csrf, current.csrf)) return c.html(page('Forbidden', null, html`<h1>Forbidden</h1><p>This form is out of date or did not come from this console. Go back, reload the page and try again.</p>`), 403);
      }
      return handler(c, current);
    };

  app.get('/sign-in', async (c) => {
    if (await session(c)) return c.redirect('/admin', 303);
    return c.html(signInPage(listName, false));
  });

  app.post('/sign-in', async (c) => {
    const body = await c.req.parseBody();
    const token = typeof body.token === 'string' ? body.token : '';
    if (!sameSecret(token, deps.token)) return c.html(signInPage(listName, true), 401);
    const id = randomBytes(32).toString('base64url');
    const now = clock.now();
    const expires = new Date(now.getTime() + deps.sessionHours * 3_600_000);
    await store.expireAdminSessions(now.toISOString());
    await store.createAdminSession({ idHash: hashSessionId(id), csrf: randomBytes(24).toString('base64url'), createdAt: now.toISOString(), expiresAt: expires.toISOString() });
    setCookie(c, SESSION_COOKIE, id, { path: '/admin', httpOnly: true, sameSite: 'Strict', secure: deps.secureCookie, expires });
    return c.redirect('/admin', 303);
  });

  app.post(
    '/sign-out',
    guarded(async (c) => {
      await store.deleteAdminSession(hashSessionId(getCookie(c, SESSION_COOKIE)!));
      deleteCookie(c, SESSION_COOKIE, { path: '/admin', secure: deps.secureCookie });
      return c.redirect('/admin/sign-in', 303);
    }),
  );

  app.get(
    '/',
    guarded(async (c, s) => {
      const [runs, outbox, problems, counts, sources] = await Promise.all([
        store.recentRuns(1),
        store.outboxCounts(),
        store.outboxProblems(20),
        store.subscriberCounts(),
        deps.sources ? deps.sources() : Promise.resolve([]),
      ]);
      const next = deps.schedule ? nextRun(deps.schedule, deps.timeZone) : null;
      const last = runs[0];
      return c.html(
        page(
          'Overview',
          s,
          html`<h1>Overview</h1>
<h2>Last run</h2>
${last ? html`<p><a href="/admin/runs/${last.id}">Run ${last.id}</a>: ${runSummary(last)}</p>` : html`<p>No run yet.</p>`}
<h2>Next scheduled run</h2>
<p>${next ? html`${formatIn(next, deps.timeZone)} (${deps.timeZone})` : 'No schedule: runs start only by hand.'}</p>
<h2>Outbox</h2>
<p>${outbox.queued} queued, ${outbox.sent} sent, ${outbox.failed} failed.</p>
<h2>Subscribers</h2>
<p>${STATUSES.map((status) => html`<a href="/admin/subscribers?status=${status}">${counts[status]} ${status}</a> `)}</p>
<h2>Problems</h2>
${problems.length === 0
  ? html`<p>No failed messages and none waiting for a retry.</p>`
  : html`<table><caption class="small">The newest failures and retries</caption><thead><tr><th scope="col">To</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th></tr></thead><tbody>
${problems.map((p) => html`<tr><td>${p.recipient}</td><td>${p.status}</td><td>${p.attempts}</td><td>${p.lastError ?? ''}</td></tr>`)}
</tbody></table>`}
<h2>Sources</h2>
${sources.length === 0 ? html`<p>No source reports its health yet.</p>` : html`<ul class="list">${sources.map((source) => html`<li>${source.name}: ${source.ok ? 'ok' : 'failing'} — ${source.detail}</li>`)}</ul>`}`,
        ),
      );
    }),
  );

  app.get(
    '/runs',
    guarded(async (c, s) => {
      const runs = await store.recentRuns(50);
      return c.html(
        page(
          'Runs',
          s,
          html`<h1>Runs</h1>
${runs.length === 0 ? html`<p>No run yet.</p>` : html`<ul class="list">${runs.map((run) => html`<li><a href="/admin/runs/${run.id}">Run ${run.id}</a>: ${runSummary(run)}</li>`)}</ul>`}`,
        ),
      );
    }),
  );

  app.get(
    '/runs/:id{[0-9]+}',
    guarded(async (c, s) => {
      const run = await store.runById(Number(c.req.param('id')));
      if (!run) return c.html(page('No such run', s, html`<h1>No such run</h1><p><a href="/admin/runs">All runs</a></p>`), 404);
      const recipients = await store.runRecipients(run.id);
      return c.html(
        page(
          `Run ${run.id}`,
          s,
          html`<h1>Run ${run.id}</h1>
<p>${runSummary(run)}</p>
${run.error ? html`<p class="notice problem">${run.error}</p>` : ''}
<h2>Recipients</h2>
${recipients.length === 0
  ? html`<p>This run queued no message.</p>`
  : html`<table><thead><tr><th scope="col">To</th><th scope="col">Kind</th><th scope="col">Outcome</th><th scope="col">Attempts</th><th scope="col">SMTP reply</th></tr></thead><tbody>
${recipients.map((r) => html`<tr><td><a href="/admin/subscribers/${r.subscriberId}">${r.recipient}</a></td><td>${r.kind}</td><td>${r.status}${r.sentAt ? html` at ${r.sentAt}` : ''}</td><td>${r.attempts}</td><td>${r.lastError ?? (r.status === 'sent' ? 'accepted' : '')}</td></tr>`)}
</tbody></table>`}`,
        ),
      );
    }),
  );

  app.get(
    '/subscribers',
    guarded(async (c, s) => {
      // No address is longer; the cap keeps a pasted essay out of the query.
      const q = (c.req.query('q') ?? '').trim().slice(0, 254);
      const statusQuery = c.req.query('status') ?? '';
      const status = (STATUSES as readonly string[]).includes(statusQuery) ? (statusQuery as SubscriberStatus) : null;
      const after = /^\d{1,15}$/.test(c.req.query('after') ?? '') ? Number(c.req.query('after')) : 0;
      // One more than a page tells whether there is a next one.
      const matches = await store.searchSubscribers({ emailContains: q, status, after, limit: SUBSCRIBERS_PAGE + 1 });
      const found = matches.slice(0, SUBSCRIBERS_PAGE);
      const next = matches.length > SUBSCRIBERS_PAGE ? `/admin/subscribers?${new URLSearchParams({ q, status: status ?? '', after: String(found.at(-1)!.id) })}` : null;
      return c.html(
        page(
          'Subscribers',
          s,
          html`<h1>Subscribers</h1>
<form method="get" action="/admin/subscribers">
<div class="field"><label for="q">Address contains</label><input type="text" id="q" name="q" value="${q}"></div>
<div class="field"><label for="status">Status</label><select id="status" name="status"><option value="">any</option>${STATUSES.map((option) => html`<option value="${option}"${option === status ? html` selected` : ''}>${option}</option>`)}</select></div>
<button type="submit">Search</button>
</form>
${found.length === 0
  ? html`<p>No subscriber matches.</p>`
  : html`<table><thead><tr><th scope="col">Address</th><th scope="col">Status</th><th scope="col">Frequency</th></tr></thead><tbody>
${found.map((subscriber) => html`<tr><td><a href="/admin/subscribers/${subscriber.id}">${subscriber.email}</a></td><td>${subscriber.status}</td><td>${subscriber.frequency}</td></tr>`)}
</tbody></table>`}
${next ? html`<p><a href="${next}">Next ${SUBSCRIBERS_PAGE}</a></p>` : ''}`,
        ),
      );
    }),
  );

  const subscriberPage = (c: Context, s: AdminSession, subscriber: Subscriber, notice?: string) =>
    c.html(
      page(
        subscriber.email,
        s,
        html`<h1>${subscriber.email}</h1>
${notice ? html`<p class="notice saved" role="status">${notice}</p>` : ''}
<p>Status: <strong>${subscriber.status}</strong>. Frequency: ${subscriber.frequency}. Topics: ${subscriber.topics?.join(', ') ?? 'all'}.</p>
<p>Last digest: ${subscriber.lastDigestAt ?? 'never'}.</p>
<h2>Due now?</h2>
<p>${whyNotDue(subscriber, clock.now(), deps.timeZone)}</p>
${subscriber.status === 'bounced' || subscriber.status === 'unsubscribed'
  ? html`<form method="post" action="/admin/subscribers/${subscriber.id}/reactivate">${csrfField(s)}<button type="submit">Reactivate</button></form>`
  : ''}
<h2>Edit</h2>
<form method="post" action="/admin/subscribers/${subscriber.id}/update">${csrfField(s)}
<div class="field"><label for="topics">Topics <span class="hint">"all", or topic ids separated by commas</span></label><input type="text" id="topics" name="topics" value="${subscriber.topics?.join(',') ?? 'all'}"></div>
<div class="field"><label for="frequency">Frequency</label><select id="frequency" name="frequency">${(['daily', 'weekly'] as const).map((f) => html`<option value="${f}"${f === subscriber.frequency ? html` selected` : ''}>${f}</option>`)}</select></div>
<div class="field"><label for="weekday">Weekday of a weekly digest <span class="optional">(mon … sun)</span></label><input type="text" id="weekday" name="weekday" value="${subscriber.weekday === null ? '' : ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][subscriber.weekday]}"></div>
<button type="submit">Save</button></form>
<h2>Send</h2>
<form method="post" action="/admin/send">${csrfField(s)}<input type="hidden" name="to" value="${subscriber.email}">
<div class="field"><span class="choice"><input type="checkbox" id="dry" name="dry_run" value="true"><label for="dry">Dry run (send nothing)</label></span></div>
<button type="submit">Send this subscriber's digest now</button></form>
${deps.preview
  ? html`<h2>Preview</h2><p><a href="/admin/subscribers/${subscriber.id}/preview">Preview their next digest</a></p>
${deps.sendTest ? html`<form method="post" action="/admin/subscribers/${subscriber.id}/test">${csrfField(s)}
<div class="field"><label for="test-to">Send a test of this digest to <span class="hint">Goes out at once; records no delivery.</span></label><input type="email" id="test-to" name="to" required></div>
<button type="submit" class="secondary">Send test</button></form>` : ''}`
  : ''}
<h2>Delete</h2>
<form method="post" action="/admin/subscribers/${subscriber.id}/delete">${csrfField(s)}
<div class="field"><span class="choice"><input type="checkbox" id="confirm-delete" name="confirm" value="yes" required><label for="confirm-delete">Yes, delete ${subscriber.email} and what they were sent</label></span></div>
<button type="submit" class="secondary">Delete</button></form>`,
      ),
    );

  const byIdParam = async (c: Context) => store.subscriberById(Number(c.req.param('id')));

  app.get(
    '/subscribers/:id{[0-9]+}',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber) return noSuchSubscriber(c, s);
      return subscriberPage(c, s, subscriber);
    }),
  );

  app.post(
    '/subscribers/:id{[0-9]+}/reactivate',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber) return noSuchSubscriber(c, s);
      const done = await store.reactivateSubscriber(subscriber.id, clock.now().toISOString());
      const now = (await store.subscriberById(subscriber.id))!;
      return subscriberPage(c, s, now, done ? `Reactivated: ${now.email} is active again.` : `${now.email} is ${now.status}: nothing to reactivate.`);
    }),
  );

  app.post(
    '/subscribers/:id{[0-9]+}/update',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber) return noSuchSubscriber(c, s);
      const body = await c.req.parseBody();
      const field = (name: string) => (typeof body[name] === 'string' && body[name] !== '' ? (body[name] as string) : undefined);
      const change: SubscriberChange = {};
      for (const name of ['topics', 'frequency', 'weekday'] as const) {
        const value = field(name);
        if (value !== undefined) change[name] = value;
      }
      try {
        const after = await updateSubscriber(store, clock, subscriber, change, deps.topicIds ?? []);
        return subscriberPage(c, s, after, 'Saved.');
      } catch (error) {
        if (!isPaperboyError(error)) throw error;
        return c.html(page(subscriber.email, s, html`<h1>${subscriber.email}</h1><p class="notice problem" role="alert">${error.message}</p><p><a href="/admin/subscribers/${subscriber.id}">Back</a></p>`), 422);
      }
    }),
  );

  app.get(
    '/subscribers/:id{[0-9]+}/preview',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber || !deps.preview) return noSuchSubscriber(c, s);
      const preview = await deps.preview(subscriber);
      if (!preview) return c.html(page('Nothing new', s, html`<h1>Nothing new</h1><p>There is nothing new for ${subscriber.email}: a run now would send them no digest.</p><p><a href="/admin/subscribers/${subscriber.id}">Back</a></p>`));
      // The digest exactly as it would be mailed, shown as its own page.
      return c.html(preview.html);
    }),
  );

  app.post(
    '/subscribers/:id{[0-9]+}/test',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber || !deps.preview || !deps.sendTest) return noSuchSubscriber(c, s);
      const body = await c.req.parseBody();
      const to = typeof body.to === 'string' ? body.to.trim() : '';
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(to)) return subscriberPage(c, s, subscriber, 'Give an email address to send the test to.');
      const preview = await deps.preview(subscriber);
      if (!preview) return subscriberPage(c, s, subscriber, `Nothing new for ${subscriber.email}: there is no digest to send as a test.`);
      const outcome = await deps.sendTest(preview, to);
      return subscriberPage(c, s, subscriber, outcome.ok ? `Test sent to ${to}: ${outcome.response}` : `The test to ${to} failed: ${outcome.response}`);
    }),
  );

  app.post(
    '/subscribers/:id{[0-9]+}/delete',
    guarded(async (c, s) => {
      const subscriber = await byIdParam(c);
      if (!subscriber) return noSuchSubscriber(c, s);
      const body = await c.req.parseBody();
      if (body.confirm !== 'yes') return subscriberPage(c, s, subscriber, 'Tick the box to confirm the deletion.');
      await store.deleteSubscriber(subscriber.id);
      return c.html(page('Deleted', s, html`<h1>Deleted</h1><p>${subscriber.email} and the record of what they were sent are gone.</p><p><a href="/admin/subscribers">Subscribers</a></p>`));
    }),
  );

  app.get(
    '/send',
    guarded((c, s) =>
      c.html(
        page(
          'Send',
          s,
          html`<h1>Send now</h1>
<form method="post" action="/admin/send">${csrfField(s)}
<div class="field"><label for="to">Only this subscriber <span class="optional">(optional)</span></label><input type="email" id="to" name="to"></div>
<div class="field"><span class="choice"><input type="checkbox" id="dry" name="dry_run" value="true"><label for="dry">Dry run (send nothing, record nothing)</label></span></div>
<button type="submit">Send to everyone due</button></form>`,
        ),
      ),
    ),
  );

  app.post(
    '/send',
    guarded(async (c, s) => {
      const body = await c.req.parseBody();
      const to = typeof body.to === 'string' && body.to.trim() ? body.to.trim().toLowerCase() : undefined;
      const dryRun = body.dry_run === 'true';
      let text: SafeHtml;
      try {
        const report = await deps.send({ trigger: 'manual', dryRun, ...(to ? { to } : {}) });
        text = html`<p>${dryRun ? 'Dry run: ' : ''}${report.status}. ${report.due} due, ${report.queued} ${dryRun ? 'would be queued' : 'queued'}.${report.run_id ? html` <a href="/admin/runs/${report.run_id}">Run ${report.run_id}</a>` : ''}</p>`;
      } catch (error) {
        text = html`<p class="notice problem">${error instanceof Error ? error.message : String(error)}</p>`;
      }
      return c.html(page('Sent', s, html`<h1>Send</h1>${text}<p><a href="/admin">Overview</a></p>`));
    }),
  );

  return app;
}

function csrfField(session: AdminSession): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${session.csrf}">`;
}

function runSummary(run: RunRow): SafeHtml {
  return html`${run.trigger}, started ${run.startedAt}, <strong>${run.status}</strong>: ${run.due} due, ${run.queued} queued, ${run.sent} sent, ${run.failed} failed, ${run.retried} retried, ${run.bounced} bounced.`;
}

/** When the schedule fires next, from the cron expression in the time zone. */
export function nextRun(schedule: string, timeZone: string): Date | null {
  const task = cron.createTask(schedule, () => {}, { timezone: timeZone });
  try {
    return task.getNextRun();
  } finally {
    void task.destroy();
  }
}

function formatIn(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'short' }).format(instant);
}

/** Why a subscriber would (not) get a digest in a run now. */
export function whyNotDue(subscriber: Subscriber, now: Date, timeZone: string): string {
  if (subscriber.status !== 'active') return `Not due: ${subscriber.status} subscribers get no digest.`;
  if (isDue(subscriber, now, timeZone)) return 'Due: a run now would send them a digest (if there is something new for them).';
  return subscriber.frequency === 'weekly'
    ? `Not due: weekly subscribers get a digest on their weekday, at most once a day (last: ${subscriber.lastDigestAt ?? 'never'}).`
    : `Not due: they already had today's digest (last: ${subscriber.lastDigestAt ?? 'never'}).`;
}

const CONSOLE_STYLE = html`<style>
table { width: 100%; border-collapse: collapse; margin: 0 0 1.5rem; font-size: .9375rem; }
th, td { text-align: left; padding: .375rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
nav.console { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .5rem 0 0; }
nav.console form { margin: 0 0 0 auto; }
nav.console button { padding: .25rem .75rem; }
</style>`;

export function consolePage(listName: string, title: string, session: AdminSession | null, content: SafeHtml): string {
  return layout(
    listName,
    `${title} · admin`,
    html`${CONSOLE_STYLE}${session
      ? html`<nav class="console" aria-label="Console"><a href="/admin">Overview</a><a href="/admin/runs">Runs</a><a href="/admin/subscribers">Subscribers</a><a href="/admin/send">Send</a>
<form method="post" action="/admin/sign-out">${csrfField(session)}<button type="submit" class="secondary">Sign out</button></form></nav>`
      : ''}${content}`,
  );
}

function signInPage(listName: string, wrong: boolean): string {
  return consolePage(
    listName,
    'Sign in',
    null,
    html`<h1>${listName} admin sign-in</h1>
${wrong ? html`<p class="notice problem" role="alert">That is not the admin token.</p>` : ''}
<form method="post" action="/admin/sign-in">
<div class="field"><label for="token">Admin token <span class="hint">The value of PAPERBOY_ADMIN_TOKEN</span></label><input type="password" id="token" name="token" autocomplete="current-password" required></div>
<button type="submit">Sign in</button>
</form>`,
  );
}
