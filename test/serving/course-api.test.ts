import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSES, PROJECTS, STACK_TRACE, startTestServer, type TestServer } from '../helpers/serving.js';

interface PredictionBody {
  results: { prediction: string; probabilities: Record<string, number> }[];
}
interface FerryErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

const MAX_ITEMS = 5;
const MAX_STRING = 200;
const BODY_LIMIT = 4096;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    listen: false,
    limits: { maxItems: MAX_ITEMS, maxStringLength: MAX_STRING, bodyLimit: BODY_LIMIT },
  });
});
afterAll(() => server?.close());

const predict = (payload: unknown, headers: Record<string, string> = {}, url = '/predict') =>
  server.app.inject({ method: 'POST', url, payload: payload as object, headers });

function expectPrediction(p: PredictionBody['results'][number]): void {
  expect(CLASSES).toContain(p.prediction);
  expect(Object.keys(p.probabilities).sort()).toEqual([...CLASSES]);
  const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
  expect(sum).toBeCloseTo(1, 5);
  for (const v of Object.values(p.probabilities)) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  // The prediction is the most probable class (the sample models have no "other" threshold).
  const best = Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])[0]![0];
  expect(p.prediction).toBe(best);
}

/** A 4xx with Ferry's error shape, the given code and no stack trace anywhere. */
function expectFerryError(res: LightMyRequestResponse, status: number, code: string): FerryErrorBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as FerryErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.error.details).toBe('object');
  expect(body.error.details).not.toBeNull();
  return body;
}

describe('GET / (course health check)', () => {
  it('answers OK with the served models', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { message: string; 'status-code': number; data: Record<string, unknown> };
    expect(body.message).toBe('OK');
    expect(body['status-code']).toBe(200);
    expect(body.data).toMatchObject({ ready: true, models: { 'tagifai@production': 1 } });
  });
});

