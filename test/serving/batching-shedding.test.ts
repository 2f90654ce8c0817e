import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextInput } from '../../src/model/model.js';
import {
  CLASSES,
  createTestRegistry,
  metricSum,
  PROJECTS,
  parseMetrics,
  startTestServer,
  type TestRegistry,
  type TestServer,
  trainSmall,
  V1_SPEC,
  v2Request,
} from '../helpers/serving.js';

interface PredictionBody {
  results: { prediction: string; probabilities: Record<string, number> }[];
}

let reg: TestRegistry;
beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(() => reg?.close());

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const expected = (input: TextInput) => trainSmall(V1_SPEC).model.predictBatch([input])[0]!;

describe('load shedding with a tiny queue', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      registry: reg,
      flags: { cache: 'off' },
      // A queue of 2 items that waits 20 ms for a batch to fill: one 2-item request fills it.
      batcher: { maxQueueSize: 2, maxBatchSize: 64, maxQueueDelayMs: 20 },
    });
  });
  afterAll(() => server?.close());

  it('refuses what does not fit with 503, Retry-After and FERRY_SERVING_OVERLOADED; answers the rest right', async () => {
    const requests = Array.from({ length: 40 }, (_, i) => {
      const items = [
        { title: `Request ${i}: ${PROJECTS.cv.title}`, description: PROJECTS.cv.description },
        { title: `Request ${i}: ${PROJECTS.nlp.title}`, description: PROJECTS.nlp.description },
      ];
      return { items, response: post(`${server.url}/predict`, { items }) };
    });
    let ok = 0;
    let shed = 0;
    for (const { items, response } of requests) {
      const res = await response;
      const text = await res.text();
      if (res.status === 200) {
        ok++;
        const results = (JSON.parse(text) as PredictionBody).results;
        expect(results).toHaveLength(2);
        results.forEach((r, k) => {
          const want = expected(items[k]!);
          expect(r.prediction).toBe(want.prediction);
          for (const c of CLASSES) expect(r.probabilities[c]).toBeCloseTo(want.probabilities[c]!, 9);
        });
      } else {
        expect(res.status, text).toBe(503);
        shed++;
        const retryAfter = res.headers.get('retry-after');
        expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
        const body = JSON.parse(text) as { error: { code: string; message: string; details: object } };
        expect(body.error.code).toBe('FERRY_SERVING_OVERLOADED');
        expect(text).not.toMatch(/\n\s+at /);
      }
    }
    expect(shed).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(metricSum(metrics, 'ferry_requests_shed_total', { reason: 'overloaded' })).toBe(shed);
    expect(metricSum(metrics, 'ferry_http_requests_total', { route: '/predict', status: '503' })).toBe(shed);
  });

  it('sheds v2 infer with 503 {"error": "..."} and Retry-After', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(
          `${server.url}/v2/models/tagifai/infer`,
          v2Request([
            { title: `v2 request ${i} a`, description: '' },
            { title: `v2 request ${i} b`, description: '' },
          ]),
        ),
      ),
    );
    let shed = 0;
    for (const res of responses) {
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status === 200) continue;
      expect(res.status).toBe(503);
      shed++;
      expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect(Object.keys(body)).toEqual(['error']);
      expect(typeof body.error).toBe('string');
    }
    expect(shed).toBeGreaterThan(0);
  });

  it('a request that can never fit the queue is 413, not 503', async () => {
    const res = await post(`${server.url}/predict`, {
      items: [PROJECTS.cv, PROJECTS.nlp, PROJECTS.mlops],
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('FERRY_SERVING_REQUEST_TOO_LARGE');
  });

  it('keeps answering correctly afterwards', async () => {
    for (const input of [PROJECTS.cv, PROJECTS.nlp, PROJECTS.mlops]) {
      const res = await post(`${server.url}/predict`, input);
      expect(res.status).toBe(200);
      expect(((await res.json()) as PredictionBody).results[0]!.prediction).toBe(expected(input).prediction);
    }
  });
});

describe('deadlines', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      registry: reg,
      flags: { cache: 'off' },
      // Requests may wait 300 ms for a batch to fill, but are only worth answering for 30 ms.
      batcher: { maxQueueSize: 4096, maxBatchSize: 64, maxQueueDelayMs: 300 },
      limits: { requestTimeoutMs: 30 },
    });
  });
  afterAll(() => server?.close());

  it('a request whose deadline passes while queued gets 503 FERRY_SERVING_DEADLINE with Retry-After', async () => {
    const res = await post(`${server.url}/predict`, PROJECTS.nlp);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FERRY_SERVING_DEADLINE');
    const v2 = await post(`${server.url}/v2/models/tagifai/infer`, v2Request([PROJECTS.cv]));
    expect(v2.status).toBe(503);
    expect(Object.keys((await v2.json()) as object)).toEqual(['error']);
    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(metricSum(metrics, 'ferry_requests_shed_total', { reason: 'deadline' })).toBe(2);
  });
});

describe('adaptive batching under concurrency', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      registry: reg,
      flags: { cache: 'off' },
      batcher: { maxQueueSize: 4096, maxBatchSize: 64, maxQueueDelayMs: 5 },
    });
  });
  afterAll(() => server?.close());

  it('gathers concurrent requests into batches of more than one item; each gets its own answers in order', async () => {
    const inputs = Array.from({ length: 60 }, (_, i): TextInput => {
      const base = [PROJECTS.cv, PROJECTS.nlp, PROJECTS.mlops][i % 3]!;
      return { title: `${base.title} #${i}`, description: base.description };
    });
    const responses = await Promise.all(inputs.map((input) => post(`${server.url}/predict`, input)));
    for (const [i, res] of responses.entries()) {
      expect(res.status).toBe(200);
      const result = ((await res.json()) as PredictionBody).results[0]!;
      const want = expected(inputs[i]!);
      expect(result.prediction).toBe(want.prediction);
      for (const c of CLASSES) expect(result.probabilities[c]).toBeCloseTo(want.probabilities[c]!, 9);
    }
    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    const labels = { model: 'tagifai', version: '1' };
    const batches = metricSum(metrics, 'ferry_batch_size_count', labels);
    const items = metricSum(metrics, 'ferry_batch_size_sum', labels);
    const singles = metricSum(metrics, 'ferry_batch_size_bucket', { ...labels, le: '1' });
    expect(items).toBe(60);
    expect(batches).toBeLessThan(60);
    expect(singles).toBeLessThan(batches); // at least one batch had more than one item
    expect(metricSum(metrics, 'ferry_batch_queue_seconds_count', labels)).toBe(batches);
    expect(metricSum(metrics, 'ferry_batch_compute_seconds_count', labels)).toBe(batches);
  });

  it('a bad request among concurrent good ones fails alone', async () => {
    const good = Array.from({ length: 10 }, (_, i) => ({ title: `good ${i} ${PROJECTS.mlops.title}` }));
    const all = await Promise.all([
      ...good.map((g) => post(`${server.url}/predict`, g)),
      post(`${server.url}/predict`, { title: '', description: '' }),
      post(`${server.url}/predict`, { items: [PROJECTS.cv, { title: ' ' }] }),
    ]);
    const statuses = all.map((r) => r.status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses.slice(10)).toEqual([400, 400]);
  });
});
