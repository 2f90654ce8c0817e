import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const home = tmpDir('ferry-optimize-cli-');
const env = { FERRY_HOME: home.path, DATASET_LOC: undefined, FERRY_DB: undefined };
const cli = (...args: string[]) => runCli(args, env);
const versions = async () =>
  JSON.parse((await cli('models', 'list', 'tagifai', '--json')).stdout).length as number;

afterAll(() => home.remove());

describe('ferry optimize', () => {
  beforeAll(async () => {
    const trained = await cli(
      'train',
      '--dataset-loc',
      SAMPLE_DATASET_PATH,
      '--no-tune',
      '--promote',
      '--json',
    );
    expect(trained.code, trained.stderr).toBe(0);
  }, 120_000);

  it('refuses each bad flag with exit 2 and its code, before anything is read or registered', async () => {
    const model = ['--model', 'tagifai@production'];
    const cases: [string[], string][] = [
      [['prune', ...model, '--sparsity', '1.5'], 'FERRY_OPTIMIZE_INVALID'],
      [['prune', ...model, '--sparsity', 'half'], 'FERRY_OPTIMIZE_INVALID'],
      [['prune', ...model], 'FERRY_OPTIMIZE_INVALID'], // magnitude without --sparsity
      [['prune', ...model, '--method', 'structured'], 'FERRY_OPTIMIZE_INVALID'], // without --keep-features
      [['prune', ...model, '--method', 'random', '--sparsity', '0.5'], 'FERRY_OPTIMIZE_INVALID'],
      [['quantize', ...model, '--dtype', 'int4'], 'FERRY_OPTIMIZE_INVALID'],
      [['distill', ...model, '--temperature', '0'], 'FERRY_OPTIMIZE_INVALID'],
      [['distill', ...model, '--alpha', '1.5'], 'FERRY_OPTIMIZE_INVALID'],
      [['quantize', ...model, '--plot-fp', join(home.path, 'report.pdf')], 'FERRY_CLI_USAGE'],
      [['quantize', ...model, '--report-fp', home.path], 'FERRY_CLI_OUTPUT_PATH'],
    ];
    for (const [args, code] of cases) {
      const r = await cli('optimize', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(errorCode(r), args.join(' ')).toBe(code);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // Names too, before the parent is loaded: nothing fitted, measured or registered.
    for (const [args, code] of [
      [['quantize', '--model', 'tagifai@production', '--alias', 'Bad Alias'], 'FERRY_REGISTRY_INVALID_NAME'],
      [['quantize', '--model', 'tagifai@@x'], 'FERRY_REGISTRY_INVALID_REF'],
    ] as const) {
      const r = await cli('optimize', ...args);
      expect(r.code, r.stderr).toBe(1);
      expect(errorCode(r)).toBe(code);
    }
    expect(await versions()).toBe(1);
  }, 300_000);

  it('quantizes to int8: a new version with its lineage, the alias moved, the report as JSON, a file and a PNG chart', async () => {
    const reportFp = join(home.path, 'report.json');
    const plotFp = join(home.path, 'report.png');
    const r = await cli(
      'optimize',
      'quantize',
      '--model',
      'tagifai@production',
      '--dtype',
      'int8',
      '--alias',
      'staging',
      '--report-fp',
      reportFp,
      '--plot-fp',
      plotFp,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe('tagifai/2');
    expect(out.parent).toBe('tagifai/1');
    expect(out.version.aliases).toEqual(['staging']);
    expect(out.version.params.lineage).toMatchObject({
      parent: { name: 'tagifai', version: 1 },
      method: 'quantize',
      options: { dtype: 'int8' },
    });
    const report = JSON.parse(readFileSync(reportFp, 'utf8'));
    expect(report.parent.ref).toBe('tagifai/1');
    expect(report.variants[0].ref).toBe('tagifai/2');
    // Measured, not assumed: the int8 artifact is smaller, and its figures are numbers.
    expect(report.variants[0].artifactBytes).toBeLessThan(report.parent.artifactBytes * 0.35);
    expect(report.variants[0].latencyP50Ms).toBeGreaterThan(0);
    expect(report.variants[0].agreement.top1).toBeGreaterThan(0.9);
    expect(report.evalSet.seenInTraining).toBe(true);
    const png = readFileSync(plotFp);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // The variant serves predictions through the same CLI.
    const p = await cli(
      'predict',
      '--model',
      'tagifai@staging',
      '--title',
      'Transformers',
      '--description',
      'attention for text',
      '--json',
    );
    expect(p.code, p.stderr).toBe(0);
    expect(await versions()).toBe(2);
  }, 300_000);

  it('answers a kind without the method with FERRY_OPTIMIZE_UNSUPPORTED naming the kinds that have it (exit 2)', async () => {
    const reg = await cli(
      'models',
      'register',
      '--name',
      'mlp',
      '--kind',
      'onnx',
      '--artifact',
      'test/fixtures/onnx/mlp.onnx',
    );
    expect(reg.code, reg.stderr).toBe(0);
    const r = await cli(
      'optimize',
      'prune',
      '--model',
      'mlp/1',
      '--method',
      'structured',
      '--keep-features',
      '10',
      '--eval-loc',
      SAMPLE_DATASET_PATH,
    );
    expect(r.code, r.stderr).toBe(2);
    expect(errorCode(r)).toBe('FERRY_OPTIMIZE_UNSUPPORTED');
    const d = await cli('optimize', 'distill', '--model', 'mlp/1', '--eval-loc', SAMPLE_DATASET_PATH);
    expect(d.code, d.stderr).toBe(2);
    expect(errorCode(d)).toBe('FERRY_OPTIMIZE_UNSUPPORTED');
    expect(JSON.parse((await cli('models', 'list', 'mlp', '--json')).stdout)).toHaveLength(1);
  }, 120_000);
});