describe('POST /predict', () => {
  it('predicts one project in the course shape, with version and request id headers', async () => {
    const res = await predict(PROJECTS.nlp, { 'x-request-id': 'course-test-1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ferry-model-version']).toBe('1');
    expect(res.headers['x-request-id']).toBe('course-test-1');
    const body = res.json() as PredictionBody;
    expect(Object.keys(body)).toEqual(['results']);
    expect(body.results).toHaveLength(1);
    expectPrediction(body.results[0]!);
    expect(body.results[0]!.prediction).toBe('natural-language-processing');
  });

  it('generates a request id when none (or an unusable one) is given', async () => {
    const a = await predict(PROJECTS.cv);
    const b = await predict(PROJECTS.cv, { 'x-request-id': 'bad id with spaces' });
    for (const res of [a, b]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
    expect(b.headers['x-request-id']).not.toBe('bad id with spaces');
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('accepts a title without a description', async () => {
    const res = await predict({ title: 'Object detection with YOLO' });
    expect(res.statusCode).toBe(200);
    expectPrediction((res.json() as PredictionBody).results[0]!);
  });

  it('answers /predict/ (trailing slash) like /predict', async () => {
    const res = await predict(PROJECTS.mlops, {}, '/predict/');
    expect(res.statusCode).toBe(200);
    expect((res.json() as PredictionBody).results[0]!.prediction).toBe('mlops');
  });

  it('answers a batch with one result per item, in order, equal to the single answers', async () => {
    const items = [PROJECTS.cv, PROJECTS.nlp, PROJECTS.mlops, PROJECTS.cv, PROJECTS.nlp];
    const res = await predict({ items });
    expect(res.statusCode).toBe(200);
    const results = (res.json() as PredictionBody).results;
    expect(results.map((r) => r.prediction)).toEqual([
      'computer-vision',
      'natural-language-processing',
      'mlops',
      'computer-vision',
      'natural-language-processing',
    ]);
    for (const [i, item] of items.entries()) {
      const single = ((await predict(item)).json() as PredictionBody).results[0]!;
      expectPrediction(results[i]!);
      for (const c of CLASSES) expect(results[i]!.probabilities[c]).toBeCloseTo(single.probabilities[c]!, 6);
    }
  });
});

describe('POST /predict with bad input: 4xx, Ferry error shape, no stack trace', () => {
  const INVALID = 'FERRY_HTTP_INVALID_REQUEST';
  const json = { 'content-type': 'application/json' };

  it('malformed JSON → 400', async () => {
    for (const payload of ['{"title": "x"', '{title: "x"}', '{"title": "x",}', 'nul', '[', '{"a":1}{']) {
      expectFerryError(await predict(payload, json), 400, INVALID);
    }
  });

  it('an empty body → 400', async () => {
    expectFerryError(await predict('', json), 400, INVALID);
    expectFerryError(await predict('   ', json), 400, INVALID);
  });

  it('wrong types → 400', async () => {
    for (const payload of [
      { title: 123 },
      { title: 'x', description: 5 },
      { title: null },
      { title: ['a'] },
      { title: { a: 1 } },
      { items: 'abc' },
      { items: [{ title: 1 }] },
      { items: [null] },
      [PROJECTS.nlp],
      'a string',
      42,
      null,
    ]) {
      expectFerryError(await predict(JSON.stringify(payload), json), 400, INVALID);
    }
  });

  it('a missing title → 400', async () => {
    // The single form has no schema-level "required" (it shares the body with the batch form), so
    // the edge validation answers with its own code; both are stable 400 codes.
    for (const payload of [{ description: 'only a description' }, {}]) {
      const res = await predict(payload);
      expect(res.statusCode).toBe(400);
      expect([INVALID, 'FERRY_MODEL_INVALID_INPUT']).toContain((res.json() as FerryErrorBody).error.code);
      expectFerryError(res, 400, (res.json() as FerryErrorBody).error.code);
    }
    expectFerryError(await predict({ items: [{ description: 'x' }] }), 400, INVALID);
  });

  it('an unknown field → 400 (rejected, not stripped)', async () => {
    expectFerryError(await predict({ ...PROJECTS.nlp, extra: 1 }), 400, INVALID);
    expectFerryError(await predict({ items: [{ ...PROJECTS.nlp, tag: 'mlops' }] }), 400, INVALID);
  });

  it('title and description both empty → 400 FERRY_MODEL_INVALID_INPUT', async () => {
    expectFerryError(await predict({ title: '', description: '' }), 400, 'FERRY_MODEL_INVALID_INPUT');
    expectFerryError(await predict({ title: '   ', description: '\n\t' }), 400, 'FERRY_MODEL_INVALID_INPUT');
    expectFerryError(
      await predict({ items: [PROJECTS.nlp, { title: '', description: '' }] }),
      400,
      'FERRY_MODEL_INVALID_INPUT',
    );
  });

  it('a text that cleans to nothing (zero-width joiners, combining marks, a lone surrogate) → 400 like an empty one', async () => {
    // NUL never gets this far: the JSON parser refuses it in any body (FERRY_HTTP_INVALID_REQUEST, tested apart).
    for (const text of ['\u200d\u200c', '\u0301\u0308', '\ud800']) {
      expectFerryError(await predict({ title: text, description: text }), 400, 'FERRY_MODEL_INVALID_INPUT');
      expectFerryError(
        await predict({ items: [PROJECTS.nlp, { title: text }] }),
        400,
        'FERRY_MODEL_INVALID_INPUT',
      );
    }
  });

  it('items together with title → 400', async () => {
    expectFerryError(await predict({ items: [PROJECTS.nlp], title: 'x' }), 400, INVALID);
    expectFerryError(await predict({ items: [PROJECTS.nlp], description: 'x' }), 400, INVALID);
  });

  it('items: [] → 400', async () => {
    expectFerryError(await predict({ items: [] }), 400, INVALID);
  });

  it('more items than the limit → 400', async () => {
    const items = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => ({ title: `project ${i}` }));
    expectFerryError(await predict({ items }), 400, INVALID);
    const ok = await predict({ items: items.slice(0, MAX_ITEMS) });
    expect(ok.statusCode).toBe(200);
  });

  it('a string over maxStringLength → 400', async () => {
    expectFerryError(await predict({ title: 'a'.repeat(MAX_STRING + 1) }), 400, INVALID);
    expectFerryError(await predict({ title: 'x', description: 'b'.repeat(MAX_STRING + 1) }), 400, INVALID);
    expect((await predict({ title: 'a'.repeat(MAX_STRING) })).statusCode).toBe(200);
  });

  it('invalid UTF-8 bytes → 400', async () => {
    const bad = Buffer.concat([Buffer.from('{"title": "caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expectFerryError(await predict(bad, json), 400, INVALID);
    const lone = Buffer.concat([
      Buffer.from('{"title": "'),
      Buffer.from([0xff, 0xfe, 0x80]),
      Buffer.from('"}'),
    ]);
    expectFerryError(await predict(lone, json), 400, INVALID);
  });

  it('"__proto__" keys → 400', async () => {
    expectFerryError(await predict('{"title": "x", "__proto__": {"polluted": true}}', json), 400, INVALID);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a body over bodyLimit → 413 FERRY_HTTP_PAYLOAD_TOO_LARGE', async () => {
    const res = await predict({ title: 'x', description: 'y'.repeat(BODY_LIMIT) });
    expectFerryError(res, 413, 'FERRY_HTTP_PAYLOAD_TOO_LARGE');
  });

  it('content-type text/plain → 415 FERRY_HTTP_UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await predict(JSON.stringify(PROJECTS.nlp), { 'content-type': 'text/plain' });
    expectFerryError(res, 415, 'FERRY_HTTP_UNSUPPORTED_MEDIA_TYPE');
  });

  it('another content type (application/x-www-form-urlencoded) → 415', async () => {
    const res = await predict('title=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expectFerryError(res, 415, 'FERRY_HTTP_UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown route → 404 FERRY_HTTP_NOT_FOUND; a wrong method → 4xx', async () => {
    expectFerryError(await server.app.inject({ method: 'GET', url: '/nope' }), 404, 'FERRY_HTTP_NOT_FOUND');
    const res = await server.app.inject({ method: 'GET', url: '/predict' });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.body).not.toMatch(STACK_TRACE);
  });

  it('still answers correctly after all of the above', async () => {
    const res = await predict(PROJECTS.cv);
    expect(res.statusCode).toBe(200);
    expect((res.json() as PredictionBody).results[0]!.prediction).toBe('computer-vision');
  });
});
