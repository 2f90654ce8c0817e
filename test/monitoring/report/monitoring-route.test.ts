import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import { openProfileStore, profileTrainedVersion } from '../../../src/app/open-monitoring.js';
import {
  ADMIN_TOKEN,
  MODEL,
  PROJECTS,
  STACK_TRACE,
  sampleDataset,
  startTestServer,
  type TestServer,
  trainSmall,
  V1_SPEC,
} from '../../helpers/serving.js';

const MONITOR_TOKEN = 'monitor-token-abcdef';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('GET /v1/monitoring/{model} (inject)', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      flags: { predictionLog: 'sql' },
      config: { monitorToken: MONITOR_TOKEN },
      registryOptions: { versions: [V1_SPEC], production: 1 },
    });
    const ferry = await openFerry(s.reg.config);
    try {
      await profileTrainedVersion(
        await openProfileStore(ferry),
        { name: MODEL, version: 1 },
        trainSmall(V1_SPEC),
        sampleDataset().rows,
      );
    } finally {
      await ferry.close();
    }
  }, 120_000);
  afterAll(async () => s?.close());

  it('refuses without a token or with a wrong one (401, WWW-Authenticate)', async () => {
    for (const headers of [{}, auth('wrong')]) {
      const res = await s.app.inject({ method: 'GET', url: `/v1/monitoring/${MODEL}`, headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json().error.code).toBe('FERRY_HTTP_UNAUTHORIZED');
    }
  });

  it('a bad window, an inverted range or an unknown parameter is a 400 in Ferry’s shape', async () => {
    const cases = [
      ['window=1x', 'FERRY_MONITOR_INVALID'],
      ['window=0h', 'FERRY_MONITOR_INVALID'],
      ['since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', 'FERRY_MONITOR_INVALID'],
      ['since=yesterday', 'FERRY_MONITOR_INVALID'],
      ['version=abc', 'FERRY_HTTP_INVALID_REQUEST'],
      ['bogus=1', 'FERRY_HTTP_INVALID_REQUEST'],
    ] as const;
    for (const [query, code] of cases) {
      const res = await s.app.inject({
        method: 'GET',
        url: `/v1/monitoring/${MODEL}?${query}`,
        headers: auth(MONITOR_TOKEN),
      });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code, query).toBe(code);
      expect(res.body).not.toMatch(STACK_TRACE);
    }
  });

  it('nasty inputs: huge numbers, far-past and far-future times, NUL, a huge name, an unknown model: stable codes, named as the query names them', async () => {
    const cases: Array<[string, number, string, RegExp?]> = [
      [`${MODEL}?window=1e308`, 400, 'FERRY_MONITOR_INVALID', /^window "1e308"/],
      [`${MODEL}?window=${'9'.repeat(400)}`, 400, 'FERRY_HTTP_INVALID_REQUEST'],
      [`${MODEL}?window=400d`, 400, 'FERRY_MONITOR_INVALID', /longer than 366 days/],
      [`${MODEL}?since=9999-12-31T00:00:00Z`, 400, 'FERRY_MONITOR_INVALID', /the window is empty/],
      [`${MODEL}?since=%2B275760-09-13T00:00:00Z`, 400, 'FERRY_MONITOR_INVALID', /^since /],
      [`${MODEL}?version=9999999999`, 400, 'FERRY_REGISTRY_INVALID_REF'],
      [`${MODEL}?version=1&alias=staging`, 400, 'FERRY_MONITOR_INVALID'],
      [`${MODEL}?alias=%00`, 400, 'FERRY_HTTP_INVALID_REQUEST'],
      ['bad%00name', 400, 'FERRY_REGISTRY_INVALID_REF'],
      ['m'.repeat(5000), 400, 'FERRY_HTTP_INVALID_REQUEST'],
      ['other-model', 404, 'FERRY_REGISTRY_NOT_FOUND'],
    ];
    for (const [path, status, code, message] of cases) {
      const res = await s.app.inject({
        method: 'GET',
        url: `/v1/monitoring/${path}`,
        headers: auth(MONITOR_TOKEN),
      });
      expect(res.statusCode, path.slice(0, 60)).toBe(status);
      expect(res.json().error.code, path.slice(0, 60)).toBe(code);
      if (message) expect(res.json().error.message, path.slice(0, 60)).toMatch(message);
      expect(res.body).not.toMatch(STACK_TRACE);
    }
    // A window in year 0 is a window with no data, not an error.
    const past = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}?until=0000-01-01T00:00:00Z`,
      headers: auth(MONITOR_TOKEN),
    });
    expect(past.statusCode).toBe(200);
    expect(past.json().status).toBe('no-data');
  });

  it('no prediction in the window: status no-data, not an error', async () => {
    const res = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z`,
      headers: auth(MONITOR_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'no-data',
      model: MODEL,
      version: 1,
      counts: { requests: 0 },
    });
  });

  it('served predictions show up in the report (admin token works too); unknown model 404, no profile 404', async () => {
    for (const p of Object.values(PROJECTS)) {
      expect((await s.app.inject({ method: 'POST', url: '/predict', payload: p })).statusCode).toBe(200);
    }
    await s.runtime.logger?.flush();
    const res = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}?window=1h`,
      headers: auth(ADMIN_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ status: 'ok', counts: { requests: Object.keys(PROJECTS).length } });
    expect(report.features.map((f: { name: string }) => f.name)).toEqual(['text_length', 'token_count']);
    // Cached for a few seconds: the same answer again.
    const again = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}?window=1h`,
      headers: auth(ADMIN_TOKEN),
    });
    expect(again.json().generatedAt).toBe(report.generatedAt);

    const unknown = await s.app.inject({
      method: 'GET',
      url: '/v1/monitoring/nobody',
      headers: auth(MONITOR_TOKEN),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('FERRY_REGISTRY_NOT_FOUND');
    await s.reg.registry.register(MODEL, trainSmall(V1_SPEC).model.toArtifact(), {
      kind: trainSmall(V1_SPEC).model.kind,
      params: {},
      metrics: {},
      dataset: {},
    });
    const none = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}?version=2`,
      headers: auth(MONITOR_TOKEN),
    });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('FERRY_MONITOR_NO_REFERENCE');
    expect(none.body).not.toMatch(STACK_TRACE);
  });

  it('is documented in /openapi.json with its token and statuses', async () => {
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/v1/monitoring/{model}'].get;
    expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
  });
});

describe('GET /v1/monitoring/{model} with the prediction log off', () => {
  it('answers FERRY_MONITOR_SOURCE', async () => {
    const s = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      registryOptions: { versions: [V1_SPEC], production: 1 },
    });
    try {
      const res = await s.app.inject({
        method: 'GET',
        url: `/v1/monitoring/${MODEL}`,
        headers: auth(ADMIN_TOKEN),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('FERRY_MONITOR_SOURCE');
    } finally {
      await s.close();
    }
  }, 120_000);
});
