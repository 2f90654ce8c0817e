import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../src/app/open-ferry.js';
import { loadConfig } from '../../src/core/config.js';
import { RetrainStore } from '../../src/learning/retrain/retrain-store.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { type CliResult, errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const home = tmpDir('ferry-retrain-cli-');
const env = {
  FERRY_HOME: home.path,
  DATASET_LOC: undefined,
  FERRY_DB: undefined,
  FERRY_RETRAIN_POLICY: undefined,
};
const cli = (...args: string[]) => runCli(args, env);
const retrain = (...extra: string[]) =>
  cli('retrain', '--dataset-loc', SAMPLE_DATASET_PATH, '--min-eval-rows', '20', ...extra);
const json = <T>(r: CliResult) => JSON.parse(r.stdout) as T;

interface Result {
  status: string;
  candidate: { version: number };
  production: { version: number; scoredAs: string } | null;
  decision: {
    passed: boolean;
    failedRule: string | null;
    figures: { evalRows: number; candidateF1: number };
  };
  outcome: Record<string, unknown> | null;
}
interface Run {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  errorCode: string | null;
}

async function aliases(): Promise<Record<string, number>> {
  const r = await cli('models', 'list', 'tagifai', '--json');
  const versions = JSON.parse(r.stdout) as Array<{ version: number; aliases: string[] }>;
  return Object.fromEntries(versions.flatMap((v) => v.aliases.map((a) => [a, v.version])));
}

afterAll(() => home.remove());

describe('ferry retrain (CLI, child processes)', () => {
  let first: CliResult;
  beforeAll(async () => {
    first = await retrain('--policy', 'promote', '--json');
  });

  it('the first run with no production passes and, by policy promote, becomes production', async () => {
    expect(first.code, first.stderr).toBe(0);
    const r = json<Result>(first);
    expect(r).toMatchObject({
      status: 'passed',
      production: null,
      outcome: { policy: 'promote', version: 1 },
    });
    expect(r.decision.figures.evalRows).toBe(32);
    expect(await aliases()).toEqual({ production: 1 });
  });

  it("a refused candidate exits 3 with both models' figures; production is untouched", async () => {
    const r = await retrain('--policy', 'promote', '--min-f1', '0.99');
    expect(r.code).toBe(3);
    expect(errorCode(r)).toBe('FERRY_RETRAIN_REFUSED');
    expect(r.stderr).toMatch(/the gate refused tagifai\/2 \(rule min_f1\); nothing was promoted/);
    expect(r.stdout).toMatch(/^retrain tagifai: REFUSED \(min_f1\)/);
    expect(r.stdout).toMatch(/candidate tagifai\/2 +weighted F1 0\.\d{4}/);
    expect(r.stdout).toMatch(/production tagifai\/1 +weighted F1 0\.\d{4}/);
    expect(r.stdout).toMatch(/FAIL min_f1: candidate weighted F1 0\.\d{4} \(minimum 0\.9900\)/);
    expect(r.stdout).toContain('registered tagifai/2; no alias moved');
    expect(await aliases()).toEqual({ production: 1 });
  });

  it('bad data: the data error, exit 1, nothing registered, the run recorded failed', async () => {
    const bad = join(home.path, 'bad.csv');
    writeFileSync(bad, 'id,title,description\n1,a,b\n');
    const r = await cli('retrain', '--dataset-loc', bad, '--policy', 'promote');
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_DATA_MISSING_COLUMN');
    const versions = JSON.parse((await cli('models', 'list', 'tagifai', '--json')).stdout) as unknown[];
    expect(versions).toHaveLength(2);
    const history = json<Run[]>(await cli('retrain', 'history', '--json'));
    expect(history[0]).toMatchObject({ status: 'failed', errorCode: 'FERRY_DATA_MISSING_COLUMN' });
  });

  it('a lease held by another replica: exit 4, FERRY_RETRAIN_BUSY', async () => {
    const config = loadConfig({}, { home: home.path });
    const ctx = await openFerry(config);
    const store = new RetrainStore({ sql: ctx.sql });
    try {
      await store.init();
      const id = await store.start({
        model: 'tagifai',
        trigger: 'manual',
        policy: 'staging',
        leaseMs: 120_000,
      });
      const r = await retrain('--json');
      expect(r.code).toBe(4);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'FERRY_RETRAIN_BUSY', details: { run: id } });
      await store.finish('tagifai', id, { status: 'failed', errorMessage: 'test' });
    } finally {
      await ctx.close();
    }
  });

  it('two retrains started at once never run at the same time', async () => {
    const [a, b] = await Promise.all([retrain('--tune-grid', 'quick'), retrain('--tune-grid', 'quick')]);
    const codes = [a!.code, b!.code].sort();
    // Either the second found the lease (4) or started after the first had finished.
    for (const r of [a!, b!]) if (r.code === 4) expect(errorCode(r)).toBe('FERRY_RETRAIN_BUSY');
    expect(codes.every((c) => c === 0 || c === 4)).toBe(true);
    const runs = json<Run[]>(await cli('retrain', 'history', '--json')).filter((x) => x.status === 'passed');
    const [newer, older] = runs;
    if (codes.includes(4)) expect(codes).toEqual([0, 4]);
    else expect(newer!.startedAt >= older!.finishedAt!).toBe(true);
  });

  it('policy canary: a running canary experiment of production vs the candidate', async () => {
    const r = await retrain('--policy', 'canary', '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = json<Result>(r);
    expect(result.outcome).toMatchObject({ policy: 'canary' });
    const name = result.outcome!.experiment as string;
    const experiments = JSON.parse((await cli('experiments', 'list', '--json')).stdout) as Array<{
      name: string;
      type: string;
      status: string;
      arms: Array<{ name: string; version?: number; alias?: string }>;
    }>;
    const e = experiments.find((x) => x.name === name);
    expect(e).toMatchObject({ type: 'canary', status: 'running' });
    expect(e!.arms.map((a) => a.version ?? a.alias)).toEqual(['production', result.candidate.version]);
    // The policy leaves production to the canary.
    expect((await aliases()).production).toBe(1);
  });

  it('history lists every run, newest first, with figures and decisions', async () => {
    const r = await cli('retrain', 'history');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/ passed +manual +candidate 1 production - F1 0\.\d{4} vs -$/);
    expect(r.stdout).toMatch(/ refused +\(min_f1\) manual +candidate 2 production 1 F1/);
    expect(r.stdout).toMatch(/ failed .*FERRY_DATA_MISSING_COLUMN/);
  });
});
