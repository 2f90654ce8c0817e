import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ENTITY_ID_LENGTH, type StoredPrediction } from '../../src/batch/prediction-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { inputFingerprint } from '../../src/model/input-fingerprint.js';
import type { TextInput } from '../../src/model/model.js';
import { predictionRows } from '../../src/model/text-tensors.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { loadServingConfig } from '../../src/serving/serving-config.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import {
  CLASSES,
  createTestRegistry,
  MODEL,
  metricSum,
  PROJECTS,
  parseMetrics,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

/** A text prediction as the output row stored with it (its classes in its own order). */
const rowOf = (p: { prediction: string; probabilities: Record<string, number> }) =>
  predictionRows(Object.keys(p.probabilities), [p])[0]!;

interface StoredBody {
  entity_id: string;
  model: string;
  version: number;
  prediction: string;
  probabilities: Record<string, number>;
  computed_at: string;
  age_seconds: number;
  source: 'store' | 'model';
}
interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** What a stored row says when it did not come from the model: a probability no model gives. */
const PLANTED = { prediction: 'other', probabilities: { other: 1 } };

const PREDICTIONS_TOKEN = 'predictions-secret';
const ADMIN_TOKEN = 'admin-secret';

let reg: TestRegistry;
let server: TestServer;
let readOnly: TestServer;
/** A server with no token at all: nobody can write back. */
let noTokens: TestServer;
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({
    registry: reg,
    listen: false,
    adminToken: ADMIN_TOKEN,
    config: { predictionsToken: PREDICTIONS_TOKEN },
  });
  readOnly = await startTestServer({
    registry: reg,
    listen: false,
    config: { storedPolicy: 'read-only', predictionsToken: PREDICTIONS_TOKEN },
  });
  noTokens = await startTestServer({ registry: reg, listen: false });
});
afterAll(async () => {
  await noTokens?.close();
  await readOnly?.close();
  await server?.close();
  await reg?.close();
});

const url = (entityId: string, model = MODEL) =>
  `/v1/predictions/${encodeURIComponent(model)}/${encodeURIComponent(entityId)}`;
const get = (entityId: string, s = server) => s.app.inject({ method: 'GET', url: url(entityId) });
/** POST as a client allowed to write back (the predictions token). */
const post = (entityId: string, payload: unknown, s = server) =>
  s.app.inject({
    method: 'POST',
    url: url(entityId),
    payload: payload as object,
    headers: { authorization: `Bearer ${PREDICTIONS_TOKEN}` },
  });
/** POST with no token, or with the given Authorization header. */
const postAs = (authorization: string | undefined, entityId: string, payload: unknown, s = server) =>
  s.app.inject({
    method: 'POST',
    url: url(entityId),
    payload: payload as object,
    headers: authorization === undefined ? {} : { authorization },
  });

/** Writes a row straight into the store (as a batch job would), computed `ageMs` ago. */
async function plant(
  entityId: string,
  input: TextInput,
  opts: { ageMs?: number; version?: number; model?: string } = {},
): Promise<StoredPrediction> {
  const row: StoredPrediction = {
    model: opts.model ?? MODEL,
    entityId,
    version: opts.version ?? 1,
    inputSha256: inputFingerprint(input),
    ...PLANTED,
    outputs: rowOf(PLANTED),
    computedAt: new Date(Date.now() - (opts.ageMs ?? 0)).toISOString(),
    jobId: 'job-test',
    source: 'batch',
  };
  await server.runtime.predictionStore.upsertMany([row]);
  return row;
}

function expectStored(res: LightMyRequestResponse, source: 'store' | 'model'): StoredBody {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['x-ferry-source']).toBe(source);
  const body = res.json() as StoredBody;
  expect(Object.keys(body).sort()).toEqual(
    [
      'age_seconds',
      'computed_at',
      'entity_id',
      'model',
      'outputs',
      'prediction',
      'probabilities',
      'source',
      'version',
    ].sort(),
  );
  expect(body.source).toBe(source);
  expect(res.headers['x-ferry-model-version']).toBe(String(body.version));
  expect(Number.isNaN(Date.parse(body.computed_at))).toBe(false);
  expect(body.age_seconds).toBeGreaterThanOrEqual(0);
  return body;
}

