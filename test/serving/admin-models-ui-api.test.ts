/**
 * The admin API the dashboard's Models page reads (issue 15): versions a page at a time with their
 * total, the alias history, and the rollback `ferry models rollback` does, all behind the admin token.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AliasEvent, ModelVersion } from '../../src/registry/types.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

interface FerryErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}
interface VersionsPage {
  versions: ModelVersion[];
  total: number;
  limit: number;
  offset: number;
  order: string;
}
interface AliasesPage {
  name: string;
  aliases: Record<string, number>;
  events: AliasEvent[];
  total: number;
  limit: number;
  offset: number;
}

/** Versions 1 and 2 trained; 3..EXTRA+2 are copies of version 1's artifact (cheap, content-addressed). */
const EXTRA = 8;
const TOTAL = 2 + EXTRA;

let reg: TestRegistry;
let server: TestServer;
beforeAll(async () => {
  reg = await createTestRegistry();
  const { version, bytes } = await reg.registry.loadArtifact(`${MODEL}/1`);
  for (let i = 0; i < EXTRA; i++) {
    await reg.registry.register(MODEL, bytes, {
      kind: version.kind,
      params: version.params,
      metrics: { ...version.metrics, val_f1: 0.5 + i / 100 },
      dataset: version.dataset,
      tags: { copy: String(i) },
      signature: version.signature,
    });
  }
  server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

const auth = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });
const get = (url: string, headers: Record<string, string> = auth()) =>
  server.app.inject({ method: 'GET', url, headers });
const rollback = (alias: string, payload?: object, headers: Record<string, string> = auth()) =>
  server.app.inject({
    method: 'POST',
    url: `/v1/models/${MODEL}/aliases/${alias}/rollback`,
    headers,
    ...(payload !== undefined ? { payload } : {}),
  });
const servedVersion = async () => {
  const res = await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
  expect(res.statusCode).toBe(200);
  return res.headers['x-ferry-model-version'];
};

function expectError(res: LightMyRequestResponse, status: number, code: string): FerryErrorBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as FerryErrorBody;
  expect(body.error.code).toBe(code);
  return body;
}

