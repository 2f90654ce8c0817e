import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/random.js';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import { assign } from '../../src/experiments/hashing.js';
import { textRow } from '../../src/model/text-tensors.js';
import type { ServedPredictionEvent } from '../../src/serving/prediction-service.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  metricSum,
  PROJECTS,
  parseMetrics,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
  trainSmall,
  V2_SPEC,
  v2Request,
} from '../helpers/serving.js';
import { abRaw, units } from './helpers.js';

let reg: TestRegistry;
let server: TestServer;
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { experimentPollMs: 0 },
  });
});
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function expectError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as { error: { code: string; message: string; details: Record<string, unknown> } };
  expect(body.error.code).toBe(code);
  return body.error;
}

const create = (payload: unknown, headers: Record<string, string> = auth) =>
  server.app.inject({ method: 'POST', url: '/v1/experiments', payload: payload as object, headers });
const action = (id: string, what: string, payload?: object) =>
  server.app.inject({
    method: 'POST',
    url: `/v1/experiments/${id}/${what}`,
    headers: auth,
    ...(payload !== undefined ? { payload } : {}),
  });
const events = (id: string, payload: unknown, headers: Record<string, string> = auth) =>
  server.app.inject({
    method: 'POST',
    url: `/v1/experiments/${id}/events`,
    payload: payload as object,
    headers,
  });
const analysis = async (id: string): Promise<ExperimentAnalysis> => {
  const res = await server.app.inject({ method: 'GET', url: `/v1/experiments/${id}`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as ExperimentAnalysis;
};
const predict = (unit?: string, body: Record<string, unknown> = PROJECTS.nlp) =>
  server.app.inject({
    method: 'POST',
    url: '/predict',
    payload: body,
    headers: unit !== undefined ? { 'x-ferry-unit': unit } : {},
  });

/**
 * The expected analysis of this file's scenario, computed with scipy by fixtures/make_http_analysis.py
 * (never with Ferry's own statistics).
 */
const REFERENCE = JSON.parse(
  readFileSync(new URL('./fixtures/http-analysis.json', import.meta.url), 'utf8'),
) as {
  arms: string[];
  units: [number, number];
  binary: Record<string, number> & {
    conversions: [number, number];
    differenceCi: [number, number];
    relativeLiftCi: [number, number];
    msprt: { tau2: number; pValue: number; ci: [number, number] };
    alwaysValid: { pValue: number; ci: [number, number] };
  };
  numeric: Record<string, number> & { n: [number, number]; differenceCi: [number, number] };
  holm: [number, number];
  bh: [number, number];
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
  power: { unitsPerArm: number };
};

/** Equal to the reference within 1e-9 relative (or absolute near 0), numbers or lists of them. */
function close(actual: unknown, expected: number | readonly number[], where: string) {
  const list = typeof expected === 'number' ? [expected] : expected;
  const got = (typeof expected === 'number' ? [actual] : actual) as number[];
  expect(got, where).toHaveLength(list.length);
  list.forEach((e, i) => {
    expect(Math.abs(got[i]! - e), `${where}[${i}]: ${got[i]} vs ${e}`).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(e)),
    );
  });
}

const MAIN = 'tagifai-ab-main';
const armOf = (unit: string) => ['control', 'treatment'][assign({ seed: MAIN, weights: [0.5, 0.5] }, unit)]!;

