#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, which `npm install` runs as `prepare`): no
// TypeScript compiler at start-up, no cache or temp files, nothing written but the data folder.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('paperboy: dist/cli/main.js is missing: run `npm run build` (or `npm install`) in the Paperboy folder first\n');
  process.exit(2);
}
await import(main.href);
