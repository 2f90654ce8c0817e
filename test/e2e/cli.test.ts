import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { type CliResult, errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const home = tmpDir('ferry-cli-');
const env = { FERRY_HOME: home.path, DATASET_LOC: undefined, FERRY_DB: undefined };
const cli = (...args: string[]) => runCli(args, env);
const train = (...extra: string[]) =>
  cli('train', '--dataset-loc', SAMPLE_DATASET_PATH, '--grid', 'quick', '--folds', '3', ...extra);
const json = (r: CliResult) => JSON.parse(r.stdout) as Record<string, unknown>;

function artifactFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

afterAll(() => home.remove());

describe('ferry CLI', () => {
  let first: CliResult;
  beforeAll(async () => {
    first = await train('--promote', '--json', '--results-fp', join(home.path, 'train.json'));
  });

  it('train --promote registers version 1 and points production at it', () => {
    expect(first.code).toBe(0);
    const out = json(first);
    expect(out.model).toBe('tagifai/1');
    expect((out.promotion as { promote: boolean }).promote).toBe(true);
    // --grid quick is what was cross-validated: its one candidate (the default grid has 8), and its C.
    const tuning = out.tuning as { trials: { C: number; classWeight: string }[] };
    expect(tuning.trials.map((t) => [t.C, t.classWeight])).toEqual([[30, 'balanced']]);
    expect(JSON.parse(readFileSync(join(home.path, 'train.json'), 'utf8')).model).toBe('tagifai/1');
  });

  it('predict prints the course shape', async () => {
    const r = await cli(
      'predict',
      '--model',
      'tagifai@production',
      '--title',
      'Transfer learning with transformers',
      '--description',
      'Using transformers for text classification.',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { prediction: string; probabilities: Record<string, number> }[];
    expect(out).toHaveLength(1);
    expect(out[0]!.prediction).toBe('natural-language-processing');
    expect(Object.keys(out[0]!.probabilities)).toHaveLength(4);
  });

  it('evaluate writes the course results file', async () => {
    const fp = join(home.path, 'results', 'eval.json');
    const r = await cli(
      'evaluate',
      '--model',
      'tagifai/1',
      '--dataset-loc',
      SAMPLE_DATASET_PATH,
      '--results-fp',
      fp,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(fp, 'utf8'));
    expect(report.overall.num_samples).toBe(160);
    // The sample is what tagifai/1 was trained on: the scores are in-sample, and the user is told.
    expect(r.stderr).toMatch(/ferry: warning: the evaluation set is the data tagifai\/1 was trained on/);
    expect(report.warnings).toHaveLength(1);
    const asJson = await cli(
      'evaluate',
      '--model',
      'tagifai/1',
      '--dataset-loc',
      SAMPLE_DATASET_PATH,
      '--json',
    );
    expect((JSON.parse(asJson.stdout) as { warnings: string[] }).warnings[0]).toContain('in-sample');
    // Other data: no warning.
    const other = join(home.path, 'other-eval.csv');
    const lines = readFileSync(SAMPLE_DATASET_PATH, 'utf8').split('\n');
    writeFileSync(other, [lines[0], ...lines.slice(1, 60)].join('\n'));
    const clean = await cli('evaluate', '--model', 'tagifai/1', '--dataset-loc', other, '--json');
    expect(clean.code).toBe(0);
    expect(clean.stderr).not.toContain('warning');
    expect((JSON.parse(clean.stdout) as { warnings: string[] }).warnings).toEqual([]);
    expect(Object.keys(report.slices).sort()).toEqual(['nlp_llm', 'short_text']);
    expect(report.behavioral.results).toHaveLength(7);
  });

  it('two trainings at once get distinct versions; --promote keeps production when not better', async () => {
    const [a, b] = await Promise.all([train('--json'), train('--json')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect([json(a).model, json(b).model].sort()).toEqual(['tagifai/2', 'tagifai/3']);
    const list = await cli('models', 'list', 'tagifai', '--json');
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(3);
  });

  it('models alias / show / rollback move production and back', async () => {
    expect((await cli('models', 'alias', 'tagifai', 'production', '3')).code).toBe(0);
    const shown = json(await cli('models', 'show', 'tagifai@production', '--json'));
    expect(shown.version).toBe(3);
    const back = json(await cli('models', 'rollback', 'tagifai', '--json'));
    expect(back).toMatchObject({ from: 3, to: 1 });
    expect(json(await cli('models', 'show', 'tagifai@production', '--json')).version).toBe(1);
  });

  it('--promote refuses a model trained on too few rows and says why; --fail-if-not-promoted exits 3; --force overrides', async () => {
    const tiny = join(home.path, 'tiny.csv');
    const lines = readFileSync(SAMPLE_DATASET_PATH, 'utf8').split('\n');
    writeFileSync(tiny, [lines[0], ...lines.slice(1, 41)].join('\n'));
    const r = await cli('train', '--dataset-loc', tiny, '--no-tune', '--promote', '--json');
    expect(r.code).toBe(0);
    const out = json(r) as { promotion: { promote: boolean; reason: string }; model: string };
    expect(out.promotion.promote).toBe(false);
    expect(out.promotion.reason).toContain('trained on 40 rows, fewer than the minimum of 100');
    expect(json(await cli('models', 'show', 'tagifai@production', '--json')).version).toBe(1);

    // CI gate: registered, not promoted, distinct exit code; both scored on the --eval-loc rows.
    const gated = await cli(
      'train',
      '--dataset-loc',
      tiny,
      '--no-tune',
      '--promote',
      '--eval-loc',
      SAMPLE_DATASET_PATH,
      '--fail-if-not-promoted',
      '--json',
    );
    expect(gated.code).toBe(3);
    const g = json(gated) as { promotion: { promote: boolean; comparison: { on: string; rows: number } } };
    expect(g.promotion.promote).toBe(false);
    expect(g.promotion.comparison).toMatchObject({ on: SAMPLE_DATASET_PATH, rows: 160 });

    const forced = await cli('train', '--dataset-loc', tiny, '--no-tune', '--promote', '--force', '--json');
    expect((json(forced) as { promotion: { promote: boolean } }).promotion.promote).toBe(true);
    expect((await cli('models', 'rollback', 'tagifai')).code).toBe(0);
    expect(json(await cli('models', 'show', 'tagifai@production', '--json')).version).toBe(1);
  });

  it('refuses a tampered artifact with FERRY_REGISTRY_CHECKSUM_MISMATCH', async () => {
    const v1 = json(await cli('models', 'show', 'tagifai/1', '--json')) as { artifactSha256: string };
    const file = artifactFiles(join(home.path, 'artifacts')).find((f) => f.endsWith(v1.artifactSha256))!;
    const bytes = readFileSync(file);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(file, bytes);
    expect(statSync(file).size).toBeGreaterThan(0);
    const r = await cli('predict', '--model', 'tagifai/1', '--title', 'x');
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_REGISTRY_CHECKSUM_MISMATCH');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // No alias is moved to it: the artifact is verified before the move commits.
    const move = await cli('models', 'alias', 'tagifai', 'staging', '1');
    expect(move.code).toBe(1);
    expect(errorCode(move)).toBe('FERRY_REGISTRY_UNLOADABLE_VERSION');
    expect(errorCode(await cli('models', 'show', 'tagifai@staging'))).toBe('FERRY_REGISTRY_NOT_FOUND');
  });

  it.each([
    [['predict', '--model', 'tagifai@nope', '--title', 'x'], 'FERRY_REGISTRY_NOT_FOUND'],
    [['predict', '--model', 'nobody/1', '--title', 'x'], 'FERRY_REGISTRY_NOT_FOUND'],
    [['predict', '--model', 'Bad Name!', '--title', 'x'], 'FERRY_REGISTRY_INVALID_REF'],
    [['predict', '--title', ' ', '--description', ''], 'FERRY_MODEL_INVALID_INPUT'],
    // Item 16: a text that cleans to nothing is refused like an empty one.
    [['predict', '--title', '\u200d\u200c', '--description', '\u0301'], 'FERRY_MODEL_INVALID_INPUT'],
    [['train', '--dataset-loc', '/nonexistent/data.csv'], 'FERRY_DATA_NOT_FOUND'],
    [['train', '--dataset-loc', 'http://127.0.0.1:9/data.csv'], 'FERRY_DATA_UNREACHABLE'],
    [['train', '--dataset-loc', SAMPLE_DATASET_PATH, '--grid', 'huge'], 'FERRY_CLI_USAGE'],
  ])('%j fails with %s and a non-zero exit', async (args, code) => {
    const r = await cli(...args);
    expect(r.code).not.toBe(0);
    expect(errorCode(r)).toBe(code);
  });

  it("predict enforces POST /predict's limits (FERRY_MAX_STRING_LENGTH, 20,000 per field)", async () => {
    const r = await cli('predict', '--title', 'a'.repeat(20_001));
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_MODEL_INVALID_INPUT');
    const lower = await runCli(['predict', '--title', 'abcdef'], { ...env, FERRY_MAX_STRING_LENGTH: '5' });
    expect(errorCode(lower)).toBe('FERRY_MODEL_INVALID_INPUT');
  });

  it('models alias with a non-numeric version is a usage error that says so (exit 2)', async () => {
    const r = await cli('models', 'alias', 'tagifai', 'production', 'abc');
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('FERRY_CLI_USAGE');
    expect(r.stderr).toContain('"abc"');
  });

  it.each([
    [['models', 'list', '--bogus'], "unknown option '--bogus'"],
    [['models', 'alias', 'tagifai', 'production'], "missing required argument 'version'"],
    [['experiments', 'create'], "required option '--file <path>' not specified"],
    [['batch', 'predict', '--input-loc'], "option '--input-loc <path>' argument missing"],
    [['nosuchcmd'], "unknown command 'nosuchcmd'"],
  ])("commander's usage error %j is FERRY_CLI_USAGE in Ferry's form, exit 2", async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ferry: error FERRY_CLI_USAGE: ${message}\n`);
  });

  it("commander's usage errors in JSON with --json", async () => {
    const [unknown, required] = await Promise.all([
      cli('models', 'list', '--bogus', '--json'),
      cli('experiments', 'create', '--json'),
    ]);
    for (const [r, message] of [
      [unknown, "unknown option '--bogus'"],
      [required, "required option '--file <path>' not specified"],
    ] as const) {
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'FERRY_CLI_USAGE', message, details: {} } });
    }
  });

  it('models list <unknown> exits non-zero with FERRY_REGISTRY_NOT_FOUND naming the registry', async () => {
    const r = await cli('models', 'list', 'nope');
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_REGISTRY_NOT_FOUND');
    expect(r.stderr).toContain(`registry: sqlite:${join(home.path, 'ferry.db')}`);
    const shown = await cli('models', 'show', 'nope@production');
    expect(shown.stderr).toContain(join(home.path, 'ferry.db'));
  });

  it('without FERRY_HOME, a subdirectory uses the project registry (nearest package.json or .ferry)', async () => {
    const project = join(home.path, 'project');
    const docs = join(project, 'docs');
    mkdirSync(docs, { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    const r = await runCli(['models', 'list', 'nope'], { ...env, FERRY_HOME: undefined }, 60_000, docs);
    expect(errorCode(r)).toBe('FERRY_REGISTRY_NOT_FOUND');
    expect(r.stderr).toContain(`registry: sqlite:${join(project, '.ferry', 'ferry.db')}`);
    expect(existsSync(join(docs, '.ferry'))).toBe(false);
  });

  it('an evaluation set with an unknown tag fails with FERRY_DATA_UNKNOWN_LABEL', async () => {
    const bad = join(home.path, 'bad-eval.csv');
    writeFileSync(bad, 'id,title,description,tag\n1,Robot arm,grasping,robotics\n');
    const r = await cli('evaluate', '--model', 'tagifai/4', '--dataset-loc', bad);
    expect(errorCode(r)).toBe('FERRY_DATA_UNKNOWN_LABEL');
  });

  it('a database that cannot be opened fails with a FERRY_DB code, nothing registered', async () => {
    const r = await runCli(['models', 'list'], { ...env, FERRY_DB: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_DB_UNAVAILABLE');
  });
});
