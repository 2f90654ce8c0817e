/**
 * GET /v1/experiments pages: limit, offset and order are validated, `total` counts every match, and
 * a request without them answers the whole list as before (oldest first).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';
import { abRaw } from './helpers.js';

let reg: TestRegistry;
let server: TestServer;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const NAMES = Array.from({ length: 7 }, (_, i) => `list-${String(i).padStart(2, '0')}`);

interface ListBody {
  experiments: Experiment[];
  total: number;
  offset: number;
  limit?: number;
}

const list = (query = '', headers: Record<string, string> = auth) =>
  server.app.inject({ method: 'GET', url: `/v1/experiments${query}`, headers });

function ok(res: LightMyRequestResponse): ListBody {
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as ListBody;
}

function refused(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.body).not.toMatch(STACK_TRACE);
  expect((res.json() as { error: { code: string } }).error.code).toBe('FERRY_HTTP_INVALID_REQUEST');
}

beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { experimentPollMs: 0 },
  });
  // One routing experiment per model at a time: each is stopped before the next is created.
  for (const name of NAMES) {
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: auth,
      payload: abRaw({ name }),
    });
    expect(created.statusCode, created.body).toBe(201);
    if (name !== NAMES.at(-1)) {
      const stopped = await server.app.inject({
        method: 'POST',
        url: `/v1/experiments/${name}/stop`,
        headers: auth,
      });
      expect(stopped.statusCode, stopped.body).toBe(200);
    }
  }
});
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

describe('GET /v1/experiments with limit and offset', () => {
  it('without them answers every experiment, oldest first, shaped as before', async () => {
    const body = ok(await list());
    expect(Object.keys(body)).toEqual(['experiments']);
    expect(body.experiments.map((e) => e.name)).toEqual(NAMES);
    const fromOffset = ok(await list('?offset=5'));
    expect(fromOffset.experiments.map((e) => e.name)).toEqual(NAMES.slice(5));
    expect(fromOffset).toMatchObject({ total: 7, offset: 5 });
    expect(fromOffset.limit).toBeUndefined();
  });

  it('pages the list: a full page, the rest, then an empty page past the end', async () => {
    const first = ok(await list('?limit=3'));
    expect(first.experiments.map((e) => e.name)).toEqual(NAMES.slice(0, 3));
    expect(first).toMatchObject({ total: 7, offset: 0, limit: 3 });
    const third = ok(await list('?limit=3&offset=6'));
    expect(third.experiments.map((e) => e.name)).toEqual(NAMES.slice(6));
    const past = ok(await list('?limit=3&offset=100'));
    expect(past.experiments).toEqual([]);
    expect(past.total).toBe(7);
  });

  it('orders newest first on request, and counts the filtered total', async () => {
    const newest = ok(await list('?order=newest&limit=2'));
    expect(newest.experiments.map((e) => e.name)).toEqual([NAMES[6], NAMES[5]]);
    const stopped = ok(await list('?status=stopped&limit=2&offset=1'));
    expect(stopped.total).toBe(6);
    expect(stopped.experiments.map((e) => e.name)).toEqual(NAMES.slice(1, 3));
    const running = ok(await list('?status=running,paused&limit=10'));
    expect(running.experiments.map((e) => e.name)).toEqual([NAMES[6]]);
    expect(running.total).toBe(1);
  });

  it('refuses a limit of 0, above 1000, negative, fractional or not a number, and such offsets', async () => {
    for (const q of [
      'limit=0',
      'limit=1001',
      'limit=-1',
      'limit=2.5',
      'limit=abc',
      'limit=',
      'limit=99999',
      'offset=-1',
      'offset=1e3',
      'offset=1234567890',
      'order=random',
      'page=2',
    ]) {
      refused(await list(`?${q}`));
    }
    // The largest accepted values.
    expect(ok(await list('?limit=1000&offset=999999999')).experiments).toEqual([]);
  });

  it('still needs the admin token', async () => {
    const res = await list('?limit=1', {});
    expect(res.statusCode).toBe(401);
  });
});
