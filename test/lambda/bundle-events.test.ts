import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FERRY_VERSION } from '../../src/core/version.js';
import { decodeModel } from '../../src/model/codec.js';
import {
  albEvent,
  albMultiValueEvent,
  functionUrlEvent,
  httpApiV2Event,
  type Req,
  restApiV1Event,
} from './fixtures/aws-events.js';
import { type Answer, bodyOf, expectNoInternals, type Handler, scratchBundle } from './helpers.js';

/*
 * The Lambda bundle (npm run build:lambda: one ES module plus the sample-trained model) imported
 * as Lambda's Node runtime imports it, and invoked with the events AWS documents for each source.
 */
let bundle: Awaited<ReturnType<typeof scratchBundle>>;
let handler: Handler;
const PROJECT = {
  title: 'Transfer learning with transformers',
  description: 'Using transformers for transfer learning on text classification tasks.',
};
let expected: { prediction: string; probabilities: Record<string, number> };

beforeAll(async () => {
  bundle = await scratchBundle();
  const mod = (await import(pathToFileURL(join(bundle.build.dir, 'index.mjs')).href)) as { handler: Handler };
  handler = mod.handler;
  // The baseline: the same artifact's own predict, outside the server.
  const model = decodeModel(new Uint8Array(readFileSync(join(bundle.build.dir, 'model', 'model.bin'))));
  expected = (await model.predict([PROJECT]))[0]!;
}, 60_000);

afterAll(() => bundle?.dispose());

const predictReq: Req = { method: 'POST', path: '/predict', body: JSON.stringify(PROJECT) };
const inferBody = JSON.stringify({
  id: 'req-1',
  inputs: [
    { name: 'title', datatype: 'BYTES', shape: [1], data: [PROJECT.title] },
    { name: 'description', datatype: 'BYTES', shape: [1], data: [PROJECT.description] },
  ],
});
const inferReq: Req = { method: 'POST', path: '/v2/models/tagifai/infer', body: inferBody };

function expectPrediction(a: Answer): void {
  expect(a.statusCode).toBe(200);
  const body = bodyOf(a) as { results: { prediction: string; probabilities: Record<string, number> }[] };
  expect(body.results).toHaveLength(1);
  expect(body.results[0]!.prediction).toBe(expected.prediction);
  for (const [label, p] of Object.entries(expected.probabilities))
    expect(body.results[0]!.probabilities[label]).toBeCloseTo(p, 6);
}

function expectInfer(a: Answer): void {
  expect(a.statusCode).toBe(200);
  const body = bodyOf(a) as {
    model_name: string;
    model_version: string;
    id: string;
    outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
  };
  expect(body).toMatchObject({ model_name: 'tagifai', model_version: '1', id: 'req-1' });
  const label = body.outputs.find((o) => o.name === 'label');
  expect(label?.data).toEqual([expected.prediction]);
  const probs = body.outputs.find((o) => o.name === 'probabilities');
  expect(probs?.shape).toEqual([1, Object.keys(expected.probabilities).length]);
}

describe('API Gateway HTTP API, payload 2.0', () => {
  it('POST /predict: the model’s prediction, the request id of the event, a 2.0 answer', async () => {
    const a = await handler(httpApiV2Event(predictReq), {});
    expectPrediction(a);
    expect(a.headers?.['x-request-id']).toBe('id');
    expect(a.headers?.['content-type']).toMatch(/^application\/json/);
    expect(a.isBase64Encoded).toBe(false);
    expect(a.multiValueHeaders).toBeUndefined();
    expect(a.statusDescription).toBeUndefined();
  });

  it('POST /v2/models/tagifai/infer with a base64 body (as API Gateway sends binary payloads)', async () => {
    const a = await handler(
      httpApiV2Event({ ...inferReq, body: Buffer.from(inferBody).toString('base64'), isBase64Encoded: true }),
      {},
    );
    expectInfer(a);
  });

  it('GET metadata and health', async () => {
    const meta = await handler(httpApiV2Event({ method: 'GET', path: '/v2/models/tagifai' }), {});
    expect(meta.statusCode).toBe(200);
    expect(bodyOf(meta)).toMatchObject({ name: 'tagifai', versions: ['1'], platform: 'text-classifier' });
    const live = await handler(httpApiV2Event({ method: 'GET', path: '/v2/health/live' }), {});
    expect([live.statusCode, bodyOf(live)]).toEqual([200, { live: true }]);
    const ready = await handler(httpApiV2Event({ method: 'GET', path: '/v2/models/tagifai/ready' }), {});
    expect(ready.statusCode).toBe(200);
    const server = await handler(httpApiV2Event({ method: 'GET', path: '/v2' }), {});
    expect(bodyOf(server)).toMatchObject({ name: 'ferry', version: FERRY_VERSION });
  });

  it('a named stage: its prefix of rawPath is not part of the route', async () => {
    const event = httpApiV2Event({ ...predictReq, path: '/prod/predict' });
    (event.requestContext as { stage: string }).stage = 'prod';
    expectPrediction(await handler(event, {}));
  });
});

