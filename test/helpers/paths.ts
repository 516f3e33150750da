import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const LISTINGS_DIR = join(REPO_ROOT, 'data/listings');
export const DUMP_FILES = [
  '000_cd13bc2b975ed213.txt',
  '001_96552d90002adab9.txt',
  '002_c8ebe4c74f399ac9.txt',
  '003_2d6bc31a2ed833d4.txt',
  '004_5469d8643e5461ee.txt',
].map((name) => join(LISTINGS_DIR, name));
export const HF_API_SAMPLE = join(LISTINGS_DIR, 'hf-daily-papers-api-2024-10-25.json');
export const ATOM_SAMPLE = join(LISTINGS_DIR, 'arxiv-api-query.atom.xml');

const created: string[] = [];

/** A fresh temporary folder, removed after the current test. */
export function tempDir(prefix = 'paperboy-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

afterEach(() => {
  while (created.length > 0) rmSync(created.pop()!, { recursive: true, force: true });
});
