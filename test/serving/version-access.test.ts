/**
 * Issue 8, item 3: a registered version is not released by being registered. Without the admin
 * token, `/v2/models/m/versions/N/…` serves N only when an alias points at it, a running experiment
 * has it as an arm, or FERRY_SERVE_VERSIONS lists it; otherwise the answer is the one a version that
 * does not exist gets (404), so nothing tells a client that N is registered. Loads on demand are
 * bounded by a byte budget (estimated from artifact sizes) and a rate, and what is evicted is let go
 * at once, not after the swap grace period.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { parseServeVersions } from '../../src/serving/serving-config.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
  V1_SPEC,
  V2_SPEC,
  v2Request,
} from '../helpers/serving.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const V3_SPEC = { seed: 3, params: { C: 3 } };
const V4_SPEC = { seed: 4, params: { C: 10 } };

let reg: TestRegistry;
beforeAll(async () => {
  // production → 1; versions 2, 3 and 4 have no alias.
  reg = await createTestRegistry({ versions: [V1_SPEC, V2_SPEC, V3_SPEC, V4_SPEC] });
});
afterAll(() => reg?.close());

const infer = (s: TestServer, version: number | string, headers: Record<string, string> = {}) =>
  s.app.inject({
    method: 'POST',
    url: `/v2/models/${MODEL}/versions/${version}/infer`,
    payload: v2Request([PROJECTS.nlp]),
    headers,
  });

function v2Error(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  return (res.json() as { error: string }).error;
}

describe('explicit versions: who may ask for which', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false });
  });
  afterAll(() => server?.close());

  it('refuses an unreleased version to anonymous clients exactly as a version that does not exist', async () => {
    const unreleased = v2Error(await infer(server, 2), 404);
    const missing = v2Error(await infer(server, 99), 404);
    expect(unreleased.replace('2', 'N')).toBe(missing.replace('99', 'N'));
    for (const path of ['', '/ready']) {
      const res = await server.app.inject({ method: 'GET', url: `/v2/models/${MODEL}/versions/2${path}` });
      v2Error(res, 404);
    }
    // Nothing was loaded for it.
    expect(server.runtime.host.heldVersions(MODEL)).toEqual([1]);
    // The model's metadata lists released versions only.
    const meta = await server.app.inject({ method: 'GET', url: `/v2/models/${MODEL}` });
    expect((meta.json() as { versions: string[] }).versions).toEqual(['1']);
    // A wrong token is anonymous.
    v2Error(await infer(server, 2, { authorization: 'Bearer wrong' }), 404);
  });

  it('serves it with the admin token, and lists every version to the admin', async () => {
    const res = await infer(server, 2, auth);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['x-ferry-model-version']).toBe('2');
    const meta = await server.app.inject({ method: 'GET', url: `/v2/models/${MODEL}`, headers: auth });
    expect((meta.json() as { versions: string[] }).versions).toEqual(['1', '2', '3', '4']);
  });

  it('serves a version an alias points at (any alias, not only the followed ones)', async () => {
    v2Error(await infer(server, 3), 404);
    await reg.setAlias(3, 'staging');
    try {
      await new Promise((r) => setTimeout(r, 1100)); // the aliases are re-read at most once a second
      expect((await infer(server, 3)).statusCode).toBe(200);
    } finally {
      await reg.registry.deleteAlias(MODEL, 'staging');
    }
  });

  it('serves the arms of a running experiment, and not after it stopped', async () => {
    const name = `access-${Date.now()}`;
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: auth,
      payload: {
        name,
        model: MODEL,
        arms: [
          { name: 'control', version: 1 },
          { name: 'treatment', version: 4 },
        ],
        metrics: [{ name: 'accepted', kind: 'binary' }],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    await server.runtime.experiments.router.refresh();
    expect((await infer(server, 4)).statusCode).toBe(200);
    const stopped = await server.app.inject({
      method: 'POST',
      url: `/v1/experiments/${name}/stop`,
      headers: auth,
    });
    expect(stopped.statusCode, stopped.body).toBe(200);
    await server.runtime.experiments.router.refresh();
    v2Error(await infer(server, 4), 404);
  });
});

describe('FERRY_SERVE_VERSIONS', () => {
  it('parses model:version and model:*, and refuses anything else', () => {
    const list = parseServeVersions(' tagifai:3, tagifai:4 ,other:*,other:2');
    expect(list.get('tagifai')).toEqual(new Set([3, 4]));
    expect(list.get('other')).toBe('*');
    expect(parseServeVersions(undefined).size).toBe(0);
    for (const bad of [
      'tagifai',
      'tagifai:',
      ':3',
      'tagifai:0',
      'tagifai:3000000000',
      'Tag:1',
      'tagifai:x',
    ]) {
      expectFerryErrorSync(() => parseServeVersions(bad), ErrorCode.CONFIG_INVALID, 500);
    }
  });

  it('releases the listed versions to anonymous clients', async () => {
    const server = await startTestServer({
      registry: reg,
      listen: false,
      config: { serveVersions: parseServeVersions('tagifai:2') },
    });
    try {
      expect((await infer(server, 2)).statusCode).toBe(200);
      v2Error(await infer(server, 3), 404);
    } finally {
      await server.close();
    }
  });
});

describe('on-demand loads: a byte budget and a rate', () => {
  it('cycling versions never holds more than the budget, and evicted versions are let go at once', async () => {
    const sizes = await Promise.all(
      [2, 3, 4].map(async (v) => (await reg.registry.resolve(`${MODEL}/${v}`)).artifactSize),
    );
    // Room for the largest one, not for any two.
    const [a, b, c] = sizes.sort((x, y) => x - y) as [number, number, number];
    const maxBytes = a + b - 1;
    expect(c).toBeLessThanOrEqual(maxBytes);
    const server = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { onDemand: { maxBytes, loadsPerMinute: 1000 } },
    });
    try {
      const { host } = server.runtime;
      for (const v of [2, 3, 4, 2, 3, 4, 3]) {
        const res = await infer(server, v, auth);
        expect(res.statusCode, res.body).toBe(200);
        expect(res.headers['x-ferry-model-version']).toBe(String(v));
        expect(host.onDemandBytes).toBeLessThanOrEqual(maxBytes);
        // Production and the version just asked for: nothing lingers for a grace period.
        expect(host.heldVersions(MODEL)).toEqual([1, v].sort());
      }
      const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/ferry_on_demand_evictions_total\{model="tagifai"\} 6/);
      // ferry_model_loaded lists what is held: production by its alias, the last on-demand one too.
      const loaded = metrics.body.split('\n').filter((l) => l.startsWith('ferry_model_loaded{'));
      expect(loaded.sort()).toEqual([
        'ferry_model_loaded{model="tagifai",version="1",alias="production"} 1',
        'ferry_model_loaded{model="tagifai",version="3",alias="on-demand"} 1',
      ]);
    } finally {
      await server.close();
    }
  });

  it('counts loads in progress: concurrent loads cannot together exceed the budget', async () => {
    const sizes = await Promise.all(
      [2, 3, 4].map(async (v) => (await reg.registry.resolve(`${MODEL}/${v}`)).artifactSize),
    );
    const maxBytes = Math.max(...sizes) + 10;
    const server = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { onDemand: { maxBytes, loadsPerMinute: 1000 } },
    });
    try {
      const answers = await Promise.all([2, 3, 4].map((v) => infer(server, v, auth)));
      const codes = answers.map((r) => r.statusCode).sort();
      expect(codes).toEqual([200, 503, 503]);
      for (const r of answers.filter((a) => a.statusCode === 503)) {
        expect(r.headers['retry-after']).toBe('1');
      }
      expect(server.runtime.host.onDemandBytes).toBeLessThanOrEqual(maxBytes);
      expect(server.runtime.host.heldVersions(MODEL)).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('refuses a version larger than the whole budget with 503, before loading it', async () => {
    const server = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { onDemand: { maxBytes: 1000, loadsPerMinute: 1000 } },
    });
    try {
      const error = v2Error(await infer(server, 2, auth), 503);
      expect(error).toMatch(/on-demand budget/);
      expect(server.runtime.host.heldVersions(MODEL)).toEqual([1]);
      // Versions behind the followed aliases are not on demand: production still answers.
      expect((await infer(server, 1)).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses new loads beyond the rate with 503 and Retry-After; loaded versions still answer', async () => {
    const server = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { onDemand: { maxBytes: 1024 ** 3, loadsPerMinute: 2 } },
    });
    try {
      expect((await infer(server, 2, auth)).statusCode).toBe(200);
      expect((await infer(server, 3, auth)).statusCode).toBe(200);
      const refused = await infer(server, 4, auth);
      v2Error(refused, 503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await infer(server, 2, auth)).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });
});
