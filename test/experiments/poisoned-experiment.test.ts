/**
 * Issue 8, items 1, 24 and 25 on SQLite and PostgreSQL, through the real service, store, router and
 * registry: numeric event values are bounded (1e200 is refused), a value planted in the database
 * (old data, or written by hand) makes only its metric's analysis an error — the other metrics, the
 * bandit update and the canary controller keep working — and an admin can exclude events (recorded
 * who/why/when). A canary of the production version is refused; event times are bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../src/app/open-ferry.js';
import { ErrorCode } from '../../src/core/errors.js';
import { EVENT_TIME_SKEW_MS } from '../../src/experiments/experiment-definition.js';
import { ExperimentRouter } from '../../src/experiments/experiment-router.js';
import { ExperimentService } from '../../src/experiments/experiment-service.js';
import { ExperimentStatsStore } from '../../src/experiments/experiment-stats-store.js';
import { EVENTS_TABLE, ExperimentStore } from '../../src/experiments/experiment-store.js';
import type { Exposure } from '../../src/experiments/experiment-types.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { dropSchemas } from '../helpers/postgres.js';
import { createTestRegistry, MODEL, type TestRegistry } from '../helpers/serving.js';
import { abRaw, createPgTestRegistry } from './helpers.js';

const engines: [string, () => Promise<TestRegistry & { schema?: string }>][] = [
  ['SQLite', () => createTestRegistry()],
  ['PostgreSQL', () => createPgTestRegistry()],
];

describe.each(engines)('poisoned experiments on %s', (_label, makeRegistry) => {
  let reg: TestRegistry & { schema?: string };
  let sql: SqlClient;
  let closeFerry: () => Promise<void>;
  let store: ExperimentStore;
  let service: ExperimentService;
  let seq = 0;

  beforeAll(async () => {
    reg = await makeRegistry();
    const ferry = await openFerry(reg.config);
    sql = ferry.sql;
    closeFerry = () => ferry.close();
    store = new ExperimentStore({ sql });
    await store.init();
    const stats = new ExperimentStatsStore({ sql });
    await stats.init();
    service = new ExperimentService({ store, registry: reg.registry, stats });
  });
  afterAll(async () => {
    await closeFerry?.();
    await reg?.close();
    if (reg?.schema !== undefined) await dropSchemas(reg.schema);
  });
  // One routing experiment per model at a time: stop what a case left running.
  afterEach(async () => {
    for (const e of await service.list({ statuses: ['running', 'paused'] })) {
      if (e.type === 'canary') await service.canaryAction(e.name, 'abort').catch(() => {});
      else await service.transition(e.name, 'stop');
    }
  });

  const name = (prefix: string) => `${prefix}-${++seq}`;

  async function expose(experiment: string, units: [unit: string, arm: string][]): Promise<void> {
    const at = new Date().toISOString();
    await store.upsertExposures(
      units.map(([unit, arm]): Exposure => ({ experiment, unit, arm, version: null, at, requests: 1 })),
    );
  }

  /** Writes an event past every check, as data stored before bounds existed would be. */
  async function plant(experiment: string, unit: string, metric: string, value: number): Promise<void> {
    const at = new Date().toISOString();
    await sql.execute(
      `INSERT INTO ${EVENTS_TABLE} (experiment, event_id, unit, metric, value, at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [experiment, `planted-${unit}-${metric}`, unit, metric, value, at, at],
    );
  }

  /** Control: 40 units, treatment: 40 units; a conversion for every third unit, revenue 1..5. */
  async function populate(experiment: string, metrics: { binary?: string; numeric?: string }) {
    const pairs: [string, string][] = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 80; i++) {
      const unit = `u${i}`;
      pairs.push([unit, i % 2 === 0 ? 'control' : 'treatment']);
      if (metrics.binary !== undefined)
        events.push({ unit, metric: metrics.binary, value: i % 3 === 0 ? 1 : 0, event_id: `b${i}` });
      if (metrics.numeric !== undefined)
        events.push({ unit, metric: metrics.numeric, value: 1 + (i % 5), event_id: `n${i}` });
    }
    await expose(experiment, pairs);
    await service.recordEvents(experiment, { events });
  }

  it('refuses numeric values beyond the metric bounds (default ±1e9) and non-0/1 binary values', async () => {
    const ab = name('bounds');
    await service.create(
      abRaw({
        name: ab,
        metrics: [
          { name: 'accepted', kind: 'binary' },
          { name: 'revenue', kind: 'numeric' },
          { name: 'seconds', kind: 'numeric', min: 0, max: 3600 },
        ],
      }),
    );
    for (const [metric, value] of [
      ['revenue', 1e200],
      ['revenue', -1e200],
      ['revenue', 1e9 + 1],
      ['seconds', -1],
      ['seconds', 3601],
      ['accepted', 2],
    ] as const) {
      const err = await expectFerryError(
        service.recordEvents(ab, { unit: 'u1', metric, value, event_id: `${metric}-${value}` }),
        ErrorCode.EXPERIMENT_INVALID,
        400,
      );
      expect(err.details).toMatchObject({ field: 'body.value' });
    }
    await expect(
      service.recordEvents(ab, {
        events: [
          { unit: 'u1', metric: 'revenue', value: 1e9, event_id: 'ok-1' },
          { unit: 'u1', metric: 'seconds', value: 3600, event_id: 'ok-2' },
        ],
      }),
    ).resolves.toEqual({ accepted: 2, duplicates: 0 });
    // Bounds are checked at creation: within ±1e12, min below max, numeric metrics only.
    for (const metrics of [
      [{ name: 'm', kind: 'numeric', max: 1e13 }],
      [{ name: 'm', kind: 'numeric', min: 5, max: 5 }],
      [{ name: 'm', kind: 'binary', max: 1 }],
    ]) {
      await expectFerryError(
        service.create(abRaw({ name: name('bad-bounds'), metrics })),
        ErrorCode.EXPERIMENT_INVALID,
        400,
      );
    }
  });

  it('a planted 1e200 makes only its metric an error; exclusion (recorded) restores it', async () => {
    const ab = name('planted');
    await service.create(
      abRaw({
        name: ab,
        metrics: [
          { name: 'accepted', kind: 'binary' },
          { name: 'revenue', kind: 'numeric' },
        ],
      }),
    );
    await populate(ab, { binary: 'accepted', numeric: 'revenue' });
    await plant(ab, 'u0', 'revenue', 1e200);
    await plant(ab, 'u1', 'revenue', -1e200);
    await plant(ab, 'u4', 'revenue', Number.POSITIVE_INFINITY);

    const analysis = await service.analyze(ab);
    const accepted = analysis.comparisons.find((c) => c.metric === 'accepted')!;
    const revenue = analysis.comparisons.find((c) => c.metric === 'revenue')!;
    expect(accepted.error).toBeUndefined();
    expect(accepted.sufficientData).toBe(true);
    expect(accepted.pValue).toBeGreaterThan(0);
    expect(revenue.error).toMatch(/3 stored event\(s\) of "revenue" have values beyond/);
    expect(revenue.pValue).toBeUndefined();
    expect(analysis.arms[0]!.metrics.revenue!.error).toBeDefined();
    expect(analysis.arms[0]!.metrics.accepted!.error).toBeUndefined();

    // Exclusion needs a selection and a reason.
    await expectFerryError(
      service.excludeEvents(ab, { metric: 'revenue', reason: 'x' }, { defaultBy: 'admin', via: 'test' }),
      ErrorCode.EXPERIMENT_INVALID,
      400,
    );
    await expectFerryError(
      service.excludeEvents(ab, { outOfRange: true }, { defaultBy: 'admin', via: 'test' }),
      ErrorCode.EXPERIMENT_INVALID,
      400,
    );
    const out = await service.excludeEvents(
      ab,
      { outOfRange: true, metric: 'revenue', reason: 'values planted by an attacker', by: 'ops@example' },
      { defaultBy: 'admin', via: 'test' },
    );
    expect(out).toEqual({ excluded: 3 });
    const rows = await sql.query<{ excluded_by: string; excluded_reason: string; excluded_at: string }>(
      `SELECT excluded_by, excluded_reason, excluded_at FROM ${EVENTS_TABLE} WHERE experiment = $1 AND excluded_at IS NOT NULL`,
      [ab],
    );
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      excluded_by: 'ops@example (test)',
      excluded_reason: 'values planted by an attacker',
    });
    expect(Number.isNaN(Date.parse(rows[0]!.excluded_at))).toBe(false);

    const after = await service.analyze(ab);
    const fixed = after.comparisons.find((c) => c.metric === 'revenue')!;
    expect(fixed.error).toBeUndefined();
    expect(fixed.sufficientData).toBe(true);
    expect(after.excludedEvents).toBe(3);
    // A unit's events can be excluded too; excluded events are not counted anywhere.
    const byUnit = await service.excludeEvents(
      ab,
      { unit: 'u2', reason: 'test account' },
      { defaultBy: 'admin', via: 'test' },
    );
    expect(byUnit).toEqual({ excluded: 2 });
    const last = await service.analyze(ab);
    expect(last.excludedEvents).toBe(5);
    expect(last.arms[0]!.metrics.revenue!.units).toBe(after.arms[0]!.metrics.revenue!.units - 1);
  });

  it('the bandit update keeps working beside a planted value', async () => {
    const bandit = name('bandit');
    await service.create({
      ...abRaw({ name: bandit, type: 'bandit', metrics: [{ name: 'revenue', kind: 'numeric' }] }),
      arms: [
        { name: 'control', version: 1 },
        { name: 'treatment', version: 2 },
      ],
      bandit: { policy: 'thompson', minUnitsPerArm: 5, updateEveryMs: 1000, floor: 0.1 },
    });
    await populate(bandit, { numeric: 'revenue' });
    await plant(bandit, 'u3', 'revenue', 1e200);
    const router = new ExperimentRouter({ store, refreshMs: 0 });
    try {
      const updated = await router.updateBandit(bandit, new Date(Date.now() + 5000));
      expect(updated.banditPeriod).toBeGreaterThanOrEqual(5);
      expect(updated.weightsHistory.length).toBe(2);
      expect(updated.weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 9);
    } finally {
      await router.stop();
    }
    const analysis = await service.analyze(bandit);
    expect(analysis.comparisons[0]!.error).toMatch(/beyond/);
  });

  it('the canary controller keeps evaluating beside a planted outcome value', async () => {
    const canary = name('canary');
    await service.create({
      name: canary,
      type: 'canary',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'canary', version: 2 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      canary: { steps: [0.5, 1], thresholds: { minOutcomeRatio: 0.5, minOutcomeUnits: 5 } },
    });
    await expose(canary, [
      ['p1', 'production'],
      ['c1', 'canary'],
    ]);
    await plant(canary, 'c1', 'accepted', 1e200);
    const evaluation = await service.canary.evaluate(canary);
    expect(evaluation.decision?.action).toBe('wait');
    const analysis = await service.analyze(canary);
    expect(analysis.canary?.status).toBe('running');
  });

  it('refuses a canary whose candidate is the production version (item 24)', async () => {
    const cases = [
      [
        { name: 'production', alias: 'production' },
        { name: 'canary', version: 1 },
      ],
      [
        { name: 'production', version: 1 },
        { name: 'canary', alias: 'production' },
      ],
      [
        { name: 'production', version: 2 },
        { name: 'canary', version: 2 },
      ],
    ];
    for (const arms of cases) {
      await expectFerryError(
        service.create({ name: name('same'), type: 'canary', model: MODEL, arms }),
        ErrorCode.EXPERIMENT_INVALID_CANARY_CONFIG,
        400,
      );
    }
    expect(await service.list({ statuses: ['running'] })).toEqual([]);
  });

  it('bounds event times to the experiment life ± the skew (item 25)', async () => {
    const ab = name('times');
    const { experiment } = await service.create(abRaw({ name: ab }));
    const created = Date.parse(experiment.createdAt);
    const event = (at: string, id: string) => ({
      unit: 'u1',
      metric: 'accepted',
      value: 1,
      event_id: id,
      at,
    });
    for (const at of [
      '2099-01-01T00:00:00Z',
      new Date(Date.now() + EVENT_TIME_SKEW_MS + 60_000).toISOString(),
      new Date(created - EVENT_TIME_SKEW_MS - 60_000).toISOString(),
      '1970-01-01T00:00:00Z',
    ]) {
      const err = await expectFerryError(
        service.recordEvents(ab, event(at, at)),
        ErrorCode.EXPERIMENT_INVALID,
        400,
      );
      expect(err.details).toMatchObject({ field: 'body.at' });
    }
    await expect(
      service.recordEvents(ab, {
        events: [
          event(new Date(created - 60_000).toISOString(), 'a'),
          event(new Date(Date.now() + 60_000).toISOString(), 'b'),
          event(new Date().toISOString(), 'c'),
        ],
      }),
    ).resolves.toEqual({ accepted: 3, duplicates: 0 });
  });
});
