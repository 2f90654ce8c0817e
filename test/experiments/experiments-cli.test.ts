import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../src/app/open-ferry.js';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import { EVENTS_TABLE } from '../../src/experiments/experiment-store.js';
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

  it('exclude-events: out-of-range values planted in the database, recorded with who and why', async () => {
    const file = join(reg.home, 'poison.json');
    await writeFile(
      file,
      JSON.stringify(abRaw({ name: 'cli-poison', metrics: [{ name: 'revenue', kind: 'numeric' }] })),
    );
    expect((await ferry('create', '--file', file)).code).toBe(0);
    const ctx = await openFerry(reg.config);
    try {
      const at = new Date().toISOString();
      await ctx.sql.execute(
        `INSERT INTO ${EVENTS_TABLE} (experiment, event_id, unit, metric, value, at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        ['cli-poison', 'planted', 'u1', 'revenue', 1e200, at, at],
      );
      const shown = JSON.parse((await ferry('show', 'cli-poison', '--json')).stdout) as ExperimentAnalysis;
      expect(shown.comparisons[0]!.error).toMatch(/beyond/);
      const none = await ferry('exclude-events', 'cli-poison', '--reason', 'no selection');
      expect(errorCode(none)).toBe('FERRY_EXPERIMENT_INVALID');
      const out = await ferry(
        'exclude-events',
        'cli-poison',
        '--out-of-range',
        '--reason',
        'planted',
        '--by',
        'ops',
        '--json',
      );
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ excluded: 1 });
      const [row] = await ctx.sql.query<{ excluded_by: string; excluded_reason: string }>(
        `SELECT excluded_by, excluded_reason FROM ${EVENTS_TABLE} WHERE experiment = $1`,
        ['cli-poison'],
      );
      expect(row).toEqual({ excluded_by: 'ops (cli)', excluded_reason: 'planted' });
      const after = JSON.parse((await ferry('show', 'cli-poison', '--json')).stdout) as ExperimentAnalysis;
      expect(after.comparisons[0]!.error).toBeUndefined();
      expect(after.excludedEvents).toBe(1);
    } finally {
      await ctx.close();
    }
    expect((await ferry('stop', 'cli-poison')).code).toBe(0);
  });
});
