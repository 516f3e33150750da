import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/paths.ts';

let dir: string;
let settings: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  settings = { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox') };
});

describe('PAPERBOY_OUTBOX_DIR problems (subprocess)', () => {
  it('a path under a file is one line naming the variable and the file in the way, exit 2', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const outbox = join(file, 'outbox');
    const result = runCli(['start'], { ...settings, PAPERBOY_OUTBOX_DIR: outbox });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`paperboy: PAPERBOY_OUTBOX_DIR=${outbox}: ${file} is not a folder\n`);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('a folder that cannot be made names the variable and the folder, exit 2', () => {
    const result = runCli(['start'], { ...settings, PAPERBOY_OUTBOX_DIR: '/proc/x/outbox' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^paperboy: PAPERBOY_OUTBOX_DIR=\/proc\/x\/outbox: cannot create the folder \/proc\/x \(.+\)\n$/);
  });

  it('the messages stay queued: the next run with a usable folder delivers them', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    expect(runCli(['start'], { ...settings, PAPERBOY_OUTBOX_DIR: join(file, 'outbox') }).status).toBe(2);
    const retry = runCli(['deliver', '--json'], { ...settings, PAPERBOY_OUTBOX_DIR: join(dir, 'outbox') });
    expect(retry.status).toBe(0);
    // The two daily demo subscribers, and the weekly one on its Monday (PAPERBOY_TZ is UTC).
    const queued = new Date().getUTCDay() === 1 ? 3 : 2;
    const report = retry.json();
    expect(report.delivery).toMatchObject({ sent: queued, failed: 0 });
    expect(report.outbox.queued).toBe(0);
    expect(readdirSync(join(dir, 'outbox')).filter((name) => name.endsWith('.eml'))).toHaveLength(queued);
  });
});
