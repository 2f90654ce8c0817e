/**
 * bench/features-pit: point-in-time joins of 100,000 and 1,000,000 entity rows × 10 features (two
 * views of 5 features, 20,000 entities with 5 values each per view, on SQLite), beside a baseline
 * measured in the same run: a plain in-memory Map lookup of each entity's latest values, with no
 * time logic at all (what a join that ignores time would cost, and gets wrong).
 *
 * Figures per size: rows/s of the whole join (offline values loaded from SQLite, indexed, joined),
 * of the join alone on loaded indexes, and of the baseline.
 * Each figure is the best of BENCH_REPEAT (3) runs.
 * Run: npx tsx bench/features-pit.ts   (BENCH_SIZES=100000,1000000 BENCH_REPEAT=3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteClient } from '../src/adapters/sqlite/sqlite-client.js';
import { seededRandom } from '../src/core/random.js';
import type { FeatureRepoDef } from '../src/features/feature-definitions.js';
import { resolveFeatures } from '../src/features/feature-refs.js';
import { FeatureRepoStore } from '../src/features/feature-repo-store.js';
import { writeOfflineRows } from '../src/features/offline-store.js';
import { repoObjects } from '../src/features/repo-objects.js';
import {
  type EntityColumns,
  joinView,
  loadViewIndex,
  pointInTimeJoin,
} from '../src/features/training-set.js';
import type { FeatureValue, OnlineFeatureRow } from '../src/ports/online-feature-store.js';

const SIZES = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const ENTITIES = 20_000;
const VALUES_PER_ENTITY = 5;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

const features = (prefix: string) =>
  Array.from({ length: 5 }, (_, i) => ({
    name: `${prefix}${i}`,
    type: i === 4 ? ('string' as const) : ('float64' as const),
  }));
const repo: FeatureRepoDef = {
  entities: [{ name: 'project', joinKeys: ['project_id'] }],
  sources: [{ name: 'none', kind: 'sql', table: 'none', timestampField: 't' }],
  views: [
    {
      name: 'a',
      entities: ['project'],
      source: 'none',
      ttl: '30d',
      schema: features('a'),
      transform: { kind: 'row' },
    },
    {
      name: 'b',
      entities: ['project'],
      source: 'none',
      ttl: '7d',
      schema: features('b'),
      transform: { kind: 'row' },
    },
  ],
};

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-pit-'));
const sql = new SqliteClient({ path: join(home, 'ferry.db') });
try {
  await sql.init();
  const store = new FeatureRepoStore({ sql });
  await store.init();
  await store.apply(repoObjects(repo), { file: 'bench' });
  const rand = seededRandom(11);
  for (const view of ['a', 'b']) {
    const rows: OnlineFeatureRow[] = [];
    for (let e = 0; e < ENTITIES; e++) {
      for (let k = 0; k < VALUES_PER_ENTITY; k++) {
        const values: Record<string, FeatureValue> = {};
        for (let i = 0; i < 4; i++) values[`${view}${i}`] = Math.round(rand() * 1000) / 10;
        values[`${view}4`] = `p${e}-${k}`;
        rows.push({ view, entityKey: String(e), eventTimeMs: T0 + Math.floor(rand() * 90 * DAY), values });
      }
    }
    await sql.transaction((tx) => writeOfflineRows(tx, rows));
  }
  const refs = resolveFeatures(repo, { features: ['a', 'b'] });
  console.log(
    `offline: 2 views × ${ENTITIES.toLocaleString('en-US')} entities × ${VALUES_PER_ENTITY} values; 10 features`,
  );
  console.log(
    'rows       | PIT join (load + join) | join alone (loaded)  | baseline Map (no time) | PIT / baseline',
  );

  for (const size of SIZES) {
    const ids: string[] = new Array(size);
    const timestamps = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      ids[i] = String(Math.floor(rand() * ENTITIES * 1.05)); // ~5 % unknown entities
      timestamps[i] = T0 + Math.floor(rand() * 100 * DAY);
    }
    const rows: EntityColumns = { keys: { project_id: ids }, timestamps };

    // Each figure is the best of REPEAT runs, the three kinds interleaved (same JIT and GC state).
    let whole = Number.POSITIVE_INFINITY;
    let alone = Number.POSITIVE_INFINITY;
    let baseline = Number.POSITIVE_INFINITY;
    let found = 0;
    for (let rep = 0; rep < REPEAT; rep++) {
      let t = performance.now();
      const joined = await pointInTimeJoin(sql, repo, refs, rows);
      whole = Math.min(whole, (performance.now() - t) / 1000);
      found = joined[0]!.values.filter((x) => x !== null).length;

      const indexes = await Promise.all(
        repo.views.map((v) => loadViewIndex(sql, v, Number.MAX_SAFE_INTEGER)),
      );
      t = performance.now();
      for (const [i, index] of indexes.entries()) {
        joinView(
          index,
          ['project_id'],
          rows,
          refs.filter((r) => r.view === repo.views[i]!.name),
        );
      }
      alone = Math.min(alone, (performance.now() - t) / 1000);

      // Baseline: each entity's latest values in a Map, looked up per row and feature.
      const latest = indexes.map((index) => {
        const map = new Map<string, Readonly<Record<string, FeatureValue>>>();
        for (let g = 0; g < index.data.keys.length; g++) {
          map.set(index.data.keys[g]!, index.data.values[index.data.start[g + 1]! - 1]!);
        }
        return map;
      });
      t = performance.now();
      const out = refs.map(() => new Array<FeatureValue>(size).fill(null));
      for (let v = 0; v < latest.length; v++) {
        const picked = refs.flatMap((r, j) => (r.view === repo.views[v]!.name ? [j] : []));
        const names = picked.map((j) => refs[j]!.feature);
        const cols = picked.map((j) => out[j]!);
        const map = latest[v]!;
        for (let i = 0; i < size; i++) {
          const values = map.get(ids[i]!);
          if (values === undefined) continue;
          for (let f = 0; f < names.length; f++) {
            const x = values[names[f]!];
            if (x !== undefined) cols[f]![i] = x;
          }
        }
      }
      baseline = Math.min(baseline, (performance.now() - t) / 1000);
    }

    const rate = (s: number) =>
      `${Math.round(size / s)
        .toLocaleString('en-US')
        .padStart(11)} rows/s`;
    console.log(
      `${size.toLocaleString('en-US').padEnd(10)} | ${rate(whole)} ${whole.toFixed(2).padStart(5)} s | ${rate(alone)} | ${rate(baseline)}        | ${(baseline / whole).toFixed(2)} (join alone ${(baseline / alone).toFixed(2)})   [a0 found in ${((100 * found) / size).toFixed(0)} % of rows]`,
    );
  }
} finally {
  await sql.close();
  rmSync(home, { recursive: true, force: true });
}
