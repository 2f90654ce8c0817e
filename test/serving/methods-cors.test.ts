import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCorsOrigins } from '../../src/serving/http/cors.js';
import { loadServingConfig } from '../../src/serving/serving-config.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import { PROJECTS, startTestServer, type TestServer } from '../helpers/serving.js';

const APP = 'https://app.example';

/** Issue 8, item 27: 405 with Allow for a path served with other methods; CORS off by default. */
describe('405 Method Not Allowed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ listen: false });
  });
  afterAll(() => server?.close());

  it('GET /predict and OPTIONS answer 405 with Allow, in Ferry shape, with x-request-id', async () => {
    for (const [method, url, allow] of [
      ['GET', '/predict', 'POST'],
      ['OPTIONS', '/predict', 'POST'],
      ['DELETE', '/', 'GET, HEAD'],
      ['GET', '/v2/models/tagifai/infer', 'POST'],
      ['GET', '/v2/models/tagifai/versions/1/infer', 'POST'],
      ['PUT', '/v2/health/live', 'GET, HEAD'],
      ['OPTIONS', '/v1/predictions/tagifai/some-id', 'GET, HEAD, POST'],
    ] as const) {
      const res = await server.app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow, `${method} ${url}`).toBe(allow);
      expect(res.headers['x-request-id']).toBeTruthy();
      if (url.startsWith('/v2')) expect(typeof res.json().error).toBe('string');
      else expect(res.json().error.code).toBe('FERRY_HTTP_METHOD_NOT_ALLOWED');
    }
  });

  it('a path that exists with no method stays 404; CORS headers are absent when CORS is off', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/nope', headers: { origin: APP } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('FERRY_HTTP_NOT_FOUND');
    const preflight = await server.app.inject({
      method: 'OPTIONS',
      url: '/predict',
      headers: { origin: APP, 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const post = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: PROJECTS.nlp,
      headers: { origin: APP },
    });
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.headers.vary).toBeUndefined();
  });
});

describe('CORS (FERRY_CORS_ORIGINS)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      listen: false,
      config: { corsOrigins: [APP, 'http://localhost:3000'] },
    });
  });
  afterAll(() => server?.close());

  const preflight = (origin: string, method: string, url = '/predict') =>
    server.app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'content-type',
      },
    });

  it('an allowed origin gets a 204 preflight naming it, the path methods and headers, Vary: Origin', async () => {
    const res = await preflight(APP, 'POST');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-methods']).toBe('POST');
    expect(String(res.headers['access-control-allow-headers'])).toContain('content-type');
    expect(String(res.headers.vary)).toContain('Origin');
    const v2 = await preflight('http://localhost:3000', 'POST', '/v2/models/tagifai/infer');
    expect(v2.statusCode).toBe(204);
  });

  it('a denied origin or method gets 403 FERRY_HTTP_CORS_DENIED without CORS headers', async () => {
    const other = await preflight('https://evil.example', 'POST');
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('FERRY_HTTP_CORS_DENIED');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['x-request-id']).toBeTruthy();
    const method = await preflight(APP, 'DELETE');
    expect(method.statusCode).toBe(403);
    expect(method.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('actual requests: allowed origins get Allow-Origin and exposed headers, others not; all Vary: Origin', async () => {
    const ok = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: PROJECTS.nlp,
      headers: { origin: APP },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');
    expect(ok.headers.vary).toBe('Origin');
    const denied = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: PROJECTS.nlp,
      headers: { origin: 'https://evil.example' },
    });
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    expect(denied.headers.vary).toBe('Origin');
    // Errors carry the headers too, or the browser could not read them.
    const bad = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: {},
      headers: { origin: APP },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['access-control-allow-origin']).toBe(APP);
  });

  it('FERRY_CORS_ORIGINS is validated: origins or *, off when unset', () => {
    expect(loadServingConfig({}).corsOrigins).toEqual([]);
    expect(parseCorsOrigins(' https://a.example , http://localhost:3000 ')).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(parseCorsOrigins('*')).toEqual(['*']);
    for (const bad of ['a.example', 'https://a.example/', 'https://a.example/path', 'ftp://a.example']) {
      expectFerryErrorSync(() => parseCorsOrigins(bad), 'FERRY_CONFIG_INVALID');
    }
  });
});
