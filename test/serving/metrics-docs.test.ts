import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metricSum,
  PROJECTS,
  parseMetrics,
  startTestServer,
  type TestServer,
  v2Request,
} from '../helpers/serving.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ listen: false });
  // Some traffic so that every labelled series has samples.
  await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
  await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
  await server.app.inject({
    method: 'POST',
    url: '/predict',
    payload: { items: [PROJECTS.cv, PROJECTS.mlops] },
  });
  await server.app.inject({
    method: 'POST',
    url: '/v2/models/tagifai/infer',
    payload: v2Request([{ title: 'Image segmentation in the browser', description: 'U-Net on WebGL.' }]),
  });
  await server.app.inject({ method: 'POST', url: '/predict', payload: { title: 1 } });
});
afterAll(() => server?.close());

describe('GET /metrics', () => {
  let text: string;
  let metrics: Map<string, number>;
  beforeAll(async () => {
    const res = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    text = res.body;
    metrics = parseMetrics(text);
  });

  it('declares every documented metric with its type', () => {
    for (const [name, type] of [
      ['ferry_http_requests_total', 'counter'],
      ['ferry_http_request_duration_seconds', 'histogram'],
      ['ferry_batch_size', 'histogram'],
      ['ferry_batch_queue_seconds', 'histogram'],
      ['ferry_batch_compute_seconds', 'histogram'],
      ['ferry_cache_lookups_total', 'counter'],
      ['ferry_cache_write_failures_total', 'counter'],
      ['ferry_http_in_flight_requests', 'gauge'],
      ['ferry_model_loaded', 'gauge'],
    ] as const) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
  });

  it("has prom-client's default process and Node.js metrics", () => {
    for (const [name, type] of [
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_gc_duration_seconds', 'histogram'],
    ] as const) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
    expect(metrics.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts requests by route, method and status', () => {
    expect(metricSum(metrics, 'ferry_http_requests_total', { route: '/predict', status: '200' })).toBe(3);
    expect(metricSum(metrics, 'ferry_http_requests_total', { route: '/predict', status: '400' })).toBe(1);
    expect(
      metricSum(metrics, 'ferry_http_requests_total', { route: '/v2/models/:model/infer', method: 'POST' }),
    ).toBe(1);
  });

  it('has latency histograms labelled by route', () => {
    expect(metricSum(metrics, 'ferry_http_request_duration_seconds_count', { route: '/predict' })).toBe(4);
    expect(
      [...metrics.keys()].some(
        (k) => k.startsWith('ferry_http_request_duration_seconds_bucket{') && k.includes('route="/predict"'),
      ),
    ).toBe(true);
  });

  it('has batch size, queue time and compute time by model and version', () => {
    const labels = { model: 'tagifai', version: '1' };
    expect(metricSum(metrics, 'ferry_batch_size_count', labels)).toBeGreaterThanOrEqual(3);
    // 1 + 2 + 1 items computed (the repeated input was a cache hit).
    expect(metricSum(metrics, 'ferry_batch_size_sum', labels)).toBe(4);
    expect(metricSum(metrics, 'ferry_batch_queue_seconds_count', labels)).toBeGreaterThanOrEqual(3);
    expect(metricSum(metrics, 'ferry_batch_compute_seconds_count', labels)).toBeGreaterThanOrEqual(3);
  });

  it('counts cache hits and misses', () => {
    expect(metricSum(metrics, 'ferry_cache_lookups_total', { result: 'hit' })).toBe(1);
    expect(metricSum(metrics, 'ferry_cache_lookups_total', { result: 'miss' })).toBe(4);
  });

  it('shows the loaded model and no request in flight but this one', () => {
    expect(
      metricSum(metrics, 'ferry_model_loaded', { model: 'tagifai', version: '1', alias: 'production' }),
    ).toBe(1);
    const inFlight = metrics.get('ferry_http_in_flight_requests');
    expect(inFlight).toBeGreaterThanOrEqual(0);
    expect(inFlight).toBeLessThanOrEqual(1);
  });

  it('moves ferry_model_loaded with the alias', async () => {
    await server.reg.setAlias(2);
    await server.runtime.host.refresh();
    const after = parseMetrics((await server.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metricSum(after, 'ferry_model_loaded', { version: '2', alias: 'production' })).toBe(1);
    expect(metricSum(after, 'ferry_model_loaded', { version: '1', alias: 'production' })).toBe(0);
    await server.reg.setAlias(1);
    await server.runtime.host.refresh();
  });
});

describe('OpenAPI and docs', () => {
  it('/openapi.json is OpenAPI 3 with the course, v2 and admin paths', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/predict']).toHaveProperty('post');
    expect(doc.paths['/v2/models/{model}/infer']).toHaveProperty('post');
    expect(doc.paths['/v2/models/{model}/versions/{version}/infer']).toHaveProperty('post');
    expect(doc.paths['/v1/models']).toHaveProperty('get');
    expect(doc.paths['/v1/models/{name}/aliases/{alias}']).toHaveProperty('put');
    expect(doc.paths['/']).toHaveProperty('get');
  });

  it('/docs answers with HTML (directly or after a redirect)', async () => {
    let res = await server.app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; hops < 3 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
      const location = res.headers.location as string;
      res = await server.app.inject({ method: 'GET', url: new URL(location, 'http://x/docs/').pathname });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger/i);
  });
});