function expectModelPrediction(body: StoredBody): void {
  expect(CLASSES).toContain(body.prediction);
  expect(Object.keys(body.probabilities).sort()).toEqual([...CLASSES]);
  expect(body.version).toBe(1); // production
}

function expectError(res: LightMyRequestResponse, status: number, code: string): ErrorBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

async function scrape(s = server): Promise<{ text: string; metrics: Map<string, number> }> {
  const res = await s.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return { text: res.body, metrics: parseMetrics(res.body) };
}

describe('GET /v1/predictions/:model/:entityId', () => {
  it('returns the stored prediction with its version, computed-at and age', async () => {
    const row = await plant('get-hit', PROJECTS.nlp, { ageMs: 2 * HOUR, version: 2 });
    const res = await get('get-hit');
    const body = expectStored(res, 'store');
    expect(body).toMatchObject({
      entity_id: 'get-hit',
      model: MODEL,
      version: 2,
      ...PLANTED,
      outputs: rowOf(PLANTED),
      computed_at: row.computedAt,
    });
    expect(body.age_seconds).toBeGreaterThanOrEqual(7200);
    expect(body.age_seconds).toBeLessThan(7200 + 60);
    expect(res.headers['x-ferry-model']).toBe(MODEL);
  });

  it('answers 404 FERRY_BATCH_NOT_FOUND with the model and id for an unknown entity', async () => {
    const body = expectError(await get('nobody-here'), 404, ErrorCode.BATCH_NOT_FOUND);
    expect(body.error.details).toEqual({ model: MODEL, entityId: 'nobody-here' });
    expectError(
      await server.app.inject({ method: 'GET', url: url('get-hit', 'no-such-model') }),
      404,
      ErrorCode.BATCH_NOT_FOUND,
    );
  });

  it('serves a stored prediction of a model this server does not serve (no model needed)', async () => {
    await plant('offline-1', PROJECTS.cv, { model: 'archived-model', version: 9 });
    const body = expectStored(
      await server.app.inject({ method: 'GET', url: url('offline-1', 'archived-model') }),
      'store',
    );
    expect(body).toMatchObject({ model: 'archived-model', version: 9, entity_id: 'offline-1' });
  });

  it('answers the outputs of a model of any kind, without the text fields', async () => {
    const outputs = {
      y: { datatype: 'FP32', shape: [2, 2], data: [0.5, -1, 2, 3.25] },
      tag: { datatype: 'BYTES', shape: [], data: ['é 😀'] },
      ok: { datatype: 'BOOL', shape: [1], data: [true] },
    };
    await server.runtime.predictionStore.upsertMany([
      {
        model: 'linear-model',
        entityId: 'tensor-1',
        version: 4,
        inputSha256: 'c'.repeat(64),
        outputs,
        computedAt: new Date().toISOString(),
        jobId: 'job-t',
      },
    ]);
    const res = await server.app.inject({ method: 'GET', url: url('tensor-1', 'linear-model') });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ['age_seconds', 'computed_at', 'entity_id', 'model', 'outputs', 'source', 'version'].sort(),
    );
    expect(body).toMatchObject({
      model: 'linear-model',
      version: 4,
      entity_id: 'tensor-1',
      outputs,
      source: 'store',
    });
  });

  it('refuses ids that cannot be entity ids with 400 FERRY_BATCH_INVALID_ID', async () => {
    expectError(await get('x'.repeat(MAX_ENTITY_ID_LENGTH + 1)), 400, ErrorCode.BATCH_INVALID_ID);
    expectError(await get('nul\u0000id'), 400, ErrorCode.BATCH_INVALID_ID);
    expectError(
      await post('x'.repeat(MAX_ENTITY_ID_LENGTH + 1), PROJECTS.nlp),
      400,
      ErrorCode.BATCH_INVALID_ID,
    );
  });
});

