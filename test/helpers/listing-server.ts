import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO_ROOT } from './paths.ts';

/**
 * A real HTTP server on 127.0.0.1 that answers as Hugging Face and arXiv do, from the real
 * responses in test/fixtures/: `/api/daily_papers?date=…` (a day with no file answers `[]`,
 * as a weekend does), `/api/query?…&start=…` (three pages of one query, then an empty feed)
 * and `/rss/<category>`. Bodies carry an ETag and are gzipped when the client asks; a
 * matching If-None-Match gets 304. Scripted faults replace the next answers for a path.
 */

const FIXTURES = join(REPO_ROOT, 'test/fixtures');

export type Fault =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Closes the socket before any answer. */
  | 'drop'
  /** Sends the headers and half the body, then waits `ms` before the rest. */
  | { slowMs: number };

export interface LoggedRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface ListingServer {
  url: string;
  requests: LoggedRequest[];
  /** The next answers for this path (`/api/daily_papers?date=2026-07-20`, or a path alone for any query), in order. */
  fail(target: string, ...faults: Fault[]): void;
  /** Every answer for this target, until `heal`. */
  failAlways(target: string, fault: Fault): void;
  heal(): void;
  /** Requests for one HF day. */
  requestsFor(day: string): LoggedRequest[];
  close(): Promise<void>;
}

const EMPTY_FEED = `<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>https://arxiv.org/api/empty</id><title>arXiv Query</title><updated>2026-04-12T22:09:27Z</updated></feed>
`;

function defaultAnswer(path: string, query: URLSearchParams): { type: string; body: Buffer } | null {
  if (path === '/api/daily_papers') {
    const file = join(FIXTURES, 'hf-daily-papers', `${query.get('date')}.json`);
    return { type: 'application/json; charset=utf-8', body: existsSync(file) ? readFileSync(file) : Buffer.from('[]') };
  }
  if (path === '/api/query') {
    const file = join(FIXTURES, 'arxiv-api', `query-testing-start${query.get('start')}-max10.atom.xml`);
    return { type: 'application/atom+xml; charset=utf-8', body: existsSync(file) ? readFileSync(file) : Buffer.from(EMPTY_FEED) };
  }
  const rss = /^\/rss\/([\w.-]+)$/.exec(path);
  if (rss) {
    const file = join(FIXTURES, 'arxiv-rss', `${rss[1]}.rss.xml`);
    return existsSync(file) ? { type: 'application/rss+xml; charset=utf-8', body: readFileSync(file) } : null;
  }
  return null;
}

export async function startListingServer(): Promise<ListingServer> {
  const requests: LoggedRequest[] = [];
  const scripted = new Map<string, Fault[]>();
  const always = new Map<string, Fault>();
  const timers = new Set<NodeJS.Timeout>();

  const faultFor = (target: string, path: string): Fault | undefined => {
    for (const key of [target, path]) {
      const queue = scripted.get(key);
      if (queue && queue.length > 0) return queue.shift();
      if (always.has(key)) return always.get(key);
    }
    return undefined;
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: url.pathname, query: url.searchParams, headers: request.headers });
    const fault = faultFor(`${url.pathname}${url.search}`, url.pathname);
    if (fault === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      response.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      response.end(fault.body ?? '');
      return;
    }
    const answer = defaultAnswer(url.pathname, url.searchParams);
    if (!answer) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(answer.body).digest('hex').slice(0, 16)}"`;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { etag });
      response.end();
      return;
    }
    if (fault && 'slowMs' in fault) {
      sendSlowly(response, answer, fault.slowMs, timers);
      return;
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(answer.body) : answer.body;
    response.writeHead(200, { 'content-type': answer.type, etag, 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail: (target, ...faults) => scripted.set(target, [...(scripted.get(target) ?? []), ...faults]),
    failAlways: (target, fault) => always.set(target, fault),
    heal: () => {
      scripted.clear();
      always.clear();
    },
    requestsFor: (day) => requests.filter((logged) => logged.path === '/api/daily_papers' && logged.query.get('date') === day),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendSlowly(response: ServerResponse, answer: { type: string; body: Buffer }, ms: number, timers: Set<NodeJS.Timeout>): void {
  response.writeHead(200, { 'content-type': answer.type, 'content-length': String(answer.body.length) });
  response.write(answer.body.subarray(0, answer.body.length >> 1));
  const timer = setTimeout(() => {
    timers.delete(timer);
    response.end(answer.body.subarray(answer.body.length >> 1));
  }, ms);
  timers.add(timer);
}
