import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PaperboyError } from './errors.ts';

/**
 * Makes `dir` and its missing parents one level at a time, so a failure names the variable,
 * the folder and the reason in one line (a recursive mkdir reports a raw `EEXIST`, and under
 * /proc never returns at all).
 */
export function ensureDirectory(dir: string, variable: string, shown = dir): void {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    const stat = statOrUndefined(current);
    if (stat) {
      if (!stat.isDirectory()) throw new PaperboyError('CONFIG_INVALID', `${variable}=${shown}: ${current} is not a folder`);
      break;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statOrUndefined(folder)?.isDirectory()) continue;
      throw new PaperboyError('CONFIG_INVALID', `${variable}=${shown}: cannot create the folder ${folder} (${reason(code)})`, { cause: error });
    }
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'this file system does not allow it',
  ENOTDIR: 'a parent is not a folder',
  ENOSPC: 'no space left on the device',
};

export function reason(code: string | undefined): string {
  return (code && REASONS[code]) ?? code ?? 'unknown error';
}
