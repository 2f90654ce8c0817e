import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeVersions } from '../../src/serving/serving-config.js';
import {
  CLASSES,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestServer,
  v2Request,
} from '../helpers/serving.js';

interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[]; parameters?: unknown }[];
}

let server: TestServer;
beforeAll(async () => {
  // Version 2 has no alias: it is released by FERRY_SERVE_VERSIONS (see version-access.test.ts for
  // what anonymous clients get without that).
  server = await startTestServer({
    listen: false,
    limits: { maxItems: 8, maxStringLength: 500 },
    config: { serveVersions: parseServeVersions('tagifai:2') },
  });
});
afterAll(() => server?.close());

const get = (url: string) => server.app.inject({ method: 'GET', url });
const infer = (payload: unknown, url = '/v2/models/tagifai/infer', headers: Record<string, string> = {}) =>
  server.app.inject({ method: 'POST', url, payload: payload as object, headers });

/** The protocol's error body: exactly `{"error": "<non-empty string>"}`, no stack trace. */
function expectV2Error(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  expect((body.error as string).length).toBeGreaterThan(0);
  return body.error as string;
}

describe('Open Inference Protocol v2: server and health', () => {
  it('GET /v2 gives the server metadata', async () => {
    const res = await get('/v2');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { name: string; version: string; extensions: unknown[] };
    expect(typeof body.name).toBe('string');
    expect(body.name.length).toBeGreaterThan(0);
    expect(typeof body.version).toBe('string');
    expect(Array.isArray(body.extensions)).toBe(true);
    for (const e of body.extensions) expect(typeof e).toBe('string');
  });

  it('GET /v2/health/live and /v2/health/ready answer 200', async () => {
    const live = await get('/v2/health/live');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toMatchObject({ live: true });
    const ready = await get('/v2/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true });
  });
});

describe('Open Inference Protocol v2: model metadata and readiness', () => {
  const expectMetadata = (res: LightMyRequestResponse) => {
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      name: string;
      versions?: string[];
      platform: string;
      inputs: { name: string; datatype: string; shape: number[] }[];
      outputs: { name: string; datatype: string; shape: number[] }[];
    };
    expect(body.name).toBe('tagifai');
    expect(typeof body.platform).toBe('string');
    expect(body.versions).toEqual(['1', '2']);
    const byName = (list: typeof body.inputs) => Object.fromEntries(list.map((t) => [t.name, t]));
    const inputs = byName(body.inputs);
    expect(inputs.title).toMatchObject({ datatype: 'BYTES' });
    expect(inputs.description).toMatchObject({ datatype: 'BYTES' });
    expect(inputs.title!.shape).toEqual([-1]);
    const outputs = byName(body.outputs);
    expect(outputs.label).toMatchObject({ datatype: 'BYTES' });
    expect(outputs.probabilities).toMatchObject({ datatype: 'FP32' });
    expect(outputs.probabilities!.shape).toHaveLength(2);
    return body;
  };

  it('GET /v2/models/tagifai', async () => {
    expectMetadata(await get('/v2/models/tagifai'));
  });

  it('GET /v2/models/tagifai/versions/1 and /versions/2', async () => {
    expectMetadata(await get('/v2/models/tagifai/versions/1'));
    expectMetadata(await get('/v2/models/tagifai/versions/2'));
  });

  it('GET …/ready answers 200 ready', async () => {
    for (const url of ['/v2/models/tagifai/ready', '/v2/models/tagifai/versions/1/ready']) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ name: 'tagifai', ready: true });
    }
  });

  it('unknown model, unknown version and non-numeric version → 404 {error}', async () => {
    for (const url of [
      '/v2/models/nope',
      '/v2/models/nope/ready',
      '/v2/models/tagifai/versions/99',
      '/v2/models/tagifai/versions/99/ready',
      '/v2/models/tagifai/versions/abc',
      '/v2/models/tagifai/versions/0',
      '/v2/models/tagifai/versions/-1',
      '/v2/models/tagifai/versions/1.5',
      '/v2/models/tagifai/versions/99999999999999999999',
    ]) {
      expectV2Error(await get(url), 404);
    }
  });
});

