import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface WebServer {
  /** `http://host:port` with the port actually bound (port 0 asks for a free one). */
  url: string;
  /** Stops accepting connections, lets requests in flight finish, drops idle keep-alives. */
  close(): Promise<void>;
}

export function startWebServer(app: Hono, options: { port: number; host: string }): Promise<WebServer> {
  return new Promise((resolve, reject) => {
    // No createServer option is passed, so @hono/node-server makes a plain node:http server.
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({ url: `http://${host}:${info.port}`, close: () => close(server) });
    }) as Server;
    server.once('error', reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
