import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/serving.js';

/** Sends raw bytes, resolves with everything the server wrote before closing. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    let out = '';
    s.on('data', (d) => {
      out += String(d);
    });
    s.on('error', () => {});
    s.on('close', () => resolve(out));
  });
}

function jsonOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

/** Issue 8, item 6: answers the HTTP layer gives itself use Ferry's shapes and carry x-request-id. */
describe('framework-level answers', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startTestServer({ limits: { bodyLimit: 2048 } });
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server?.close());

  it('malformed HTTP: 400 in Ferry shape with x-request-id', async () => {
    const res = await raw(port, 'THIS IS NOT HTTP\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 400/);
    expect(res).toMatch(/x-request-id: [0-9a-f-]{36}/i);
    expect(jsonOf(res)).toEqual({
      error: { code: 'FERRY_HTTP_INVALID_REQUEST', message: 'malformed HTTP request', details: {} },
    });
  });

  it('headers too large: 431 in Ferry shape', async () => {
    const res = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 431/);
    expect((jsonOf(res) as { error: { code: string } }).error.code).toBe('FERRY_HTTP_HEADERS_TOO_LARGE');
  });

  it("a malformed URL, a body too large, bad JSON: Ferry's shapes (v2's on v2) with x-request-id", async () => {
    const badUrl = await fetch(`${server.url}/v2/models/%E0%A4%A`);
    expect(badUrl.headers.get('x-request-id')).toBeTruthy();
    expect(typeof ((await badUrl.json()) as { error: unknown }).error).toBe('string');

    const big = await fetch(`${server.url}/v2/models/tagifai/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'title', datatype: 'BYTES', shape: [1], data: ['x'.repeat(5000)] }],
      }),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('x-request-id')).toBeTruthy();
    expect(typeof ((await big.json()) as { error: unknown }).error).toBe('string');

    const badJson = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('x-request-id')).toBeTruthy();
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe(
      'FERRY_HTTP_INVALID_REQUEST',
    );
  });

  it('while shutting down: 503 FERRY_SERVING_SHUTTING_DOWN in Ferry shape for a request still arriving', async () => {
    const closing = await startTestServer();
    const closingPort = Number(new URL(closing.url).port);
    const body = JSON.stringify({ title: 'Transfer learning with transformers' });
    const socket = connect(closingPort, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += String(d);
    });
    socket.on('error', () => {});
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.on('connect', () => r()));
    // Request 1 in flight (half its body sent), so the connection is not idle when closing starts.
    socket.write(
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    const closed = closing.close();
    await new Promise((r) => setTimeout(r, 100));
    // The rest of request 1 and, pipelined behind it, request 2: it arrives while shutting down.
    socket.write(`${body.slice(5)}GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n`);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))]);
    socket.destroy();
    await closed;
    const responses = out.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(responses[1]).toMatch(/x-request-id: \S+/i);
    expect(jsonOf(responses[1]!)).toEqual({ error: 'the server is shutting down' });
  });
});
