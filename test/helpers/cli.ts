import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: () => any;
}

/** Runs `paperboy ARGS` as a subprocess, as a user would, with only the given PAPERBOY_* settings. */
export function runCli(args: string[], settings: Record<string, string>, cwd = REPO_ROOT): CliResult {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/paperboy.js'), ...args], {
    cwd,
    env: { ...inherited, ...settings },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    json: () => JSON.parse(result.stdout),
  };
}
