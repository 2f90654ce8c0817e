/**
 * bench/learning/monitor-loop: the time of one monitoring tick over BENCH_ROWS (default 100,000) new
 * rows of the prediction log (SQLite file), beside a baseline of the same run: reading the same rows
 * page by page with the log's cursor and nothing else.
 *
 * - baseline: PredictionLogReader.read pages of 5000 over the rows (records parsed, nothing done);
 * - detectors only: a tick of a version without a reference profile (the rows read once, each
 *   confidence fed to ADWIN, Page-Hinkley and KSWIN, state saved);
 * - full tick: the drift report over the window (the rows read again and summarised, KS/chi-square
 *   per column against the reference) + the detectors + rules + state.
 *
 * Rows are a tensor classifier's (2 inputs, 2 probabilities, a label), one item per request.
 * Run: npx tsx bench/learning/monitor-loop.ts   (BENCH_ROWS=100000 BENCH_REPEAT=3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import type { PredictionLogCursor } from '../../src/ports/prediction-log-reader.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { buildLoop, MIN, MODEL, records, T0 } from '../../test/monitoring/run/monitor-fixtures.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
// Every row within the loop's 10-minute window, ending just before the tick.
const STEP_MS = Math.max(1, Math.floor((9 * MIN) / ROWS));
const START = T0 - ROWS * STEP_MS - 1000;
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-monitor-'));

async function seeded(name: string): Promise<SqliteClient> {
  const sql = new SqliteClient({ path: join(dir, `${name}.db`) });
  await sql.init();
  const log = new SqlPredictionLog(sql);
  await log.init();
  const rows = records({ n: ROWS, start: START, stepMs: STEP_MS, drifted: false, seed: 1 });
  for (let i = 0; i < rows.length; i += 10_000) await log.write(rows.slice(i, i + 10_000));
  return sql;
}

async function baseline(sql: SqliteClient): Promise<{ ms: number; rows: number }> {
  const log = new SqlPredictionLog(sql);
  const started = performance.now();
  let after: PredictionLogCursor | undefined;
  let rows = 0;
  for (;;) {
    const page = await log.read({
      model: MODEL,
      since: new Date(T0 - 10 * MIN).toISOString(),
      until: new Date(T0).toISOString(),
      limit: 5000,
      ...(after ? { after } : {}),
    });
    rows += page.records.length;
    const last = page.records.at(-1);
    if (last) after = { at: last.at, requestId: last.requestId };
    if (page.next === null) break;
  }
  return { ms: performance.now() - started, rows };
}

/** One first tick (no saved state: every row of the window is new), state cleared before. */
async function tick(
  sql: SqliteClient,
  profile: boolean,
): Promise<{ ms: number; fed: number; rows: number | undefined }> {
  await sql.execute('DELETE FROM ferry_monitor_state').catch(() => undefined);
  const s = await buildLoop(sql, { rules: [], profile, clock: { now: T0 } });
  if (!profile) await sql.execute('DELETE FROM ferry_reference_profiles');
  const started = performance.now();
  const [t] = await s.loop.tick();
  const ms = performance.now() - started;
  if (t?.error) throw new Error(t.error);
  return { ms, fed: t!.fed.confidence, rows: t!.values.rows };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const t0 = performance.now();
  const sql = await seeded('log');
  console.log(`seeded ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const base: number[] = [];
  const detectors: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const b = await baseline(sql);
    if (b.rows !== ROWS) throw new Error(`baseline read ${b.rows} rows`);
    base.push(b.ms);
    const d = await tick(sql, false);
    if (d.fed !== ROWS) throw new Error(`detectors fed ${d.fed}`);
    detectors.push(d.ms);
    const f = await tick(sql, true);
    if (f.fed !== ROWS || f.rows !== ROWS) throw new Error(`full tick fed ${f.fed}, report rows ${f.rows}`);
    full.push(f.ms);
  }
  await sql.close();
  const line = (what: string, xs: number[]) =>
    console.log(
      `${what.padEnd(34)} median ${median(xs).toFixed(0).padStart(6)} ms  (${xs.map((x) => x.toFixed(0)).join(', ')})  ${((ROWS / median(xs)) * 1000).toFixed(0)} rows/s  ×${(median(xs) / median(base)).toFixed(2)} of baseline`,
    );
  console.log(`${ROWS} new log rows, ${REPEAT} runs, SQLite file, node ${process.version}`);
  line('baseline: read the rows', base);
  line('tick: detectors only (no profile)', detectors);
  line('tick: report + detectors', full);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
