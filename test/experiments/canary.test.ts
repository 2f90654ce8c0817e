/**
 * Canary releases on a real server (through `inject`) with tight timings: a healthy version walks
 * the steps and is promoted, an erroring or slow one is rolled back at once, no traffic means no
 * decision, and the manual actions (HTTP and CLI) map onto the controller.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import { assign } from '../../src/experiments/hashing.js';
import { runCli } from '../helpers/cli.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  PROJECTS,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';
import { abRaw } from './helpers.js';
import { analysis, type Fault, faultyVersion, post, predict } from './live-helpers.js';

let reg: TestRegistry;
beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(async () => {
  await reg?.close();
});

const INPUTS = Object.values(PROJECTS);

// Experiment names are never reused, and the tests share one registry: a retried test (CI retries
// once) must not find its first attempt's experiment under the same name.
let attempts = 0;
const fresh = (base: string) => `${base}-${++attempts}`;

/** A server on the shared registry (production = 1) evaluating canaries every 100 ms; no cache. */
async function server(fault?: Fault): Promise<TestServer> {
  if ((await reg.production()) !== 1) await reg.setAlias(1);
  return startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    flags: { cache: 'off' },
    config: { experimentPollMs: 0, canaryEvaluateMs: 100 },
    ...(fault !== undefined ? { wrapModel: faultyVersion(2, fault) } : {}),
  });
}

function canaryRaw(name: string, canary: Record<string, unknown> = {}): Record<string, unknown> {
  return {
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
      // Small samples of three inputs: the label mix of two arms differs by chance alone; and a
      // p99 over a few dozen requests is their maximum, which a busy test machine inflates at random.
      thresholds: { maxDistributionDistance: 0.5, minP99IncreaseMs: 100 },
      ...canary,
    },
  };
}

async function create(s: TestServer, raw: Record<string, unknown>): Promise<Experiment> {
  const res = await post(s, '/v1/experiments', raw);
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { experiment: Experiment }).experiment;
}

interface Answer {
  unit: string;
  arm: string | undefined;
  version: string | undefined;
  status: number;
}

/**
 * Sends requests one at a time, each from a new unit, until `done` (checked every 10 requests) or
 * `maxMs`; returns what each request got.
 */
async function drive(
  s: TestServer,
  prefix: string,
  done: () => Promise<boolean>,
  maxMs = 20_000,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  const started = performance.now();
  for (let i = 0; ; i++) {
    const unit = `${prefix}-${i}`;
    const res = await predict(s, INPUTS[i % INPUTS.length]!, unit);
    answers.push({
      unit,
      arm: res.headers['x-ferry-arm'] as string | undefined,
      version: res.headers['x-ferry-model-version'] as string | undefined,
      status: res.statusCode,
    });
    if (i % 10 === 9 && (await done())) return answers;
    if (performance.now() - started > maxMs) throw new Error(`${prefix}: not done after ${maxMs} ms`);
  }
}

const stored = (s: TestServer, name: string) => s.runtime.experiments.store.require(name);
const concluded = (s: TestServer, name: string) => async () => (await stored(s, name)).status === 'concluded';