describe('the new routes need the admin token', () => {
  it('401 FERRY_HTTP_UNAUTHORIZED without it or with a wrong one, and nothing moves', async () => {
    for (const headers of [{}, auth('wrong')]) {
      expectError(await get(`/v1/models/${MODEL}?limit=5`, headers), 401, 'FERRY_HTTP_UNAUTHORIZED');
      expectError(await get(`/v1/models/${MODEL}/aliases`, headers), 401, 'FERRY_HTTP_UNAUTHORIZED');
      const res = await rollback('production', {}, headers);
      expectError(res, 401, 'FERRY_HTTP_UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(await reg.production()).toBe(1);
  });
});

describe('GET /v1/models/:name pages the versions', () => {
  it('without a query string: the first 50, oldest first, with the total (as before, plus total)', async () => {
    const res = await get(`/v1/models/${MODEL}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as VersionsPage;
    expect(body.versions.map((v) => v.version)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(body).toMatchObject({ total: TOTAL, limit: 50, offset: 0, order: 'oldest' });
    expect(body.versions[0]).toMatchObject({ version: 1, aliases: ['production'] });
    expect(body.versions[0]!.metrics.val_f1).toEqual(expect.any(Number));
  });

  it('limit, offset and order=newest cut the list in the right place', async () => {
    const first = (await get(`/v1/models/${MODEL}?limit=3&order=newest`)).json() as VersionsPage;
    expect(first.versions.map((v) => v.version)).toEqual([TOTAL, TOTAL - 1, TOTAL - 2]);
    expect(first.total).toBe(TOTAL);
    const last = (
      await get(`/v1/models/${MODEL}?limit=3&offset=${TOTAL - 2}&order=newest`)
    ).json() as VersionsPage;
    expect(last.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(last.versions[1]!.aliases).toEqual(['production']);
    const past = (await get(`/v1/models/${MODEL}?limit=3&offset=${TOTAL}`)).json() as VersionsPage;
    expect(past.versions).toEqual([]);
    expect(past.total).toBe(TOTAL);
    const oldest = (await get(`/v1/models/${MODEL}?limit=2&offset=1`)).json() as VersionsPage;
    expect(oldest.versions.map((v) => v.version)).toEqual([2, 3]);
  });

  it('a limit out of 1..500, a negative or fractional offset, an unknown order or parameter → 400', async () => {
    for (const q of [
      'limit=0',
      'limit=501',
      'limit=x',
      'offset=-1',
      'offset=1.5',
      'order=random',
      'sneaky=1',
    ]) {
      expectError(await get(`/v1/models/${MODEL}?${q}`), 400, 'FERRY_HTTP_INVALID_REQUEST');
    }
    expect((await get(`/v1/models/${MODEL}?limit=500`)).statusCode).toBe(200);
  });

  it('an unknown model → 404 FERRY_REGISTRY_NOT_FOUND naming the known ones; a malformed name → 400', async () => {
    const body = expectError(await get('/v1/models/nope?limit=5'), 404, 'FERRY_REGISTRY_NOT_FOUND');
    expect(body.error.details.knownModels).toEqual([MODEL]);
    expectError(await get('/v1/models/Bad%20Name'), 400, 'FERRY_REGISTRY_INVALID_NAME');
    expectError(await get(`/v1/models/${'a'.repeat(64)}`), 400, 'FERRY_HTTP_INVALID_REQUEST');
  });
});

describe('GET /v1/models/:name/aliases and POST …/aliases/:alias/rollback', () => {
  it('lists the aliases now and their moves, newest first, with the reason given', async () => {
    const res = await get(`/v1/models/${MODEL}/aliases`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as AliasesPage;
    expect(body).toMatchObject({ name: MODEL, aliases: { production: 1 }, total: 1, limit: 50, offset: 0 });
    expect(body.events).toEqual([
      expect.objectContaining({ alias: 'production', fromVersion: null, toVersion: 1, reason: 'test setup' }),
    ]);
    expect(Date.parse(body.events[0]!.at)).not.toBeNaN();
  });

  it('rolls back what a PUT did: production 1 → 2 (with an HTML reason kept as given), then back to 1', async () => {
    const reason = '<img src=x onerror=alert(1)> promoted';
    const put = await server.app.inject({
      method: 'PUT',
      url: `/v1/models/${MODEL}/aliases/production`,
      payload: { version: 2, reason },
      headers: auth(),
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(await servedVersion()).toBe('2');

    const res = await rollback('production', { reason: 'bad canary' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: MODEL,
      alias: 'production',
      from: 2,
      to: 1,
      served: { [`${MODEL}@production`]: 1 },
    });
    expect(await reg.production()).toBe(1);
    expect(await servedVersion()).toBe('1');

    const history = (await get(`/v1/models/${MODEL}/aliases?limit=2`)).json() as AliasesPage;
    expect(history.total).toBe(3);
    expect(history.events.map((e) => [e.fromVersion, e.toVersion, e.reason])).toEqual([
      [2, 1, 'bad canary'],
      [1, 2, reason],
    ]);
    const older = (await get(`/v1/models/${MODEL}/aliases?limit=2&offset=2`)).json() as AliasesPage;
    expect(older.events.map((e) => e.reason)).toEqual(['test setup']);
  });

  it('without a body the rollback is recorded with a default reason; twice returns to where it was', async () => {
    const res = await rollback('production');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ from: 1, to: 2 });
    expect(await reg.production()).toBe(2);
    const [last] = ((await get(`/v1/models/${MODEL}/aliases?limit=1`)).json() as AliasesPage).events;
    expect(last!.reason).toBe('POST /v1/models/:name/aliases/:alias/rollback');
    expect((await rollback('production', {})).json()).toMatchObject({ from: 2, to: 1 });
    expect(await reg.production()).toBe(1);
  });

  it('filters the history by alias; other aliases show up in `aliases` and the unfiltered list', async () => {
    await reg.setAlias(3, 'staging');
    const all = (await get(`/v1/models/${MODEL}/aliases`)).json() as AliasesPage;
    expect(all.aliases).toEqual({ production: 1, staging: 3 });
    expect(all.events[0]).toMatchObject({ alias: 'staging', fromVersion: null, toVersion: 3 });
    const prod = (await get(`/v1/models/${MODEL}/aliases?alias=production`)).json() as AliasesPage;
    expect(prod.events.every((e) => e.alias === 'production')).toBe(true);
    expect(prod.total).toBe(all.total - 1);
  });

  it('a rollback with nothing to go back to → 404 FERRY_REGISTRY_NOT_FOUND, the alias unchanged', async () => {
    // staging was created (from nothing): there is no earlier version.
    const res = await rollback('staging');
    const body = expectError(res, 404, 'FERRY_REGISTRY_NOT_FOUND');
    expect(body.error.message).toMatch(/earlier version for alias "staging"/);
    expectError(await rollback('never-set'), 404, 'FERRY_REGISTRY_NOT_FOUND');
    expect((await reg.registry.aliases(MODEL)).staging).toBe(3);
  });

  it('unknown model → 404; bad alias, long reason, extra field, bad query → 400; nothing moves', async () => {
    expectError(await get('/v1/models/nope/aliases'), 404, 'FERRY_REGISTRY_NOT_FOUND');
    expectError(
      await server.app.inject({
        method: 'POST',
        url: '/v1/models/nope/aliases/production/rollback',
        headers: auth(),
      }),
      404,
      'FERRY_REGISTRY_NOT_FOUND',
    );
    expectError(await rollback('123'), 400, 'FERRY_REGISTRY_INVALID_NAME');
    expectError(await rollback('production', { reason: 'x'.repeat(501) }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    expectError(await rollback('production', { reason: 1 }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    expectError(await rollback('production', { version: 2 }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    expectError(await rollback('production', { to: 0 }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    for (const q of ['limit=0', 'limit=501', 'offset=-1', 'alias=', 'alias=Bad!', 'x=1']) {
      const res = await get(`/v1/models/${MODEL}/aliases?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect((res.json() as FerryErrorBody).error.code).toMatch(
        /^FERRY_(HTTP_INVALID_REQUEST|REGISTRY_INVALID_NAME)$/,
      );
    }
    expect(await reg.production()).toBe(1);
  });

  it('a move or rollback that names where the alias points now is refused (409) once it moved since', async () => {
    const put = (payload: object) =>
      server.app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/aliases/production`,
        payload,
        headers: auth(),
      });
    expect(await reg.production()).toBe(1);
    // The page said "1 → 2", but someone moved production to 4 in between.
    await reg.setAlias(4);
    const stale = expectError(await put({ version: 2, from: 1 }), 409, 'FERRY_REGISTRY_ALIAS_MOVED');
    expect(stale.error.details).toMatchObject({ alias: 'production', current: 4, expected: 1 });
    expect(await reg.production()).toBe(4);
    expectError(await put({ version: 2, from: null }), 409, 'FERRY_REGISTRY_ALIAS_MOVED');
    expectError(await put({ version: 2, from: 0 }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    // From where it is now, the move goes through.
    expect((await put({ version: 2, from: 4 })).json()).toMatchObject({ from: 4, to: 2 });
    // Rollback: 2 → 4 is what undoing the last move does; a stale `from` or `to` is refused.
    expectError(await rollback('production', { from: 4 }), 409, 'FERRY_REGISTRY_ALIAS_MOVED');
    expectError(await rollback('production', { from: 2, to: 1 }), 409, 'FERRY_REGISTRY_ALIAS_MOVED');
    expect(await reg.production()).toBe(2);
    expect((await rollback('production', { from: 2, to: 4 })).json()).toMatchObject({ from: 2, to: 4 });
    // A new alias: `from: null` says "it must not exist yet".
    const fresh = await server.app.inject({
      method: 'PUT',
      url: `/v1/models/${MODEL}/aliases/canary`,
      payload: { version: 3, from: null },
      headers: auth(),
    });
    expect(fresh.json()).toMatchObject({ from: null, to: 3 });
    await reg.setAlias(1);
    expect(await reg.production()).toBe(1);
  });

  it('the OpenAPI document lists the new operations with their token and statuses', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    const list = doc.paths['/v1/models/{name}/aliases']!.get!;
    const back = doc.paths['/v1/models/{name}/aliases/{alias}/rollback']!.post!;
    for (const op of [list, back, doc.paths['/v1/models/{name}']!.get!]) {
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
    }
    expect(Object.keys(back.responses)).toContain('409');
    expect(Object.keys(doc.paths['/v1/models/{name}/aliases/{alias}']!.put!.responses)).toContain('409');
  });
});
