/**
 * Two server replicas on one PostgreSQL schema: a canary served by both is evaluated by both, yet
 * steps and is promoted once (one history, one alias move); a shadow's report merges both replicas'
 * rows and reads the same from either. PostgreSQL being down fails this test; it never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import { dropSchemas } from '../helpers/postgres.js';
import { ADMIN_TOKEN, MODEL, PROJECTS, startTestServer, type TestServer } from '../helpers/serving.js';
import { createPgTestRegistry } from './helpers.js';
import { analysis, post, predict } from './live-helpers.js';

let reg: Awaited<ReturnType<typeof createPgTestRegistry>>;
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  reg = await createPgTestRegistry();
  const opts = {
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    flags: { cache: 'off' },
    config: { experimentPollMs: 200, canaryEvaluateMs: 100, shadowFlushMs: 100 },
  };
  a = await startTestServer(opts);
  b = await startTestServer(opts);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await reg?.close();
  if (reg) await dropSchemas(reg.schema);
});

const INPUTS = Object.values(PROJECTS);

describe('canary and shadow across two replicas on PostgreSQL', () => {
  it('a canary served and evaluated by both replicas steps and is promoted exactly once', async () => {
    const name = 'canary-replicas';
    const created = await post(a, '/v1/experiments', {
      name,
      type: 'canary',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'canary', version: 2 },
      ],
      canary: {
        steps: [0.2, 0.5, 1],
        minRequestsPerStep: 20,
        minStepDurationMs: 200,
        thresholds: { maxDistributionDistance: 0.5, minP99IncreaseMs: 100 },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    await b.runtime.experiments.router.refresh();
    const started = performance.now();
    for (let i = 0; ; i++) {
      const res = await predict(i % 2 === 0 ? a : b, INPUTS[i % INPUTS.length]!, `user-${i}`);
      expect(res.statusCode).toBe(200);
      if (i % 10 === 9 && (await a.runtime.experiments.store.require(name)).status === 'concluded') break;
      if (performance.now() - started > 30_000) throw new Error('the canary did not conclude');
    }
    const e: Experiment = await a.runtime.experiments.store.require(name);
    expect(e.conclusion).toMatchObject({ winner: 'canary', outcome: 'promoted' });
    expect(e.weightsHistory.map((h) => h.weights)).toEqual([
      [0.8, 0.2],
      [0.5, 0.5],
      [0, 1],
      [0, 1],
    ]);
    const view = await analysis<ExperimentAnalysis>(b, name);
    expect(view.canary!.history.map((h) => h.action)).toEqual(['start', 'step', 'step', 'promote']);
    const moves = await reg.registry.aliasHistory(MODEL, 'production');
    expect(moves.filter((m) => m.reason?.startsWith(`canary "${name}" promoted`))).toHaveLength(1);
    expect(await reg.production()).toBe(2);
    // Both replicas wrote their counters.
    const replicas = new Set<string>();
    for (const step of [0, 1, 2]) {
      for (const row of await a.runtime.experiments.stats.canaryRows(name, step)) replicas.add(row.replica);
    }
    expect([...replicas].sort()).toEqual(
      [a.runtime.experiments.replica, b.runtime.experiments.replica].sort(),
    );
    await reg.setAlias(1);
    await a.runtime.host.refresh();
    await b.runtime.host.refresh();
  });

  it("a shadow's report is the merge of both replicas' rows, the same from either", async () => {
    const name = 'shadow-replicas';
    const created = await post(a, '/v1/experiments', {
      name,
      type: 'shadow',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'candidate', version: 2 },
      ],
    });
    expect(created.statusCode, created.body).toBe(201);
    await b.runtime.experiments.router.refresh();
    for (let i = 0; i < 30; i++) {
      expect((await predict(a, INPUTS[i % 3]!)).statusCode).toBe(200);
      expect((await predict(b, INPUTS[i % 3]!)).statusCode).toBe(200);
    }
    await a.runtime.experiments.shadow.drain(name);
    await b.runtime.experiments.shadow.drain(name);
    await b.runtime.experiments.shadow.flush(name);
    const fromA = (await analysis<ExperimentAnalysis>(a, name)).shadow!;
    await a.runtime.experiments.shadow.flush(name);
    const fromB = (await analysis<ExperimentAnalysis>(b, name)).shadow!;
    expect(fromA.replicas).toBe(2);
    expect(fromA.report).toMatchObject({ offered: 60, mirrored: 60, compared: 60, agreed: 60, dropped: 0 });
    expect(fromB.report).toEqual(fromA.report);
    expect((await post(a, `/v1/experiments/${name}/stop`)).statusCode).toBe(200);
  });
});