describe('POST /v1/experiments: auth and validation', () => {
  it('needs the admin token (401), reads included; nothing is created', async () => {
    expectError(await create(abRaw(), {}), 401, 'FERRY_HTTP_UNAUTHORIZED');
    expectError(await create(abRaw(), { authorization: 'Bearer wrong' }), 401, 'FERRY_HTTP_UNAUTHORIZED');
    expectError(
      await server.app.inject({ method: 'GET', url: '/v1/experiments' }),
      401,
      'FERRY_HTTP_UNAUTHORIZED',
    );
    expectError(
      await server.app.inject({ method: 'POST', url: '/v1/experiments/x/stop' }),
      401,
      'FERRY_HTTP_UNAUTHORIZED',
    );
    const list = await server.app.inject({ method: 'GET', url: '/v1/experiments', headers: auth });
    expect(list.json()).toEqual({ experiments: [] });
  });

  it('an unknown version or alias → 400 FERRY_EXPERIMENT_INVALID with what the registry has', async () => {
    const unknownVersion = expectError(
      await create(
        abRaw({
          arms: [
            { name: 'control', version: 1, weight: 0.5 },
            { name: 'treatment', version: 99, weight: 0.5 },
          ],
        }),
      ),
      400,
      'FERRY_EXPERIMENT_INVALID',
    );
    expect(unknownVersion.details).toMatchObject({
      field: 'arms[1]',
      ref: 'tagifai/99',
      registry: { code: 'FERRY_REGISTRY_NOT_FOUND', versions: '1..2' },
    });
    expectError(
      await create(
        abRaw({
          arms: [
            { name: 'control', alias: 'production', weight: 0.5 },
            { name: 'treatment', alias: 'staging', weight: 0.5 },
          ],
        }),
      ),
      400,
      'FERRY_EXPERIMENT_INVALID',
    );
    expectError(await create(abRaw({ model: 'nope' })), 400, 'FERRY_EXPERIMENT_INVALID');
  });

  it('weights that do not sum to 1 (± 1e-9), or negative → 400 FERRY_EXPERIMENT_INVALID_WEIGHTS', async () => {
    for (const weights of [
      [0.5, 0.4],
      [0.5, 0.5 + 1e-8],
      [1.2, -0.2],
    ]) {
      expectError(
        await create(
          abRaw({
            arms: [
              { name: 'control', version: 1, weight: weights[0] },
              { name: 'treatment', version: 2, weight: weights[1] },
            ],
          }),
        ),
        400,
        'FERRY_EXPERIMENT_INVALID_WEIGHTS',
      );
    }
    expectError(
      await create(
        abRaw({
          arms: [
            { name: 'control', version: 1, weight: 1 },
            { name: 'treatment', version: 2 },
          ],
        }),
      ),
      400,
      'FERRY_EXPERIMENT_INVALID_WEIGHTS',
    );
  });

  it('other malformed definitions → 400 FERRY_EXPERIMENT_INVALID; nothing stored', async () => {
    const bad = [
      abRaw({ arms: [{ name: 'control', version: 1, weight: 1 }] }),
      abRaw({
        arms: [
          { name: 'same', version: 1, weight: 0.5 },
          { name: 'same', version: 2, weight: 0.5 },
        ],
      }),
      abRaw({
        arms: [
          { name: 'control', version: 1, alias: 'production', weight: 0.5 },
          { name: 't', version: 2, weight: 0.5 },
        ],
      }),
      abRaw({ metrics: [{ name: 'accepted', kind: 'ratio' }] }),
      abRaw({ metrics: [] }),
      abRaw({ name: 'has spaces' }),
      abRaw({ sneaky: true }),
      abRaw({ coverage: 1.5 }),
      abRaw({
        type: 'shadow',
        metrics: [],
        arms: [
          { name: 'a', version: 1, weight: 0.4 },
          { name: 'b', version: 2, weight: 0.3 },
          { name: 'c', version: 2, weight: 0.3 },
        ],
      }),
      abRaw({ type: 'bandit', bandit: { policy: 'softmax' } }),
      abRaw({ power: { baseline: 0.1 } }),
      abRaw({ power: { baseline: 1.5, mde: 0.1 } }),
      [1, 2],
    ];
    for (const body of bad) expectError(await create(body), 400, 'FERRY_EXPERIMENT_INVALID');
    const list = await server.app.inject({ method: 'GET', url: '/v1/experiments', headers: auth });
    expect(list.json()).toEqual({ experiments: [] });
  });
});

