import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Clock } from '../clock.ts';
import { DEFAULT_LIST_NAME } from '../config/config.ts';
import type { Courier } from '../delivery/courier.ts';
import type { Sender } from '../delivery/queue.ts';
import { subscriberLinks } from '../digest/prepare.ts';
import type { Renderer } from '../digest/render.ts';
import type { CounterRepository, OutboxRepository, Store, SubscriberRepository } from '../store/port.ts';
import type { Subscriber, SubscriberInput } from '../model/subscriber.ts';
import type { Taxonomy } from '../topics/taxonomy.ts';
import { belongsTo, signToken, verifyToken, type TokenCheck, type TokenPurpose } from '../tokens.ts';
import { BLANK_FORM, formValues, parsePreferences, parseSignUp, subscriberValues, type FieldErrors, type FormBody, type FormValues } from './form.ts';
import { createDigestRoutes, type DigestRoutesDeps } from './digest-routes.ts';
import { createNotices } from './notices.ts';
import {
  checkInboxPage,
  linkSentPage,
  confirmPromptPage,
  messagePage,
  preferencesPage,
  subscribePage,
  unsubscribedPage,
  unsubscribePromptPage,
  welcomePage,
  type Message,
} from './pages.ts';
import { RateLimiter } from './rate-limit.ts';

/** The admin API, built elsewhere; mounted at /admin when given. */
export type AdminRoutes = Hono;

/** What a sign-up and a confirmation write, in one transaction each: the subscriber and their notice. */
type SubscriptionWrites = Pick<SubscriberRepository, 'expirePending' | 'insertSubscriber' | 'subscriberByEmail' | 'subscriberById' | 'resubscribe' | 'confirmSubscriber'> &
  Pick<OutboxRepository, 'queueMessage'>;

/** What the pages log: problems only; addresses stay out of logs. */
export interface PageLogger {
  error(obj: object, msg: string): void;
}

export interface WebDeps {
  store: Pick<SubscriberRepository, 'subscriberById' | 'updatePreferences' | 'unsubscribe'> &
    Pick<Store, 'ping'> &
    Pick<CounterRepository, 'takeHits'> & { withTransaction<T>(work: (tx: SubscriptionWrites) => Promise<T>): Promise<T> } & DigestRoutesDeps['store'];
  taxonomy: Taxonomy;
  renderer: Renderer;
  /** Sends queued notices (confirmation, welcome) now; they are retried like any outbox message. */
  courier: Pick<Courier, 'kick'>;
  clock: Clock;
  secret: string;
  /** Base of every link, without a trailing slash. */
  publicUrl: string;
  /** Who notices come from: From, Reply-To, the Message-ID domain. */
  sender: Sender;
  /** Confirm links expire, and unconfirmed sign-ups are dropped, after this many hours. */
  pendingTtlHours: number;
  /** PAPERBOY_SCHEDULE and PAPERBOY_TZ: the confirmation mail says when the first digest would come. */
  schedule?: string;
  timeZone?: string;
  /** Sign-ups allowed per client IP and per address within each clock hour, counted in the store (across replicas). */
  rateLimit: { perIpPerHour: number; perAddressPerHour: number };
  admin?: AdminRoutes;
  /** PAPERBOY_LIST_NAME; the default name when not given. */
  listName?: string;
  logger?: PageLogger;
  /** Behind one reverse proxy: take the client IP from the last X-Forwarded-For hop. */
  trustProxy?: boolean;
}

const HOUR_MS = 60 * 60 * 1000;
/** A form here is a few hundred bytes; anything far larger is not a person filling it in. */
const MAX_BODY_BYTES = 64 * 1024;

const BACK_TO_FORM = { href: '/', text: 'Go to the sign-up form' };
const SIGN_UP_AGAIN = { href: '/', text: 'Sign up again' };

const MESSAGES = {
  badLink: {
    title: 'This link does not work',
    text: 'It may have been cut short or changed on its way to you. Copy the whole link from the email into your browser, or start again from the sign-up form.',
    link: BACK_TO_FORM,
  },
  unknownSubscription: {
    title: 'We could not find this subscription',
    text: 'It may have expired before it was confirmed, or it was removed. You are welcome to sign up again.',
    link: SIGN_UP_AGAIN,
  },
  noLongerConfirmable: {
    title: 'This link is no longer valid',
    text: 'This subscription cannot be confirmed any more. Sign up again to start a new one.',
    link: SIGN_UP_AGAIN,
  },
  notFound: { title: 'Page not found', text: 'There is nothing at this address.', link: BACK_TO_FORM },
  methodNotAllowed: { title: 'Not allowed', text: 'This page does not take that kind of request.', link: BACK_TO_FORM },
  badRequest: { title: 'Bad request', text: 'The form could not be read. Please try again from the sign-up form.', link: BACK_TO_FORM },
  tooLarge: { title: 'Too much data', text: 'That was far more than the form sends. Please try again from the sign-up form.', link: BACK_TO_FORM },
  serverError: { title: 'Something went wrong', text: 'Sorry, we could not handle that. The problem has been logged; please try again in a moment.', link: BACK_TO_FORM },
} satisfies Record<string, Message>;

