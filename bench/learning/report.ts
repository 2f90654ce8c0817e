/**
 * bench/learning/report: the drift report (`ferry monitor report`) over a window of 1,000,000
 * logged text predictions in SQLite, beside a baseline measured in the same run on the same rows:
 * paging through the window with the PredictionLogReader and nothing else (no parsing of texts, no
 * statistics). The difference is what the analysis costs: extraction (cleaning and tokenising each
 * text), the summaries, the column tests and the domain classifier.
 *
 * The rows are inserted first in one transaction with a prepared statement (the figures do not
 * include it). Each item's text is drawn from 2,000 synthetic titles and descriptions; half of the
 * window uses another vocabulary (drift injected), so the report has something to find.
 * Run: npx tsx bench/learning/report.ts   (BENCH_ROWS=1000000)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { profileTrainedVersion } from '../../src/app/open-monitoring.js';
import { seededRandom } from '../../src/core/random.js';
import { ReferenceProfileStore } from '../../src/monitoring/profile/profile-store.js';
import { buildDriftReport } from '../../src/monitoring/report/drift-report.js';
import { columnDrift } from '../../src/monitoring/stats/column-drift.js';
import { textDomainDrift } from '../../src/monitoring/stats/domain-classifier.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MODEL = 'bench';
const T0 = Date.UTC(2026, 0, 1);
const SPAN_MS = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-report-'));
const dbPath = join(dir, 'log.db');
try {
  const data = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample-dataset.csv');
  const outcome = trainTextClassifier(data, { seed: 42, tune: false });
  const classes = outcome.model.classes;

  const random = seededRandom(7);
  const words = (vocab: readonly string[], n: number) =>
    Array.from({ length: n }, () => vocab[Math.floor(random() * vocab.length)]!).join(' ');
  const mlWords = [...new Set(data.rows.flatMap((r) => `${r.title} ${r.description}`.split(/\s+/)))];
  const otherWords = [
    'pasta',
    'garlic',
    'basil',
    'simmer',
    'oven',
    'butter',
    'recipe',
    'dinner',
    'sauce',
    'bread',
  ];
  const templates = Array.from({ length: 2000 }, (_, i) => {
    const vocab = i % 2 === 0 ? mlWords : otherWords;
    const probs = classes.map(() => random());
    const sum = probs.reduce((a, b) => a + b, 0);
    const probabilities = Object.fromEntries(classes.map((c, k) => [c, probs[k]! / sum]));
    const best = classes[probs.indexOf(Math.max(...probs))]!;
    return JSON.stringify([
      {
        title: words(vocab, 4 + Math.floor(random() * 6)),
        description: words(vocab, 10 + Math.floor(random() * 30)),
        prediction: best,
        probabilities,
        source: 'model',
      },
    ]);
  });

  // The table through the store's own migrations, then a raw bulk insert in one transaction.
  const sql = new SqliteClient({ path: dbPath });
  await sql.init();
  const log = new SqlPredictionLog(sql);
  await log.init();
  const profiles = new ReferenceProfileStore(sql);
  await profiles.init();
  const reference = await profileTrainedVersion(profiles, { name: MODEL, version: 1 }, outcome, data.rows);
  await sql.close();

  let started = performance.now();
  const db = new Database(dbPath);
  const insert = db.prepare(
    `INSERT INTO ferry_prediction_requests (request_id, at, model, version, latency_ms, item_count, truncated, items)
     VALUES (?, ?, ?, 1, 1.0, 1, 0, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const at = new Date(T0 + Math.floor((i * SPAN_MS) / ROWS)).toISOString();
      insert.run(`r${String(i).padStart(8, '0')}`, at, MODEL, templates[i % templates.length]!);
    }
  })();
  db.close();
  const insertSeconds = (performance.now() - started) / 1000;

  const readerSql = new SqliteClient({ path: dbPath });
  await readerSql.init();
  const reader = new SqlPredictionLog(readerSql);
  const window = { since: new Date(T0).toISOString(), until: new Date(T0 + SPAN_MS).toISOString() };

  // Baseline: every page of the window, records decoded by the reader, nothing analysed.
  started = performance.now();
  let paged = 0;
  let after: { at: string; requestId: string } | undefined;
  for (;;) {
    const page = await reader.read({
      model: MODEL,
      version: 1,
      ...window,
      limit: 2000,
      ...(after ? { after } : {}),
    });
    for (const r of page.records) paged += r.items.length;
    if (page.next === null) break;
    after = page.next;
  }
  const pageSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const report = await buildDriftReport({ log: reader, columnDrift, textDomainDrift }, { reference, window });
  const reportSeconds = (performance.now() - started) / 1000;
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  await readerSql.close();

  const drifted = [...report.features, ...report.outputs].filter((f) => f.drift?.drifted).map((f) => f.name);
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        insertSeconds: Number(insertSeconds.toFixed(1)),
        baseline: {
          what: 'paging through the window (PredictionLogReader.read, 2000 a page)',
          items: paged,
          seconds: Number(pageSeconds.toFixed(1)),
          itemsPerSecond: Math.round(paged / pageSeconds),
        },
        report: {
          items: report.counts.analysed,
          seconds: Number(reportSeconds.toFixed(1)),
          itemsPerSecond: Math.round(report.counts.analysed / reportSeconds),
          overBaseline: Number((reportSeconds / pageSeconds).toFixed(2)),
          rssMbAfter: Math.round(rssMb),
          drifted,
          textRocAuc: report.text?.drift?.rocAuc,
          oovRate: report.text?.oovRate,
          datasetDrift: report.dataset,
        },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
