import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  CLASSES,
  MODEL,
  metricSum,
  PROJECTS,
  parseMetrics,
  STACK_TRACE,
  startTestServer,
  type TestServer,
} from '../helpers/serving.js';

const FEEDBACK_TOKEN = 'feedback-token-0123456789abcdef';
const auth = { authorization: `Bearer ${FEEDBACK_TOKEN}` };

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('POST /v1/feedback', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      flags: { predictionLog: 'sql' },
      config: { feedbackToken: FEEDBACK_TOKEN, feedbackRateLimit: 0, feedbackMaxItems: 1000 },
    });
    // Two logged predictions: one of one item, one of two.
    for (const [id, body] of [
      ['req-one', PROJECTS.nlp],
      ['req-two', { items: [PROJECTS.cv, PROJECTS.mlops] }],
    ] as const) {
      const r = await s.app.inject({
        method: 'POST',
        url: '/predict',
        headers: { 'x-request-id': id },
        payload: body,
      });
      expect(r.statusCode).toBe(200);
    }
    await s.runtime.logger!.flush();
  }, 60_000);
  afterAll(() => s?.close());

  const post = (payload: unknown, headers: Record<string, string> = auth) =>
    s.app.inject({ method: 'POST', url: '/v1/feedback', headers, payload: payload as object });
  const err = (r: { body: string }) => {
    expect(r.body).not.toMatch(STACK_TRACE);
    return (JSON.parse(r.body) as ErrorBody).error;
  };

  it('stores a label once; the same label again is a duplicate; a different one is 409', async () => {
    const label = { model: MODEL, request_id: 'req-one', label: 'mlops' };
    const first = await post(label);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ model: MODEL, received: 1, stored: 1, duplicates: 0, unmatched: 0 });
    expect((await post(label)).json()).toMatchObject({ stored: 0, duplicates: 1 });
    const conflict = await post({ ...label, label: 'other' });
    expect(conflict.statusCode).toBe(409);
    expect(err(conflict)).toMatchObject({ code: 'FERRY_FEEDBACK_CONFLICT', details: { count: 1 } });
  });

  it('many labels: items of a request, unknown request ids stored and counted apart', async () => {
    const r = await post({
      model: MODEL,
      labels: [
        { request_id: 'req-two', item: 0, label: 'computer-vision' },
        { request_id: 'req-two', item: 1, label: 'mlops' },
        { request_id: 'not-logged-yet', label: 'other' },
        { entity_id: 'project-1', label: 'other' },
      ],
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ model: MODEL, received: 4, stored: 4, duplicates: 0, unmatched: 2 });
    const out = await post({ model: MODEL, request_id: 'req-two', item: 2, label: 'mlops' });
    expect(out.statusCode).toBe(400);
    expect(err(out).code).toBe('FERRY_FEEDBACK_INVALID');
  });

  it('is served by the admin token too; anonymous, wrong and malformed tokens are 401 before the body is read', async () => {
    expect(
      (
        await post(
          { model: MODEL, request_id: 'adm', label: 'other' },
          { authorization: `Bearer ${ADMIN_TOKEN}` },
        )
      ).statusCode,
    ).toBe(200);
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: FEEDBACK_TOKEN },
      { authorization: 'Basic eA==' },
    ];
    for (const headers of wrong) {
      const r = await post({ model: MODEL, request_id: 'anon', label: 'other' }, headers);
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer');
      expect(err(r).code).toBe('FERRY_HTTP_UNAUTHORIZED');
    }
    // Not even a broken body is looked at without a token.
    const broken = await s.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    expect(broken.statusCode).toBe(401);
  });

  it('labels outside the production version’s classes are 422 listing the classes', async () => {
    const r = await post({
      model: MODEL,
      labels: [
        { request_id: 'a', label: 'mlops' },
        { request_id: 'b', label: 'MLOps' },
      ],
    });
    expect(r.statusCode).toBe(422);
    expect(err(r)).toMatchObject({
      code: 'FERRY_FEEDBACK_UNKNOWN_LABEL',
      details: { field: 'labels[1].label', label: 'MLOps', classes: [...CLASSES] },
    });
  });

  it('malformed bodies are 400 FERRY_FEEDBACK_INVALID naming the field; nothing is stored', async () => {
    const cases: Array<[unknown, string]> = [
      [{ model: MODEL, label: 'mlops' }, 'body'],
      [{ model: MODEL, request_id: 'x', entity_id: 'y', label: 'mlops' }, 'body'],
      [{ model: MODEL, request_id: 'x', item: '0', label: 'mlops' }, 'item'],
      [{ model: MODEL, request_id: 'x', item: -1, label: 'mlops' }, 'item'],
      [{ model: MODEL, request_id: 'x', item: 1.5, label: 'mlops' }, 'item'],
      [{ model: MODEL, request_id: 'x', label: 5 }, 'label'],
      [{ model: MODEL, request_id: 'x', label: '' }, 'label'],
      [{ model: MODEL, request_id: 7, label: 'mlops' }, 'request_id'],
      [{ model: MODEL, request_id: 'x'.repeat(257), label: 'mlops' }, 'request_id'],
      [{ model: MODEL, request_id: '\uD800', label: 'mlops' }, 'request_id'],
      [{ model: MODEL, entity_id: 'e', item: 1, label: 'mlops' }, 'item'],
      [{ model: MODEL, request_id: 'x', label: 'mlops', extra: 1 }, 'extra'],
      [{ model: MODEL, labels: 'mlops' }, 'labels'],
      [{ model: MODEL, labels: [] }, 'labels'],
      [{ model: MODEL, labels: [{ request_id: 'x', label: 'mlops' }], request_id: 'y' }, 'request_id'],
      [{ model: MODEL, labels: [{ request_id: 'x', label: 'mlops' }, 7] }, 'labels[1]'],
      [{ request_id: 'x', label: 'mlops' }, 'model'],
      [[{ model: MODEL }], 'body'],
    ];
    for (const [body, field] of cases) {
      const r = await post(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(err(r), JSON.stringify(body)).toMatchObject({
        code: 'FERRY_FEEDBACK_INVALID',
        details: { field },
      });
    }
    const huge = await post({ model: MODEL, request_id: 'x', label: 'm'.repeat(100_000) });
    expect(huge.statusCode).toBe(400);
    expect(err(huge).code).toBe('FERRY_FEEDBACK_INVALID');
    expect(huge.body.length).toBeLessThan(2000);
  });

  it('NUL in ids or labels is refused at the edge', async () => {
    for (const body of [
      { model: MODEL, request_id: 'a\u0000b', label: 'mlops' },
      { model: MODEL, entity_id: '\u0000', label: 'mlops' },
      { model: MODEL, labels: [{ request_id: 'a', label: 'ml\u0000ops' }] },
    ]) {
      const r = await post(body);
      expect(r.statusCode).toBe(400);
      expect(err(r).code).toBe('FERRY_HTTP_INVALID_REQUEST');
    }
  });

  it('more labels than FERRY_FEEDBACK_MAX_ITEMS is 413 FERRY_FEEDBACK_TOO_LARGE; a 10 MB body is 413 before parsing', async () => {
    const labels = Array.from({ length: 1001 }, (_, i) => ({ request_id: `r${i}`, label: 'mlops' }));
    const r = await post({ model: MODEL, labels });
    expect(r.statusCode).toBe(413);
    expect(err(r)).toMatchObject({ code: 'FERRY_FEEDBACK_TOO_LARGE', details: { count: 1001, max: 1000 } });
    const big = await s.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: `{"model":"${MODEL}","request_id":"x","label":"${'m'.repeat(10 * 1024 * 1024)}"}`,
    });
    expect(big.statusCode).toBe(413);
    expect(err(big).code).toBe('FERRY_HTTP_PAYLOAD_TOO_LARGE');
    const max = await post({ model: MODEL, labels: labels.slice(0, 1000) });
    expect(max.statusCode).toBe(200);
    expect(max.json()).toMatchObject({ received: 1000, unmatched: 1000 });
  });

  it('an unknown model is 404', async () => {
    const r = await post({ model: 'nope', request_id: 'x', label: 'mlops' });
    expect(r.statusCode).toBe(404);
    expect(err(r).code).toBe('FERRY_SERVING_UNKNOWN_MODEL');
  });

  it('/metrics counts labels by outcome and shows the rolling accuracy and weighted F1 per version', async () => {
    const m = parseMetrics((await s.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metricSum(m, 'ferry_feedback_labels_total', { model: MODEL, outcome: 'conflict' })).toBe(1);
    expect(
      metricSum(m, 'ferry_feedback_labels_total', { model: MODEL, outcome: 'duplicate' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricSum(m, 'ferry_feedback_labels_total', { model: MODEL, outcome: 'unmatched' }),
    ).toBeGreaterThanOrEqual(1002);
    // Matched: req-one (label mlops) and req-two's two items (cv, mlops), all served by version 1.
    // The gauges are recomputed a second after labels arrive.
    let accuracy = Number.NaN;
    for (let i = 0; i < 50 && Number.isNaN(accuracy); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = parseMetrics((await s.app.inject({ method: 'GET', url: '/metrics' })).body);
      accuracy = now.get(`ferry_model_accuracy{model="${MODEL}",version="1"}`) ?? Number.NaN;
    }
    const now = parseMetrics((await s.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(now.get(`ferry_model_feedback_compared{model="${MODEL}",version="1"}`)).toBe(3);
    const predicted = await Promise.all(
      [PROJECTS.nlp, PROJECTS.cv, PROJECTS.mlops].map(
        async (p) =>
          (await s.app.inject({ method: 'POST', url: '/predict', payload: p })).json<{
            results: Array<{ prediction: string }>;
          }>().results[0]!.prediction,
      ),
    );
    const truth = ['mlops', 'computer-vision', 'mlops'];
    const right = truth.filter((t, i) => t === predicted[i]).length;
    expect(accuracy).toBeCloseTo(right / 3, 12);
    expect(now.get(`ferry_model_weighted_f1{model="${MODEL}",version="1"}`)).toBeGreaterThanOrEqual(0);
  });

  it('/openapi.json documents the body schema, the token and the error statuses', async () => {
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<
        string,
        {
          post: {
            requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
            responses: Record<string, unknown>;
            security: unknown;
          };
        }
      >;
    }>();
    const op = doc.paths['/v1/feedback']!.post;
    expect(Object.keys(op.requestBody.content['application/json']!.schema.properties)).toEqual(
      expect.arrayContaining(['model', 'request_id', 'entity_id', 'item', 'label', 'labels']),
    );
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['200', '401', '409', '413', '422', '429']),
    );
    expect(op.security).toEqual([{ bearerAuth: [] }]);
  });
});