describe('Open Inference Protocol v2: infer', () => {
  it('answers label [n] and probabilities [n, 4], echoes the id', async () => {
    const items = [PROJECTS.nlp, PROJECTS.cv, PROJECTS.mlops];
    const res = await infer(v2Request(items, 'req-42'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ferry-model-version']).toBe('1');
    const body = res.json() as InferResponse;
    expect(body.model_name).toBe('tagifai');
    expect(body.model_version).toBe('1');
    expect(body.id).toBe('req-42');
    const label = body.outputs.find((o) => o.name === 'label')!;
    const probs = body.outputs.find((o) => o.name === 'probabilities')!;
    expect(label).toMatchObject({ datatype: 'BYTES', shape: [3] });
    expect(label.data).toEqual(['natural-language-processing', 'computer-vision', 'mlops']);
    expect(probs).toMatchObject({ datatype: 'FP32', shape: [3, CLASSES.length] });
    expect(probs.data).toHaveLength(3 * CLASSES.length);
    for (let row = 0; row < 3; row++) {
      const slice = probs.data.slice(row * 4, row * 4 + 4) as number[];
      expect(slice.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('answers the same probabilities as POST /predict, in the classes order it announces', async () => {
    const res = await infer(v2Request([PROJECTS.cv]));
    const probs = (res.json() as InferResponse).outputs.find((o) => o.name === 'probabilities')!;
    const course = await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.cv });
    const expected = (course.json() as { results: { probabilities: Record<string, number> }[] }).results[0]!
      .probabilities;
    const classes = (probs.parameters as { classes?: string[] } | undefined)?.classes ?? [...CLASSES];
    classes.forEach((c, i) => {
      expect(probs.data[i] as number).toBeCloseTo(expected[c]!, 5);
    });
  });

  it('has no id in the response when the request had none; title alone is enough', async () => {
    const res = await infer({
      inputs: [{ name: 'title', datatype: 'BYTES', shape: [1], data: ['Object detection with YOLO'] }],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('id');
  });

  it('accepts shape [n, 1] with nested data, and returns only requested outputs', async () => {
    const res = await infer({
      inputs: [
        {
          name: 'title',
          datatype: 'BYTES',
          shape: [2, 1],
          data: [['a detection model'], ['a translation model']],
        },
      ],
      outputs: [{ name: 'label' }],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as InferResponse;
    expect(body.outputs.map((o) => o.name)).toEqual(['label']);
    expect(body.outputs[0]!.shape).toEqual([2]);
  });

  it('versions/2/infer is answered by version 2 while production is 1', async () => {
    const res = await infer(v2Request([PROJECTS.nlp], 'v2'), '/v2/models/tagifai/versions/2/infer');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ferry-model-version']).toBe('2');
    expect((res.json() as InferResponse).model_version).toBe('2');
    const byProduction = await infer(v2Request([PROJECTS.nlp]));
    expect(byProduction.headers['x-ferry-model-version']).toBe('1');
    const p1 = (byProduction.json() as InferResponse).outputs[1]!.data;
    const p2 = (res.json() as InferResponse).outputs[1]!.data;
    expect(p1).not.toEqual(p2);
    const v1 = await infer(v2Request([PROJECTS.nlp]), '/v2/models/tagifai/versions/1/infer');
    expect(v1.headers['x-ferry-model-version']).toBe('1');
  });
});

describe('Open Inference Protocol v2: errors are {"error": "..."}', () => {
  it('unknown model → 404', async () => {
    expectV2Error(await infer(v2Request([PROJECTS.nlp]), '/v2/models/nope/infer'), 404);
  });

  it('unknown version → 404; non-numeric version → 404', async () => {
    expectV2Error(await infer(v2Request([PROJECTS.nlp]), '/v2/models/tagifai/versions/99/infer'), 404);
    expectV2Error(await infer(v2Request([PROJECTS.nlp]), '/v2/models/tagifai/versions/latest/infer'), 404);
  });

  it('shape that does not match the data → 400', async () => {
    const title = (shape: unknown, data: unknown) => ({
      inputs: [{ name: 'title', datatype: 'BYTES', shape, data }],
    });
    for (const body of [
      title([2], ['only one']),
      title([1], ['a', 'b']),
      title([2, 1], [['a'], ['b'], ['c']]),
      title([2, 2], ['a', 'b', 'c', 'd']),
      title([0], []),
      title([-1], ['a']),
      title([1.5], ['a']),
      title('1', ['a']),
      title([1], 'a'),
      title([1], [5]),
      title([1], [null]),
      title([1], [['a', 'b']]),
    ]) {
      expectV2Error(await infer(body), 400);
    }
    const mismatch = v2Request([PROJECTS.nlp, PROJECTS.cv]);
    (mismatch.inputs as { shape: number[]; data: string[] }[])[1] = {
      shape: [1],
      data: ['one description'],
      ...{ name: 'description', datatype: 'BYTES' },
    };
    expectV2Error(await infer(mismatch), 400);
  });

  it('an FP32 (or other non-BYTES) input → 400', async () => {
    for (const datatype of ['FP32', 'INT64', 'bytes', '', 5]) {
      expectV2Error(
        await infer({
          inputs: [{ name: 'title', datatype, shape: [1], data: datatype === 'FP32' ? [1.5] : ['a'] }],
        }),
        400,
      );
    }
  });

  it('missing or empty inputs, unknown input names, missing title → 400', async () => {
    expectV2Error(await infer({}), 400);
    expectV2Error(await infer({ id: 'x' }), 400);
    expectV2Error(await infer({ inputs: [] }), 400);
    expectV2Error(await infer({ inputs: {} }), 400);
    expectV2Error(
      await infer({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }] }),
      400,
    );
    expectV2Error(
      await infer({ inputs: [{ name: 'description', datatype: 'BYTES', shape: [1], data: ['a'] }] }),
      400,
    );
  });

  it('an item whose text cleans to nothing (NUL, zero-width joiners, combining marks, a lone surrogate) → 400', async () => {
    for (const text of ['\u0000', '\u200d\u200c', '\u0301\u0308', '\ud800'])
      expectV2Error(await infer(v2Request([{ title: text, description: text }])), 400);
  });

  it('more items than maxItems, an element over maxStringLength → 400', async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ title: `p${i}`, description: '' }));
    expectV2Error(await infer(v2Request(many)), 400);
    expectV2Error(await infer(v2Request([{ title: 'x'.repeat(501), description: '' }])), 400);
  });

  it('a non-string id, unknown outputs, binary data parameters → 400', async () => {
    expectV2Error(await infer({ ...v2Request([PROJECTS.nlp]), id: 5 }), 400);
    expectV2Error(await infer({ ...v2Request([PROJECTS.nlp]), outputs: [{ name: 'logits' }] }), 400);
    expectV2Error(await infer({ ...v2Request([PROJECTS.nlp]), parameters: { binary_data_size: 10 } }), 400);
  });

  it('malformed JSON, invalid UTF-8, a non-object body → 400 in the v2 shape', async () => {
    const json = { 'content-type': 'application/json' };
    expectV2Error(await infer('{"inputs": [', undefined, json), 400);
    expectV2Error(await infer('{inputs: []}', undefined, json), 400);
    expectV2Error(await infer('', undefined, json), 400);
    expectV2Error(await infer(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), undefined, json), 400);
    expectV2Error(await infer('[1, 2]', undefined, json), 400);
    expectV2Error(await infer('"inputs"', undefined, json), 400);
    expectV2Error(await infer('null', undefined, json), 400);
  });

  it('a body over the limit → 413 in the v2 shape', async () => {
    const res = await infer(v2Request([{ title: 'x'.repeat(2 * 1024 * 1024), description: '' }]));
    expectV2Error(res, 413);
  });

  it('an unknown route under /v2 → 404 {error}', async () => {
    expectV2Error(await get('/v2/nothing/here'), 404);
  });

  it('still infers correctly after all of the above', async () => {
    const res = await infer(v2Request([PROJECTS.cv]));
    expect(res.statusCode).toBe(200);
    expect((res.json() as InferResponse).outputs[0]!.data).toEqual(['computer-vision']);
  });
});