describe('a canary release on a live server', () => {
  it('a healthy version walks the steps and is promoted: the production alias moves to it', async () => {
    const s = await server();
    try {
      const name = fresh('canary-healthy');
      const created = await create(s, canaryRaw(name));
      expect(created.weights).toEqual([0.8, 0.2]);
      const answers = await drive(s, name, concluded(s, name));
      const e = await stored(s, name);
      expect(e.conclusion, e.conclusion?.reason).toMatchObject({ winner: 'canary', outcome: 'promoted' });
      expect(e.weightsHistory.map((h) => h.weights)).toEqual([
        [0.8, 0.2],
        [0.5, 0.5],
        [0, 1],
        [0, 1],
      ]);
      expect(e.weightsHistory[1]!.reason).toMatch(/^canary step 2: healthy at step 1 of 3/);
      expect(e.weightsHistory[3]!.reason).toMatch(/^canary promoted: healthy at step 3 of 3/);
      // Each step lasted at least its minimum time.
      const times = e.weightsHistory.map((h) => Date.parse(h.at));
      for (let i = 1; i < 3; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(200);
      // Every request was answered; the canary's share grew.
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(answers.filter((a) => a.arm === 'canary').every((a) => a.version === '2')).toBe(true);

      expect(await reg.production()).toBe(2);
      expect(s.runtime.host.current(MODEL)?.version).toBe(2);
      const after = await predict(s, PROJECTS.nlp, 'someone-new');
      expect(after.headers['x-ferry-model-version']).toBe('2');
      expect(after.headers['x-ferry-experiment']).toBeUndefined();

      const a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary).toMatchObject({ status: 'promoted', stepIndex: 2, weight: 1 });
      expect(a.canary!.history.map((h) => h.action)).toEqual(['start', 'step', 'step', 'promote']);
      // The alias move is in the registry's log, with the canary's name and reason.
      const moves = await reg.registry.aliasHistory(MODEL, 'production');
      const move = moves.find((m) => m.reason?.startsWith(`canary "${name}" promoted: healthy`));
      expect(move).toMatchObject({ fromVersion: 1, toVersion: 2 });
    } finally {
      await s.close();
      await reg.setAlias(1);
    }
  });

  it('an erroring version is rolled back at once (no waiting for the step time); the reason names the error rate', async () => {
    const s = await server({ kind: 'error' });
    try {
      const name = fresh('canary-errors');
      await create(s, canaryRaw(name, { minStepDurationMs: 60_000 }));
      const started = Date.now();
      const answers = await drive(s, name, concluded(s, name));
      expect(Date.now() - started).toBeLessThan(30_000);
      const e = await stored(s, name);
      expect(e.conclusion).toMatchObject({ winner: 'production', outcome: 'rolled_back' });
      expect(e.conclusion!.reason).toMatch(/error rate 1\.0000 on the canary vs 0\.0000 on production/);
      expect(e.weights).toEqual([1, 0]);
      expect(e.weightsHistory.at(-1)!.reason).toMatch(/^canary rolled back: .*error rate/);
      expect(await reg.production()).toBe(1);

      // Failed answers carry no arm header: the arm is recomputed from the unit (GrowthBook's hash).
      const armOf = (unit: string) => assign({ seed: name, weights: [0.8, 0.2] }, unit);
      const canaryAnswers = answers.filter((a) => armOf(a.unit) === 1);
      // Until the rollback the canary's users got errors; from it on, production (a few requests
      // are sent between the rollback and the test's next look).
      expect(canaryAnswers.filter((a) => a.status === 500).length).toBeGreaterThanOrEqual(20);
      const firstOk = canaryAnswers.findIndex((a) => a.status !== 500);
      if (firstOk >= 0) {
        for (const a of canaryAnswers.slice(firstOk)) {
          expect(a).toMatchObject({ status: 200, version: '1', arm: undefined });
        }
      }
      const productionAnswers = answers.filter((a) => armOf(a.unit) === 0);
      expect(productionAnswers.every((a) => a.status === 200 && a.version === '1')).toBe(true);
      // The canary's users are back on production.
      for (const { unit } of canaryAnswers.slice(0, 10)) {
        const res = await predict(s, PROJECTS.nlp, unit);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ferry-model-version']).toBe('1');
        expect(res.headers['x-ferry-experiment']).toBeUndefined();
      }
      const a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary).toMatchObject({ status: 'rolled_back', stepIndex: 0, weight: 0 });
      expect(a.canary!.window.canary.errorRate).toBe(1);
      expect(a.canary!.history.at(-1)).toMatchObject({ action: 'rollback' });
    } finally {
      await s.close();
    }
  });

  it('a slow version is rolled back on its p99 latency', async () => {
    const s = await server({ kind: 'slow', ms: 100 });
    try {
      const name = fresh('canary-slow');
      await create(
        s,
        canaryRaw(name, {
          minStepDurationMs: 60_000,
          thresholds: { maxDistributionDistance: 0.5, minP99IncreaseMs: 40 },
        }),
      );
      await drive(s, name, concluded(s, name));
      const e = await stored(s, name);
      expect(e.conclusion).toMatchObject({ winner: 'production', outcome: 'rolled_back' });
      expect(e.conclusion!.reason).toMatch(
        /p99 latency \d+\.\d+ ms on the canary vs \d+\.\d+ ms on production/,
      );
      expect(e.conclusion!.reason).not.toMatch(/error rate/);
      expect(e.weights).toEqual([1, 0]);
      expect(await reg.production()).toBe(1);
      const a = await analysis<ExperimentAnalysis>(s, name);
      const { canary, production } = a.canary!.window;
      expect(canary.latency.p99).toBeGreaterThanOrEqual(100);
      expect(canary.latency.p99! - production.latency.p99!).toBeGreaterThan(40);
    } finally {
      await s.close();
    }
  });

  it("outcome events of the experiment's metric are judged: a canary whose users convert less is rolled back", async () => {
    const s = await server();
    try {
      const name = fresh('canary-outcomes');
      await create(s, {
        ...canaryRaw(name, {
          minStepDurationMs: 60_000,
          thresholds: {
            maxDistributionDistance: 0.5,
            minP99IncreaseMs: 100,
            minOutcomeRatio: 0.8,
            minOutcomeUnits: 10,
          },
        }),
        metrics: [{ name: 'accepted', kind: 'binary' }],
      });
      // Enough traffic, no outcomes yet: the step waits for them.
      const sent: Answer[] = [];
      for (let i = 0; i < 150; i++) {
        const unit = `${name}-${i}`;
        const res = await predict(s, INPUTS[i % INPUTS.length]!, unit);
        sent.push({
          unit,
          arm: res.headers['x-ferry-arm'] as string,
          version: undefined,
          status: res.statusCode,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      let a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary!.assessment.reason, JSON.stringify((await stored(s, name)).conclusion)).toMatch(
        /waiting for (outcomes|time)/,
      );
      expect((await stored(s, name)).status).toBe('running');
      // Production's users accept, the canary's do not.
      const events = sent.map((x, i) => ({
        unit: x.unit,
        metric: 'accepted',
        value: x.arm === 'production' ? 1 : 0,
        event_id: `e-${i}`,
      }));
      const posted = await s.app.inject({
        method: 'POST',
        url: `/v1/experiments/${name}/events`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: { events },
      });
      expect(posted.statusCode, posted.body).toBe(200);
      await s.runtime.experiments.router.flushExposures();
      const deadline = Date.now() + 5000;
      while ((await stored(s, name)).status !== 'concluded' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const e = await stored(s, name);
      expect(e.conclusion).toMatchObject({ winner: 'production', outcome: 'rolled_back' });
      expect(e.conclusion!.reason).toMatch(/outcome rate 0\.0000 on the canary vs 1\.0000 on production/);
      a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary!.outcomeMetric).toBe('accepted');
    } finally {
      await s.close();
    }
  });

  it('no traffic, no decision: still at the first step after many evaluations', async () => {
    const s = await server();
    try {
      const name = fresh('canary-idle');
      const created = await create(s, canaryRaw(name, { minStepDurationMs: 0 }));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      let e = await stored(s, name);
      expect(e).toMatchObject({ status: 'running', weights: [0.8, 0.2], revision: created.revision });
      let a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary).toMatchObject({ status: 'running', stepIndex: 0, revision: 0 });
      expect(a.canary!.assessment).toMatchObject({ action: 'wait' });
      expect(a.canary!.assessment.reason).toMatch(/waiting for traffic at step 1 of 3 \(20 %\): 0 of 20/);
      // A trickle below the minimum changes nothing either.
      for (let i = 0; i < 30; i++) await predict(s, PROJECTS.cv, `idle-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      e = await stored(s, name);
      expect(e).toMatchObject({ status: 'running', weights: [0.8, 0.2], revision: created.revision });
      a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary!.window.canary.requests).toBeGreaterThan(0);
      expect(a.canary!.window.canary.requests).toBeLessThan(20);
      expect(a.canary!.window.replicas).toBe(1);
      expect(a.canary!.assessment.reason).toMatch(/waiting for traffic/);
      const stopped = await post(s, `/v1/experiments/${name}/stop`);
      expect(stopped.statusCode, stopped.body).toBe(200);
      expect((stopped.json() as { experiment: Experiment }).experiment).toMatchObject({
        status: 'stopped',
        weights: [1, 0],
      });
      a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary).toMatchObject({ status: 'aborted', weight: 0 });
    } finally {
      await s.close();
    }
  });
});

describe('manual canary actions', () => {
  it('pause, resume, promote and abort over HTTP; 409 where they do not apply', async () => {
    const s = await server();
    try {
      // Large minimums: no automatic decision during this test.
      const name = fresh('canary-manual');
      await create(s, canaryRaw(name, { minRequestsPerStep: 100_000 }));
      let res = await post(s, `/v1/experiments/${name}/pause`);
      expect((res.json() as { experiment: Experiment }).experiment.status).toBe('paused');
      let a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary).toMatchObject({ status: 'paused' });
      expect((await predict(s, PROJECTS.nlp, 'u-1')).headers['x-ferry-experiment']).toBeUndefined();
      res = await post(s, `/v1/experiments/${name}/resume`);
      expect((res.json() as { experiment: Experiment }).experiment.status).toBe('running');
      expect((await predict(s, PROJECTS.nlp, 'u-1')).headers['x-ferry-experiment']).toBe(name);

      res = await post(s, `/v1/experiments/${name}/promote`, { reason: 'looks good on the dashboards' });
      expect(res.statusCode, res.body).toBe(200);
      const promoted = (res.json() as { experiment: Experiment }).experiment;
      expect(promoted).toMatchObject({
        status: 'concluded',
        weights: [0, 1],
        conclusion: { winner: 'canary', outcome: 'promoted', reason: 'looks good on the dashboards' },
      });
      expect(await reg.production()).toBe(2);
      expect(s.runtime.host.current(MODEL)?.version).toBe(2);
      a = await analysis<ExperimentAnalysis>(s, name);
      expect(a.canary!.history.map((h) => h.action)).toEqual(['start', 'pause', 'resume', 'promote']);
      res = await post(s, `/v1/experiments/${name}/promote`);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_CONFLICT' } });

      await reg.setAlias(1);
      await s.runtime.host.refresh();
      const aborted = 'canary-aborted';
      await create(s, canaryRaw(aborted, { minRequestsPerStep: 100_000 }));
      res = await post(s, `/v1/experiments/${aborted}/abort`);
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { experiment: Experiment }).experiment).toMatchObject({
        status: 'concluded',
        weights: [1, 0],
        conclusion: { winner: 'production', outcome: 'aborted', reason: 'aborted by an operator' },
      });
      expect(await reg.production()).toBe(1);
      res = await post(s, `/v1/experiments/${aborted}/abort`);
      expect(res.statusCode).toBe(409);

      // Not a canary: 409; a bad body: 400.
      await create(s, abRaw({ name: 'not-a-canary' }));
      res = await post(s, '/v1/experiments/not-a-canary/promote');
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_CONFLICT' } });
      res = await post(s, '/v1/experiments/not-a-canary/abort', { why: 'x' });
      expect(res.statusCode).toBe(400);
      await post(s, '/v1/experiments/not-a-canary/stop');
    } finally {
      await s.close();
      await reg.setAlias(1);
    }
  });

  it('refuses invalid canary settings and weights that do not follow the first step', async () => {
    const s = await server();
    try {
      let res = await post(s, '/v1/experiments', canaryRaw('bad-1', { steps: [0.5, 0.2] }));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_INVALID_CANARY_CONFIG' } });
      res = await post(s, '/v1/experiments', canaryRaw('bad-2', { thresholds: { maxP99Ratio: -1 } }));
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_INVALID_CANARY_CONFIG' } });
      res = await post(s, '/v1/experiments', canaryRaw('bad-3', { thresholds: { minOutcomeRatio: 0.9 } }));
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_INVALID_CANARY_CONFIG' } });
      res = await post(s, '/v1/experiments', {
        ...canaryRaw('bad-4'),
        arms: [
          { name: 'production', alias: 'production', weight: 0.5 },
          { name: 'canary', version: 2, weight: 0.5 },
        ],
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'FERRY_EXPERIMENT_INVALID_WEIGHTS' } });
      const list = await s.app.inject({
        method: 'GET',
        url: '/v1/experiments?status=running',
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
        },
      });
      expect((list.json() as { experiments: Experiment[] }).experiments).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('ferry experiments show | promote | abort (straight to the database)', async () => {
    if ((await reg.production()) !== 1) await reg.setAlias(1);
    const env = { FERRY_HOME: reg.home, FERRY_DB: undefined, FERRY_ARTIFACTS: undefined };
    const ferry = (...args: string[]) => runCli(['experiments', ...args], env);
    const file = join(reg.home, 'canary.json');
    await writeFile(file, JSON.stringify(canaryRaw('cli-canary')));
    expect((await ferry('create', '--file', file)).code).toBe(0);
    const show = await ferry('show', 'cli-canary');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/canary running at step 1 of 3 \(20\.00%\)/);
    expect(show.stdout).toMatch(/now: wait: waiting for traffic/);
    const promote = await ferry('promote', 'cli-canary', '--reason', 'from the CLI', '--json');
    expect(promote.code, promote.stderr).toBe(0);
    expect(JSON.parse(promote.stdout)).toMatchObject({
      status: 'concluded',
      conclusion: { outcome: 'promoted', reason: 'from the CLI' },
    });
    expect(await reg.production()).toBe(2);
    await reg.setAlias(1);

    await writeFile(file, JSON.stringify(canaryRaw('cli-canary-2')));
    expect((await ferry('create', '--file', file)).code).toBe(0);
    const abort = await ferry('abort', 'cli-canary-2');
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/cli-canary-2.*concluded.*aborted/);
    expect(await reg.production()).toBe(1);
  });
});
