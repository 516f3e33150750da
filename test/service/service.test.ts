import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { startService, type Service } from '../../src/service/service.ts';
import { DUMP_FILES, REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { ingestPaths } from '../helpers/store.ts';
import { runCli, runCliAsync } from '../helpers/cli.ts';
import { startSmtpSink } from '../helpers/smtp-sink.ts';

const TOKEN = 'admin-token-for-tests-0123456789';
let app: App;
let service: Service | undefined;

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await app?.close();
});

async function serve(settings: Record<string, string> = {}) {
  const dir = tempDir();
  app = openApp({
    env: {
      PAPERBOY_DB: join(dir, 'paperboy.db'),
      PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
      PAPERBOY_INBOX: join(dir, 'inbox'),
      PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'),
      PAPERBOY_PORT: '0',
      PAPERBOY_LOG_LEVEL: 'silent',
      ...settings,
    },
  });
  service = await startService(app, { schedule: false });
  return service.url;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('admin API', () => {
  it('is not there at all without PAPERBOY_ADMIN_TOKEN', async () => {
    const url = await serve();
    expect((await fetch(`${url}/admin/runs`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('wants the bearer token: 401 without it or with a wrong one', async () => {
    const url = await serve({ PAPERBOY_ADMIN_TOKEN: TOKEN });
    expect((await fetch(`${url}/admin/runs`)).status).toBe(401);
    expect((await fetch(`${url}/admin/runs`, { headers: { authorization: 'Bearer wrong-token-wrong-token-wrong' } })).status).toBe(401);
    expect((await fetch(`${url}/admin/runs`, { headers: { authorization: 'Basic abc' } })).status).toBe(400);
    expect((await fetch(`${url}/admin/runs`, { headers: auth })).status).toBe(200);
  });

  it('sends manually (dry run and real), lists runs and pages subscribers', async () => {
    const url = await serve({ PAPERBOY_ADMIN_TOKEN: TOKEN });
    await ingestPaths(app.store, app.clock, [DUMP_FILES[0]!]);
    for (let i = 0; i < 5; i++) {
      await app.store.insertSubscriber({ email: `reader${i}@example.org`, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', app.clock.now().toISOString());
    }
    const post = (body: unknown) => fetch(`${url}/admin/send`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const dry = await post({ dry_run: true });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ dry_run: true, due: 5, queued: 5, run_id: null });

    const one = await post({ to: 'reader3@example.org' });
    expect(await one.json()).toMatchObject({ dry_run: false, trigger: 'manual', due: 1, queued: 1, delivery: { sent: 1 } });
    const rest = await post({});
    expect(await rest.json()).toMatchObject({ due: 4, delivery: { sent: 4 } });

    const runs = (await (await fetch(`${url}/admin/runs?limit=5`, { headers: auth })).json()) as any;
    expect(runs.runs.map((run: { trigger: string; sent: number }) => [run.trigger, run.sent])).toEqual([['manual', 4], ['manual', 1]]);

    const page1 = (await (await fetch(`${url}/admin/subscribers?limit=2`, { headers: auth })).json()) as any;
    expect(page1.subscribers.map((s: { email: string }) => s.email)).toEqual(['reader0@example.org', 'reader1@example.org']);
    const page3 = await (await fetch(`${url}/admin/subscribers?limit=2&after=${page1.next_after + 2}`, { headers: auth })).json();
    expect(page3).toMatchObject({ subscribers: [{ email: 'reader4@example.org' }], next_after: null, counts: { active: 5 } });
  });

  it('reactivates a bounced subscriber, and says when it cannot', async () => {
    const url = await serve({ PAPERBOY_ADMIN_TOKEN: TOKEN });
    const bounced = (await app.store.insertSubscriber({ email: 'gone@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'bounced', app.clock.now().toISOString()))!;
    const reactivate = (body: unknown) => fetch(`${url}/admin/subscribers/reactivate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const done = await reactivate({ email: 'Gone@Example.org' });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ subscriber: { id: bounced.id, status: 'active' }, was: 'bounced', suppression: null });
    expect(await app.store.subscriberById(bounced.id)).toMatchObject({ status: 'active', hardBounces: 0 });
    const again = await reactivate({ email: 'gone@example.org' });
    expect([again.status, await again.json()]).toEqual([422, { error: 'subscriber_invalid', message: 'gone@example.org is active: only bounced or unsubscribed addresses are reactivated' }]);
    expect((await reactivate({ email: 'nobody@example.org' })).status).toBe(404);
    expect((await reactivate({ mail: 'x' })).status).toBe(400);
  });

  it('rejects malformed requests with 400 and says why', async () => {
    const url = await serve({ PAPERBOY_ADMIN_TOKEN: TOKEN });
    const post = (body: string) => fetch(`${url}/admin/send`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(await (await post('not json')).json()).toEqual({ error: 'invalid_body', message: 'the body must be a JSON object, e.g. {"dry_run": true}' });
    const wrongType = await post('{"dry_run": "yes"}');
    expect(wrongType.status).toBe(400);
    const message = async (response: Response) => ((await response.json()) as { message: string }).message;
    expect(await message(wrongType)).toMatch(/^dry_run: /);
    expect(await message(await post('{"bcc": "x@y.org"}'))).toMatch(/bcc/);
    const unknown = await post('{"to": "nobody@example.org"}');
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: 'not_found', message: 'no subscriber nobody@example.org' }]);
    await app.store.acquireLease('delivery', 'elsewhere:1:abcd', new Date().toISOString(), new Date(Date.now() + 60_000).toISOString());
    const busy = await post('{}');
    expect(busy.status).toBe(409);
    expect(await message(busy)).toMatch(/^another run is delivering \(pid 1 on elsewhere, lease until /);
    expect((await fetch(`${url}/admin/subscribers?status=gone`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${url}/admin/subscribers?limit=0`, { headers: auth })).status).toBe(400);
  });
});

describe('paperboy serve', () => {
  it('serves, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/paperboy.js'), 'serve', '--no-schedule'], {
      env: { ...inherited, PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_PORT: '0', PAPERBOY_OUTBOX_DIR: join(dir, 'outbox') },
    });
    let stdout = '';
    const url = await new Promise<string>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        const match = /serving (http:\/\/[\d.:]+)/.exec(stdout);
        if (match) resolve(match[1]!);
      }),
    );
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('a SIGTERM during the start-up catch-up run ends it cleanly: exit 0, the message in flight finished, nothing sent twice on resume', async () => {
    const dir = tempDir();
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // Accept three digests, then hold the fourth until the process has been told to stop.
    const sink = await startSmtpSink({
      beforeAccept: async () => {
        if (sink.accepted.length === 3) {
          held();
          await released;
        }
        return undefined;
      },
    });
    try {
      const settings = {
        PAPERBOY_DB: join(dir, 'paperboy.db'),
        PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
        PAPERBOY_INBOX: join(dir, 'inbox'),
        PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true',
        PAPERBOY_SMTP_POOL: '1',
        PAPERBOY_SECRET: 'sigterm-test-secret-0123456789abcdef012',
        PAPERBOY_PUBLIC_URL: 'https://papers.example.org',
        PAPERBOY_PORT: '0',
      };
      const emails = Array.from({ length: 12 }, (_, i) => `reader${i}@example.org`);
      writeFileSync(join(dir, 'readers.csv'), `email\n${emails.join('\n')}\n`);
      expect(runCli(['subscribers', 'import', join(dir, 'readers.csv')], settings).status).toBe(0);
      mkdirSync(settings.PAPERBOY_INBOX);
      copyFileSync(DUMP_FILES[0]!, join(settings.PAPERBOY_INBOX, basename(DUMP_FILES[0]!)));

      // A fresh database has never had a scheduled run: serve catches up at once.
      const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/paperboy.js'), 'serve'], { env: { ...inherited, ...settings }, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await holding;
      child.kill('SIGTERM');
      // The signal is handled (no exit yet): the message in flight is let finish.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      expect(await exited).toBe(0);
      expect(sink.accepted).toHaveLength(4);

      const status = runCli(['status', '--json'], settings).json();
      expect(status.runs[0]).toMatchObject({ trigger: 'catch-up', status: 'done', sent: 4, deferred: 8 });
      expect(status.outbox).toEqual({ queued: 8, sent: 4, failed: 0 });

      const resumed = await runCliAsync(['run', '--json'], settings);
      expect(resumed.status).toBe(0);
      expect(resumed.json()).toMatchObject({ due: 0, resumed: 8, delivery: { sent: 8, failed: 0 } });
      const perRecipient = Object.fromEntries([...sink.byRecipient()].map(([to, mails]) => [to, mails.length]));
      expect(perRecipient).toEqual(Object.fromEntries(emails.map((email) => [email, 1])));
    } finally {
      await sink.close();
    }
  });
});
