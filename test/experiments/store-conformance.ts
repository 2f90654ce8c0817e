/**
 * ExperimentStore conformance: the same cases on SQLite and PostgreSQL, each on a fresh database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { parseExperimentDefinition } from '../../src/experiments/experiment-definition.js';
import { ExperimentStore } from '../../src/experiments/experiment-store.js';
import type { Exposure } from '../../src/experiments/experiment-types.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { abDefinition, manualClock } from './helpers.js';

export interface StoreHarness {
  /** A new connection to the harness's one empty database (not initialised). */
  openSql(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

const T = '2025-06-01T00:00:00.000Z';

/** A metric aggregate with nothing in it. */
const agg0 = { unitsWithEvents: 0, events: 0, sum: 0, sumSq: 0, m2: 0, conversions: 0, invalidEvents: 0 };

function exposure(unit: string, arm: string, overrides: Partial<Exposure> = {}): Exposure {
  return {
    experiment: 'tagifai-ab-1',
    unit,
    arm,
    version: arm === 'control' ? 1 : 2,
    at: T,
    requests: 1,
    ...overrides,
  };
}

export function experimentStoreConformance(label: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`ExperimentStore on ${label}`, () => {
    let harness: StoreHarness;
    let sql: SqlClient;
    let store: ExperimentStore;
    const clock = manualClock();
    const opened: SqlClient[] = [];

    async function open(): Promise<ExperimentStore> {
      const client = await harness.openSql();
      opened.push(client);
      await client.init();
      const s = new ExperimentStore({ sql: client, clock: clock.clock });
      await s.init();
      return s;
    }

    beforeEach(async () => {
      harness = await makeHarness();
      store = await open();
      sql = opened[0]!;
    });
    afterEach(async () => {
      for (const c of opened.splice(0)) await c.close().catch(() => {});
      await harness.dispose();
    });

    it('init is idempotent and creates the three tables', async () => {
      await store.init();
      await (await open()).init();
      for (const table of ['ferry_experiments', 'ferry_experiment_exposures', 'ferry_experiment_events']) {
        const rows = await sql.query(`SELECT COUNT(*) AS n FROM ${table}`);
        expect(Number(rows[0]!.n)).toBe(0);
      }
    });

    it('creates, reads back and lists an experiment, with its first weights in the history', async () => {
      const created = await store.create(abDefinition());
      expect(created).toMatchObject({
        name: 'tagifai-ab-1',
        status: 'running',
        weights: [0.5, 0.5],
        seed: 'tagifai-ab-1',
        coverage: 1,
        revision: 1,
        banditPeriod: 0,
        conclusion: null,
      });
      expect(created.weightsHistory).toEqual([
        { at: clock.clock().toISOString(), weights: [0.5, 0.5], reason: 'created' },
      ]);
      expect(await store.get('tagifai-ab-1')).toEqual(created);
      expect(await store.list()).toEqual([created]);
      expect(await store.list({ statuses: ['stopped'] })).toEqual([]);
      expect(await store.list({ model: 'other' })).toEqual([]);
      expect(await store.get('nope')).toBeUndefined();
      await expectFerryError(store.require('nope'), ErrorCode.EXPERIMENT_NOT_FOUND, 404);
    });

    it('refuses a name twice (409), even after the first one stopped', async () => {
      await store.create(abDefinition());
      await expectFerryError(store.create(abDefinition()), ErrorCode.EXPERIMENT_CONFLICT, 409);
      await store.update('tagifai-ab-1', () => ({ status: 'stopped' }));
      await expectFerryError(store.create(abDefinition()), ErrorCode.EXPERIMENT_CONFLICT, 409);
    });

    it('overlap: one routing experiment per model; a shadow may run beside it; stopped ones free the model', async () => {
      await store.create(abDefinition());
      const bandit = parseExperimentDefinition({
        name: 'bandit-1',
        type: 'bandit',
        model: 'tagifai',
        arms: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
        metrics: [{ name: 'accepted', kind: 'binary' }],
      });
      const err = await expectFerryError(store.create(bandit), ErrorCode.EXPERIMENT_CONFLICT, 409);
      expect(err.details).toMatchObject({ conflictsWith: 'tagifai-ab-1' });
      const shadow = parseExperimentDefinition({
        name: 'shadow-1',
        type: 'shadow',
        model: 'tagifai',
        arms: [
          { name: 'production', alias: 'production', weight: 1 },
          { name: 'candidate', version: 2, weight: 0 },
        ],
      });
      await store.create(shadow);
      await expectFerryError(
        store.create({ ...shadow, name: 'shadow-2' }),
        ErrorCode.EXPERIMENT_CONFLICT,
        409,
      );
      // Another model is free; a paused experiment still holds its model.
      await store.create({ ...bandit, name: 'bandit-other', model: 'other-model' });
      await store.update('tagifai-ab-1', () => ({ status: 'paused' }));
      await expectFerryError(store.create(bandit), ErrorCode.EXPERIMENT_CONFLICT, 409);
      await store.update('tagifai-ab-1', () => ({ status: 'stopped' }));
      expect((await store.create(bandit)).status).toBe('running');
    });

    it('concurrent creations of overlapping experiments from two connections: exactly one wins', async () => {
      const other = await open();
      const results = await Promise.allSettled([
        store.create(abDefinition({ name: 'race-a' })),
        other.create(abDefinition({ name: 'race-b' })),
        store.create(abDefinition({ name: 'race-c' })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((x) => x.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.EXPERIMENT_CONFLICT });
      }
      expect(await store.list()).toHaveLength(1);
    });

    it('update: patches under the lock, appends history, bumps the revision; analysis state alone does not', async () => {
      await store.create(abDefinition());
      clock.advance(1000);
      const moved = await store.update('tagifai-ab-1', () => ({
        weights: [0.7, 0.3],
        historyEntry: { at: clock.clock().toISOString(), weights: [0.7, 0.3], reason: 'manual' },
      }));
      expect(moved.revision).toBe(2);
      expect(moved.weights).toEqual([0.7, 0.3]);
      expect(moved.weightsHistory.map((h) => h.reason)).toEqual(['created', 'manual']);
      expect(await store.get('tagifai-ab-1')).toEqual(moved);
      const same = await store.update('tagifai-ab-1', () => ({
        sequential: { 'treatment/accepted': { tau2: 1 } },
      }));
      expect(same.revision).toBe(2);
      expect(same.updatedAt).toBe(moved.updatedAt);
      let seen: unknown;
      await store.update('tagifai-ab-1', (_e, _tx, extras) => {
        seen = extras.sequential;
        return undefined;
      });
      expect(seen).toEqual({ 'treatment/accepted': { tau2: 1 } });
      // A controller's state (the canary's, say) moves with the weights in one transaction.
      const stepped = await store.update('tagifai-ab-1', (_e, _tx, extras) => {
        expect(extras.controllerState).toBeNull();
        return { weights: [0.75, 0.25], controllerState: { version: 1, state: { stepIndex: 1 } } };
      });
      expect(stepped.revision).toBe(3);
      await store.update('tagifai-ab-1', (e, _tx, extras) => {
        expect(e.weights).toEqual([0.75, 0.25]);
        expect(extras.controllerState).toEqual({ version: 1, state: { stepIndex: 1 } });
        expect(extras.sequential).toEqual({ 'treatment/accepted': { tau2: 1 } });
        return undefined;
      });
      await expectFerryError(
        store.update('nope', () => undefined),
        ErrorCode.EXPERIMENT_NOT_FOUND,
        404,
      );
      // A throwing callback writes nothing.
      await expect(
        store.update('tagifai-ab-1', () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await store.get('tagifai-ab-1'))!.revision).toBe(3);
    });

    it('exposures: the first arm is kept (stickiness), requests add up, one row per (experiment, unit)', async () => {
      await store.create(abDefinition());
      await store.upsertExposures([exposure('u1', 'control'), exposure('u2', 'treatment')]);
      await store.upsertExposures([
        exposure('u1', 'treatment', { at: '2025-06-02T00:00:00.000Z', requests: 3 }),
        exposure('u1', 'treatment', { at: '2025-06-03T00:00:00.000Z', requests: 2 }),
      ]);
      const rows = await sql.query<{
        unit: string;
        arm: string;
        version: unknown;
        requests: unknown;
        first_at: string;
        last_at: string;
      }>(
        'SELECT unit, arm, version, requests, first_at, last_at FROM ferry_experiment_exposures ORDER BY unit',
      );
      expect(rows.map((r) => ({ ...r, version: Number(r.version), requests: Number(r.requests) }))).toEqual([
        {
          unit: 'u1',
          arm: 'control',
          version: 1,
          requests: 6,
          first_at: T,
          last_at: '2025-06-03T00:00:00.000Z',
        },
        { unit: 'u2', arm: 'treatment', version: 2, requests: 1, first_at: T, last_at: T },
      ]);
    });

    it('exposures: more rows than one statement holds, and unit ids that break naive SQL', async () => {
      await store.create(abDefinition());
      const odd = ["o'brien", '"; DROP TABLE ferry_experiments; --', '日本語', '🚀 rocket', '$1', '?', 'a%_'];
      const many: Exposure[] = [];
      for (let i = 0; i < 1200; i++) many.push(exposure(`unit-${i}`, i % 2 === 0 ? 'control' : 'treatment'));
      for (const u of odd) many.push(exposure(u, 'control'));
      await store.upsertExposures(many);
      const agg = await store.aggregates(abDefinition());
      expect(agg.arms.map((a) => a.units)).toEqual([600 + odd.length, 600]);
      expect(agg.arms.map((a) => a.requests)).toEqual([600 + odd.length, 600]);
      const found = await sql.query<{ unit: string }>(
        `SELECT unit FROM ferry_experiment_exposures WHERE unit = $1`,
        [odd[1]!],
      );
      expect(found).toHaveLength(1);
    });

    it('events: an event_id posted twice (across calls or in one call) is stored and counted once', async () => {
      await store.create(abDefinition());
      const e = { eventId: 'e-1', unit: 'u1', metric: 'accepted', value: 1 };
      expect(await store.recordEvents('tagifai-ab-1', [e])).toEqual({ inserted: 1, duplicates: 0 });
      expect(await store.recordEvents('tagifai-ab-1', [e, { ...e, value: 0 }])).toEqual({
        inserted: 0,
        duplicates: 2,
      });
      expect(
        await store.recordEvents('tagifai-ab-1', [
          { ...e, eventId: 'e-2' },
          { ...e, eventId: 'e-2' },
          { ...e, eventId: 'e-3' },
        ]),
      ).toEqual({ inserted: 2, duplicates: 1 });
      const [row] = await sql.query<{ n: unknown; s: unknown }>(
        'SELECT COUNT(*) AS n, SUM(value) AS s FROM ferry_experiment_events',
      );
      expect(Number(row!.n)).toBe(3);
      expect(Number(row!.s)).toBe(3);
      // The same event id in another experiment is another event.
      await store.create(abDefinition({ name: 'other', model: 'other-model' }));
      expect(await store.recordEvents('other', [e])).toEqual({ inserted: 1, duplicates: 0 });
    });

    it('aggregates: units per arm, conversions, sums over unit values, and unexposed events apart', async () => {
      const def = parseExperimentDefinition({
        ...abDefinition(),
        metrics: [
          { name: 'accepted', kind: 'binary' },
          { name: 'revenue', kind: 'numeric' },
        ],
      });
      await store.create(def);
      await store.upsertExposures([
        exposure('c1', 'control'),
        exposure('c2', 'control'),
        exposure('c3', 'control'),
        exposure('t1', 'treatment', { requests: 4 }),
        exposure('t2', 'treatment'),
      ]);
      let n = 0;
      const ev = (unit: string, metric: string, value: number) => ({
        eventId: `e${n++}`,
        unit,
        metric,
        value,
      });
      await store.recordEvents(def.name, [
        ev('c1', 'accepted', 1),
        ev('c1', 'accepted', 1), // a second conversion of the same unit: still one converting unit
        ev('c2', 'accepted', 0),
        ev('t1', 'accepted', 1),
        ev('t2', 'accepted', 1),
        ev('c1', 'revenue', 2.5),
        ev('c1', 'revenue', 1.5), // unit value 4
        ev('c3', 'revenue', 1),
        ev('t1', 'revenue', 10),
        ev('ghost', 'accepted', 1), // never exposed
        ev('ghost', 'revenue', 3),
        ev('ghost-2', 'accepted', 1),
      ]);
      const agg = await store.aggregates(def);
      expect(agg.totalEvents).toBe(12);
      expect(agg.unexposed).toEqual({
        events: 3,
        units: 2,
        byMetric: { accepted: { events: 2, units: 2 }, revenue: { events: 1, units: 1 } },
      });
      expect(agg.arms).toEqual([
        {
          arm: 'control',
          units: 3,
          requests: 3,
          metrics: {
            accepted: { ...agg0, unitsWithEvents: 2, events: 3, sum: 2, sumSq: 4, m2: 2, conversions: 1 },
            revenue: { ...agg0, unitsWithEvents: 2, events: 3, sum: 5, sumSq: 17, m2: 4.5, conversions: 2 },
          },
        },
        {
          arm: 'treatment',
          units: 2,
          requests: 5,
          metrics: {
            accepted: { ...agg0, unitsWithEvents: 2, events: 2, sum: 2, sumSq: 2, conversions: 2 },
            revenue: { ...agg0, unitsWithEvents: 1, events: 1, sum: 10, sumSq: 100, conversions: 1 },
          },
        },
      ]);
      // Another connection computes the same numbers.
      expect(await (await open()).aggregates(def)).toEqual(agg);
    });

    it('aggregates: the variance of large values with a small spread is exact (two passes, no Σx² cancellation)', async () => {
      const def = parseExperimentDefinition({
        ...abDefinition(),
        metrics: [{ name: 'revenue', kind: 'numeric' }],
      });
      await store.create(def);
      const base = 9e8; // within the default bound of 1e9; Σx² ~ 2.4e18 leaves no digits for a spread of 1
      const values = [1, 2, 3];
      await store.upsertExposures(values.map((_, i) => exposure(`c${i}`, 'control')));
      await store.recordEvents(
        def.name,
        values.map((v, i) => ({ eventId: `e${i}`, unit: `c${i}`, metric: 'revenue', value: base + v })),
      );
      const agg = await store.aggregates(def);
      const m = agg.arms[0]!.metrics.revenue!;
      expect(m.sum).toBe(3 * base + 6);
      expect(m.m2).toBe(2); // (−1)² + 0² + 1²: variance 1
      expect(agg.excludedEvents).toBe(0);
    });

    it('aggregates of an experiment with no data are zeros', async () => {
      await store.create(abDefinition());
      const agg = await store.aggregates(abDefinition());
      expect(agg.arms.map((a) => [a.units, a.requests, a.metrics.accepted])).toEqual([
        [0, 0, agg0],
        [0, 0, agg0],
      ]);
      expect(agg.unexposed).toEqual({ events: 0, units: 0, byMetric: {} });
    });
  });
}
