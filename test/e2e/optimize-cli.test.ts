import { existsSync } from 'node:fs';
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
    expect(await versions()).toBe(1);
  }, 300_000);

  it('answers a kind without the method with FERRY_OPTIMIZE_UNSUPPORTED (exit 2) and registers nothing', async () => {
    const reportFp = join(home.path, 'report.json');
    const r = await cli('optimize', 'quantize', '--model', 'tagifai@production', '--report-fp', reportFp);
    expect(r.code, r.stderr).toBe(2);
    expect(errorCode(r)).toBe('FERRY_OPTIMIZE_UNSUPPORTED');
    expect(r.stderr).toContain('no kind supports it yet');
    expect(existsSync(reportFp)).toBe(false);
    expect(await versions()).toBe(1);
  }, 60_000);
});
