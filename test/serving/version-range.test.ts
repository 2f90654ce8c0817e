/**
 * Issue 8, item 15: versions are 32-bit integers in the registry's tables. A version beyond that
 * range (3e9) used to reach PostgreSQL and come back as a 500 FERRY_DB_ERROR carrying database
 * details (SQLite answered 404). Every edge that parses a version refuses it with the same stable
 * answer on both backends.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { createPgTestRegistry } from '../experiments/helpers.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { dropSchemas } from '../helpers/postgres.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
  v2Request,
} from '../helpers/serving.js';

const HUGE = 3_000_000_000;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function expectStable(res: LightMyRequestResponse, status: number): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  expect(res.body).not.toMatch(/FERRY_DB_ERROR|out of range|postgres|127\.0\.0\.1/i);
}

const backends: [string, () => Promise<TestRegistry & { schema?: string }>][] = [
  ['SQLite', () => createTestRegistry()],
  ['PostgreSQL', () => createPgTestRegistry()],
];

describe.each(backends)('a version beyond 32 bits on %s', (_name, makeRegistry) => {
  let reg: TestRegistry & { schema?: string };
  let server: TestServer;
  beforeAll(async () => {
    reg = await makeRegistry();
    server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false });
  });
  afterAll(async () => {
    await server?.close();
    await reg?.close();
    if (reg?.schema !== undefined) await dropSchemas(reg.schema);
  });

  it('is refused by the registry (model refs, alias moves) with REGISTRY_INVALID_REF', async () => {
    await expectFerryError(reg.registry.resolve(`${MODEL}/${HUGE}`), ErrorCode.REGISTRY_INVALID_REF, 400);
    await expectFerryError(
      reg.registry.loadArtifact(`${MODEL}/2147483648`),
      ErrorCode.REGISTRY_INVALID_REF,
      400,
    );
    await expectFerryError(
      reg.registry.setAlias(MODEL, 'production', HUGE),
      ErrorCode.REGISTRY_INVALID_REF,
      400,
    );
    expect(await reg.production()).toBe(1);
  });

  it('PUT /v1/models/{name}/aliases/{alias} answers 400 and moves nothing', async () => {
    const res = await server.app.inject({
      method: 'PUT',
      url: `/v1/models/${MODEL}/aliases/production`,
      payload: { version: HUGE },
      headers: auth,
    });
    expectStable(res, 400);
    expect(await reg.production()).toBe(1);
  });

  it('the v2 versions path answers 404 for metadata, readiness and inference', async () => {
    for (const v of [String(HUGE), '2147483648', '99999999999999999999']) {
      const base = `/v2/models/${MODEL}/versions/${v}`;
      expectStable(await server.app.inject({ method: 'GET', url: base, headers: auth }), 404);
      expectStable(await server.app.inject({ method: 'GET', url: `${base}/ready`, headers: auth }), 404);
      const infer = await server.app.inject({
        method: 'POST',
        url: `${base}/infer`,
        payload: v2Request([PROJECTS.nlp]),
        headers: auth,
      });
      expectStable(infer, 404);
    }
  });

  it('an experiment arm on such a version is an invalid definition (400)', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: auth,
      payload: {
        name: `huge-arm-${Math.random().toString(36).slice(2, 8)}`,
        model: MODEL,
        arms: [
          { name: 'control', version: 1 },
          { name: 'treatment', version: HUGE },
        ],
        metrics: [{ name: 'accepted', kind: 'binary' }],
      },
    });
    expectStable(res, 400);
    expect((res.json() as { error: { code: string } }).error.code).toBe(ErrorCode.EXPERIMENT_INVALID);
  });
});
