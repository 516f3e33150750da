import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { systemClock, type Clock } from './clock.ts';
import type { DigestContext } from './digest/prepare.ts';
import type { PipelineDeps } from './pipeline/run.ts';
import { inboxSource } from './sources/files.ts';
import type { ListingSource } from './sources/port.ts';
import { arxivApiSource } from './sources/arxiv-api.ts';
import { arxivRssSource } from './sources/arxiv-rss.ts';
import type { DayRange, FetchingSource, FetchingSourceDeps } from './sources/fetching.ts';
import type { SourceName } from './sources/names.ts';
import { hfDailySource } from './sources/hf-daily.ts';
import { DEFAULT_HTTP_SETTINGS, userAgentFor } from './sources/http.ts';
import type { Renderer } from './digest/render.ts';
import { createFileMailer } from './delivery/file-mailer.ts';
import type { Mailer } from './delivery/mailer.ts';
import { createSmtpMailer } from './delivery/smtp-mailer.ts';
import { PaperboyError, isPaperboyError, oneLine } from './errors.ts';
import { ensureDirectory, reason } from './fs-paths.ts';
import { addressOf, loadConfig, PACKAGE_ROOT, type Config } from './config/config.ts';
import { createLogger, type Logger } from './log.ts';
import type { Store } from './store/port.ts';
import { openSqliteStore } from './store/sqlite/store.ts';
import { openPostgresStoreLazily } from './store/postgres/store.ts';
import { createClassifier, type Classifier } from './topics/classify.ts';
import { filePendingPapers } from './topics/file-papers.ts';
import { loadTaxonomy, type Taxonomy } from './topics/taxonomy.ts';

/**
 * The composition root: the one place that reads config and picks the adapters (the store,
 * the mailer, the listing sources, the clock). The CLI, the server and the scheduler all get
 * their parts from here; no stage imports an adapter.
 */
export interface App {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** The taxonomy and its compiled classifier, loaded on first use (a broken file fails here). */
  topics(): { taxonomy: Taxonomy; classify: Classifier };
  /** Files every paper that is new, changed, or filed by an older taxonomy version. */
  filePapers(): Promise<number>;
  /** The sources a run ingests: the network sources PAPERBOY_SOURCES names, then the inbox folder; `offline`: the inbox alone. */
  sources(options?: { offline?: boolean }): ListingSource[];
  /** The network sources PAPERBOY_SOURCES names (or `only` those), as `paperboy fetch` polls them. */
  fetchingSources(options?: FetchOptions): FetchingSource[];
  /** The pipeline's ports and settings, for `runDigests`; `offline` (the demo) fetches nothing. */
  pipeline(options?: { offline?: boolean }): PipelineDeps;
  /** PAPERBOY_SECRET, or (embedded default) one generated once and kept beside the database. */
  secret(): string;
  /** The MJML templates, compiled once per process on first use. */
  renderer(): Promise<Renderer>;
  digestContext(): DigestContext;
  /** SMTP pool from PAPERBOY_SMTP_URL, or the file outbox; opened on first use. */
  mailer(): Mailer;
  close(): Promise<void>;
}

export interface FetchOptions {
  /** Only this source (`--source`), even when PAPERBOY_SOURCES leaves it out. */
  only?: SourceName;
  range?: DayRange;
  dryRun?: boolean;
}

export interface AppOptions {
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  verbose?: boolean;
  /** `--json`: logs as JSON lines; otherwise one readable line each. */
  json?: boolean;
  /** The log level when PAPERBOY_LOG_LEVEL is unset. */
  defaultLogLevel?: string;
}

export function openApp(options: AppOptions = {}): App {
  const config = loadConfig(options.env);
  const logger = createLogger(config.logLevel, { verbose: options.verbose, json: options.json, defaultLevel: options.defaultLogLevel });
  const store = openStore(config);
  let topics: { taxonomy: Taxonomy; classify: Classifier } | undefined;
  let secret: string | undefined;
  let renderer: Promise<Renderer> | undefined;
  let mailer: Mailer | undefined;
  const app: App = {
    config,
    store,
    clock: options.clock ?? systemClock,
    logger,
    topics: () => {
      if (!topics) {
        const taxonomy = loadTaxonomy(config.topicsPath);
        topics = { taxonomy, classify: createClassifier(taxonomy) };
      }
      return topics;
    },
    filePapers: async () => {
      const { taxonomy, classify } = app.topics();
      const filed = await filePendingPapers(store, classify, taxonomy.version);
      if (filed > 0) logger.info({ filed, taxonomyVersion: taxonomy.version }, `filed ${filed} papers by topic`);
      return filed;
    },
    sources: (options = {}) => [...(options.offline ? [] : app.fetchingSources()), inboxSource(config.inboxDir)],
    fetchingSources: (options = {}) => createFetchingSources(config, store, options),
    pipeline: (options = {}) => ({
      store,
      clock: app.clock,
      logger,
      mailer: app.mailer(),
      sources: app.sources(options),
      filePapers: app.filePapers,
      digests: async () => ({ context: app.digestContext(), renderer: await app.renderer() }),
      config: {
        maxListingBytes: config.maxListingBytes,
        timeZone: config.timeZone,
        sendEmpty: config.digest.sendEmpty,
        pendingTtlHours: config.service.pendingTtlHours,
        delivery: config.delivery,
      },
    }),
    secret: () => (secret ??= config.secret ?? embeddedSecret(config)),
    // Imported on first use: Handlebars and MJML are for the commands that render.
    renderer: () => (renderer ??= import('./digest/render.ts').then(({ createRenderer }) => createRenderer({ templatesDir: config.templatesDir, listName: config.listName }))),
    digestContext: () => ({
      store,
      taxonomy: app.topics().taxonomy,
      publicUrl: config.publicUrl,
      secret: app.secret(),
      rules: config.digest,
    }),
    mailer: () => (mailer ??= config.delivery.smtpUrl ? createSmtpMailer(config.delivery) : createFileMailer(config.delivery.outboxDir)),
    close: async () => {
      await mailer?.close();
      await store.close();
    },
  };
  return app;
}

