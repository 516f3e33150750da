import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/**
 * Compiles the CLI to dist/ once per test run: the subprocess tests run it as it ships
 * (`node dist/cli/main.js`), each start a fraction of a second instead of tsx's compile.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], { cwd: REPO_ROOT, stdio: 'inherit' });
}
