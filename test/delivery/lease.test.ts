import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import type { Renderer } from '../../src/digest/render.ts';
import { isPaperboyError } from '../../src/errors.ts';
import { runDigests, type PipelineDeps, type RunReport } from '../../src/pipeline/run.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SinkBehaviour, type SmtpSink } from '../helpers/smtp-sink.ts';
import { ingestPaths } from '../helpers/store.ts';
import { DATABASES } from '../helpers/databases.ts';

let database = DATABASES[0]!;

/**
 * The run lease holds for as long as the run lives, not only between messages: through a
 * queue phase, and through a wait for a retry, each longer than the lease itself. A second
 * run started meanwhile is refused, and every subscriber gets exactly one digest.
 */
const LEASE_SECONDS = 5;
let sink: SmtpSink | undefined;
const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await sink?.close();
});

async function setUp(readers: number, behaviour: SinkBehaviour = {}) {
  const dir = tempDir();
  sink = await startSmtpSink(behaviour);
  const env = {
    ...(await database.env(dir)),
    PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
    PAPERBOY_INBOX: join(dir, 'inbox'),
    PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
    PAPERBOY_SECRET: 'lease-test-secret-0123456789abcdef012345',
    PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
    PAPERBOY_LEASE_SECONDS: String(LEASE_SECONDS),
    PAPERBOY_RETRY_WAIT_MS: '4000',
    PAPERBOY_LOG_LEVEL: 'silent',
  };
  const first = openApp({ env });
  const second = openApp({ env });
  apps.push(first, second);
  await ingestPaths(first.store, first.clock, [DUMP_FILES[0]!]);
  await first.store.withTransaction(async (tx) => {
    for (let i = 0; i < readers; i++) await tx.insertSubscriber({ email: `reader${i}@example.org`, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', first.clock.now().toISOString());
  });
  return { first, second };
}

/** A renderer that takes `ms` of CPU per digest: a queue phase as slow as a large list's. */
function slowed(deps: PipelineDeps, ms: number): PipelineDeps {
  return {
    ...deps,
    digests: async () => {
      const { context, renderer } = await deps.digests();
      const slow: Renderer = {
        ...renderer,
        renderDigest: (data) => {
          const until = performance.now() + ms;
          while (performance.now() < until);
          return renderer.renderDigest(data);
        },
      };
      return { context, renderer: slow };
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function secondRunDuring(first: Promise<RunReport>, second: App, afterMs: number) {
  await pause(afterMs);
  const refused = await runDigests(second.pipeline(), { trigger: 'manual' }).catch((error: unknown) => error);
  const report = await first;
  return { report, refused };
}

const perRecipient = () => Object.fromEntries([...sink!.byRecipient()].map(([to, mails]) => [to, mails.length]));
const everyoneOnce = (readers: number) => Object.fromEntries(Array.from({ length: readers }, (_, i) => [`reader${i}@example.org`, 1]));

describe.each(DATABASES)('the run lease ($name)', (adapter) => {
  beforeEach(() => {
    database = adapter;
  });

  it('holds through a queue phase longer than the lease: a second run is refused, nobody gets two digests', async () => {
    const readers = 160;
    const { first, second } = await setUp(readers);
    // About 7.5 s of queueing (45 ms a digest) against a 5 s lease; the second run starts at 6 s.
    const running = runDigests(slowed(first.pipeline(), 45), { trigger: 'scheduled' });
    const { report, refused } = await secondRunDuring(running, second, (LEASE_SECONDS + 1) * 1000);
    expect(isPaperboyError(refused, 'LEASE_HELD')).toBe(true);
    expect(report).toMatchObject({ status: 'done', queued: readers, delivery: { sent: readers } });
    expect(perRecipient()).toEqual(everyoneOnce(readers));
  });

  it('holds through a wait for a retry longer than the lease', async () => {
    const readers = 3;
    // Every first attempt is greylisted; the retry comes after a wait the run sits through.
    const { first, second } = await setUp(readers, { rcpt: (_address, attempt) => (attempt === 1 ? 451 : undefined) });
    const deps = first.pipeline();
    // A retry 8–16 s away, waited for in the run (the shipped check keeps PAPERBOY_RETRY_WAIT_MS under the
    // lease; past it, only the timer keeps the lease alive).
    const waiting: PipelineDeps = { ...deps, config: { ...deps.config, delivery: { ...deps.config.delivery, retryBaseMs: 16_000, retryWaitMs: 17_000 } } };
    const running = runDigests(waiting, { trigger: 'scheduled' });
    const { report, refused } = await secondRunDuring(running, second, (LEASE_SECONDS + 1) * 1000);
    expect(isPaperboyError(refused, 'LEASE_HELD')).toBe(true);
    expect(report).toMatchObject({ status: 'done', delivery: { sent: readers, retried: readers, failed: 0 } });
    expect(perRecipient()).toEqual(everyoneOnce(readers));
  });

  it('PAPERBOY_RETRY_WAIT_MS as long as the lease is refused at start, naming both variables', () => {
    expect(() => openApp({ env: { PAPERBOY_DB: join(tempDir(), 'x.db'), PAPERBOY_LEASE_SECONDS: '60', PAPERBOY_RETRY_WAIT_MS: '60000' } })).toThrow(
      'PAPERBOY_RETRY_WAIT_MS=60000 is invalid: expected less than PAPERBOY_LEASE_SECONDS (60 s = 60000 ms); lower it or raise the lease',
    );
  });
});
