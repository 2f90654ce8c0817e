import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/serving.js';

const TIMEOUT_MS = 1000;

interface Outcome {
  /** ms from the connection to its close. */
  closedAfterMs: number;
  response: string;
}

/** Opens a raw connection, lets `drive` write to it, resolves when the server closes it. */
function rawClient(port: number, drive: (s: Socket) => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 15 s; received: ${response}`));
    }, 15_000);
    socket.on('data', (d) => {
      response += String(d);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ closedAfterMs: performance.now() - started, response });
    });
    socket.on('connect', () => drive(socket));
  });
}

/** Sends `body` one byte every `everyMs` (stops when the socket closes). */
function trickle(socket: Socket, body: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= body.length) {
      clearInterval(timer);
      return;
    }
    socket.write(body[i++]!);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

/** Issue 8, item 7: slow clients cannot hold connections past FERRY_REQUEST_TIMEOUT_MS. */
describe('slow clients', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startTestServer({
      limits: { requestTimeoutMs: TIMEOUT_MS, keepAliveTimeoutMs: 500, maxConnections: 3 },
    });
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server?.close());

  it('a body sent one byte at a time is cut near the timeout with a 408 in Ferry shape', async () => {
    const body = JSON.stringify({ title: 'x'.repeat(200) });
    const out = await rawClient(port, (s) => {
      s.write(
        `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      trickle(s, body, 50);
    });
    expect(out.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(out.closedAfterMs).toBeLessThan(TIMEOUT_MS + 1500);
    expect(out.response).toMatch(/^HTTP\/1\.1 408/);
    expect(out.response).toMatch(/x-request-id: \S+/i);
    expect(out.response).toContain('"code":"FERRY_HTTP_TIMEOUT"');
  });

  it('a v2 request cut the same way gets the protocol\'s {"error": "..."}', async () => {
    const out = await rawClient(port, (s) => {
      s.write(
        'POST /v2/models/tagifai/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{',
      );
    });
    expect(out.response).toMatch(/^HTTP\/1\.1 408/);
    const json = out.response.slice(out.response.indexOf('\r\n\r\n') + 4);
    expect(typeof (JSON.parse(json) as { error: unknown }).error).toBe('string');
  });

  it('headers sent slowly are cut near the timeout too', async () => {
    const out = await rawClient(port, (s) =>
      trickle(s, 'GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'a'.repeat(500), 50),
    );
    expect(out.closedAfterMs).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const out = await rawClient(port, (s) => s.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(out.response).toMatch(/^HTTP\/1\.1 200/);
    expect(out.closedAfterMs).toBeLessThan(500 + 1500);
  });

  it('connections over FERRY_MAX_CONNECTIONS are closed at once; the others are served', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        await new Promise((r) => s.on('connect', r));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const out = await rawClient(port, (s) => s.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
      expect(out.response).toBe('');
      expect(out.closedAfterMs).toBeLessThan(500);
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    const ok = await fetch(`${server.url}/v2/health/live`);
    expect(ok.status).toBe(200);
  });
});