describe('an A/B test through the HTTP API', () => {
  it('creates it (201) with a power estimate for the stated baseline and MDE', async () => {
    const res = await create(
      abRaw({
        name: MAIN,
        metrics: [
          { name: 'accepted', kind: 'binary' },
          { name: 'seconds', kind: 'numeric' },
        ],
        power: { baseline: 0.1, mde: 0.1, relative: true },
      }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { experiment: Experiment; power: Record<string, number> };
    expect(body.experiment).toMatchObject({ name: MAIN, status: 'running', seed: MAIN, weights: [0.5, 0.5] });
    // Fleiss's formula, computed by scipy (fixtures/make_http_analysis.py).
    const unitsPerArm = REFERENCE.power.unitsPerArm;
    expect(body.power).toMatchObject({
      metric: 'accepted',
      unitsPerArm,
      exposedUnits: unitsPerArm * 2,
      eligibleUnits: unitsPerArm * 2,
      alpha: 0.05,
      power: 0.8,
    });
    expect(body.power.treatmentRate).toBeCloseTo(0.11, 12);
  });

  it('refuses an overlapping routing experiment (409) and a reused name (409); a shadow may run beside', async () => {
    const overlap = expectError(
      await create(
        abRaw({
          name: 'tagifai-bandit',
          type: 'bandit',
          arms: [
            { name: 'a', version: 1 },
            { name: 'b', version: 2 },
          ],
        }),
      ),
      409,
      'FERRY_EXPERIMENT_CONFLICT',
    );
    expect(overlap.details).toMatchObject({ conflictsWith: MAIN });
    expectError(await create(abRaw({ name: MAIN })), 409, 'FERRY_EXPERIMENT_CONFLICT');
    const shadow = await create({
      name: 'tagifai-shadow',
      type: 'shadow',
      model: 'tagifai',
      arms: [
        { name: 'production', alias: 'production', weight: 1 },
        { name: 'candidate', version: 2, weight: 0 },
      ],
      shadow: { sampleRate: 0.5 },
    });
    expect(shadow.statusCode, shadow.body).toBe(201);
    expect((shadow.json() as { experiment: Experiment }).experiment.shadow).toEqual({ sampleRate: 0.5 });
    const list = await server.app.inject({
      method: 'GET',
      url: '/v1/experiments?status=running',
      headers: auth,
    });
    expect((list.json() as { experiments: Experiment[] }).experiments.map((e) => e.name)).toEqual([
      MAIN,
      'tagifai-shadow',
    ]);
    expect((await action('tagifai-shadow', 'stop')).statusCode).toBe(200);
  });

  it('routes /predict by X-Ferry-Unit: headers name the experiment, the arm and the version that answered', async () => {
    const v2Answer = trainSmall(V2_SPEC).model.predictBatch([PROJECTS.nlp])[0]!;
    for (const unit of units(60)) {
      const res = await predict(unit);
      expect(res.statusCode, res.body).toBe(200);
      const arm = armOf(unit);
      expect(res.headers['x-ferry-experiment']).toBe(MAIN);
      expect(res.headers['x-ferry-arm']).toBe(arm);
      expect(res.headers['x-ferry-model-version']).toBe(arm === 'control' ? '1' : '2');
      if (arm === 'treatment') {
        const result = (
          res.json() as { results: { prediction: string; probabilities: Record<string, number> }[] }
        ).results[0]!;
        expect(result.prediction).toBe(v2Answer.prediction);
        expect(result.probabilities.mlops).toBeCloseTo(v2Answer.probabilities.mlops!, 9);
      }
      // The same unit again: the same arm (sticky).
      expect((await predict(unit)).headers['x-ferry-arm']).toBe(arm);
    }
  });

  it('the body field "unit" and v2 parameters.unit_id route the same way; no unit or an explicit version does not', async () => {
    const unit = units(10).find((u) => armOf(u) === 'treatment')!;
    const viaBody = await predict(undefined, { ...PROJECTS.cv, unit });
    expect(viaBody.headers['x-ferry-arm']).toBe('treatment');
    expect(viaBody.headers['x-ferry-model-version']).toBe('2');
    const batch = await predict(undefined, { items: [PROJECTS.cv, PROJECTS.mlops], unit });
    expect(batch.statusCode).toBe(200);
    expect(batch.headers['x-ferry-arm']).toBe('treatment');

    const v2 = await server.app.inject({
      method: 'POST',
      url: '/v2/models/tagifai/infer',
      payload: { ...v2Request([PROJECTS.cv]), parameters: { unit_id: unit } },
    });
    expect(v2.statusCode, v2.body).toBe(200);
    expect(v2.headers['x-ferry-experiment']).toBe(MAIN);
    expect(v2.headers['x-ferry-arm']).toBe('treatment');
    expect((v2.json() as { model_version: string }).model_version).toBe('2');

    const pinned = await server.app.inject({
      method: 'POST',
      url: '/v2/models/tagifai/versions/1/infer',
      payload: { ...v2Request([PROJECTS.cv]), parameters: { unit_id: unit } },
    });
    expect(pinned.headers['x-ferry-experiment']).toBeUndefined();
    expect(pinned.headers['x-ferry-model-version']).toBe('1');

    const anonymous = await predict();
    expect(anonymous.headers['x-ferry-experiment']).toBeUndefined();
    expect(anonymous.headers['x-ferry-arm']).toBeUndefined();
    expect(anonymous.headers['x-ferry-model-version']).toBe('1');
    expectError(await predict(undefined, { ...PROJECTS.cv, unit: '' }), 400, 'FERRY_HTTP_INVALID_REQUEST');
    expectError(await predict(undefined, { ...PROJECTS.cv, unit: 5 }), 400, 'FERRY_HTTP_INVALID_REQUEST');
  });

  it('events need no token; a duplicate event_id counts once; bad events are 400 and store nothing', async () => {
    const first = await events(MAIN, { unit: 'user-0', metric: 'accepted', value: 1, event_id: 'e-user-0' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 1, duplicates: 0 });
    const again = await events(MAIN, { unit: 'user-0', metric: 'accepted', value: 1, event_id: 'e-user-0' });
    expect(again.json()).toEqual({ accepted: 0, duplicates: 1 });
    for (const body of [
      { unit: 'user-1', metric: 'accepted', value: 2, event_id: 'x1' },
      { unit: 'user-1', metric: 'accepted', value: 0.5, event_id: 'x1' },
      { unit: 'user-1', metric: 'unknown', value: 1, event_id: 'x1' },
      { unit: 'user-1', metric: 'seconds', value: 'fast', event_id: 'x1' },
      { unit: '', metric: 'accepted', value: 1, event_id: 'x1' },
      { unit: 'user-1', metric: 'accepted', value: 1 },
      { unit: 'user-1', metric: 'accepted', value: 1, event_id: 'x1', extra: true },
      { events: [] },
      { events: [{ unit: 'user-1', metric: 'accepted', value: 1, event_id: 'x1' }, { unit: 'user-1' }] },
    ]) {
      expectError(await events(MAIN, body), 400, 'FERRY_EXPERIMENT_INVALID');
    }
    expectError(
      await events('nope', { unit: 'u', metric: 'accepted', value: 1, event_id: 'x' }),
      404,
      'FERRY_EXPERIMENT_NOT_FOUND',
    );
    const a = await analysis(MAIN);
    expect(a.totalEvents).toBe(1);
  });

  it('analysis: the numbers are those scipy computes for the same outcomes (fixtures/http-analysis.json)', async () => {
    // The fixture's arms are GrowthBook's hash of the same units: routing put them there too.
    expect(units(60).map(armOf)).toEqual(REFERENCE.arms);
    // Outcomes for the 60 routed units: every third converts; some report seconds.
    const batch = [];
    for (const [i, unit] of units(60).entries()) {
      batch.push({ unit, metric: 'accepted', value: i % 3 === 0 ? 1 : 0, event_id: `e-${unit}` });
      if (i % 2 === 0)
        batch.push({
          unit,
          metric: 'seconds',
          value: (i % 7) + 0.25 * (REFERENCE.arms[i] === 'treatment' ? 1 : 0),
          event_id: `s-${unit}`,
        });
    }
    // Posted twice (a retrying client): counted once.
    expect((await events(MAIN, { events: batch })).json()).toEqual({
      accepted: batch.length - 1,
      duplicates: 1,
    });
    expect((await events(MAIN, { events: batch })).json()).toEqual({ accepted: 0, duplicates: batch.length });
    // An outcome for a unit never exposed: stored, counted apart, not an error.
    const ghost = await events(MAIN, {
      unit: 'never-seen',
      metric: 'accepted',
      value: 1,
      event_id: 'ghost-1',
    });
    expect(ghost.statusCode).toBe(200);

    const a = await analysis(MAIN);
    expect(a.unexposed).toEqual({ events: 1, units: 1, byMetric: { accepted: { events: 1, units: 1 } } });
    expect(a.arms.map((x) => x.units)).toEqual(REFERENCE.units);
    expect(a.units).toBe(60);

    const ref = REFERENCE.binary;
    const binary = a.comparisons.find((x) => x.metric === 'accepted')!;
    expect(binary).toMatchObject({
      arm: 'treatment',
      control: 'control',
      test: 'two-proportion-z',
      // Sufficient from 30 units per arm (the default analysis.minUnitsPerArm).
      sufficientData: Math.min(...REFERENCE.units) >= 30,
    });
    for (const key of [
      'controlValue',
      'treatmentValue',
      'difference',
      'differenceCi',
      'relativeLift',
      'relativeLiftCi',
      'statistic',
      'pValue',
    ] as const) {
      close(binary[key], ref[key] as number, `binary.${key}`);
    }
    // P(treatment beats control) under Beta(1, 1) priors: scipy's quadrature, to its precision.
    expect(binary.chanceToBeatControl).toBeCloseTo(ref.chanceToBeatControl!, 7);
    // mSPRT with τ from the power request: a 10 % relative MDE on a 10 % baseline is 0.01 absolute;
    // intervals of a rate difference clipped to [-1, 1].
    expect(binary.msprt!.tau2).toBeCloseTo(ref.msprt.tau2, 15);
    close(binary.msprt!.pValue, ref.msprt.pValue, 'binary.msprt.pValue');
    close(binary.msprt!.ci, ref.msprt.ci, 'binary.msprt.ci');
    // The running state folds every look: the earlier one (one conversion, by user-0) and this one.
    close(binary.alwaysValid!.pValue, ref.alwaysValid.pValue, 'binary.alwaysValid.pValue');
    close(binary.alwaysValid!.ci, ref.alwaysValid.ci, 'binary.alwaysValid.ci');

    const num = REFERENCE.numeric;
    const numeric = a.comparisons.find((x) => x.metric === 'seconds')!;
    expect(numeric.test).toBe('welch-t');
    for (const key of [
      'controlValue',
      'treatmentValue',
      'difference',
      'differenceCi',
      'statistic',
      'df',
      'pValue',
    ] as const) {
      close(numeric[key], num[key] as number, `numeric.${key}`);
    }
    expect(numeric.chanceToBeatControl).toBeCloseTo(num.chanceToBeatControl!, 9);
    close(numeric.msprt!.pValue, num.msprtPValue!, 'numeric.msprt.pValue');

    close([binary.pValueHolm!, numeric.pValueHolm!], REFERENCE.holm, 'holm');
    close([binary.pValueBh!, numeric.pValueBh!], REFERENCE.bh, 'bh');
    expect(a.srm).toMatchObject({ mismatch: REFERENCE.srm.mismatch, observed: REFERENCE.units });
    close(a.srm!.chiSquare, REFERENCE.srm.chiSquare, 'srm.chiSquare');
    close(a.srm!.pValue, REFERENCE.srm.pValue, 'srm.pValue');
    expect(a.arms[0]!.metrics.accepted).toMatchObject({
      conversions: ref.conversions[0],
      units: REFERENCE.units[0],
    });
    close(a.arms[0]!.metrics.accepted!.rate, ref.controlValue!, 'arms[0].rate');
    expect(a.power?.unitsPerArm).toBe(REFERENCE.power.unitsPerArm);

    // Reading again without new data: the same numbers (the always-valid state does not drift).
    expect(await analysis(MAIN)).toEqual(a);
  });

  it('pause: no routing, events still accepted; resume: routing again', async () => {
    const paused = await action(MAIN, 'pause');
    expect(paused.statusCode, paused.body).toBe(200);
    expect((paused.json() as { experiment: Experiment }).experiment.status).toBe('paused');
    const res = await predict('user-3');
    expect(res.headers['x-ferry-experiment']).toBeUndefined();
    expect(res.headers['x-ferry-model-version']).toBe('1');
    expect(
      (await events(MAIN, { unit: 'user-3', metric: 'accepted', value: 1, event_id: 'late-1' })).statusCode,
    ).toBe(200);
    expect((await action(MAIN, 'resume')).statusCode).toBe(200);
    expect((await predict('user-3')).headers['x-ferry-arm']).toBe(armOf('user-3'));
  });

  it('poisoned values and times are 400; excluding events needs the admin token and a reason (issue 8, items 1, 25)', async () => {
    const before = (await analysis(MAIN)).totalEvents;
    for (const bad of [
      { unit: 'user-3', metric: 'seconds', value: 1e200, event_id: 'poison-1' },
      { unit: 'user-3', metric: 'seconds', value: -2e9, event_id: 'poison-2' },
      { unit: 'user-3', metric: 'accepted', value: 1, event_id: 'future-1', at: '2099-01-01T00:00:00Z' },
    ]) {
      expectError(await events(MAIN, bad), 400, 'FERRY_EXPERIMENT_INVALID');
    }
    expect((await analysis(MAIN)).totalEvents).toBe(before);
    const exclude = (payload: object, headers: Record<string, string> = auth) =>
      server.app.inject({ method: 'POST', url: `/v1/experiments/${MAIN}/events/exclude`, payload, headers });
    expectError(await exclude({ event_ids: ['late-1'], reason: 'x' }, {}), 401, 'FERRY_HTTP_UNAUTHORIZED');
    expectError(await exclude({ event_ids: ['late-1'] }), 400, 'FERRY_EXPERIMENT_INVALID');
    expectError(await exclude({ metric: 'accepted', reason: 'all of it?' }), 400, 'FERRY_EXPERIMENT_INVALID');
    const res = await exclude({ event_ids: ['late-1', 'no-such-id'], reason: 'test traffic' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ excluded: 1 });
    // Excluding again changes nothing (the first record stays).
    expect((await exclude({ event_ids: ['late-1'], reason: 'again' })).json()).toEqual({ excluded: 0 });
    const after = await analysis(MAIN);
    expect(after.totalEvents).toBe(before - 1);
    expect(after.excludedEvents).toBe(1);
  });

  it('stop: events → 409 FERRY_EXPERIMENT_NOT_RUNNING; resume → 409; conclude records the winner', async () => {
    expect((await action(MAIN, 'stop')).statusCode).toBe(200);
    expect((await predict('user-3')).headers['x-ferry-experiment']).toBeUndefined();
    const before = (await analysis(MAIN)).totalEvents;
    expectError(
      await events(MAIN, { unit: 'user-3', metric: 'accepted', value: 1, event_id: 'after-stop' }),
      409,
      'FERRY_EXPERIMENT_NOT_RUNNING',
    );
    expect((await analysis(MAIN)).totalEvents).toBe(before);
    expectError(await action(MAIN, 'resume'), 409, 'FERRY_EXPERIMENT_CONFLICT');
    expectError(await action(MAIN, 'conclude', { winner: 'nobody' }), 400, 'FERRY_EXPERIMENT_INVALID');
    const concluded = await action(MAIN, 'conclude', { winner: 'treatment', reason: 'better acceptance' });
    expect(concluded.statusCode, concluded.body).toBe(200);
    expect((concluded.json() as { experiment: Experiment }).experiment).toMatchObject({
      status: 'concluded',
      conclusion: { winner: 'treatment', reason: 'better acceptance' },
    });
    expectError(await action(MAIN, 'conclude'), 409, 'FERRY_EXPERIMENT_CONFLICT');
    expectError(await action('nope', 'pause'), 404, 'FERRY_EXPERIMENT_NOT_FOUND');
    expectError(
      await server.app.inject({ method: 'GET', url: '/v1/experiments/no%20such', headers: auth }),
      404,
      'FERRY_EXPERIMENT_NOT_FOUND',
    );
    // The model is free again.
    expect((await create(abRaw({ name: 'tagifai-ab-2' }))).statusCode).toBe(201);
    expect((await action('tagifai-ab-2', 'stop')).statusCode).toBe(200);
  });

  it('metrics count routed requests per experiment and arm; the API is in the OpenAPI document', async () => {
    const metrics = parseMetrics((await server.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metricSum(metrics, 'ferry_experiment_routed_total', { experiment: MAIN })).toBeGreaterThanOrEqual(
      120,
    );
    expect(
      metricSum(metrics, 'ferry_experiment_routed_total', { experiment: MAIN, arm: 'treatment' }),
    ).toBeGreaterThan(0);
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.paths['/v1/experiments']).toHaveProperty('post');
    expect(doc.paths['/v1/experiments/{id}']).toHaveProperty('get');
    expect(doc.paths['/v1/experiments/{id}/events']).toHaveProperty('post');
  });
});

describe('a bandit through the HTTP API', () => {
  it('moves weight to the arm that converts better, and the analysis shows P(best) and the weights history', async () => {
    const name = 'tagifai-bandit-http';
    const res = await create({
      name,
      type: 'bandit',
      model: 'tagifai',
      arms: [
        { name: 'v1', version: 1 },
        { name: 'v2', version: 2 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      // A 1 ms period: every refresh starts a new one.
      bandit: { policy: 'thompson', floor: 0.1, minUnitsPerArm: 20, updateEveryMs: 1 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const random = seededRandom(11);
    const batch = [];
    for (const unit of units(200, 'bandit-user-')) {
      const arm = (await predict(unit)).headers['x-ferry-arm'] as string;
      if (random() < (arm === 'v2' ? 0.4 : 0.05))
        batch.push({ unit, metric: 'accepted', value: 1, event_id: `b-${unit}` });
    }
    expect((await events(name, { events: batch })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    await server.runtime.experiments.router.refresh();
    const a = await analysis(name);
    expect(a.bandit).toBeDefined();
    expect(a.bandit!.history.length).toBeGreaterThanOrEqual(2);
    expect(a.bandit!.weights[1]).toBeGreaterThan(0.8);
    expect(a.bandit!.weights[0]).toBeCloseTo(0.1, 1);
    expect(a.bandit!.probabilityBest.v2).toBeGreaterThan(0.95);
    expect(a.srm).toBeNull();
    expect(a.srmNote).toMatch(/weights changed/);
    // The router routes with the new weights: most new units now get v2.
    let v2 = 0;
    for (const unit of units(100, 'late-user-'))
      if ((await predict(unit)).headers['x-ferry-arm'] === 'v2') v2++;
    expect(v2).toBeGreaterThan(70);
    expect((await action(name, 'stop')).statusCode).toBe(200);
  });
});

describe('prediction observers (the shadow/canary hook)', () => {
  it('see every answered request with its version, experiment and arm; a throwing observer never fails a request', async () => {
    const name = 'tagifai-observed';
    expect((await create(abRaw({ name }))).statusCode).toBe(201);
    const seen: ServedPredictionEvent[] = [];
    const removeGood = server.runtime.service.addObserver({ onPrediction: (e) => seen.push(e) });
    const removeBad = server.runtime.service.addObserver({
      onPrediction: () => {
        throw new Error('observer bug');
      },
    });
    try {
      const unit = 'observed-user';
      const res = await predict(unit);
      expect(res.statusCode).toBe(200);
      const anonymous = await predict();
      expect(anonymous.statusCode).toBe(200);
      expect(seen).toHaveLength(2);
      expect(seen[0]).toMatchObject({
        model: 'tagifai',
        version: Number(res.headers['x-ferry-model-version']),
        experiment: name,
        arm: res.headers['x-ferry-arm'],
        unit,
        items: [textRow(PROJECTS.nlp)],
      });
      expect(seen[0]!.predictions).toHaveLength(1);
      expect(seen[0]!.latencyMs).toBeGreaterThanOrEqual(0);
      expect(seen[0]!.error).toBeUndefined();
      expect(seen[1]).toMatchObject({ model: 'tagifai', version: 1 });
      expect(seen[1]!.experiment).toBeUndefined();
      const metrics = parseMetrics((await server.app.inject({ method: 'GET', url: '/metrics' })).body);
      expect(metricSum(metrics, 'ferry_prediction_observer_errors_total')).toBe(2);
    } finally {
      removeGood();
      removeBad();
      await action(name, 'stop');
    }
    expect((await predict('observed-user')).statusCode).toBe(200);
    expect(seen).toHaveLength(2);
  });
});

describe('events need a token by default: outcomes change what others read', () => {
  const body = { unit: 'u', metric: 'accepted', value: 1, event_id: 'anon-1' };
  const post = (s: TestServer, headers: Record<string, string> = {}) =>
    s.app.inject({ method: 'POST', url: `/v1/experiments/${MAIN}/events`, payload: body, headers });

  it('an anonymous event is 401 and changes nothing; the admin token works', async () => {
    const before = (await analysis(MAIN)).totalEvents;
    const res = await post(server);
    expectError(res, 401, 'FERRY_HTTP_UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect((await analysis(MAIN)).totalEvents).toEqual(before);
  });

  it('with no token configured at all, events are refused (not open)', async () => {
    const bare = await startTestServer({ registry: reg, listen: false, config: { experimentPollMs: 0 } });
    try {
      const res = await post(bare);
      expectError(res, 401, 'FERRY_HTTP_UNAUTHORIZED');
      expect(res.json().error.message).toMatch(/FERRY_EVENTS_TOKEN/);
    } finally {
      await bare.close();
    }
  });

  it('FERRY_EVENTS_ANONYMOUS=true opts into anonymous events', async () => {
    const open = await startTestServer({
      registry: reg,
      listen: false,
      config: { experimentPollMs: 0, eventsAnonymous: true },
    });
    try {
      expect((await post(open)).statusCode).not.toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe('an events token, when configured', () => {
  it('is required for events (the admin token works too)', async () => {
    const guarded = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { experimentPollMs: 0, eventsToken: 'events-token-123' },
    });
    try {
      const created = await guarded.app.inject({
        method: 'POST',
        url: '/v1/experiments',
        headers: auth,
        payload: abRaw({ name: 'guarded' }),
      });
      expect(created.statusCode, created.body).toBe(201);
      const body = { unit: 'u', metric: 'accepted', value: 1, event_id: 'g1' };
      const post = (headers: Record<string, string>) =>
        guarded.app.inject({ method: 'POST', url: '/v1/experiments/guarded/events', payload: body, headers });
      expectError(await post({}), 401, 'FERRY_HTTP_UNAUTHORIZED');
      expectError(await post({ authorization: 'Bearer nope' }), 401, 'FERRY_HTTP_UNAUTHORIZED');
      expect((await post({ authorization: 'Bearer events-token-123' })).statusCode).toBe(200);
      expect((await post(auth)).json()).toEqual({ accepted: 0, duplicates: 1 });
      // The events token reports outcomes and nothing else: it cannot exclude them.
      const excluded = await guarded.app.inject({
        method: 'POST',
        url: '/v1/experiments/guarded/events/exclude',
        payload: { event_ids: ['g1'], reason: 'not mine to drop' },
        headers: { authorization: 'Bearer events-token-123' },
      });
      expectError(excluded, 401, 'FERRY_HTTP_UNAUTHORIZED');
      await guarded.app.inject({ method: 'POST', url: '/v1/experiments/guarded/stop', headers: auth });
    } finally {
      await guarded.close();
    }
  });
});
