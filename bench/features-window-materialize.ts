/**
 * bench/features-window-materialize: `materialize` of window views from a CSV beside a row view
 * over the same rows, on SQLite. BENCH_ROWS events (default 200,000) of 5,000 users over ~70
 * days; views: the row view (baseline: one value per row), a tumbling 1-day count/sum/top_k, a
 * hopping 7-day/1-day count/count_by, a 30-minute session count/sum. Each is run twice: the first
 * run writes every value, the second (idempotent) reads and recomputes everything and skips every
 * chunk. Figures: seconds, source rows/s, values written, and the heap after the run.
 * Run: npx tsx bench/features-window-materialize.ts   (BENCH_ROWS=200000)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlOnlineStore } from '../src/adapters/sql/sql-online-store.js';
import { SqliteClient } from '../src/adapters/sqlite/sqlite-client.js';
import { featureSourceOpener } from '../src/app/feature-sources.js';
import { seededRandom } from '../src/core/random.js';
import { FeatureRepoStore } from '../src/features/feature-repo-store.js';
import { loadDefinitions } from '../src/features/load-definitions.js';
import { materialize } from '../src/features/materialize.js';
import { repoObjects } from '../src/features/repo-objects.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const USERS = 5_000;
const T0 = Date.UTC(2024, 0, 1);

const window = (name: string, w: unknown, aggregations: unknown[], schema: unknown[]) => ({
  name,
  entities: ['user'],
  source: 'events',
  ttl: '30d',
  schema,
  transform: { kind: 'window', window: w, aggregations },
});

const repo = {
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  sources: [{ name: 'events', kind: 'file', path: 'events.csv', timestampField: 'at' }],
  views: [
    {
      name: 'rows',
      entities: ['user'],
      source: 'events',
      ttl: '30d',
      schema: [
        { name: 'amount', type: 'float64' },
        { name: 'category', type: 'string' },
      ],
      transform: { kind: 'row' },
    },
    window(
      'tumbling_1d',
      { type: 'tumbling', size: '1d' },
      [
        { name: 'n', fn: 'count' },
        { name: 'total', fn: 'sum', field: 'amount' },
        { name: 'top', fn: 'top_k', field: 'category', k: 2 },
      ],
      [
        { name: 'n', type: 'int64' },
        { name: 'total', type: 'float64' },
        { name: 'top', type: 'string_list' },
      ],
    ),
    window(
      'hopping_7d_1d',
      { type: 'hopping', size: '7d', hop: '1d' },
      [
        { name: 'n', fn: 'count' },
        { name: 'by', fn: 'count_by', field: 'category' },
      ],
      [
        { name: 'n', type: 'int64' },
        { name: 'by', type: 'map' },
      ],
    ),
    window(
      'session_30m',
      { type: 'session', gap: '30m' },
      [
        { name: 'n', fn: 'count' },
        { name: 'total', fn: 'sum', field: 'amount' },
      ],
      [
        { name: 'n', type: 'int64' },
        { name: 'total', type: 'float64' },
      ],
    ),
  ],
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-winmat-'));
  try {
    const random = seededRandom(1);
    const lines = ['id,user_id,at,amount,category'];
    for (let i = 0; i < ROWS; i++) {
      const t = T0 + i * 30_000 + Math.floor(random() * 30_000);
      const user = `u${Math.floor(random() * USERS)}`;
      const cat = 'abcde'[Math.floor(random() * 5)]!;
      lines.push(`e${i},${user},${t},${Math.floor(random() * 100)},${cat}`);
    }
    writeFileSync(join(dir, 'events.csv'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'features.json'), JSON.stringify(repo));
    const db = join(dir, 'ferry.db');
    const sql = new SqliteClient({ path: db });
    await sql.init();
    const repoStore = new FeatureRepoStore({ sql });
    await repoStore.init();
    const online = new SqlOnlineStore({ sql });
    await online.init();
    const loaded = await loadDefinitions(join(dir, 'features.json'));
    await repoStore.apply(repoObjects(loaded.repo), { file: loaded.file, online });
    const deps = {
      sql,
      online: async () => online,
      loaded,
      applied: await repoStore.appliedRepo(),
      openSource: featureSourceOpener(sql, `sqlite:${db}`),
    };
    console.log(`${ROWS.toLocaleString('en-US')} rows, ${USERS.toLocaleString('en-US')} users, SQLite`);
    console.log('| view | run | seconds | source rows/s | values written | online rows | heap after (MB) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const view of repo.views) {
      for (const run of ['first', 'rerun']) {
        const s = (await materialize(deps, { views: [view.name] })).views[0]!;
        const heap = process.memoryUsage().heapUsed / 2 ** 20;
        console.log(
          `| ${view.name} | ${run} | ${s.seconds.toFixed(2)} | ${Math.round(ROWS / s.seconds).toLocaleString('en-US')} | ${s.offlineWritten.toLocaleString('en-US')} | ${s.onlineWritten.toLocaleString('en-US')} | ${heap.toFixed(0)} |`,
        );
      }
    }
    await sql.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
