import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { seededRandom } from '../../src/core/random.js';
import { parseExperimentDefinition } from '../../src/experiments/experiment-definition.js';
import { ExperimentRouter } from '../../src/experiments/experiment-router.js';
import { ExperimentStore } from '../../src/experiments/experiment-store.js';
import { assign } from '../../src/experiments/hashing.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { abDefinition, manualClock, units } from './helpers.js';

let dir: Awaited<ReturnType<typeof makeTmpDir>>;
const clients: SqliteClient[] = [];
const routers: ExperimentRouter[] = [];
const clock = manualClock();

async function openStore(): Promise<ExperimentStore> {
  const sql = new SqliteClient({ path: join(dir.path, 'ferry.db') });
  clients.push(sql);
  await sql.init();
  const store = new ExperimentStore({ sql, clock: clock.clock });
  await store.init();
  return store;
}

/** A router on its own connection: a separate instance is a restart or another replica. */
async function openRouter(
  opts: Partial<ConstructorParameters<typeof ExperimentRouter>[0]> = {},
): Promise<{ router: ExperimentRouter; store: ExperimentStore }> {
  const store = await openStore();
  const router = new ExperimentRouter({ store, refreshMs: 0, clock: clock.clock, ...opts });
  routers.push(router);
  await router.refresh();
  return { router, store };
}

beforeEach(async () => {
  dir = await makeTmpDir('ferry-router-');
});
afterEach(async () => {
  for (const r of routers.splice(0)) await r.stop();
  for (const c of clients.splice(0)) await c.close();
  await dir.remove();
});

