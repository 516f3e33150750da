import { spawn, spawnSync } from 'node:child_process';
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
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: childEnv(settings), encoding: 'utf8', timeout: 60_000 });
  return cliResult(result.status, result.stdout, result.stderr);
}

/**
 * The same, without blocking this process: needed when the CLI talks to a server this test
 * runs in-process (an SMTP sink), which must keep answering meanwhile.
 */
export function runCliAsync(args: string[], settings: Record<string, string>, cwd = REPO_ROOT): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: childEnv(settings) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve(cliResult(status, stdout, stderr))));
}

/** The compiled CLI, as `npm install` builds it (test/global-setup.ts builds it once per test run). */
export const CLI = join(REPO_ROOT, 'dist/cli/main.js');

export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PAPERBOY_')));
  // Offline unless a test points a source at its own server: no test fetches from the real Hugging Face.
  return { ...inherited, PAPERBOY_SOURCES: 'none', ...settings };
}

function cliResult(status: number | null, stdout: string, stderr: string): CliResult {
  return { status, stdout, stderr, json: () => JSON.parse(stdout) };
}