describe('POST /v1/feedback rate limit', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      config: { feedbackToken: FEEDBACK_TOKEN, feedbackRateLimit: 5 },
    });
  }, 60_000);
  afterAll(() => s?.close());

  it('a flood past FERRY_FEEDBACK_RATE_LIMIT is 429 with Retry-After; other clients and predictions are served', async () => {
    const flood = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        s.app.inject({
          method: 'POST',
          url: '/v1/feedback',
          headers: auth,
          payload: { model: MODEL, request_id: `f${i}`, label: 'mlops' },
        }),
      ),
    );
    const statuses = flood.map((r) => r.statusCode);
    expect(statuses.filter((c) => c === 200)).toHaveLength(5);
    expect(statuses.filter((c) => c === 429)).toHaveLength(25);
    const limited = flood.find((r) => r.statusCode === 429)!;
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.body).not.toMatch(STACK_TRACE);
    expect(limited.json<ErrorBody>().error).toMatchObject({
      code: 'FERRY_FEEDBACK_RATE_LIMITED',
      details: { limit: 5 },
    });
    // Another token is another client.
    const admin = await s.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { model: MODEL, request_id: 'adm', label: 'mlops' },
    });
    expect(admin.statusCode).toBe(200);
    // Anonymous guesses are limited by address, before the token check.
    const guesses = await Promise.all(
      Array.from({ length: 8 }, () =>
        s.app.inject({
          method: 'POST',
          url: '/v1/feedback',
          headers: { authorization: 'Bearer guess' },
          payload: {},
        }),
      ),
    );
    expect(guesses.map((g) => g.statusCode).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Predictions are not affected, and the client is served again after the window.
    expect((await s.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp })).statusCode).toBe(
      200,
    );
    await new Promise((r) => setTimeout(r, 1100));
    const again = await s.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth,
      payload: { model: MODEL, request_id: 'after', label: 'mlops' },
    });
    expect(again.statusCode).toBe(200);
  });
});