describe('ExperimentRouter: assignment', () => {
  it('is GrowthBook v2 with the name as seed, and sticky across router instances (restarts, replicas)', async () => {
    const store = await openStore();
    await store.create(
      abDefinition({
        arms: [
          { name: 'control', version: 1, weight: 0.3 },
          { name: 'treatment', version: 2, weight: 0.7 },
        ],
      }),
    );
    const a = (await openRouter()).router;
    const b = (await openRouter()).router;
    const ids = units(3000);
    const counts = [0, 0];
    for (const unit of ids) {
      const d = a.route('tagifai', unit)!;
      expect(d).toBeDefined();
      expect(b.route('tagifai', unit)).toEqual(d);
      expect(d.armIndex).toBe(assign({ seed: 'tagifai-ab-1', weights: [0.3, 0.7] }, unit));
      expect(d.selector).toEqual({ version: d.armIndex + 1 });
      expect(d).toMatchObject({
        experiment: 'tagifai-ab-1',
        type: 'ab',
        arm: ['control', 'treatment'][d.armIndex],
      });
      counts[d.armIndex]! += 1;
    }
    // 30/70 within 3 standard deviations (binomial sd = sqrt(3000 * 0.21) ≈ 25).
    expect(Math.abs(counts[0]! - 900)).toBeLessThan(75);
    // A restarted router (fresh instance, fresh connection) assigns the same arms.
    await a.stop();
    const c = (await openRouter()).router;
    for (const unit of ids.slice(0, 200)) expect(c.route('tagifai', unit)).toEqual(b.route('tagifai', unit));
  });

  it('an explicit seed is used instead of the name', async () => {
    const store = await openStore();
    await store.create(abDefinition({ seed: 'shared-seed' }));
    const { router } = await openRouter();
    for (const unit of units(300)) {
      expect(router.route('tagifai', unit)!.armIndex).toBe(
        assign({ seed: 'shared-seed', weights: [0.5, 0.5] }, unit),
      );
    }
  });

  it('coverage: units outside it get no arm (default version) and no exposure', async () => {
    const store = await openStore();
    await store.create(abDefinition({ coverage: 0.3 }));
    const { router } = await openRouter();
    let routed = 0;
    for (const unit of units(3000)) {
      const d = router.route('tagifai', unit);
      const expected = assign({ seed: 'tagifai-ab-1', weights: [0.5, 0.5], coverage: 0.3 }, unit);
      expect(d?.armIndex ?? -1).toBe(expected);
      if (d) {
        routed += 1;
        router.expose(d, unit, d.selector.version!);
      }
    }
    expect(Math.abs(routed - 900)).toBeLessThan(75);
    await router.flushExposures();
    const agg = await store.aggregates(abDefinition());
    expect(agg.arms[0]!.units + agg.arms[1]!.units).toBe(routed);
  });

  it('no unit, an empty or unusable unit, another model: no arm', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    const { router } = await openRouter();
    expect(router.route('tagifai', undefined)).toBeUndefined();
    expect(router.route('tagifai', '')).toBeUndefined();
    expect(router.route('tagifai', 'x'.repeat(257))).toBeUndefined();
    expect(router.route('tagifai', 'nul\u0000inside')).toBeUndefined();
    expect(router.route('tagifai', 'lone \ud800 surrogate')).toBeUndefined();
    expect(router.route('other-model', 'user-1')).toBeUndefined();
    expect(router.route('tagifai', 'x'.repeat(256))).toBeDefined();
    expect(router.route('tagifai', '日本語のユーザー')).toBeDefined();
    expect(router.bufferedExposures).toBe(0);
  });

  it('paused and stopped experiments route nothing; shadows are listed but never route', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    await store.create(
      parseExperimentDefinition({
        name: 'shadow-1',
        type: 'shadow',
        model: 'tagifai',
        arms: [
          { name: 'production', alias: 'production', weight: 1 },
          { name: 'candidate', version: 2, weight: 0 },
        ],
      }),
    );
    const { router } = await openRouter();
    expect(
      router
        .experiments('tagifai')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['shadow-1', 'tagifai-ab-1']);
    expect(router.routingExperiment('tagifai')?.name).toBe('tagifai-ab-1');
    await store.update('tagifai-ab-1', () => ({ status: 'paused' }));
    await router.refresh();
    expect(router.route('tagifai', 'user-1')).toBeUndefined();
    expect(router.experiments('tagifai')).toHaveLength(2);
    await store.update('tagifai-ab-1', () => ({ status: 'running' }));
    await router.refresh();
    expect(router.route('tagifai', 'user-1')).toBeDefined();
    await store.update('tagifai-ab-1', () => ({ status: 'stopped' }));
    await router.refresh();
    expect(router.route('tagifai', 'user-1')).toBeUndefined();
    expect(router.experiments('tagifai').map((e) => e.name)).toEqual(['shadow-1']);
    const seen: string[][] = [];
    router.subscribe((list) => seen.push(list.map((e) => e.name)));
    await router.refresh();
    expect(seen).toEqual([['shadow-1']]);
  });

  it('arms on aliases: followed aliases route by alias, others are resolved to their version', async () => {
    const store = await openStore();
    await store.create(
      abDefinition({
        arms: [
          { name: 'control', alias: 'production', weight: 0.5 },
          { name: 'treatment', alias: 'staging', weight: 0.5 },
        ],
      }),
    );
    const { router } = await openRouter({
      followedAliases: ['production'],
      aliases: async () => ({ production: 1, staging: 2 }),
    });
    const selectors = new Set(units(100).map((u) => JSON.stringify(router.route('tagifai', u)!.selector)));
    expect(selectors).toEqual(
      new Set([JSON.stringify({ alias: 'production' }), JSON.stringify({ version: 2 })]),
    );
  });
});