describe('ids with special characters through HTTP', () => {
  const IDS = [
    'with spaces',
    'a/b/c',
    '/leading-slash',
    'trailing-slash/',
    "o'brien",
    '"double" quotes',
    "'; DROP TABLE ferry_batch_predictions; --",
    '100%',
    '%2F already encoded',
    'under_score',
    'semi;colon',
    'back\\slash',
    'question?mark',
    'hash#tag',
    'plus+sign',
    'amp&ersand=1',
    'naïve café',
    '日本語',
    '🚀',
    'a..b',
    '.hidden',
    // Not "." or "..": WHATWG URL parsers resolve those path segments (even as %2E%2E), so no URL
    // path can carry them; the store keeps them (conformance suite), HTTP clients cannot name them.
    'x'.repeat(MAX_ENTITY_ID_LENGTH),
    '🚀'.repeat(MAX_ENTITY_ID_LENGTH),
  ];

  it('stores (POST, written back) and looks up (GET) each id exactly', async () => {
    for (const [i, id] of IDS.entries()) {
      const input = { title: `Project ${i}`, description: PROJECTS.mlops.description };
      const created = expectStored(await post(id, input), 'model');
      expect(created.entity_id).toBe(id);
      // Stored under exactly that id, not a decoded, trimmed or normalised variant.
      const direct = await server.runtime.predictionStore.get(MODEL, id);
      expect(direct?.entityId, JSON.stringify(id)).toBe(id);
      expect(direct?.inputSha256).toBe(inputFingerprint(input));
      const looked = expectStored(await get(id), 'store');
      expect(looked.entity_id).toBe(id);
      expect(looked.prediction).toBe(created.prediction);
      expect(looked.computed_at).toBe(created.computed_at);
      // And the same inputs again: served from the store.
      expect(expectStored(await post(id, input), 'store').entity_id).toBe(id);
    }
    expect(await server.runtime.predictionStore.getMany(MODEL, IDS)).toSatisfy((rows: unknown[]) =>
      rows.every((r) => r !== undefined),
    );
  });

  it('finds ids a batch job wrote directly', async () => {
    for (const id of ["job's id", 'slash/and space', '😀 emoji']) {
      await plant(id, PROJECTS.cv);
      expect(expectStored(await get(id), 'store')).toMatchObject({ entity_id: id, ...PLANTED });
    }
  });
});

describe('POST /v1/predictions/:model/:entityId', () => {
  it('returns a fresh stored prediction of the same inputs from the store', async () => {
    const row = await plant('post-hit', PROJECTS.cv, { ageMs: HOUR, version: 2 });
    const res = await post('post-hit', PROJECTS.cv);
    const body = expectStored(res, 'store');
    expect(body).toMatchObject({
      entity_id: 'post-hit',
      version: 2,
      ...PLANTED,
      outputs: rowOf(PLANTED),
      computed_at: row.computedAt,
    });
    expect(res.headers['x-ferry-model-version']).toBe('2');
  });

  it('predicts and writes back when nothing is stored', async () => {
    const body = expectStored(await post('post-miss', PROJECTS.nlp), 'model');
    expectModelPrediction(body);
    expect(body.prediction).toBe('natural-language-processing');
    expect(body.age_seconds).toBe(0);
    const stored = await server.runtime.predictionStore.get(MODEL, 'post-miss');
    expect(stored).toMatchObject({
      version: 1,
      prediction: body.prediction,
      probabilities: body.probabilities,
      computedAt: body.computed_at,
      inputSha256: inputFingerprint(PROJECTS.nlp),
      jobId: null,
      source: 'live',
    });
  });

  it('predicts again when the inputs changed, writes back, and GET then returns the new one', async () => {
    await plant('changed', PROJECTS.cv, { ageMs: 60_000 });
    const body = expectStored(await post('changed', PROJECTS.mlops), 'model');
    expectModelPrediction(body);
    expect(body.probabilities).not.toEqual(PLANTED.probabilities);
    const after = expectStored(await get('changed'), 'store');
    expect(after).toMatchObject({
      version: 1,
      prediction: body.prediction,
      probabilities: body.probabilities,
      computed_at: body.computed_at,
    });
    expect((await server.runtime.predictionStore.get(MODEL, 'changed'))?.inputSha256).toBe(
      inputFingerprint(PROJECTS.mlops),
    );
  });

  it('refreshes a stored prediction older than the max age (7 days by default)', async () => {
    const old = await plant('too-old', PROJECTS.nlp, { ageMs: 8 * DAY, version: 2 });
    const body = expectStored(await post('too-old', PROJECTS.nlp), 'model');
    expectModelPrediction(body);
    expect(Date.parse(body.computed_at)).toBeGreaterThan(Date.parse(old.computedAt));
    const stored = await server.runtime.predictionStore.get(MODEL, 'too-old');
    expect(stored).toMatchObject({ version: 1, computedAt: body.computed_at, jobId: null });
    // Within the max age the same inputs come from the store.
    await plant('young-enough', PROJECTS.nlp, { ageMs: 6 * DAY });
    expect(expectStored(await post('young-enough', PROJECTS.nlp), 'store')).toMatchObject(PLANTED);
  });

  it('validates the body like /predict: unknown fields, wrong types and empty text are 400', async () => {
    expectError(await post('v1', { ...PROJECTS.nlp, extra: 1 }), 400, ErrorCode.HTTP_INVALID_REQUEST);
    expectError(await post('v1', { title: 3 }), 400, ErrorCode.HTTP_INVALID_REQUEST);
    expectError(await post('v1', { description: 'no title' }), 400, ErrorCode.HTTP_INVALID_REQUEST);
    expectError(await post('v1', { title: ' ', description: '' }), 400, ErrorCode.MODEL_INVALID_INPUT);
    expect(await server.runtime.predictionStore.get(MODEL, 'v1')).toBeUndefined();
  });

  it('answers 404 for a model that is not served when the store cannot answer', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: url('e1', 'not-served'),
      payload: PROJECTS.nlp,
    });
    expectError(res, 404, ErrorCode.SERVING_UNKNOWN_MODEL);
  });
});