/** The SQLite store at PAPERBOY_DB; any failure is one line naming the variable and the file. */
function openSqliteAt(dbPath: string): Store {
  if (dbPath === ':memory:') return openSqliteStore(dbPath);
  ensureDirectory(dirname(dbPath), 'PAPERBOY_DB', dbPath);
  try {
    return openSqliteStore(dbPath);
  } catch (error) {
    if (isPaperboyError(error)) throw error;
    const code = (error as { code?: string }).code;
    const why = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' ? `${oneLine(error)} (a damaged file, or not Paperboy's; restore a backup or point PAPERBOY_DB elsewhere)` : code?.startsWith('SQLITE_') ? oneLine(error) : reason(code);
    throw new PaperboyError(code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' ? 'STORE_OPEN' : 'CONFIG_INVALID', `PAPERBOY_DB=${dbPath}: cannot open the database: ${why}`, { cause: error });
  }
}

/**
 * The embedded default needs no setup: a random secret is made once and kept beside the
 * database (mode 0600). Real mail needs a secret the operator owns and backs up.
 */
function embeddedSecret(config: Config): string {
  if (config.delivery.smtpUrl) {
    throw new PaperboyError('CONFIG_INVALID', 'PAPERBOY_SECRET is required when PAPERBOY_SMTP_URL is set (links in real mail must survive a lost data folder): set it to `openssl rand -hex 32`');
  }
  return persistedSecret(join(dirname(config.dbPath), 'secret'));
}

function persistedSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** Each network source PAPERBOY_SOURCES names, in its order, over the store's state for cursors and validators. */
function createFetchingSources(config: Config, store: Store, options: FetchOptions): FetchingSource[] {
  const { sources } = config;
  const deps: FetchingSourceDeps = {
    state: store,
    timeZone: config.timeZone,
    backfillDays: config.digest.backfillDays,
    ...(options.range ? { range: options.range } : {}),
    dryRun: options.dryRun ?? false,
    http: {
      ...DEFAULT_HTTP_SETTINGS,
      userAgent: userAgentFor(packageVersion(), addressOf(config.delivery.from)),
      connectTimeoutMs: sources.http.connectTimeoutMs,
      bodyTimeoutMs: sources.http.bodyTimeoutMs,
      retries: sources.http.retries,
      retryBaseMs: sources.http.retryBaseMs,
    },
  };
  const build: Record<SourceName, () => FetchingSource> = {
    hf: () => hfDailySource(sources.hfUrl, deps),
    arxiv: () => arxivApiSource({ baseUrl: sources.arxiv.url, query: sources.arxiv.query, pageSize: sources.arxiv.pageSize, maxPages: sources.arxiv.maxPages }, deps),
    'arxiv-rss': () => arxivRssSource(sources.arxivRss.url, sources.arxivRss.categories, deps),
  };
  return (options.only ? [options.only] : sources.enabled).map((name) => build[name]());
}

let version: string | undefined;

/** Paperboy's version, as package.json states it (it names Paperboy in the User-Agent). */
function packageVersion(): string {
  return (version ??= (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
}

/** PAPERBOY_DATABASE_URL=postgres://… selects the shared PostgreSQL store; unset, SQLite at PAPERBOY_DB. */
function openStore(config: Config): Store {
  if (!config.databaseUrl) return openSqliteAt(config.dbPath);
  return openPostgresStoreLazily({
    url: config.databaseUrl,
    pool: config.databasePool,
    ssl: config.databaseSsl,
    ca: config.databaseCaPath ? readFileSync(config.databaseCaPath, 'utf8') : null,
  });
}
