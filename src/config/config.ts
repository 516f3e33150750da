import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PaperboyError } from '../errors.ts';

/** Where Paperboy's own shipped files (sample listings, topic file, templates) live. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `20MB`, `512kb`, `1048576` → bytes. */
const byteSize = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size such as 20MB, 512KB or 1048576')
  .transform((text) => {
    const [, number, unit] = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text)!;
    return Math.round(Number(number) * UNITS[unit!.toLowerCase()]!);
  });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting Paperboy reads, as env vars named PAPERBOY_*. Defaults work on a fresh
 * clone; relative paths resolve against the working directory.
 */
const EnvSchema = z.object({
  PAPERBOY_DB: z.string().min(1).default('data/paperboy.db'),
  PAPERBOY_INBOX: z.string().min(1).default('data/inbox'),
  PAPERBOY_SAMPLE_LISTINGS: z.string().min(1).default(join(PACKAGE_ROOT, 'data/listings')),
  PAPERBOY_TOPICS: z.string().min(1).default(join(PACKAGE_ROOT, 'data/topics.yaml')),
  PAPERBOY_MAX_LISTING_BYTES: byteSize.default(20 * 1024 ** 2),
  PAPERBOY_LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  dbPath: string;
  inboxDir: string;
  sampleListingsDir: string;
  topicsPath: string;
  maxListingBytes: number;
  /** Unset means: info on a terminal, warnings and errors otherwise. */
  logLevel: (typeof LOG_LEVELS)[number] | undefined;
}

/**
 * Loads `.env` from the working directory if present (real env vars win), then validates.
 * An invalid value fails with one line naming the variable and what it expects.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const dotenvPath = join(cwd, '.env');
  if (env === process.env && existsSync(dotenvPath)) process.loadEnvFile(dotenvPath);

  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(blanksRemoved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = issue.path.join('.');
    const got = blanksRemoved[variable];
    throw new PaperboyError('CONFIG_INVALID', `${variable}=${JSON.stringify(got)} is invalid: expected ${issue.message} (see .env.example)`);
  }
  const values = parsed.data;
  return {
    dbPath: resolve(cwd, values.PAPERBOY_DB),
    inboxDir: resolve(cwd, values.PAPERBOY_INBOX),
    sampleListingsDir: resolve(cwd, values.PAPERBOY_SAMPLE_LISTINGS),
    topicsPath: resolve(cwd, values.PAPERBOY_TOPICS),
    maxListingBytes: values.PAPERBOY_MAX_LISTING_BYTES,
    logLevel: values.PAPERBOY_LOG_LEVEL,
  };
}
