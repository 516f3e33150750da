import type { Clock } from '../clock.ts';
import { formatBytes } from '../format-bytes.ts';
import type { StateRepository } from '../store/port.ts';

/**
 * The one way Paperboy talks to other people's servers: Node's fetch (undici), named by a
 * User-Agent with a contact address, bounded in time and size, conditional (ETag /
 * Last-Modified kept per URL in the store), and retrying only what a retry can fix
 * (connection errors, 429, 5xx), with backoff, jitter and the server's Retry-After.
 */

export interface HttpSettings {
  /** `Paperboy/<version> (+mailto:<address>)`. */
  userAgent: string;
  /** From the request until the response headers arrive (connect, TLS, server think time). */
  connectTimeoutMs: number;
  /** From the request until the last byte of the body. */
  bodyTimeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** The first backoff; each further one doubles, plus up to as much again of jitter. */
  retryBaseMs: number;
  /** A Retry-After longer than this is not waited for: the request fails now. */
  maxRetryAfterMs: number;
}

export const DEFAULT_HTTP_SETTINGS: Omit<HttpSettings, 'userAgent'> = {
  connectTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  retries: 3,
  retryBaseMs: 1_000,
  maxRetryAfterMs: 5 * 60_000,
};

export function userAgentFor(version: string, fromAddress: string): string {
  return `Paperboy/${version} (+mailto:${fromAddress})`;
}

export interface HttpDeps {
  settings: HttpSettings;
  clock: Clock;
  /** Bodies larger than this are not read (PAPERBOY_MAX_LISTING_BYTES). */
  maxBytes: number;
  /** Where each URL's validators live between runs. */
  state: Pick<StateRepository, 'getState' | 'setState'>;
  /** 0 ≤ x < 1; injected so tests can pin the jitter. */
  random?: () => number;
}

/** The validators a server gave for a URL's last good body. */
interface CachedValidators {
  etag?: string;
  lastModified?: string;
}

export type HttpResult =
  | {
      kind: 'body';
      url: string;
      status: number;
      contentType: string;
      bytes: Uint8Array;
      /** Stores this body's validators: call it once the body was ingested, so a failed one is fetched in full next time. */
      remember(): Promise<void>;
    }
  | { kind: 'not-modified'; url: string };

/** A request that failed for good: one line naming the URL and the reason. */
export class HttpError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly status: number | null,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'HttpError';
  }
}

export interface HttpClient {
  get(url: string): Promise<HttpResult>;
  /** Requests sent (every attempt counts), and how many were answered 304. */
  readonly counts: { requests: number; notModified: number };
}

const cacheKey = (url: string) => `http-cache:${url}`;

export function createHttpClient(deps: HttpDeps): HttpClient {
  const { settings, clock } = deps;
  const random = deps.random ?? Math.random;
  const counts = { requests: 0, notModified: 0 };

  const get = async (url: string): Promise<HttpResult> => {
    const cached = await readValidators(deps.state, url);
    for (let attempt = 0; ; attempt++) {
      const outcome = await attemptOnce(url, cached);
      if (outcome.kind === 'done') return outcome.result;
      const retryIn = outcome.retryAfterMs ?? settings.retryBaseMs * 2 ** attempt * (1 + random());
      if (attempt >= settings.retries) throw new HttpError(url, `${outcome.reason} (gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'})`, outcome.status);
      if (retryIn > settings.maxRetryAfterMs) {
        throw new HttpError(url, `${outcome.reason}; the server asks to wait ${Math.round(retryIn / 1000)} s, longer than Paperboy waits in a run`, outcome.status);
      }
      await clock.sleep(retryIn);
    }
  };

  type Attempt = { kind: 'done'; result: HttpResult } | { kind: 'retry'; reason: string; status: number | null; retryAfterMs: number | null };

  const attemptOnce = async (url: string, cached: CachedValidators): Promise<Attempt> => {
    const controller = new AbortController();
    let timedOut: string | null = null;
    const abortAfter = (ms: number, why: string) =>
      setTimeout(() => {
        timedOut = why;
        controller.abort();
      }, ms);
    const connectTimer = abortAfter(settings.connectTimeoutMs, `no response within ${settings.connectTimeoutMs} ms`);
    const bodyTimer = abortAfter(settings.bodyTimeoutMs, `the response did not finish within ${settings.bodyTimeoutMs} ms`);
    counts.requests++;
    try {
      const headers: Record<string, string> = { 'user-agent': settings.userAgent, 'accept-encoding': 'gzip' };
      if (cached.etag) headers['if-none-match'] = cached.etag;
      if (cached.lastModified) headers['if-modified-since'] = cached.lastModified;
      const response = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
      clearTimeout(connectTimer);
      if (response.status === 304) {
        counts.notModified++;
        await response.body?.cancel();
        return { kind: 'done', result: { kind: 'not-modified', url } };
      }
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel();
        return { kind: 'retry', reason: statusLine(response), status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), clock.now()) };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new HttpError(url, statusLine(response), response.status);
      }
      const bytes = await readCapped(url, response, deps.maxBytes);
      const validators: CachedValidators = {
        ...(response.headers.get('etag') ? { etag: response.headers.get('etag')! } : {}),
        ...(response.headers.get('last-modified') ? { lastModified: response.headers.get('last-modified')! } : {}),
      };
      return {
        kind: 'done',
        result: {
          kind: 'body',
          url,
          status: response.status,
          contentType: printable(response.headers.get('content-type') ?? ''),
          bytes,
          remember: async () => {
            if (validators.etag || validators.lastModified) await deps.state.setState(cacheKey(url), JSON.stringify(validators));
          },
        },
      };
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const reason = timedOut ?? `connection failed: ${describeFetchError(error)}`;
      return { kind: 'retry', reason, status: null, retryAfterMs: null };
    } finally {
      clearTimeout(connectTimer);
      clearTimeout(bodyTimer);
      // A body left unread (over the cap, a failed read) must not hold its connection open.
      controller.abort();
    }
  };

  return { get, counts };
}

async function readValidators(state: HttpDeps['state'], url: string): Promise<CachedValidators> {
  const raw = await state.getState(cacheKey(url));
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as CachedValidators;
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

/** Reads the (already gunzipped) body, stopping as soon as it passes the cap. */
async function readCapped(url: string, response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  // A gzipped body's declared length is the compressed one: a lower bound of the real size.
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new HttpError(url, `the response is ${formatBytes(declared)}, over the ${formatBytes(maxBytes)} limit (PAPERBOY_MAX_LISTING_BYTES)`, response.status);
  }
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new HttpError(url, `the response is over the ${formatBytes(maxBytes)} limit (PAPERBOY_MAX_LISTING_BYTES)`, response.status);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `Retry-After: 120` or an HTTP date → milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/** `HTTP 503 Service Unavailable`: the server's words, kept to printable ASCII (they reach logs and terminals). */
function statusLine(response: Response): string {
  return `HTTP ${response.status} ${printable(response.statusText)}`.trim();
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '').slice(0, 200);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message.split('\n', 1)[0]})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
