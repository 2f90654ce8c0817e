import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { COURSE_DATASET, hasCourseData } from '../helpers/course-data.js';
import { tmpDir } from '../helpers/tmp-dir.js';

if (!hasCourseData) console.warn(`skipped: the course data is absent (${COURSE_DATASET})`);

interface Result {
  status: string;
  production: { scoredAs: string } | null;
  dataset: { rows: number; evalRows: number };
  decision: { failedRule: string | null; figures: { candidateF1: number; productionF1: number | null } };
  outcome: { policy: string; alias?: string } | null;
}

describe.skipIf(!hasCourseData)('ferry retrain on the course data (default gate)', () => {
  const home = tmpDir('ferry-retrain-course-');
  const env = {
    FERRY_HOME: home.path,
    DATASET_LOC: undefined,
    FERRY_DB: undefined,
    FERRY_RETRAIN_POLICY: undefined,
  };
  const retrain = (...args: string[]) =>
    runCli(['retrain', '--dataset-loc', COURSE_DATASET, '--json', ...args], env, 300_000);
  const json = (r: CliResult) => JSON.parse(r.stdout) as Result;
  afterAll(() => home.remove());

  it('passes the default gate (100 evaluation rows, F1 0.5), then a retrain on the same data stays within the margin', async () => {
    const first = await retrain('--policy', 'promote');
    expect(first.code, first.stderr).toBe(0);
    const r1 = json(first);
    expect(r1.dataset.evalRows).toBeGreaterThanOrEqual(100);
    expect(r1.decision.figures.candidateF1).toBeGreaterThan(0.6);
    expect(r1.outcome).toMatchObject({ policy: 'promote', alias: 'production' });

    const second = await retrain();
    expect(second.code, second.stdout).toBe(0);
    const r2 = json(second);
    expect(r2.production?.scoredAs).toBe('refit');
    expect(r2.outcome).toMatchObject({ policy: 'staging', alias: 'staging' });
  }, 600_000);
});