describe('ExperimentRouter: exposures', () => {
  it('are buffered per unit, written in the background, and a unit keeps its first arm', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    const { router } = await openRouter();
    const d = router.route('tagifai', 'user-1')!;
    router.expose(d, 'user-1', 1);
    router.expose(d, 'user-1', 1);
    expect(router.bufferedExposures).toBe(1);
    await router.flushExposures();
    expect(router.bufferedExposures).toBe(0);
    // A later exposure claiming the other arm (as after a weight change) does not move the unit.
    const other = { ...d, arm: d.arm === 'control' ? 'treatment' : 'control' };
    router.expose(other, 'user-1', 2);
    await router.flushExposures();
    const agg = await store.aggregates(abDefinition());
    const arm = agg.arms.find((a) => a.arm === d.arm)!;
    expect(arm.units).toBe(1);
    expect(arm.requests).toBe(3);
    expect(agg.arms.find((a) => a.arm !== d.arm)!.units).toBe(0);
  });

  it('a full buffer drops new units and counts them; requests are never blocked', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    const drops: [number, string][] = [];
    const { router } = await openRouter({
      exposures: { maxBuffered: 3, flushSize: 1000, flushIntervalMs: 60_000 },
      onExposuresDropped: (n, reason) => drops.push([n, reason]),
    });
    for (const unit of units(5)) router.expose(router.route('tagifai', unit)!, unit, 1);
    // A unit already buffered still counts its request.
    router.expose(router.route('tagifai', 'user-0')!, 'user-0', 1);
    expect(router.bufferedExposures).toBe(3);
    expect(router.droppedExposures).toBe(2);
    expect(drops).toEqual([
      [1, 'full'],
      [1, 'full'],
    ]);
    await router.flushExposures();
    const agg = await store.aggregates(abDefinition());
    expect(agg.arms.reduce((s, a) => s + a.units, 0)).toBe(3);
    expect(agg.arms.reduce((s, a) => s + a.requests, 0)).toBe(4);
  });

  it('a failing write drops its batch (counted) and the router keeps working', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    const errors: string[] = [];
    const failing = Object.create(store) as ExperimentStore;
    failing.upsertExposures = async () => {
      throw new Error('database down');
    };
    const router = new ExperimentRouter({
      store: failing,
      refreshMs: 0,
      onError: (_e, context) => errors.push(context),
    });
    routers.push(router);
    await router.refresh();
    router.expose(router.route('tagifai', 'user-1')!, 'user-1', 1);
    await router.flushExposures();
    expect(router.droppedExposures).toBe(1);
    expect(errors).toEqual(['exposure write']);
    expect(router.route('tagifai', 'user-2')).toBeDefined();
  });
});

describe('ExperimentRouter: exposure flushes in chunks', () => {
  /** The store, its upsertExposures wrapped: chunk sizes seen, and an optional failure on call n. */
  async function chunkedRouter(failOnCall?: number) {
    const store = await openStore();
    await store.create(abDefinition());
    const calls: number[] = [];
    const watched = Object.create(store) as ExperimentStore;
    watched.upsertExposures = async (rows) => {
      calls.push(rows.length);
      if (calls.length === failOnCall) throw new Error('database down');
      return store.upsertExposures(rows);
    };
    const drops: number[] = [];
    const { router } = await openRouter({
      store: watched,
      exposures: { flushChunk: 500 },
      onExposuresDropped: (count) => drops.push(count),
    });
    for (let i = 0; i < 1250; i++) router.expose(router.route('tagifai', `user-${i}`)!, `user-${i}`, 1);
    return { router, store, calls, drops };
  }

  it('writes 500 pairs a statement and lets the event loop run between two', async () => {
    const { router, store, calls } = await chunkedRouter();
    let ranAt = -1;
    setImmediate(() => {
      ranAt = calls.length;
    });
    await router.flushExposures();
    expect(calls).toEqual([500, 500, 250]);
    // A callback queued before the flush ran after its first chunk, not after the whole flush.
    expect(ranAt).toBe(1);
    const agg = await store.aggregates(abDefinition());
    expect(agg.arms.reduce((n, a) => n + a.units, 0)).toBe(1250);
    expect(router.droppedExposures).toBe(0);
  });

  it('a failed chunk drops it and the ones after it (counted); the ones before stay written', async () => {
    const { router, store, calls, drops } = await chunkedRouter(2);
    await router.flushExposures();
    expect(calls).toEqual([500, 500]);
    expect(router.droppedExposures).toBe(750);
    expect(drops).toEqual([750]);
    const agg = await store.aggregates(abDefinition());
    expect(agg.arms.reduce((n, a) => n + a.units, 0)).toBe(500);
    // The router keeps buffering and writing afterwards.
    router.expose(router.route('tagifai', 'user-late')!, 'user-late', 1);
    await router.flushExposures();
    const after = await store.aggregates(abDefinition());
    expect(after.arms.reduce((n, a) => n + a.units, 0)).toBe(501);
  });
});