/**
 * The subscription pages: sign-up with double opt-in, confirm, preferences, unsubscribe
 * (with RFC 8058 one-click). Everything they do goes through the store's methods and the
 * notices; the pages answer the same way for every address, whatever its status.
 */
export function createWebApp(deps: WebDeps): Hono {
  const { store, clock, secret } = deps;
  const listName = deps.listName ?? DEFAULT_LIST_NAME;
  const logger: PageLogger = deps.logger ?? console;
  const topics = deps.taxonomy.topics;
  const topicIds = topics.map((topic) => topic.id);
  const topicNames = (ids: string[]) => topics.filter((topic) => ids.includes(topic.id)).map((topic) => topic.name);
  const notices = createNotices(deps);
  const limits = {
    ip: new RateLimiter({ name: 'signup-ip', limit: deps.rateLimit.perIpPerHour, windowMs: HOUR_MS, clock, store }),
    address: new RateLimiter({ name: 'signup-address', limit: deps.rateLimit.perAddressPerHour, windowMs: HOUR_MS, clock, store }),
  };

  const page = (c: Context, status: ContentfulStatusCode, message: Message, headers?: Record<string, string>) =>
    c.html(messagePage(listName, message), status, headers);

  const linkProblem = (c: Context, reason: Extract<TokenCheck, { ok: false }>['reason']) =>
    reason === 'expired'
      ? page(c, 400, {
          title: 'This link has expired',
          text: `Confirmation links work for ${deps.pendingTtlHours} hours, and this one is older. Sign up again and we will send you a fresh one.`,
          link: SIGN_UP_AGAIN,
        })
      : page(c, 400, MESSAGES.badLink);

  /**
   * The subscriber a token names, or the page that says why there is none. A token made for
   * someone who had this id before, or for an earlier sign-up of this address, is a bad link.
   */
  const tokenSubscriber = async (c: Context, token: string, purpose: TokenPurpose): Promise<Subscriber | Response> => {
    const check = verifyToken(secret, token, purpose, clock.now());
    if (!check.ok) return linkProblem(c, check.reason);
    const subscriber = await store.subscriberById(check.subscriberId);
    if (!subscriber) return page(c, 404, MESSAGES.unknownSubscription);
    return belongsTo(check, subscriber) ? subscriber : page(c, 400, MESSAGES.badLink);
  };

  const clientIp = (c: Context): string => {
    if (deps.trustProxy) {
      // The proxy appends the address it saw; anything before that the client wrote itself.
      const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
      if (forwarded) return forwarded;
    }
    return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown';
  };

  const tooManyAttempts = (c: Context, retryAfterSeconds: number) => {
    const minutes = Math.ceil(retryAfterSeconds / 60);
    return page(
      c,
      429,
      {
        title: 'Too many attempts',
        text: `There have been too many sign-ups from here or for this address in the last hour. Please try again in about ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        link: BACK_TO_FORM,
      },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  };

  /**
   * Stores a sign-up and queues its confirmation, in one transaction; true when a
   * confirmation was queued. Active and bounced addresses are left exactly as they are and
   * get nothing: the page must not tell them apart.
   */
  const signUp = (input: SubscriberInput, now: Date): Promise<boolean> =>
    store.withTransaction(async (tx) => {
      await tx.expirePending(new Date(now.getTime() - deps.pendingTtlHours * HOUR_MS).toISOString());
      let recipient = await tx.insertSubscriber(input, 'pending', now.toISOString());
      if (!recipient) {
        const existing = await tx.subscriberByEmail(input.email);
        // An active subscriber who signs up again has likely lost their links: they get them again.
        if (existing?.status === 'active') return queueLinks(tx, existing, now);
        if (existing?.status !== 'pending' && existing?.status !== 'unsubscribed') return false;
        // A new sign-up of the address: new choices, and a new token key, so links sent for an earlier one stop working.
        await tx.resubscribe(existing.id, input, now.toISOString());
        recipient = (await tx.subscriberById(existing.id))!;
      }
      await tx.queueMessage(await notices.confirmation(recipient, now), []);
      return true;
    });

  /**
   * Queues the mail with an active subscriber's preferences and unsubscribe links (the
   * welcome, which carries both); their choices are left as they are.
   */
  const queueLinks = async (tx: SubscriptionWrites, subscriber: Subscriber, now: Date): Promise<boolean> => {
    await tx.queueMessage(await notices.welcome(subscriber, now), []);
    return true;
  };

  /** "Email me my preferences link": true when a mail was queued (only for an active address). */
  const sendLinks = (email: string, now: Date): Promise<boolean> =>
    store.withTransaction(async (tx) => {
      const subscriber = await tx.subscriberByEmail(email);
      return subscriber?.status === 'active' ? queueLinks(tx, subscriber, now) : false;
    });

  /** pending → active, with the welcome queued, in one transaction; false if they were not pending. */
  const confirm = (subscriber: Subscriber, now: Date): Promise<boolean> =>
    store.withTransaction(async (tx) => {
      if (!(await tx.confirmSubscriber(subscriber.id, now.toISOString()))) return false;
      await tx.queueMessage(await notices.welcome(subscriber, now), []);
      return true;
    });

  const welcome = (c: Context, subscriber: Subscriber) =>
    c.html(
      welcomePage(listName, 
        subscriber.email,
        { topics: subscriber.topics && topicNames(subscriber.topics), frequency: subscriber.frequency, weekday: subscriber.weekday },
        subscriberLinks(deps, subscriber).preferences,
      ),
    );

  const preferences = (subscriber: Subscriber, token: string, values: FormValues, errors: FieldErrors, saved: boolean) =>
    preferencesPage(listName, {
      token,
      unsubscribeToken: signToken(secret, 'unsubscribe', subscriber),
      email: subscriber.email,
      status: subscriber.status,
      values,
      errors,
      saved,
      topics,
    });

  const app = new Hono();

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
      // HSTS is the TLS terminator's decision (it knows whether every subdomain has HTTPS).
      strictTransportSecurity: false,
    }),
  );
  // Pages carry tokens and personal choices: no cache, shared or private, may keep them.
  app.use(async (c, next) => {
    await next();
    c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => page(c, 405, MESSAGES.methodNotAllowed, { Allow: methods.join(', ') }),
    }),
  );
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => page(c, 413, MESSAGES.tooLarge) }));

  app.get('/', (c) => c.html(subscribePage(listName, BLANK_FORM, {}, topics)));
  // Where a browser lands on reload after a failed sign-up.
  app.get('/subscribe', (c) => c.redirect('/', 303));

  app.post('/subscribe', async (c) => {
    const byIp = await limits.ip.hit(clientIp(c));
    if (!byIp.allowed) return tooManyAttempts(c, byIp.retryAfterSeconds);
    const values = formValues(await readForm(c));
    const result = parseSignUp(values, topicIds);
    if (!result.ok) return c.html(subscribePage(listName, values, result.errors, topics), 400);
    const byAddress = await limits.address.hit(result.input.email);
    if (!byAddress.allowed) return tooManyAttempts(c, byAddress.retryAfterSeconds);
    const now = clock.now();
    if (await signUp(result.input, now)) deps.courier.kick();
    return c.html(checkInboxPage(listName, deps.pendingTtlHours));
  });

  // The same answer for every address, whether it subscribes or not.
  app.post('/preferences/link', async (c) => {
    const byIp = await limits.ip.hit(clientIp(c));
    if (!byIp.allowed) return tooManyAttempts(c, byIp.retryAfterSeconds);
    const body = await readForm(c);
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return c.html(subscribePage(listName, BLANK_FORM, {}, topics, { linkError: 'Enter the address your digest comes to, like name@example.org.' }), 400);
    const byAddress = await limits.address.hit(email);
    if (!byAddress.allowed) return tooManyAttempts(c, byAddress.retryAfterSeconds);
    if (await sendLinks(email, clock.now())) deps.courier.kick();
    return c.html(linkSentPage(listName));
  });

  // A GET (or HEAD) only asks: mail scanners fetch every link in a message, and must not
  // complete a double opt-in for someone who never clicked.
  app.get('/confirm', async (c) => {
    const token = c.req.query('token') ?? '';
    const subscriber = await tokenSubscriber(c, token, 'confirm');
    if (subscriber instanceof Response) return subscriber;
    if (subscriber.status === 'active') return welcome(c, subscriber);
    if (subscriber.status !== 'pending') return page(c, 400, MESSAGES.noLongerConfirmable);
    return c.html(confirmPromptPage(listName, token, subscriber.email));
  });

  app.post('/confirm', async (c) => {
    const body = await readForm(c);
    const subscriber = await tokenSubscriber(c, typeof body.token === 'string' ? body.token : '', 'confirm');
    if (subscriber instanceof Response) return subscriber;
    // Confirming twice shows the same welcome; only the first confirmation sends the mail.
    if (subscriber.status === 'pending') {
      if (await confirm(subscriber, clock.now())) deps.courier.kick();
      return welcome(c, { ...subscriber, status: 'active' });
    }
    if (subscriber.status !== 'active') return page(c, 400, MESSAGES.noLongerConfirmable);
    return welcome(c, subscriber);
  });

  app.get('/preferences', async (c) => {
    const token = c.req.query('token') ?? '';
    const subscriber = await tokenSubscriber(c, token, 'preferences');
    if (subscriber instanceof Response) return subscriber;
    return c.html(preferences(subscriber, token, subscriberValues(subscriber, topicIds), {}, false));
  });

  app.post('/preferences', async (c) => {
    const body = await readForm(c);
    const token = typeof body.token === 'string' ? body.token : '';
    const subscriber = await tokenSubscriber(c, token, 'preferences');
    if (subscriber instanceof Response) return subscriber;
    const values = formValues(body);
    const result = parsePreferences(values, subscriber.email, topicIds);
    if (!result.ok) return c.html(preferences(subscriber, token, values, result.errors, false), 400);
    await store.updatePreferences(subscriber.id, result.input);
    return c.html(preferences(subscriber, token, subscriberValues({ ...subscriber, ...result.input }, topicIds), {}, true));
  });

  // A GET never unsubscribes: mail scanners fetch every link in a message.
  app.get('/unsubscribe', async (c) => {
    const token = c.req.query('token') ?? '';
    const check = verifyToken(secret, token, 'unsubscribe', clock.now());
    if (!check.ok) return linkProblem(c, check.reason);
    const subscriber = await store.subscriberById(check.subscriberId);
    if (subscriber && !belongsTo(check, subscriber)) return page(c, 400, MESSAGES.badLink);
    if (subscriber?.status === 'pending' || subscriber?.status === 'active') return c.html(unsubscribePromptPage(listName, token, subscriber.email));
    return c.html(unsubscribedPage(listName, subscriber?.email ?? null));
  });

  // The page's button, and RFC 8058 one-click from a mail client (token in the query string).
  app.post('/unsubscribe', async (c) => {
    const body = await readForm(c);
    const oneClick = body['List-Unsubscribe'] === 'One-Click';
    const token = c.req.query('token') ?? (typeof body.token === 'string' ? body.token : '');
    const now = clock.now();
    const check = verifyToken(secret, token, 'unsubscribe', now);
    const subscriber = check.ok ? await store.subscriberById(check.subscriberId) : undefined;
    if (!check.ok || (subscriber && !belongsTo(check, subscriber))) {
      return oneClick ? c.text('This unsubscribe link is not valid.', 400) : check.ok ? page(c, 400, MESSAGES.badLink) : linkProblem(c, check.reason);
    }
    // Idempotent; a subscriber already deleted gets no mail either, so this too is a success.
    if (subscriber) await store.unsubscribe(subscriber.id, now.toISOString());
    if (oneClick) return c.text('Unsubscribed.');
    return c.html(unsubscribedPage(listName, subscriber?.email ?? null));
  });

  app.get('/healthz', async (c) => {
    try {
      await store.ping();
    } catch (error) {
      logger.error({ err: error }, 'health check: the store does not answer');
      return c.json({ status: 'error' }, 503);
    }
    return c.json({ status: 'ok' });
  });

  app.route('/', createDigestRoutes({ store, topics, secret, publicUrl: deps.publicUrl, listName }));

  if (deps.admin) app.route('/admin', deps.admin);

  app.notFound((c) => page(c, 404, MESSAGES.notFound));
  app.onError((error, c) => {
    // A response made for the refusal (bearer auth's 401 with WWW-Authenticate) goes out as is.
    if (error instanceof HTTPException && error.status < 500) return error.res ?? page(c, error.status, MESSAGES.badRequest);
    // The path only: query strings carry tokens, and logs outlive them.
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'web request failed');
    return page(c, 500, MESSAGES.serverError);
  });

  return app;
}

/** Urlencoded or multipart; a body that claims to be a form and is not is the client's error. */
async function readForm(c: Context): Promise<FormBody> {
  try {
    return await c.req.parseBody({ all: true });
  } catch (error) {
    throw new HTTPException(400, { message: 'unreadable form body', cause: error });
  }
}
