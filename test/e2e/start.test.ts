import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

describe('ferry start (npm start)', () => {
  const home = tmpDir('ferry-start-');
  afterAll(() => home.remove());

  it('falls back to the shipped sample when the dataset is unreachable, says so, trains, promotes and predicts', async () => {
    const r = await runCli(['start', '--no-serve'], {
      FERRY_HOME: home.path,
      DATASET_LOC: 'http://127.0.0.1:9/dataset.csv',
      FERRY_DB: undefined,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is not reachable');
    expect(r.stdout).toContain(SAMPLE_DATASET_PATH);
    expect(r.stdout).toMatch(/registered tagifai\/1/);
    expect(r.stdout).toMatch(/Transfer learning with transformers\s+-> natural-language-processing/);
  });

  it('reuses tagifai@production on the next start instead of training again', async () => {
    const r = await runCli(['start', '--no-serve'], {
      FERRY_HOME: home.path,
      DATASET_LOC: 'http://127.0.0.1:9/dataset.csv',
      FERRY_DB: undefined,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tagifai@production is tagifai\/1/);
    expect(r.stdout).not.toContain('registered');
  });

  it('says when production was trained on the bundled sample and real data is now set, with the command', async () => {
    const real = join(home.path, 'real.csv');
    writeFileSync(real, `${readFileSync(SAMPLE_DATASET_PATH, 'utf8')}\n`);
    const r = await runCli(['start', '--no-serve'], {
      FERRY_HOME: home.path,
      DATASET_LOC: real,
      FERRY_DB: undefined,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('was trained on the small sample shipped with Ferry');
    expect(r.stdout).toContain(`DATASET_LOC is set to ${real}`);
    expect(r.stdout).toContain(`npx ferry train --dataset-loc ${real} --promote`);
  });
});
