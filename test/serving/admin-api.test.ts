import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

interface FerryErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

let reg: TestRegistry;
let server: TestServer;
let disabled: TestServer;
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false });
  disabled = await startTestServer({ registry: reg, listen: false });
});
afterAll(async () => {
  await server?.close();
  await disabled?.close();
  await reg?.close();
});

const auth = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });
const moveAlias = (s: TestServer, version: unknown, headers: Record<string, string> = {}) =>
  s.app.inject({
    method: 'PUT',
    url: '/v1/models/tagifai/aliases/production',
    payload: { version } as object,
    headers,
  });
const predictVersion = async (s: TestServer) => {
  const res = await s.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
  expect(res.statusCode).toBe(200);
  return res.headers['x-ferry-model-version'];
};

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as FerryErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
}

describe('admin API: 401 without the right bearer token, and nothing changes', () => {
  const UNAUTHORIZED = 'FERRY_HTTP_UNAUTHORIZED';

  it('without Authorization', async () => {
    expectError(await server.app.inject({ method: 'GET', url: '/v1/models' }), 401, UNAUTHORIZED);
    expectError(await server.app.inject({ method: 'POST', url: '/v1/reload' }), 401, UNAUTHORIZED);
    const res = await moveAlias(server, 2);
    expectError(res, 401, UNAUTHORIZED);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(await reg.production()).toBe(1);
    expect(await predictVersion(server)).toBe('1');
  });

  it('with a wrong token, a different scheme, or an empty one', async () => {
    for (const headers of [
      auth('wrong'),
      auth(`${ADMIN_TOKEN}x`),
      auth(ADMIN_TOKEN.slice(0, -1)),
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: ADMIN_TOKEN },
      { authorization: 'Bearer ' },
      { authorization: '' },
    ]) {
      expectError(await moveAlias(server, 2, headers), 401, UNAUTHORIZED);
      expectError(await server.app.inject({ method: 'GET', url: '/v1/models', headers }), 401, UNAUTHORIZED);
    }
    expect(await reg.production()).toBe(1);
  });

  it('a bad body without a token is still 401 (auth before parsing)', async () => {
    const res = await server.app.inject({
      method: 'PUT',
      url: '/v1/models/tagifai/aliases/production',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expectError(res, 401, UNAUTHORIZED);
  });

  it('with no FERRY_ADMIN_TOKEN configured, even a "right" token is 401', async () => {
    for (const headers of [{}, auth(), auth('undefined'), auth('')]) {
      expectError(await moveAlias(disabled, 2, headers), 401, UNAUTHORIZED);
      expectError(
        await disabled.app.inject({ method: 'GET', url: '/v1/models', headers }),
        401,
        UNAUTHORIZED,
      );
      expectError(
        await disabled.app.inject({ method: 'POST', url: '/v1/reload', headers }),
        401,
        UNAUTHORIZED,
      );
    }
    expect(await reg.production()).toBe(1);
    expect(await predictVersion(disabled)).toBe('1');
  });
});

describe('admin API with the right token', () => {
  it('GET /v1/models lists the models and what is served', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v1/models', headers: auth() });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      models: { name: string; versionCount: number }[];
      served: Record<string, number>;
    };
    expect(body.models).toHaveLength(1);
    expect(body.models[0]).toMatchObject({ name: 'tagifai', versionCount: 2 });
    expect(body.served).toEqual({ 'tagifai@production': 1 });
  });

  it('GET /v1/models/tagifai lists its versions', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v1/models/tagifai', headers: auth() });
    expect(res.statusCode).toBe(200);
    const versions = (res.json() as { versions: { version: number }[] }).versions.map((v) => v.version);
    expect(versions.sort()).toEqual([1, 2]);
  });

  it('GET /v1/models/nope → 404 FERRY_REGISTRY_NOT_FOUND like PUT, not 200 with no versions', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v1/models/nope', headers: auth() });
    expectError(res, 404, 'FERRY_REGISTRY_NOT_FOUND');
    // Clients are never told where the registry lives.
    expect(res.body).not.toMatch(/sqlite:|ferry\.db|\/tmp\//);
  });

  it('PUT …/aliases/production {version: 2} swaps: the next /predict is answered by version 2', async () => {
    const res = await moveAlias(server, 2, auth());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'tagifai', alias: 'production', from: 1, to: 2 });
    expect(await reg.production()).toBe(2);
    expect(await predictVersion(server)).toBe('2');
  });

  it('POST /v1/reload makes another server pick up the move', async () => {
    // `disabled` does not poll (aliasPollMs 0): it still serves version 1 until it refreshes.
    expect(await predictVersion(disabled)).toBe('1');
    await disabled.runtime.host.refresh();
    expect(await predictVersion(disabled)).toBe('2');
    // Move back behind the server's back, then reload through the API.
    await reg.setAlias(1);
    expect(await predictVersion(server)).toBe('2');
    const res = await server.app.inject({ method: 'POST', url: '/v1/reload', headers: auth() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ served: { 'tagifai@production': 1 } });
    expect(await predictVersion(server)).toBe('1');
  });

  it('PUT with version 99 → 404 FERRY_REGISTRY_NOT_FOUND, alias unchanged', async () => {
    const res = await moveAlias(server, 99, auth());
    expectError(res, 404, 'FERRY_REGISTRY_NOT_FOUND');
    expect(await reg.production()).toBe(1);
    expect(await predictVersion(server)).toBe('1');
  });

  it('PUT on an unknown model → 404 FERRY_REGISTRY_NOT_FOUND', async () => {
    const res = await server.app.inject({
      method: 'PUT',
      url: '/v1/models/nope/aliases/production',
      payload: { version: 1 },
      headers: auth(),
    });
    expectError(res, 404, 'FERRY_REGISTRY_NOT_FOUND');
  });

  it('PUT with a bad body → 400, alias unchanged', async () => {
    for (const version of [0, -1, 1.5, '2', null]) {
      expectError(await moveAlias(server, version, auth()), 400, 'FERRY_HTTP_INVALID_REQUEST');
    }
    const extra = await server.app.inject({
      method: 'PUT',
      url: '/v1/models/tagifai/aliases/production',
      payload: { version: 2, sneaky: true },
      headers: auth(),
    });
    expectError(extra, 400, 'FERRY_HTTP_INVALID_REQUEST');
    expect(await reg.production()).toBe(1);
  });

  it('PUT with an invalid alias name → 4xx, not 5xx', async () => {
    const res = await server.app.inject({
      method: 'PUT',
      url: `/v1/models/tagifai/aliases/${encodeURIComponent('bad alias!')}`,
      payload: { version: 2 },
      headers: auth(),
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(await reg.production()).toBe(1);
  });
});