describe('Lambda function URL', () => {
  it('POST /v2/models/tagifai/infer: v2 outputs', async () => {
    const a = await handler(functionUrlEvent(inferReq), {});
    expectInfer(a);
    expect(a.headers?.['x-request-id']).toBe('c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
  });

  it('POST /predict', async () => {
    expectPrediction(await handler(functionUrlEvent(predictReq), {}));
  });
});

describe('API Gateway REST API (payload 1.0)', () => {
  it('POST /predict and POST /v2/models/tagifai/infer', async () => {
    expectPrediction(await handler(restApiV1Event(predictReq), {}));
    expectInfer(await handler(restApiV1Event(inferReq), {}));
  });
});

describe('Application Load Balancer', () => {
  it('single-value headers: statusDescription and headers, no multiValueHeaders', async () => {
    const a = await handler(albEvent(predictReq), {});
    expectPrediction(a);
    expect(a.statusDescription).toBe('200 OK');
    expect(a.isBase64Encoded).toBe(false);
    expect(a.headers?.['content-type']).toMatch(/^application\/json/);
    expect(a.multiValueHeaders).toBeUndefined();
  });

  it('multi-value headers (the event had them): the answer’s headers in multiValueHeaders only', async () => {
    const a = await handler(albMultiValueEvent(inferReq), {});
    expectInfer(a);
    expect(a.statusDescription).toBe('200 OK');
    expect(a.headers).toBeUndefined();
    expect(a.multiValueHeaders?.['content-type']?.[0]).toMatch(/^application\/json/);
    const notFound = await handler(albMultiValueEvent({ method: 'GET', path: '/nowhere' }), {});
    expect(notFound.statusCode).toBe(404);
    expect(notFound.statusDescription).toBe('404 Not Found');
  });

  it('a query string that is not valid percent-encoding: 400, no internals', async () => {
    const a = await handler(albEvent({ method: 'GET', path: '/v2/health/live' }, { 'a%E0%A4%A': 'x' }), {});
    expect(a.statusCode).toBe(400);
    expect(a.statusDescription).toBeUndefined();
    expect((bodyOf(a) as { error: { code: string } }).error.code).toBe('FERRY_HTTP_INVALID_REQUEST');
    expectNoInternals(a);
  });
});

describe('malformed events: 400 (or the app’s own code and status), never a stack trace or a path', () => {
  const cases: [string, unknown, number, string][] = [
    ['not an object', 'hello', 400, 'FERRY_HTTP_INVALID_REQUEST'],
    ['null', null, 400, 'FERRY_HTTP_INVALID_REQUEST'],
    [
      'an unknown shape (an S3 notification)',
      { Records: [{ eventSource: 'aws:s3' }] },
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      '2.0 without requestContext.http',
      { version: '2.0', rawPath: '/predict', requestContext: {} },
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'a body that is not a string',
      { ...httpApiV2Event(predictReq), body: { title: 'x' } },
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'headers that are not strings',
      { ...httpApiV2Event(predictReq), headers: { a: 1 } },
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'POST /predict with no body',
      httpApiV2Event({ method: 'POST', path: '/predict' }),
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'POST /predict with bad JSON',
      httpApiV2Event({ ...predictReq, body: '{"title": ' }),
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'POST /predict with a JSON body of the wrong shape',
      httpApiV2Event({ ...predictReq, body: '[1,2]' }),
      400,
      'FERRY_HTTP_INVALID_REQUEST',
    ],
    [
      'POST /predict with a huge body',
      httpApiV2Event({
        ...predictReq,
        body: JSON.stringify({ title: 'x'.repeat(2_000_000), description: 'y' }),
      }),
      413,
      'FERRY_HTTP_PAYLOAD_TOO_LARGE',
    ],
    ['an unknown route', httpApiV2Event({ method: 'GET', path: '/etc/passwd' }), 404, 'FERRY_HTTP_NOT_FOUND'],
  ];
  for (const [what, event, status, code] of cases) {
    it(what, async () => {
      const a = await handler(event, {});
      expect(a.statusCode).toBe(status);
      expect((bodyOf(a) as { error: { code: string } }).error.code).toBe(code);
      expectNoInternals(a);
    });
  }

  it('bad JSON on a v2 route: the protocol’s {"error": "..."} shape', async () => {
    const a = await handler(functionUrlEvent({ ...inferReq, body: 'not json' }), {});
    expect(a.statusCode).toBe(400);
    expect(typeof bodyOf(a).error).toBe('string');
    expectNoInternals(a);
  });
});