describe('ExperimentRouter: exposures written elsewhere', () => {
  it('hands each chunk to writeExposures instead of the store, and counts a failed one', async () => {
    const store = await openStore();
    await store.create(abDefinition());
    const written: number[] = [];
    let fail = false;
    const drops: number[] = [];
    const { router } = await openRouter({
      store,
      exposures: { flushChunk: 100 },
      writeExposures: async (chunk) => {
        if (fail) throw new Error('thread gone');
        written.push(chunk.length);
        await store.upsertExposures(chunk);
      },
      onExposuresDropped: (count) => drops.push(count),
    });
    for (let i = 0; i < 250; i++) router.expose(router.route('tagifai', `user-${i}`)!, `user-${i}`, 1);
    // A repeat adds to its pair: still 250 pairs.
    router.expose(router.route('tagifai', 'user-0')!, 'user-0', 1);
    expect(router.bufferedExposures).toBe(250);
    await router.flushExposures();
    expect(written).toEqual([100, 100, 50]);
    const agg = await store.aggregates(abDefinition());
    expect(agg.arms.reduce((n, a) => n + a.units, 0)).toBe(250);
    expect(agg.arms.reduce((n, a) => n + a.requests, 0)).toBe(251);
    fail = true;
    router.expose(router.route('tagifai', 'user-late')!, 'user-late', 1);
    await router.flushExposures();
    expect(drops).toEqual([1]);
  });
});