describe('who may write back (issue 8, item 2)', () => {
  it('an anonymous POST gets a live prediction but overwrites nothing and creates nothing', async () => {
    const planted = await plant('anon-target', PROJECTS.cv, { ageMs: HOUR });
    // Other inputs than the stored ones: a live answer, not stored.
    const res = await postAs(undefined, 'anon-target', PROJECTS.nlp);
    const body = expectStored(res, 'model');
    expectModelPrediction(body);
    expect(res.headers['x-ferry-write-back']).toBe('skipped');
    expect(await server.runtime.predictionStore.get(MODEL, 'anon-target')).toEqual(planted);
    // A new entity: not created.
    expect(expectStored(await postAs(undefined, 'anon-new', PROJECTS.nlp), 'model').entity_id).toBe(
      'anon-new',
    );
    expect(await server.runtime.predictionStore.get(MODEL, 'anon-new')).toBeUndefined();
    expectError(await get('anon-new'), 404, ErrorCode.BATCH_NOT_FOUND);
    // It still gets what is stored when the inputs match.
    expect(expectStored(await postAs(undefined, 'anon-target', PROJECTS.cv), 'store')).toMatchObject(PLANTED);
  });

  it('the predictions token and the admin token write back, recorded as source live', async () => {
    for (const [token, id] of [
      [PREDICTIONS_TOKEN, 'tok-pred'],
      [ADMIN_TOKEN, 'tok-admin'],
    ] as const) {
      await plant(id, PROJECTS.cv);
      const res = await postAs(`Bearer ${token}`, id, PROJECTS.mlops);
      expectStored(res, 'model');
      expect(res.headers['x-ferry-write-back']).toBe('written');
      expect(await server.runtime.predictionStore.get(MODEL, id)).toMatchObject({
        inputSha256: inputFingerprint(PROJECTS.mlops),
        jobId: null,
        source: 'live',
      });
    }
  });

  it('a wrong or malformed token is 401, and nothing is written', async () => {
    const planted = await plant('tok-wrong', PROJECTS.cv);
    for (const auth of [
      'Bearer nope',
      `Basic ${PREDICTIONS_TOKEN}`,
      'Bearer ',
      `Bearer ${PREDICTIONS_TOKEN}x`,
    ]) {
      const res = await postAs(auth, 'tok-wrong', PROJECTS.mlops);
      expectError(res, 401, ErrorCode.HTTP_UNAUTHORIZED);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    expect(await server.runtime.predictionStore.get(MODEL, 'tok-wrong')).toEqual(planted);
  });

  it('with no token configured, nobody writes back: anonymous calls are live, any token is 401', async () => {
    const res = await postAs(undefined, 'nt-new', PROJECTS.nlp, noTokens);
    expectStored(res, 'model');
    expect(res.headers['x-ferry-write-back']).toBe('skipped');
    expect(await noTokens.runtime.predictionStore.get(MODEL, 'nt-new')).toBeUndefined();
    const denied = await postAs('Bearer anything', 'nt-new', PROJECTS.nlp, noTokens);
    expect(expectError(denied, 401, ErrorCode.HTTP_UNAUTHORIZED).error.message).toMatch(
      /FERRY_PREDICTIONS_TOKEN/,
    );
  });

  it('reads FERRY_PREDICTIONS_TOKEN (empty means unset)', () => {
    expect(loadServingConfig({ FERRY_PREDICTIONS_TOKEN: 's3cret' }).predictionsToken).toBe('s3cret');
    expect(loadServingConfig({ FERRY_PREDICTIONS_TOKEN: '' }).predictionsToken).toBeUndefined();
    expect(loadServingConfig({}).predictionsToken).toBeUndefined();
  });
});

describe('read-only policy', () => {
  it('predicts live but never writes to the store', async () => {
    const body = expectStored(await post('ro-miss', PROJECTS.nlp, readOnly), 'model');
    expectModelPrediction(body);
    expect(await readOnly.runtime.predictionStore.get(MODEL, 'ro-miss')).toBeUndefined();
    expectError(await get('ro-miss', readOnly), 404, ErrorCode.BATCH_NOT_FOUND);

    const old = await plant('ro-old', PROJECTS.cv, { ageMs: 30 * DAY, version: 2 });
    expectStored(await post('ro-old', PROJECTS.cv, readOnly), 'model');
    expectStored(await post('ro-old', PROJECTS.mlops, readOnly), 'model');
    expect(await readOnly.runtime.predictionStore.get(MODEL, 'ro-old')).toEqual(old);
  });

  it('still serves fresh stored predictions', async () => {
    await plant('ro-hit', PROJECTS.cv);
    expect(expectStored(await post('ro-hit', PROJECTS.cv, readOnly), 'store')).toMatchObject(PLANTED);
  });
});

describe('metrics and docs', () => {
  it('exposes the staleness gauge, the age histogram and lookups by result', async () => {
    // A server of its own, so its counters and its (cached) gauge reading start here.
    const s = await startTestServer({
      registry: reg,
      listen: false,
      config: { predictionsToken: PREDICTIONS_TOKEN },
    });
    try {
      const store = s.runtime.predictionStore;
      const before = await store.countNotFromVersion(MODEL, 1);
      await store.upsertMany(
        ['stale-a', 'stale-b', 'stale-c'].map((entityId) => ({
          model: MODEL,
          entityId,
          version: 2,
          inputSha256: inputFingerprint(PROJECTS.cv),
          ...PLANTED,
          outputs: rowOf(PLANTED),
          computedAt: new Date(Date.now() - 3 * HOUR).toISOString(),
        })),
      );
      await store.upsertMany([
        {
          model: MODEL,
          entityId: 'current-a',
          version: 1,
          inputSha256: inputFingerprint(PROJECTS.cv),
          ...PLANTED,
          outputs: rowOf(PLANTED),
          computedAt: new Date(Date.now() - 10 * DAY).toISOString(),
        },
      ]);
      await s.app.inject({ method: 'GET', url: url('stale-a') }); // hit, 3 h old
      await s.app.inject({ method: 'GET', url: url('current-a') }); // stale: older than 7 days
      await s.app.inject({ method: 'GET', url: url('metrics-nobody') }); // miss
      await s.app.inject({
        method: 'POST',
        url: url('stale-b'),
        payload: PROJECTS.cv,
        headers: { authorization: `Bearer ${PREDICTIONS_TOKEN}` },
      }); // hit
      await s.app.inject({
        method: 'POST',
        url: url('stale-c'),
        payload: PROJECTS.nlp,
        headers: { authorization: `Bearer ${PREDICTIONS_TOKEN}` },
      }); // refreshed
      await s.app.inject({
        method: 'POST',
        url: url('metrics-new'),
        payload: PROJECTS.nlp,
        headers: { authorization: `Bearer ${PREDICTIONS_TOKEN}` },
      }); // miss

      const { text, metrics } = await scrape(s);
      expect(text).toContain('# TYPE ferry_stored_prediction_age_seconds histogram');
      expect(text).toContain('# TYPE ferry_stored_lookups_total counter');
      expect(text).toContain('# TYPE ferry_stored_predictions_not_from_production gauge');
      // stale-c was refreshed by version 1: two of the three version-2 rows are left.
      expect(metricSum(metrics, 'ferry_stored_predictions_not_from_production', { model: MODEL })).toBe(
        before + 2,
      );
      expect(await store.countNotFromVersion(MODEL, 1)).toBe(before + 2);
      expect(metricSum(metrics, 'ferry_stored_lookups_total', { result: 'hit' })).toBe(2);
      expect(metricSum(metrics, 'ferry_stored_lookups_total', { result: 'stale' })).toBe(1);
      expect(metricSum(metrics, 'ferry_stored_lookups_total', { result: 'miss' })).toBe(2);
      expect(metricSum(metrics, 'ferry_stored_lookups_total', { result: 'refreshed' })).toBe(1);
      // Three predictions were served from the store: 3 h, 10 days and 3 h old.
      expect(metricSum(metrics, 'ferry_stored_prediction_age_seconds_count', { model: MODEL })).toBe(3);
      const sum = metricSum(metrics, 'ferry_stored_prediction_age_seconds_sum', { model: MODEL });
      expect(sum).toBeGreaterThan((2 * 3 * HOUR + 10 * DAY) / 1000 - 5);
      expect(sum).toBeLessThan((2 * 3 * HOUR + 10 * DAY) / 1000 + 60);
      expect(
        metricSum(metrics, 'ferry_stored_prediction_age_seconds_bucket', { model: MODEL, le: '86400' }),
      ).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('documents the routes in the OpenAPI document', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/predictions/{model}/{entityId}'] ?? {}).sort()).toEqual([
      'get',
      'post',
    ]);
  });
});

describe('ServingMetrics staleness gauge', () => {
  it('reads its source at scrape time, at most once per cache period, and survives a failing source', async () => {
    const metrics = new ServingMetrics();
    let calls = 0;
    let fail = false;
    let value = 5;
    metrics.setStoredStalenessSource(async () => {
      calls += 1;
      if (fail) throw new Error('database down');
      return new Map([[MODEL, value]]);
    }, 60_000);
    const read = async () =>
      metricSum(
        parseMetrics(await metrics.registry.metrics()),
        'ferry_stored_predictions_not_from_production',
        {
          model: MODEL,
        },
      );
    const [a, b] = await Promise.all([read(), read()]);
    expect([a, b, calls]).toEqual([5, 5, 1]);
    value = 6;
    expect(await read()).toBe(5); // cached
    expect(calls).toBe(1);

    const uncached = new ServingMetrics();
    uncached.setStoredStalenessSource(async () => {
      calls += 1;
      if (fail) throw new Error('database down');
      return new Map([[MODEL, value]]);
    }, 0);
    const readUncached = async () =>
      metricSum(
        parseMetrics(await uncached.registry.metrics()),
        'ferry_stored_predictions_not_from_production',
        {
          model: MODEL,
        },
      );
    expect(await readUncached()).toBe(6);
    value = 7;
    expect(await readUncached()).toBe(7);
    fail = true;
    expect(await readUncached()).toBe(7); // the last reading is kept, the scrape does not fail
  });
});

describe('stored prediction settings', () => {
  it('default to 7 days and write-back, read FERRY_STORED_MAX_AGE_MS and FERRY_STORED_POLICY', () => {
    expect(loadServingConfig({})).toMatchObject({ storedMaxAgeMs: 7 * DAY, storedPolicy: 'write-back' });
    expect(
      loadServingConfig({ FERRY_STORED_MAX_AGE_MS: '60000', FERRY_STORED_POLICY: 'read-only' }),
    ).toMatchObject({ storedMaxAgeMs: 60_000, storedPolicy: 'read-only' });
    expectFerryErrorSync(
      () => loadServingConfig({ FERRY_STORED_POLICY: 'write-through' }),
      ErrorCode.CONFIG_INVALID,
    );
    expectFerryErrorSync(
      () => loadServingConfig({ FERRY_STORED_MAX_AGE_MS: '-1' }),
      ErrorCode.CONFIG_INVALID,
    );
  });
});
