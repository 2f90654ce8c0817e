import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, runCli } from '../../helpers/cli.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';

describe('ferry monitor (CLI in child processes)', () => {
  let dir: Awaited<ReturnType<typeof makeTmpDir>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await makeTmpDir('ferry-monitor-cli-');
    env = { FERRY_HOME: dir.path, FERRY_PREDICTION_LOG: 'sql' };
    const train = await runCli(
      ['train', '--dataset-loc', 'data/sample-dataset.csv', '--no-tune', '--promote', '--json'],
      env,
    );
    expect(train.code, train.stderr).toBe(0);
    // ferry train makes the version's reference profile from its validation split.
    expect(JSON.parse(train.stdout).profile).toMatchObject({ features: ['text_length', 'token_count'] });
  }, 180_000);
  afterAll(async () => dir?.remove());

  it('report: a window with no prediction is "no data" (JSON, table and HTML)', async () => {
    const html = join(dir.path, 'out', 'report.html');
    const r = await runCli(
      ['monitor', 'report', '--model', 'tagifai', '--window', '1h', '--json', '--html', html],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'no-data', model: 'tagifai', version: 1 });
    expect(readFileSync(html, 'utf8')).toContain('No data');
    const table = await runCli(
      [
        'monitor',
        'report',
        '--model',
        'tagifai/1',
        '--since',
        '2020-01-01T00:00:00Z',
        '--until',
        '2020-01-02T00:00:00Z',
      ],
      env,
    );
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('no data');
  }, 120_000);

  it('report: bad windows, a bad --html path and a JSONL log are refused before any work', async () => {
    const bad = await runCli(['monitor', 'report', '--model', 'tagifai', '--window', '1x'], env);
    expect([bad.code, errorCode(bad)]).toEqual([1, 'FERRY_MONITOR_INVALID']);
    const inverted = await runCli(
      [
        'monitor',
        'report',
        '--model',
        'tagifai',
        '--since',
        '2026-01-02T00:00:00Z',
        '--until',
        '2026-01-01T00:00:00Z',
      ],
      env,
    );
    expect(errorCode(inverted)).toBe('FERRY_MONITOR_INVALID');
    const method = await runCli(
      ['monitor', 'report', '--model', 'tagifai', '--numeric-method', 'chi-square'],
      env,
    );
    expect(errorCode(method)).toBe('FERRY_MONITOR_INVALID');
    const path = await runCli(['monitor', 'report', '--model', 'tagifai', '--html', '/proc/ferry.html'], env);
    expect([path.code, errorCode(path)]).toEqual([2, 'FERRY_CLI_OUTPUT_PATH']);
    expect(existsSync('/proc/ferry.html')).toBe(false);
    const jsonl = await runCli(['monitor', 'report', '--model', 'tagifai'], {
      ...env,
      FERRY_PREDICTION_LOG: `jsonl:${join(dir.path, 'log')}`,
    });
    expect(errorCode(jsonl)).toBe('FERRY_MONITOR_SOURCE');
  }, 120_000);

  it('profile: replaces the version’s profile from a CSV file', async () => {
    const r = await runCli(
      ['monitor', 'profile', '--model', 'tagifai@production', '--data', 'data/sample-dataset.csv', '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ model: 'tagifai', version: 1, rows: 160, rejected: 0 });
    expect(out.text.vocabulary).toBeGreaterThan(100);
    const missing = await runCli(['monitor', 'report', '--model', 'nobody/1'], env);
    expect(errorCode(missing)).toBe('FERRY_REGISTRY_NOT_FOUND');
  }, 120_000);

  it('models register --reference-data: a custom model registered with its profile', async () => {
    const data = join(dir.path, 'linear.jsonl');
    writeFileSync(
      data,
      Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i + 1, x: [i, 1, 2, 3] })).join('\n'),
    );
    const r = await runCli(
      [
        'models',
        'register',
        '--name',
        'linear',
        '--kind',
        'custom',
        '--artifact',
        'test/fixtures/custom-models/linear-logits.mjs',
        '--reference-data',
        data,
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'linear',
      version: 1,
      profile: { rows: 50, rejected: 0 },
    });
    const report = await runCli(['monitor', 'report', '--model', 'linear/1', '--json'], env);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ status: 'no-data', model: 'linear', text: null });
    const missing = await runCli(
      [
        'models',
        'register',
        '--name',
        'linear',
        '--kind',
        'custom',
        '--artifact',
        'test/fixtures/custom-models/linear-logits.mjs',
        '--reference-data',
        join(dir.path, 'nope.jsonl'),
      ],
      env,
    );
    expect([missing.code, errorCode(missing)]).toEqual([2, 'FERRY_CLI_USAGE']);
  }, 120_000);
});
