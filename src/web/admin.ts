import { Hono, type Context } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { RunOptions, RunReport } from '../pipeline/run.ts';
import { isPaperboyError, type ErrorCode } from '../errors.ts';
import { updateSubscriber } from '../subscribers/update.ts';
import { problemJson, recipientJson, runJson, subscriberJson } from '../json-views.ts';
import { createConsoleRoutes, type ConsoleDeps } from './console.ts';
import type { OutboxRepository, RunRepository, SubscriberRepository } from '../store/port.ts';

export interface AdminDeps {
  token: string;
  store: ConsoleDeps['store'] &
    Pick<RunRepository, 'recentRuns'> &
    Pick<SubscriberRepository, 'searchSubscribers' | 'subscriberCounts' | 'subscriberByEmail' | 'subscriberById' | 'reactivateSubscriber' | 'suppressionOf'> &
    Pick<OutboxRepository, 'outboxCounts' | 'outboxProblems'>;
  clock: Clock;
  /** The taxonomy's topic ids, for edits of a subscriber's topics. */
  topicIds?: readonly string[];
  /** The manual send: the same pipeline function the CLI and the scheduler call. */
  send(options: RunOptions): Promise<RunReport>;
}

const SendBody = z.strictObject({
  dry_run: z.boolean().default(false),
  to: z.email().optional(),
  force: z.boolean().default(false),
});

const SubscribersQuery = z.strictObject({
  /** A literal piece of the address, any case. */
  q: z.string().trim().max(254).default(''),
  status: z.enum(['pending', 'active', 'unsubscribed', 'bounced']).optional(),
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const RunsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(20) });

const ReactivateBody = z.strictObject({ email: z.email() });

const UpdateBody = z.strictObject({
  email: z.email(),
  status: z.literal('active').optional(),
  topics: z.string().optional(),
  frequency: z.enum(['daily', 'weekly']).optional(),
  weekday: z.string().optional(),
});

/** Errors a send can end in that are the caller's to fix, with the HTTP status each means. */
const SEND_ERRORS: Partial<Record<ErrorCode, 404 | 409 | 422>> = { NOT_FOUND: 404, LEASE_HELD: 409, SUBSCRIBER_INVALID: 422 };

/**
 * The admin API: JSON in and out, every request zod-validated, every route behind
 * `Authorization: Bearer $PAPERBOY_ADMIN_TOKEN` (compared in constant time by hono).
 */
export function createAdminRoutes(deps: AdminDeps, console?: Omit<ConsoleDeps, 'token' | 'store' | 'clock' | 'send'>): Hono {
  const api = createAdminApi(deps);
  const admin = new Hono();
  // /admin/api/... is the JSON API; the older paths (/admin/send, /admin/runs, /admin/subscribers...)
  // stay its aliases for API clients: a request with a bearer token, or one that does not ask for HTML.
  admin.all('/api/*', (c) => api.fetch(rewrite(c.req.raw, true), c.env));
  admin.use('*', async (c, next) => {
    const path = c.req.path.replace(/^.*?\/admin/, '');
    const legacy = c.req.header('authorization') !== undefined || (LEGACY_PATHS.includes(path) && !(c.req.header('accept') ?? '').includes('text/html'));
    if (legacy || !console) return api.fetch(rewrite(c.req.raw, false), c.env);
    await next();
  });
  if (console) admin.route('/', createConsoleRoutes({ ...console, ...(deps.topicIds ? { topicIds: deps.topicIds } : {}), token: deps.token, store: deps.store, clock: deps.clock, send: deps.send }));
  return admin;
}

const LEGACY_PATHS = ['/send', '/runs', '/subscribers', '/subscribers/reactivate'];

/** The request as the API app sees it: /admin/api/x → /x, /admin/x → /x. */
function rewrite(request: Request, underApi: boolean): Request {
  const url = new URL(request.url);
  url.pathname = url.pathname.replace(underApi ? /^.*?\/admin\/api(?=\/|$)/ : /^.*?\/admin(?=\/|$)/, '') || '/';
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  return new Request(url, { method: request.method, headers: request.headers, ...(hasBody ? { body: request.body, duplex: 'half' } : {}) } as RequestInit);
}

