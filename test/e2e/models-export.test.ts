import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, TextClassifier } from '../../src/model/text-classifier.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { runExported } from '../unit/optimize/onnx-export-run.js';

const home = tmpDir('ferry-export-');
const cli = (...args: string[]) => runCli(args, { FERRY_HOME: home.path, FERRY_CACHE_DIR: undefined });
afterAll(() => home.remove());

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const model = TextClassifier.fit(
  sample.rows,
  sample.rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);

async function names(): Promise<string[]> {
  const list = await cli('models', 'list', '--json');
  return JSON.parse(list.stdout).map((v: { name: string; version: number }) => `${v.name}/${v.version}`);
}

beforeAll(async () => {
  const artifact = join(home.path, 'tagifai.json');
  writeFileSync(artifact, model.toArtifact());
  const text = await cli(
    'models',
    'register',
    '--name',
    'tagifai',
    '--kind',
    'text-classifier',
    '--artifact',
    artifact,
    '--alias',
    'production',
  );
  expect(text.code, text.stderr).toBe(0);
  const onnx = await cli(
    'models',
    'register',
    '--name',
    'mlp',
    '--kind',
    'onnx',
    '--artifact',
    'test/fixtures/onnx/mlp.onnx',
  );
  expect(onnx.code, onnx.stderr).toBe(0);
}, 120_000);

describe('ferry models export', () => {
  it("writes an ONNX file that gives the model's labels, and registers it as an onnx version with its lineage", async () => {
    const out = join(home.path, 'out', 'model.onnx');
    const r = await cli(
      'models',
      'export',
      '--model',
      'tagifai@production',
      '--format',
      'onnx',
      '--dtype',
      'int8',
      '--output',
      out,
      '--register',
      'tagifai-onnx',
      '--alias',
      'staging',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      source: 'tagifai/1',
      dtype: 'int8',
      registered: 'tagifai-onnx/1',
    });
    const bytes = readFileSync(out);
    const rows = sample.rows.slice(0, 40);
    const ran = await runExported(bytes, model, rows);
    const expected = model.predictBatch(rows).map((p) => p.prediction);
    const agree = ran.labels.filter((l, i) => l === expected[i]).length;
    expect(agree / rows.length).toBeGreaterThan(0.95);

    const shown = JSON.parse((await cli('models', 'show', 'tagifai-onnx@staging', '--json')).stdout);
    expect(shown.kind).toBe('onnx');
    expect(shown.params.lineage).toEqual({
      parent: { name: 'tagifai', version: 1 },
      method: 'export',
      options: { format: 'onnx', dtype: 'int8' },
    });
    expect(shown.signature.inputs).toEqual([
      { name: 'feature_indices', datatype: 'INT64', shape: [-1, -1] },
      { name: 'feature_values', datatype: 'FP32', shape: [-1, -1] },
    ]);
    expect(shown.signature.outputs).toEqual([
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.classes.length] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ]);
  });

  it('float32 by default, the same bytes each time', async () => {
    const a = join(home.path, 'a.onnx');
    const b = join(home.path, 'b.onnx');
    for (const out of [a, b]) {
      const r = await cli('models', 'export', '--model', 'tagifai/1', '--output', out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('float32');
    }
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('refuses a bad dtype or format and a kind it cannot export (exit 2), writing and registering nothing', async () => {
    const before = await names();
    const out = join(home.path, 'refused.onnx');
    const cases: [string[], string, RegExp][] = [
      [['--model', 'tagifai@production', '--dtype', 'float16'], 'FERRY_OPTIMIZE_INVALID', /float32 or int8/],
      [['--model', 'tagifai@production', '--format', 'tflite'], 'FERRY_OPTIMIZE_INVALID', /onnx/],
      [['--model', 'mlp/1'], 'FERRY_OPTIMIZE_UNSUPPORTED', /mlp\/1 \(onnx\).*text-classifier/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli('models', 'export', ...args, '--output', out, '--register', 'refused');
      expect(r.code, r.stderr).toBe(2);
      expect(errorCode(r)).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const aliasAlone = await cli('models', 'export', '--model', 'tagifai/1', '--output', out, '--alias', 'x');
    expect([aliasAlone.code, errorCode(aliasAlone)]).toEqual([2, 'FERRY_CLI_USAGE']);
    const badName = await cli(
      'models',
      'export',
      '--model',
      'tagifai/1',
      '--output',
      out,
      '--register',
      'a\u0001b',
    );
    expect(errorCode(badName)).toBe('FERRY_REGISTRY_INVALID_NAME');
    expect(existsSync(out)).toBe(false);
    expect(await names()).toEqual(before);
  });
});