describe('ExperimentRouter: bandits', () => {
  const banditDef = (overrides: Record<string, unknown> = {}) =>
    parseExperimentDefinition({
      name: 'tagifai-bandit',
      type: 'bandit',
      model: 'tagifai',
      arms: [
        { name: 'v1', version: 1, weight: 0.5 },
        { name: 'v2', version: 2, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      bandit: { policy: 'thompson', floor: 0.05, minUnitsPerArm: 50, updateEveryMs: 60_000 },
      ...overrides,
    });

  /** One period of simulated traffic: new units, routed, exposed, converting with the arm's rate. */
  async function simulatePeriod(
    router: ExperimentRouter,
    store: ExperimentStore,
    period: number,
    rates: Record<string, number>,
    random: () => number,
    n = 400,
  ): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const events = [];
    for (const unit of units(n, `p${period}-u`)) {
      const d = router.route('tagifai', unit)!;
      router.expose(d, unit, d.selector.version!);
      counts[d.arm] = (counts[d.arm] ?? 0) + 1;
      if (random() < rates[d.arm]!)
        events.push({ eventId: `${unit}-conv`, unit, metric: 'accepted', value: 1 });
    }
    await router.flushExposures();
    if (events.length > 0) await store.recordEvents('tagifai-bandit', events);
    return counts;
  }

  it('shifts weight to the better arm in a seeded simulation; each period is updated once across replicas', async () => {
    const store = await openStore();
    const created = await store.create(banditDef());
    const { router: a } = await openRouter();
    const { router: b } = await openRouter();
    const random = seededRandom(20250601);
    const rates = { v1: 0.05, v2: 0.15 };
    const shares: number[] = [];
    for (let period = 0; period < 8; period++) {
      const counts = await simulatePeriod(a, store, period, rates, random);
      shares.push((counts.v2 ?? 0) / 400);
      clock.advance(60_000);
      // Both replicas refresh at the boundary: one computes the update, the other reads it.
      await Promise.all([a.refresh(), b.refresh()]);
      expect(a.routingExperiment('tagifai')!.weights).toEqual(b.routingExperiment('tagifai')!.weights);
    }
    const final = (await store.get('tagifai-bandit'))!;
    expect(final.banditPeriod).toBe(8);
    const updates = final.weightsHistory.filter((h) => h.period !== undefined);
    // One entry per period at most, in order, never two for one period.
    expect(updates.map((h) => h.period)).toEqual([...new Set(updates.map((h) => h.period))]);
    expect(updates.length).toBeGreaterThanOrEqual(6);
    for (const h of updates) {
      expect(h.weights[0]! + h.weights[1]!).toBeCloseTo(1, 12);
      expect(Math.min(...h.weights)).toBeGreaterThanOrEqual(0.05 - 1e-12);
      expect(h.probabilityBest).toHaveLength(2);
    }
    expect(final.weights[1]).toBeGreaterThan(0.85);
    expect(final.weights[0]).toBeGreaterThanOrEqual(0.05 - 1e-12);
    // Traffic followed the weights: the better arm got most of the last periods' units.
    expect(shares.at(-1)).toBeGreaterThan(0.75);
    expect(shares[0]).toBeLessThan(0.6);
    expect(final.weightsHistory[0]).toMatchObject({ reason: 'created', weights: created.weights });
  });

  it('no reallocation before every arm has minUnitsPerArm units; units keep their arm within a period', async () => {
    const store = await openStore();
    await store.create(
      banditDef({ bandit: { policy: 'thompson', floor: 0.1, minUnitsPerArm: 1000, updateEveryMs: 60_000 } }),
    );
    const { router } = await openRouter();
    const random = seededRandom(7);
    await simulatePeriod(router, store, 0, { v1: 0.01, v2: 0.5 }, random);
    clock.advance(60_000);
    await router.refresh();
    const e = (await store.get('tagifai-bandit'))!;
    expect(e.banditPeriod).toBe(1);
    expect(e.weights).toEqual([0.5, 0.5]);
    expect(e.weightsHistory).toHaveLength(1);

    // Within one period, however often replicas refresh, a unit's arm does not change.
    const before = units(500, 'sticky-').map((u) => router.route('tagifai', u)!.arm);
    clock.advance(30_000);
    await router.refresh();
    const { router: other } = await openRouter();
    expect(units(500, 'sticky-').map((u) => router.route('tagifai', u)!.arm)).toEqual(before);
    expect(units(500, 'sticky-').map((u) => other.route('tagifai', u)!.arm)).toEqual(before);
  });

  it('a numeric reward works too (Gaussian Thompson), and epsilon-greedy / ucb1 give floor-respecting weights', async () => {
    for (const [policy, extra] of [
      ['thompson', {}],
      ['epsilon-greedy', { epsilon: 0.2 }],
      ['ucb1', { rewardRange: 10 }],
    ] as const) {
      const name = `numeric-${policy}`;
      const store = await openStore();
      await store.create(
        banditDef({
          name,
          model: `m-${policy}`,
          metrics: [{ name: 'revenue', kind: 'numeric' }],
          bandit: { policy, floor: 0.1, minUnitsPerArm: 20, updateEveryMs: 1000, ...extra },
        }),
      );
      const { router } = await openRouter();
      const random = seededRandom(3);
      const events = [];
      for (const unit of units(200, `${policy}-`)) {
        const d = router.route(`m-${policy}`, unit)!;
        router.expose(d, unit, 1);
        const mean = d.arm === 'v2' ? 6 : 4;
        events.push({ eventId: `${unit}-r`, unit, metric: 'revenue', value: mean + (random() - 0.5) * 2 });
      }
      await router.flushExposures();
      await store.recordEvents(name, events);
      clock.advance(1000);
      await router.refresh();
      const e = (await store.get(name))!;
      expect(e.weightsHistory).toHaveLength(2);
      expect(e.weights[1]).toBeGreaterThan(e.weights[0]!);
      expect(Math.min(...e.weights)).toBeGreaterThanOrEqual(0.1 - 1e-12);
    }
  });
});
