import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { runCli } from '../helpers/cli.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';

let settings: Record<string, string>;

beforeEach(() => {
  const dir = tempDir();
  settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_OUTBOX_DIR: join(dir, 'outbox') };
});

describe('paperboy subscribers update', () => {
  it('changes topics and frequency, reactivates with --status active, and refuses other statuses', async () => {
    expect(runCli(['subscribers', 'add', 'ada@example.org'], settings).status).toBe(0);
    const store = openSqliteStore(settings.PAPERBOY_DB!);
    await store.withTransaction(async (tx) => {
      const ada = (await tx.subscriberByEmail('ada@example.org'))!;
      await tx.unsubscribe(ada.id, new Date().toISOString());
    });
    await store.close();
    const updated = runCli(['subscribers', 'update', 'ada@example.org', '--status', 'active', '--frequency', 'weekly', '--weekday', 'fri', '--json'], settings);
    expect(updated.status).toBe(0);
    expect(updated.json()).toMatchObject({ subscriber: { email: 'ada@example.org', status: 'active', frequency: 'weekly' }, was: { status: 'unsubscribed', frequency: 'daily' } });
    const refused = runCli(['subscribers', 'update', 'ada@example.org', '--status', 'bounced'], settings);
    // The exit code of a validation error (1 today, 2 per the README) belongs to the CLI's exit-code work.
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('status: only "active" can be set');
    expect(runCli(['subscribers', 'update', 'nobody@example.org', '--frequency', 'daily'], settings).status).not.toBe(0);
  });
});

describe('paperboy status --recipients', () => {
  it("lists the last run's messages with their outcome", () => {
    runCli(['ingest', DUMP_FILES[0]!], settings);
    runCli(['subscribers', 'add', 'ada@example.org'], settings);
    expect(runCli(['run'], settings).status).toBe(0);
    const status = runCli(['status', '--recipients', '--json'], settings);
    expect(status.status).toBe(0);
    expect(status.json().recipients).toMatchObject([{ recipient: 'ada@example.org', kind: 'digest', status: 'sent', attempts: 1, smtp_reply: null }]);
    expect(runCli(['status', '--recipients'], settings).stdout).toMatch(/recipients of run \d+:\n {2}sent {4}ada@example\.org \(digest, 1 attempt\(s\)\)/);
  });
});
