/**
 * Two server replicas on one PostgreSQL schema serve one experiment: units are split across them,
 * outcomes are posted to both, and either replica's analysis is the same, number for number.
 * PostgreSQL being down fails this test; it never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentAnalysis } from '../../src/experiments/experiment-analysis.js';
import { assign } from '../../src/experiments/hashing.js';
import { dropSchemas } from '../helpers/postgres.js';
import { ADMIN_TOKEN, PROJECTS, startTestServer, type TestServer } from '../helpers/serving.js';
import { abRaw, createPgTestRegistry, units } from './helpers.js';

const NAME = 'tagifai-ab-replicas';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

let reg: Awaited<ReturnType<typeof createPgTestRegistry>>;
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  reg = await createPgTestRegistry();
  const opts = { registry: reg, adminToken: ADMIN_TOKEN, listen: false, config: { experimentPollMs: 0 } };
  a = await startTestServer(opts);
  b = await startTestServer(opts);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await reg?.close();
  if (reg) await dropSchemas(reg.schema);
});

async function analysisFrom(s: TestServer): Promise<ExperimentAnalysis> {
  const res = await s.app.inject({ method: 'GET', url: `/v1/experiments/${NAME}`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as ExperimentAnalysis;
}

describe('two replicas on one PostgreSQL serving one experiment', () => {
  it('assign the same arms, share exposures and events, and return identical analyses', async () => {
    const created = await a.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: auth,
      payload: abRaw({
        name: NAME,
        metrics: [
          { name: 'accepted', kind: 'binary' },
          { name: 'revenue', kind: 'numeric' },
        ],
      }),
    });
    expect(created.statusCode, created.body).toBe(201);
    // A refreshed at once (its own API call); B sees it at its next poll, forced here.
    await b.runtime.experiments.router.refresh();
    expect(b.runtime.experiments.router.routingExperiment('tagifai')?.name).toBe(NAME);

    const ids = units(300);
    const armBy = new Map<string, string>();
    const unitsPerArm: Record<string, number> = { control: 0, treatment: 0 };
    for (const [i, unit] of ids.entries()) {
      // Each unit asks its replica first, then the other one: the arm is the same on both.
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      const one = await first.app.inject({
        method: 'POST',
        url: '/predict',
        payload: PROJECTS.nlp,
        headers: { 'x-ferry-unit': unit },
      });
      const two = await second.app.inject({
        method: 'POST',
        url: '/predict',
        payload: PROJECTS.nlp,
        headers: { 'x-ferry-unit': unit },
      });
      expect(one.statusCode).toBe(200);
      const arm = one.headers['x-ferry-arm'] as string;
      expect(arm).toBe(['control', 'treatment'][assign({ seed: NAME, weights: [0.5, 0.5] }, unit)]);
      expect(two.headers['x-ferry-arm']).toBe(arm);
      expect(two.headers['x-ferry-model-version']).toBe(one.headers['x-ferry-model-version']);
      armBy.set(unit, arm);
      unitsPerArm[arm]! += 1;
    }

    // Outcomes go to either replica; a retried batch lands on the other one and counts once.
    const events = ids.flatMap((unit, i) => [
      {
        unit,
        metric: 'accepted',
        value: (i * 7) % 5 < (armBy.get(unit) === 'treatment' ? 2 : 1) ? 1 : 0,
        event_id: `acc-${unit}`,
      },
      ...(i % 3 === 0
        ? [
            {
              unit,
              metric: 'revenue',
              value: (i % 11) + (armBy.get(unit) === 'treatment' ? 1.5 : 0),
              event_id: `rev-${unit}`,
            },
          ]
        : []),
    ]);
    const half = Math.floor(events.length / 2);
    const toA = await a.app.inject({
      method: 'POST',
      url: `/v1/experiments/${NAME}/events`,
      headers: auth,
      payload: { events: events.slice(0, half) },
    });
    const toB = await b.app.inject({
      method: 'POST',
      url: `/v1/experiments/${NAME}/events`,
      headers: auth,
      payload: { events: events.slice(half) },
    });
    expect(toA.json()).toEqual({ accepted: half, duplicates: 0 });
    expect(toB.json()).toEqual({ accepted: events.length - half, duplicates: 0 });
    const retried = await b.app.inject({
      method: 'POST',
      url: `/v1/experiments/${NAME}/events`,
      headers: auth,
      payload: { events: events.slice(0, 50) },
    });
    expect(retried.json()).toEqual({ accepted: 0, duplicates: 50 });
    await a.app.inject({
      method: 'POST',
      url: `/v1/experiments/${NAME}/events`,
      headers: auth,
      payload: { unit: 'never-routed', metric: 'accepted', value: 1, event_id: 'ghost' },
    });

    // Both replicas' buffered exposures reach the database (their background flush, forced here).
    await Promise.all([
      a.runtime.experiments.router.flushExposures(),
      b.runtime.experiments.router.flushExposures(),
    ]);
    const fromA = await analysisFrom(a);
    const fromB = await analysisFrom(b);
    expect(fromB).toEqual(fromA);
    // And again, in the other order: looking does not move the numbers.
    expect(await analysisFrom(a)).toEqual(fromB);

    expect(fromA.units).toBe(300);
    expect(fromA.arms.map((x) => x.units)).toEqual([unitsPerArm.control, unitsPerArm.treatment]);
    expect(fromA.arms.reduce((s, x) => s + x.requests, 0)).toBe(600);
    expect(fromA.totalEvents).toBe(events.length + 1);
    expect(fromA.unexposed).toEqual({ events: 1, units: 1, byMetric: { accepted: { events: 1, units: 1 } } });
    const conversions = (arm: string) =>
      events.filter((e) => e.metric === 'accepted' && e.value === 1 && armBy.get(e.unit) === arm).length;
    expect(fromA.arms[0]!.metrics.accepted!.conversions).toBe(conversions('control'));
    expect(fromA.arms[1]!.metrics.accepted!.conversions).toBe(conversions('treatment'));
    const accepted = fromA.comparisons.find((c) => c.metric === 'accepted')!;
    const revenue = fromA.comparisons.find((c) => c.metric === 'revenue')!;
    expect(accepted.sufficientData && revenue.sufficientData).toBe(true);
    expect(revenue.difference).toBeGreaterThan(0);
    expect(fromA.srm?.mismatch).toBe(false);
  });
});
