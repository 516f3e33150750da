import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { startWebServer } from '../../src/web/server.ts';

describe('startWebServer', () => {
  const app = new Hono().get('/', (c) => c.text('hello'));

  it('listens on a free port when asked for port 0, serves, and closes with a keep-alive connection open', async () => {
    const server = await startWebServer(app, { port: 0, host: '127.0.0.1' });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
    const response = await fetch(`${server.url}/`, { headers: { connection: 'keep-alive' } });
    expect(await response.text()).toBe('hello');
    await server.close();
    await expect(fetch(`${server.url}/`)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    const first = await startWebServer(app, { port: 0, host: '127.0.0.1' });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startWebServer(app, { port, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});
