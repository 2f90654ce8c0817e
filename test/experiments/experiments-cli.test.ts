import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import { errorCode, runCli } from '../helpers/cli.js';
import { createTestRegistry, type TestRegistry } from '../helpers/serving.js';
import { abRaw } from './helpers.js';

let reg: TestRegistry;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  reg = await createTestRegistry();
  env = { FERRY_HOME: reg.home, FERRY_DB: undefined, FERRY_ARTIFACTS: undefined };
});
afterAll(() => reg?.close());

const ferry = (...args: string[]) => runCli(['experiments', ...args], env);

describe('ferry experiments (straight to the SQL store, no server)', () => {
  it('create, list, show, pause, resume, stop, conclude, with --json', async () => {
    const file = join(reg.home, 'def.json');
    await writeFile(file, JSON.stringify(abRaw({ name: 'cli-ab', power: { baseline: 0.1, mde: 0.02 } })));
    const created = await ferry('create', '--file', file, '--json');
    expect(created.code, created.stderr).toBe(0);
    const body = JSON.parse(created.stdout) as { experiment: Experiment; power: { unitsPerArm: number } };
    expect(body.experiment).toMatchObject({ name: 'cli-ab', status: 'running', weights: [0.5, 0.5] });
    expect(body.power.unitsPerArm).toBeGreaterThan(1000);

    const list = await ferry('list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Experiment[]).map((e) => e.name)).toEqual(['cli-ab']);
    const text = await ferry('list');
    expect(text.stdout).toMatch(/cli-ab\s+ab\s+tagifai\s+running\s+control=v1:0.500 treatment=v2:0.500/);

    const show = await ferry('show', 'cli-ab', '--json');
    expect(show.code, show.stderr).toBe(0);
    const analysis = JSON.parse(show.stdout) as ExperimentAnalysis;
    expect(analysis.experiment.name).toBe('cli-ab');
    expect(analysis.comparisons[0]).toMatchObject({ sufficientData: false });
    expect((await ferry('show', 'cli-ab')).stdout).toMatch(/units 0; events 0/);

    const paused = await ferry('pause', 'cli-ab', '--json');
    expect((JSON.parse(paused.stdout) as Experiment).status).toBe('paused');
    expect((await ferry('resume', 'cli-ab')).stdout).toMatch(/running/);
    expect((await ferry('stop', 'cli-ab')).stdout).toMatch(/stopped/);
    const concluded = await ferry('conclude', 'cli-ab', '--winner', 'treatment', '--json');
    expect(concluded.code, concluded.stderr).toBe(0);
    expect(JSON.parse(concluded.stdout)).toMatchObject({
      status: 'concluded',
      conclusion: { winner: 'treatment' },
    });
  });

  it('errors: a stable code on stderr and a non-zero exit, nothing created', async () => {
    const file = join(reg.home, 'bad.json');
    await writeFile(
      file,
      JSON.stringify(
        abRaw({
          name: 'cli-bad',
          arms: [
            { name: 'control', version: 1, weight: 0.6 },
            { name: 'treatment', version: 2, weight: 0.6 },
          ],
        }),
      ),
    );
    const bad = await ferry('create', '--file', file);
    expect(bad.code).toBe(1);
    expect(errorCode(bad)).toBe('FERRY_EXPERIMENT_INVALID_WEIGHTS');
    const missing = await ferry('show', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_NOT_FOUND' } });
    const resume = await ferry('resume', 'cli-ab');
    expect(errorCode(resume)).toBe('FERRY_EXPERIMENT_CONFLICT');
    const usage = await ferry('list', '--status', 'weird');
    expect(usage.code).toBe(2);
    expect((JSON.parse((await ferry('list', '--json')).stdout) as Experiment[]).map((e) => e.name)).toEqual([
      'cli-ab',
    ]);
  });
});