function createAdminApi(deps: AdminDeps): Hono {
  const admin = new Hono();
  admin.use('*', bearerAuth({ token: deps.token, noAuthenticationHeader: { message: { error: 'unauthorized', message: 'send Authorization: Bearer <PAPERBOY_ADMIN_TOKEN>' } }, invalidTokenMessage: { error: 'unauthorized', message: 'wrong admin token' }, invalidAuthenticationHeader: { message: { error: 'unauthorized', message: 'malformed Authorization header' } } }));

  admin.post('/send', async (c) => {
    const body = await readBody(c, SendBody, '{"dry_run": true}');
    if (!body.success) return body.response;
    try {
      const report = await deps.send({ trigger: 'manual', dryRun: body.data.dry_run, force: body.data.force, ...(body.data.to ? { to: body.data.to } : {}) });
      return c.json(report, 200);
    } catch (error) {
      const status = isPaperboyError(error) ? SEND_ERRORS[error.code] : undefined;
      if (!status || !isPaperboyError(error)) throw error;
      return c.json({ error: error.code.toLowerCase(), message: error.message }, status);
    }
  });

  admin.get('/runs', async (c) => {
    const query = RunsQuery.safeParse(c.req.query());
    if (!query.success) return c.json({ error: 'invalid_query', message: describe(query.error) }, 400);
    return c.json({
      runs: (await deps.store.recentRuns(query.data.limit)).map(runJson),
      outbox: await deps.store.outboxCounts(),
      // What failed or waits for a retry, with the relay's last answer.
      problems: (await deps.store.outboxProblems(20)).map(problemJson),
    });
  });

  admin.get('/runs/:id{[0-9]+}', async (c) => {
    const run = await deps.store.runById(Number(c.req.param('id')));
    if (!run) return c.json({ error: 'not_found', message: `no run ${c.req.param('id')}` }, 404);
    const recipients = await deps.store.runRecipients(run.id);
    return c.json({
      run: runJson(run),
      recipients: recipients.map(recipientJson),
    });
  });

  admin.get('/subscribers', async (c) => {
    const query = SubscribersQuery.safeParse(c.req.query());
    if (!query.success) return c.json({ error: 'invalid_query', message: describe(query.error) }, 400);
    const { q, status, after, limit } = query.data;
    // One more than asked tells whether another page exists.
    const page = await deps.store.searchSubscribers({ emailContains: q, status: status ?? null, after, limit: limit + 1 });
    const subscribers = page.slice(0, limit);
    return c.json({
      subscribers: subscribers.map(subscriberJson),
      next_after: page.length > limit ? subscribers.at(-1)!.id : null,
      counts: await deps.store.subscriberCounts(),
    });
  });

  admin.post('/subscribers/update', async (c) => {
    const body = await readBody(c, UpdateBody, '{"email": "ada@example.org", "status": "active", "topics": "all", "frequency": "weekly"}');
    if (!body.success) return body.response;
    const { email, ...change } = body.data;
    const subscriber = await deps.store.subscriberByEmail(email.toLowerCase());
    if (!subscriber) return c.json({ error: 'not_found', message: `no subscriber ${email}` }, 404);
    try {
      const after = await updateSubscriber(deps.store, deps.clock, subscriber, change, deps.topicIds ?? []);
      return c.json({ subscriber: subscriberJson(after), was: subscriberJson(subscriber) }, 200);
    } catch (error) {
      if (!isPaperboyError(error) || error.code !== 'SUBSCRIBER_INVALID') throw error;
      return c.json({ error: 'subscriber_invalid', message: error.message }, 422);
    }
  });

  admin.delete('/subscribers/:id{[0-9]+}', async (c) => {
    const subscriber = await deps.store.subscriberById(Number(c.req.param('id')));
    if (!subscriber) return c.json({ error: 'not_found', message: `no subscriber ${c.req.param('id')}` }, 404);
    await deps.store.deleteSubscriber(subscriber.id);
    return c.json({ removed: subscriber.email }, 200);
  });

  admin.post('/subscribers/reactivate', async (c) => {
    const body = await readBody(c, ReactivateBody, '{"email": "ada@example.org"}');
    if (!body.success) return body.response;
    const subscriber = await deps.store.subscriberByEmail(body.data.email.toLowerCase());
    if (!subscriber) return c.json({ error: 'not_found', message: `no subscriber ${body.data.email}` }, 404);
    const suppression = await deps.store.suppressionOf(subscriber.email);
    if (!(await deps.store.reactivateSubscriber(subscriber.id, deps.clock.now().toISOString()))) {
      return c.json({ error: 'subscriber_invalid', message: `${subscriber.email} is ${subscriber.status}: only bounced or unsubscribed addresses are reactivated` }, 422);
    }
    return c.json({ subscriber: subscriberJson((await deps.store.subscriberById(subscriber.id))!), was: subscriber.status, suppression: suppression ?? null }, 200);
  });

  return admin;
}

/** A JSON body checked against `schema`, or the 400 that says what is wrong with it. */
async function readBody<T>(c: Context, schema: z.ZodType<T>, example: string): Promise<{ success: true; data: T } | { success: false; response: Response }> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return { success: false, response: c.json({ error: 'invalid_body', message: `the body must be a JSON object, e.g. ${example}` }, 400) };
  }
  const body = schema.safeParse(raw);
  return body.success ? { success: true, data: body.data } : { success: false, response: c.json({ error: 'invalid_body', message: describe(body.error) }, 400) };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
}
