import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import { z } from 'zod';
import { PaperboyError } from '../errors.ts';
import type { SourceName } from '../sources/names.ts';

/** Where Paperboy's own shipped files (sample listings, topic file, templates) live. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `20MB`, `512kb`, `1048576` → bytes. */
const byteSize = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size such as 20MB, 512KB or 1048576')
  .transform((text) => {
    const [, number, unit] = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text)!;
    return Math.round(Number(number) * UNITS[unit!.toLowerCase()]!);
  });

function wholeNumber(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `a whole number from ${min} to ${max}`);
}

/** `Name <address>` or a bare address; no control characters (they would reach a header). */
const mailbox = z
  .string()
  .trim()
  .regex(/^(?:[^<>\u0000-\u001f\u007f]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/, 'an address such as "Paperboy <digest@example.org>"');

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const DEFAULT_PUBLIC_URL = 'http://localhost:8080';

export const DEFAULT_LIST_NAME = 'Paperboy';
const MAX_LIST_NAME = 60;

/** Shown in subjects, headers and page titles: one line, short, and nothing that would end a quoted header phrase. */
const listName = z
  .string()
  .trim()
  .min(1, 'a name such as "Lab papers"')
  .max(MAX_LIST_NAME, `a name of at most ${MAX_LIST_NAME} characters`)
  .regex(/^[^\u0000-\u001f\u007f\u2028\u2029"\\]+$/, 'a one-line name without control characters, " or \\ (such as "Lab papers")');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting Paperboy reads, as env vars named PAPERBOY_*. Defaults work on a fresh
 * clone; relative paths resolve against the working directory.
 */
const EnvSchema = z.object({
  PAPERBOY_DB: z.string().min(1).default('data/paperboy.db'),
  PAPERBOY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional(),
  PAPERBOY_DATABASE_POOL: z.coerce.number().int().min(1).max(1000).default(10),
  PAPERBOY_DATABASE_SSL: z.enum(['disable', 'require', 'verify-full'], 'one of disable, require, verify-full').default('disable'),
  PAPERBOY_DATABASE_CA: z.string().min(1).optional(),
  PAPERBOY_INBOX: z.string().min(1).default('data/inbox'),
  PAPERBOY_SAMPLE_LISTINGS: z.string().min(1).default(join(PACKAGE_ROOT, 'data/listings')),
  PAPERBOY_TOPICS: z.string().min(1).default(join(PACKAGE_ROOT, 'data/topics.yaml')),
  PAPERBOY_MAX_LISTING_BYTES: byteSize.default(20 * 1024 ** 2),
  PAPERBOY_LOG_LEVEL: z.enum(LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`).optional(),
  PAPERBOY_TEMPLATES: z.string().min(1).default(join(PACKAGE_ROOT, 'templates')),
  PAPERBOY_DEMO_SUBSCRIBERS: z.string().min(1).default(join(PACKAGE_ROOT, 'data/demo-subscribers.csv')),
  PAPERBOY_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://digest.example.org' }).default(DEFAULT_PUBLIC_URL),
  PAPERBOY_ALLOW_HTTP_LINKS: z.enum(['true', 'false'], 'true or false').default('false'),
  PAPERBOY_SECRET: z.string().min(32, 'at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  PAPERBOY_TZ: z
    .string()
    .refine((zone) => isTimeZone(zone), 'an IANA time zone such as Europe/Berlin or UTC')
    .default('UTC'),
  PAPERBOY_BACKFILL_DAYS: wholeNumber(0, 365).default(7),
  PAPERBOY_CARRY_OVER_DAYS: wholeNumber(0, 365).default(7),
  PAPERBOY_MAX_PER_TOPIC: wholeNumber(1, 1000).default(10),
  PAPERBOY_MAX_PER_DIGEST: wholeNumber(1, 1000).default(50),
  PAPERBOY_SEND_EMPTY: z.enum(['true', 'false'], 'true or false').default('false'),
  PAPERBOY_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'an smtp:// or smtps:// URL such as smtps://user:pass@mail.example.org:465' }).optional(),
  PAPERBOY_OUTBOX_DIR: z.string().min(1).default('data/outbox'),
  PAPERBOY_LIST_NAME: listName.default(DEFAULT_LIST_NAME),
  PAPERBOY_FROM: mailbox.default('paperboy@localhost'),
  PAPERBOY_REPLY_TO: mailbox.optional(),
  PAPERBOY_UNSUBSCRIBE_MAILTO: z.email('an email address that receives unsubscribe requests').optional(),
  PAPERBOY_SMTP_TLS: z.enum(['require', 'opportunistic', 'none'], 'require, opportunistic or none').default('opportunistic'),
  PAPERBOY_SMTP_CA: z.string().min(1).optional(),
  PAPERBOY_SMTP_POOL: wholeNumber(1, 50).default(5),
  PAPERBOY_SMTP_RATE: wholeNumber(0, 10_000).default(0),
  PAPERBOY_SMTP_HOURLY_CAP: wholeNumber(0, 10_000_000).default(0),
  PAPERBOY_MAX_ATTEMPTS: wholeNumber(1, 100).default(6),
  PAPERBOY_RETRY_BASE_MS: wholeNumber(1, 3_600_000).default(2000),
  PAPERBOY_RETRY_WAIT_MS: wholeNumber(0, 3_600_000).default(60_000),
  PAPERBOY_BOUNCE_LIMIT: wholeNumber(1, 100).default(1),
  PAPERBOY_PAUSE_ERROR_RATE: z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'a fraction from 0 to 1, such as 0.5').transform(Number).default(0.5),
  PAPERBOY_PAUSE_MIN_ATTEMPTS: wholeNumber(1, 100_000).default(20),
  PAPERBOY_LEASE_SECONDS: wholeNumber(5, 86_400).default(120),
  PAPERBOY_CLAIM_SECONDS: wholeNumber(5, 86_400).optional(),
  PAPERBOY_RUN_WORKERS: wholeNumber(0, 64).optional(),
  PAPERBOY_SCHEDULE: z.string().trim().refine((expression) => cron.validate(expression), 'a cron expression such as "0 7 * * *" (daily at 07:00)').default('0 7 * * *'),
  PAPERBOY_HOST: z.string().min(1).default('127.0.0.1'),
  PAPERBOY_PORT: wholeNumber(0, 65_535).default(8080),
  PAPERBOY_ADMIN_TOKEN: z.string().min(24, 'at least 24 characters (e.g. `openssl rand -hex 24`)').optional(),
  PAPERBOY_ADMIN_SESSION_HOURS: wholeNumber(1, 24 * 30).default(12),
  PAPERBOY_PENDING_TTL_HOURS: wholeNumber(1, 24 * 90).default(48),
  PAPERBOY_RATE_LIMIT_IP: wholeNumber(1, 100_000).default(20),
  PAPERBOY_RATE_LIMIT_ADDRESS: wholeNumber(1, 1000).default(3),
  PAPERBOY_TRUST_PROXY: z.enum(['true', 'false'], 'true or false').default('false'),
  PAPERBOY_SOURCES: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(none|(hf|arxiv|arxiv-rss)(\s*,\s*(hf|arxiv|arxiv-rss))*)$/, 'none, or a comma list of hf, arxiv, arxiv-rss')
    .transform((text) => (text === 'none' ? [] : [...new Set(text.split(/\s*,\s*/))]) as SourceName[])
    .default(['hf']),
  PAPERBOY_HF_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://huggingface.co' }).default('https://huggingface.co'),
  PAPERBOY_ARXIV_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://export.arxiv.org' }).default('https://export.arxiv.org'),
  PAPERBOY_ARXIV_QUERY: z.string().trim().min(1).default('cat:cs.LG OR cat:cs.CL'),
  PAPERBOY_ARXIV_PAGE_SIZE: wholeNumber(1, 2000).default(100),
  PAPERBOY_ARXIV_MAX_PAGES: wholeNumber(1, 100).default(5),
  PAPERBOY_ARXIV_RSS: z
    .string()
    .trim()
    .regex(/^[A-Za-z-]+(\.[A-Za-z-]+)?(\s*,\s*[A-Za-z-]+(\.[A-Za-z-]+)?)*$/, 'a comma list of arXiv categories such as cs.LG,cs.CL')
    .transform((text) => [...new Set(text.split(/\s*,\s*/))])
    .default(['cs.LG']),
  PAPERBOY_ARXIV_RSS_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://rss.arxiv.org/rss/' }).default('https://rss.arxiv.org/rss/'),
  PAPERBOY_HTTP_CONNECT_TIMEOUT_MS: wholeNumber(1, 600_000).default(10_000),
  PAPERBOY_HTTP_TIMEOUT_MS: wholeNumber(1, 3_600_000).default(60_000),
  PAPERBOY_HTTP_RETRIES: wholeNumber(0, 10).default(3),
  PAPERBOY_HTTP_RETRY_BASE_MS: wholeNumber(1, 600_000).default(1_000),
  PAPERBOY_DKIM_DOMAIN: z.string().min(1).optional(),
  PAPERBOY_DKIM_SELECTOR: z.string().min(1).optional(),
  PAPERBOY_DKIM_PRIVATE_KEY: z.string().min(1).optional(),
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  /** One line each, for stderr: PAPERBOY_* names Paperboy does not know (a likely misspelling). */
  warnings: string[];
  /** PAPERBOY_LIST_NAME: what mail and pages call this list (escaped wherever it goes). */
  listName: string;
  dbPath: string;
  /** PAPERBOY_DATABASE_URL: the shared PostgreSQL store; null means SQLite at dbPath. */
  databaseUrl: string | null;
  databasePool: number;
  databaseSsl: 'disable' | 'require' | 'verify-full';
  databaseCaPath: string | null;
  inboxDir: string;
  sampleListingsDir: string;
  topicsPath: string;
  maxListingBytes: number;
  /** Unset means: info on a terminal, warnings and errors otherwise. */
  logLevel: (typeof LOG_LEVELS)[number] | undefined;
  templatesDir: string;
  demoSubscribersPath: string;
  /** Base of every link in mail and pages, without a trailing slash. */
  publicUrl: string;
  /** Unset: a secret is generated once and kept beside the database (embedded default). */
  secret: string | undefined;
  timeZone: string;
  digest: { backfillDays: number; carryOverDays: number; maxPerTopic: number; maxPerDigest: number; sendEmpty: boolean };
  delivery: DeliveryConfig;
  service: ServiceConfig;
  sources: SourcesConfig;
}

/** Where a run fetches listings from besides the inbox, and how it talks to those services. */
export interface SourcesConfig {
  /** PAPERBOY_SOURCES, in the order given; empty: the inbox only. */
  enabled: SourceName[];
  hfUrl: string;
  arxiv: { url: string; query: string; pageSize: number; maxPages: number };
  arxivRss: { url: string; categories: string[] };
  http: { connectTimeoutMs: number; bodyTimeoutMs: number; retries: number; retryBaseMs: number };
}

export interface ServiceConfig {
  schedule: string;
  host: string;
  port: number;
  /** Unset: no admin API at all. */
  adminToken: string | undefined;
  /** Admin console sessions end this many hours after sign-in. */
  adminSessionHours: number;
  pendingTtlHours: number;
  rateLimit: { perIpPerHour: number; perAddressPerHour: number };
  trustProxy: boolean;
}

export interface DeliveryConfig {
  /** Unset: mail is written to `outboxDir` as .eml files (the embedded default). */
  smtpUrl: string | undefined;
  outboxDir: string;
  /** PAPERBOY_FROM; a bare address gets the list name as its display name. */
  from: string;
  /** The list's name, for the List-Id header's phrase. */
  listName: string;
  replyTo: string | undefined;
  unsubscribeMailto: string;
  poolSize: number;
  /** Messages per second; 0 = no limit. */
  ratePerSecond: number;
  /** Messages per rolling hour; 0 = no cap. */
  hourlyCap: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** A run waits in-process for retries due within this long; later ones wait for the next run. */
  retryWaitMs: number;
  bounceLimit: number;
  pauseErrorRate: number;
  pauseMinAttempts: number;
  leaseSeconds: number;
  /**
   * How long a worker's claim on a message lasts unless renewed: a worker that dies holds its
   * messages this long at most before another worker takes them (PAPERBOY_CLAIM_SECONDS).
   */
  claimSeconds: number;
  /**
   * `deliver` worker processes a run starts beside itself, so queueing and sending use two
   * cores (PAPERBOY_RUN_WORKERS). Default: one over SMTP on a machine with two cores or more,
   * none for the file outbox (writing files gains nothing from a second process).
   */
  runWorkers: number;
  /**
   * STARTTLS on smtp:// URLs: `require` it (fail rather than send in clear), use it when
   * offered (`opportunistic`), or never (`none`: a local MTA on loopback). smtps:// is TLS from the start.
   */
  tls: 'require' | 'opportunistic' | 'none';
  /** PEM of a CA to trust besides the system's (a local MTA's self-signed certificate). */
  ca: string | undefined;
  dkim: { domainName: string; keySelector: string; privateKey: string } | undefined;
}

/**
 * Loads `.env` from the working directory if present (real env vars win), then validates.
 * An invalid value fails with one line naming the variable and what it expects.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const dotenvPath = join(cwd, '.env');
  if (env === process.env && existsSync(dotenvPath)) process.loadEnvFile(dotenvPath);

  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(blanksRemoved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = issue.path.join('.');
    const got = blanksRemoved[variable];
    const shown = variable === 'PAPERBOY_SECRET' || variable === 'PAPERBOY_ADMIN_TOKEN' ? '(hidden)' : JSON.stringify(got);
    throw new PaperboyError('CONFIG_INVALID', `${variable}=${shown} is invalid: expected ${issue.message} (see .env.example)`);
  }
  const values = parsed.data;
  // Real mail carries unsubscribe and preferences links: they must reach the pages over TLS,
  // never the default http://localhost the embedded setup uses.
  if (values.PAPERBOY_SMTP_URL && values.PAPERBOY_ALLOW_HTTP_LINKS !== 'true') {
    const given = blanksRemoved.PAPERBOY_PUBLIC_URL;
    if (given === undefined || !/^https:/i.test(given)) {
      throw new PaperboyError(
        'CONFIG_INVALID',
        `PAPERBOY_PUBLIC_URL${given === undefined ? ' is not set' : `=${JSON.stringify(given)} is not https`}: with PAPERBOY_SMTP_URL set, links in real mail need the https:// address of your pages (e.g. https://digest.example.org); PAPERBOY_ALLOW_HTTP_LINKS=true allows http`,
      );
    }
  }
  // A run waiting in-process for a retry holds nothing but its lease; a wait as long as the
  // lease would leave a second run no way to tell a waiting run from a dead one.
  if (values.PAPERBOY_RETRY_WAIT_MS >= values.PAPERBOY_LEASE_SECONDS * 1000) {
    throw new PaperboyError(
      'CONFIG_INVALID',
      `PAPERBOY_RETRY_WAIT_MS=${values.PAPERBOY_RETRY_WAIT_MS} is invalid: expected less than PAPERBOY_LEASE_SECONDS (${values.PAPERBOY_LEASE_SECONDS} s = ${values.PAPERBOY_LEASE_SECONDS * 1000} ms); lower it or raise the lease`,
    );
  }
  return {
    warnings: unknownVariables(Object.keys(blanksRemoved)),
    listName: values.PAPERBOY_LIST_NAME,
    dbPath: resolve(cwd, values.PAPERBOY_DB),
    databaseUrl: values.PAPERBOY_DATABASE_URL ?? null,
    databasePool: values.PAPERBOY_DATABASE_POOL,
    databaseSsl: values.PAPERBOY_DATABASE_SSL,
    databaseCaPath: values.PAPERBOY_DATABASE_CA ? resolve(cwd, values.PAPERBOY_DATABASE_CA) : null,
    inboxDir: resolve(cwd, values.PAPERBOY_INBOX),
    sampleListingsDir: resolve(cwd, values.PAPERBOY_SAMPLE_LISTINGS),
    topicsPath: resolve(cwd, values.PAPERBOY_TOPICS),
    maxListingBytes: values.PAPERBOY_MAX_LISTING_BYTES,
    logLevel: values.PAPERBOY_LOG_LEVEL,
    templatesDir: resolve(cwd, values.PAPERBOY_TEMPLATES),
    demoSubscribersPath: resolve(cwd, values.PAPERBOY_DEMO_SUBSCRIBERS),
    publicUrl: values.PAPERBOY_PUBLIC_URL.replace(/\/+$/, ''),
    secret: values.PAPERBOY_SECRET,
    timeZone: values.PAPERBOY_TZ,
    digest: {
      backfillDays: values.PAPERBOY_BACKFILL_DAYS,
      carryOverDays: values.PAPERBOY_CARRY_OVER_DAYS,
      maxPerTopic: values.PAPERBOY_MAX_PER_TOPIC,
      maxPerDigest: values.PAPERBOY_MAX_PER_DIGEST,
      sendEmpty: values.PAPERBOY_SEND_EMPTY === 'true',
    },
    delivery: {
      smtpUrl: values.PAPERBOY_SMTP_URL,
      outboxDir: resolve(cwd, values.PAPERBOY_OUTBOX_DIR),
      from: values.PAPERBOY_FROM.includes('<') ? values.PAPERBOY_FROM : `"${values.PAPERBOY_LIST_NAME}" <${values.PAPERBOY_FROM}>`,
      listName: values.PAPERBOY_LIST_NAME,
      replyTo: values.PAPERBOY_REPLY_TO,
      unsubscribeMailto: values.PAPERBOY_UNSUBSCRIBE_MAILTO ?? addressOf(values.PAPERBOY_FROM),
      poolSize: values.PAPERBOY_SMTP_POOL,
      ratePerSecond: values.PAPERBOY_SMTP_RATE,
      hourlyCap: values.PAPERBOY_SMTP_HOURLY_CAP,
      maxAttempts: values.PAPERBOY_MAX_ATTEMPTS,
      retryBaseMs: values.PAPERBOY_RETRY_BASE_MS,
      retryWaitMs: values.PAPERBOY_RETRY_WAIT_MS,
      bounceLimit: values.PAPERBOY_BOUNCE_LIMIT,
      pauseErrorRate: values.PAPERBOY_PAUSE_ERROR_RATE,
      pauseMinAttempts: values.PAPERBOY_PAUSE_MIN_ATTEMPTS,
      leaseSeconds: values.PAPERBOY_LEASE_SECONDS,
      claimSeconds: values.PAPERBOY_CLAIM_SECONDS ?? values.PAPERBOY_LEASE_SECONDS,
      runWorkers: values.PAPERBOY_RUN_WORKERS ?? (values.PAPERBOY_SMTP_URL && availableParallelism() > 1 ? 1 : 0),
      tls: values.PAPERBOY_SMTP_TLS,
      ca: values.PAPERBOY_SMTP_CA && readConfigFile('PAPERBOY_SMTP_CA', resolve(cwd, values.PAPERBOY_SMTP_CA), 'the CA file'),
      dkim: dkimConfig(values, cwd),
    },
    service: {
      schedule: values.PAPERBOY_SCHEDULE,
      host: values.PAPERBOY_HOST,
      port: values.PAPERBOY_PORT,
      adminToken: values.PAPERBOY_ADMIN_TOKEN,
      adminSessionHours: values.PAPERBOY_ADMIN_SESSION_HOURS,
      pendingTtlHours: values.PAPERBOY_PENDING_TTL_HOURS,
      rateLimit: { perIpPerHour: values.PAPERBOY_RATE_LIMIT_IP, perAddressPerHour: values.PAPERBOY_RATE_LIMIT_ADDRESS },
      trustProxy: values.PAPERBOY_TRUST_PROXY === 'true',
    },
    sources: {
      enabled: values.PAPERBOY_SOURCES,
      hfUrl: values.PAPERBOY_HF_URL,
      arxiv: { url: values.PAPERBOY_ARXIV_URL, query: values.PAPERBOY_ARXIV_QUERY, pageSize: values.PAPERBOY_ARXIV_PAGE_SIZE, maxPages: values.PAPERBOY_ARXIV_MAX_PAGES },
      arxivRss: { url: values.PAPERBOY_ARXIV_RSS_URL, categories: values.PAPERBOY_ARXIV_RSS },
      http: {
        connectTimeoutMs: values.PAPERBOY_HTTP_CONNECT_TIMEOUT_MS,
        bodyTimeoutMs: values.PAPERBOY_HTTP_TIMEOUT_MS,
        retries: values.PAPERBOY_HTTP_RETRIES,
        retryBaseMs: values.PAPERBOY_HTTP_RETRY_BASE_MS,
      },
    },
  };
}

/** Every PAPERBOY_* name Paperboy reads. */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

/** A warning for each PAPERBOY_* name that is not a setting, with the closest one that is. */
function unknownVariables(names: string[]): string[] {
  return names
    .filter((name) => name.startsWith('PAPERBOY_') && !KNOWN_VARIABLES.includes(name))
    .sort()
    .map((name) => {
      const closest = closestName(name, KNOWN_VARIABLES);
      return `${name} is not a Paperboy setting and is ignored${closest ? `; did you mean ${closest}?` : ''}`;
    });
}

/** The known name fewest edits away, if it is near enough to be a misspelling. */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.slice('PAPERBOY_'.length), candidate.slice('PAPERBOY_'.length));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const length = name.length - 'PAPERBOY_'.length;
  return bestDistance <= Math.max(2, Math.floor(length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The bare address of `Name <address>` (the last angle brackets: a quoted list name may hold others). */
export function addressOf(mailboxText: string): string {
  return /<([^<>]+)>\s*$/.exec(mailboxText)?.[1] ?? mailboxText;
}

/** All three DKIM settings or none; the key may be PEM text or a path to a PEM file. */
function dkimConfig(values: z.output<typeof EnvSchema>, cwd: string): DeliveryConfig['dkim'] {
  const { PAPERBOY_DKIM_DOMAIN: domainName, PAPERBOY_DKIM_SELECTOR: keySelector, PAPERBOY_DKIM_PRIVATE_KEY: key } = values;
  const given = [domainName, keySelector, key].filter(Boolean).length;
  if (given === 0) return undefined;
  if (!domainName || !keySelector || !key) {
    throw new PaperboyError('CONFIG_INVALID', 'PAPERBOY_DKIM_DOMAIN, PAPERBOY_DKIM_SELECTOR and PAPERBOY_DKIM_PRIVATE_KEY go together: set all three or none');
  }
  const privateKey = key.includes('-----BEGIN') ? key.replace(/\\n/g, '\n') : readConfigFile('PAPERBOY_DKIM_PRIVATE_KEY', resolve(cwd, key), 'the key file');
  return { domainName, keySelector, privateKey };
}

function readConfigFile(variable: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new PaperboyError('CONFIG_INVALID', `${variable}: cannot read ${what} ${path}`);
  }
}
