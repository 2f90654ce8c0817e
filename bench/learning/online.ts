/**
 * bench/learning/online (issue 12 "online learning"):
 *  (1) updates/s of the online text classifier on one core: `learnOne` (predict, then one AdaGrad
 *      step) over the course texts, beside two baselines measured in the same run: the
 *      featurisation alone (tokenise + hash + count, the floor of any learner on these features) and
 *      the built-in classifier's predict (TF-IDF + logistic regression, no learning). Rates are per
 *      CPU second of this process (process.cpuUsage), so other processes on the machine do not
 *      count against it; wall-clock rates are printed beside them.
 *  (2) a drift simulation: the course's projects (dataset.csv + holdout.csv) in id order (≈ time),
 *      cut in half; in the first half the `mlops` topic does not exist yet (its rows are held back),
 *      in the second half every topic comes, the new one included. A static model (the built-in
 *      classifier, trained once on the first half) is compared with the online model (learning from
 *      the first label on) by progressive weighted F1 over the last WINDOW labels, over time. The
 *      plot is saved as bench/results/online-learning-drift.svg (results/ is ignored by git, as
 *      every bench's output); the summary is printed.
 * Run: npx tsx bench/learning/online.ts   (DATASET_DIR for the course data; BENCH_SECONDS=3 per rate)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.js';
import { publishLabeledEvents } from '../../src/learning/online/labeled-event.js';
import { OnlineLearner } from '../../src/learning/online/learner.js';
import { figures } from '../../src/learning/online/progressive-window.js';
import { HashedFeaturizer } from '../../src/model/kinds/online-text/hashed-features.js';
import {
  DEFAULT_ONLINE_PARAMS,
  OnlineTextClassifier,
} from '../../src/model/kinds/online-text/online-text-classifier.js';
import type { TextInput } from '../../src/model/model.js';
import { projectText, tokenize } from '../../src/model/text/clean.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../src/model/text-classifier.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { type LabeledProject, parseLabeledDataset } from '../../src/train/dataset.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = resolve(process.env.DATASET_DIR ?? '/work/shared/datasets/madewithml');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WINDOW = 100;
const NEW_TOPIC = 'mlops';

function load(file: string): LabeledProject[] {
  const path = join(DIR, file);
  if (!existsSync(path)) {
    console.error(`bench/learning/online: the course data is missing: ${path} (set DATASET_DIR)`);
    process.exit(2);
  }
  return parseLabeledDataset(readFileSync(path), file).rows;
}

const train = load('dataset.csv');
const holdout = load('holdout.csv');

/** Runs `work(i)` for about SECONDS of CPU time; returns calls per CPU second and per wall second. */
function rate(work: (i: number) => void): { cpu: number; wall: number; calls: number } {
  for (let i = 0; i < 2000; i++) work(i); // warm-up: the JIT
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let calls = 0;
  for (;;) {
    for (let k = 0; k < 500; k++) work(calls++);
    const used = process.cpuUsage(cpu0);
    const cpuSeconds = (used.user + used.system) / 1e6;
    if (cpuSeconds >= SECONDS) {
      return { cpu: calls / cpuSeconds, wall: calls / ((performance.now() - wall0) / 1000), calls };
    }
  }
}

const rows = train;
const n = rows.length;
const fmtRate = (r: { cpu: number; wall: number }) =>
  `${Math.round(r.cpu).toLocaleString('en')}/s per CPU second (${Math.round(r.wall).toLocaleString('en')}/s wall)`;

console.log(`course texts: ${n} (dataset.csv), ${holdout.length} (holdout.csv); ${SECONDS} CPU s per rate`);
console.log(`params: ${JSON.stringify(DEFAULT_ONLINE_PARAMS)}`);

const featurizer = new HashedFeaturizer(DEFAULT_ONLINE_PARAMS.bits, DEFAULT_ONLINE_PARAMS);
let sink = 0;
const featurise = rate((i) => {
  const r = rows[i % n]!;
  sink += featurizer.vectorize(tokenize(projectText(r.title, r.description))).length;
});
const online = OnlineTextClassifier.create();
const learn = rate((i) => {
  const r = rows[i % n]!;
  online.learnOne(r, r.tag);
});
const small = OnlineTextClassifier.create({ charNgrams: [0, 0] });
const learnWords = rate((i) => {
  const r = rows[i % n]!;
  small.learnOne(r, r.tag);
});
const t0 = performance.now();
const builtIn = TextClassifier.fit(
  rows,
  rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const fitSeconds = (performance.now() - t0) / 1000;
const predict = rate((i) => {
  sink += builtIn.predictBatch([rows[i % n]!]).length;
});
console.log('\n(1) one core');
console.log(`  learnOne (predict + AdaGrad step), word 1-2 + char 3-5 grams: ${fmtRate(learn)}`);
console.log(`  learnOne, word 1-2 grams only:                               ${fmtRate(learnWords)}`);
console.log(`  baseline: featurisation alone (same n-grams):                ${fmtRate(featurise)}`);
console.log(`  baseline: built-in classifier predict (one row per call):    ${fmtRate(predict)}`);
console.log(`  (the built-in classifier's batch fit on the ${n} texts took ${fitSeconds.toFixed(1)} s wall)`);

// (1b) The whole learner: labels through the embedded log, checkpoints (state + ids) in SQLite.
const E2E_LABELS = 20_000;
const tmp = mkdtempSync(join(tmpdir(), 'ferry-bench-online-'));
try {
  const log = new SqliteEventLog({ path: join(tmp, 'streams.db') });
  await log.init();
  for (let from = 0; from < E2E_LABELS; from += 2000) {
    await publishLabeledEvents(
      log,
      'feedback',
      Array.from({ length: 2000 }, (_, k) => {
        const r = rows[(from + k) % n]!;
        return {
          id: `label-${from + k}`,
          event: {
            model: 'bench',
            title: r.title,
            description: r.description,
            label: r.tag,
            at: '2026-12-01T00:00:00Z',
          },
        };
      }),
    );
  }
  const sql = new SqliteClient({ path: join(tmp, 'ferry.db') });
  await sql.init();
  const registry = new ModelRegistry({ sql, blobs: new FsBlobStore(join(tmp, 'artifacts')) });
  await registry.init();
  const learnerProcess = new OnlineLearner(
    { model: 'bench', snapshotEvery: 10_000, fetchMax: 1000 },
    { stream: log, sql, registry, kindContext: { cacheDir: tmp, callTimeoutMs: 5000 } },
  );
  await learnerProcess.init();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  while (learnerProcess.status().learned < E2E_LABELS) await learnerProcess.step();
  await learnerProcess.close();
  const used = process.cpuUsage(cpu0);
  const cpuS = (used.user + used.system) / 1e6;
  const wallS = (performance.now() - wall0) / 1000;
  console.log(
    `  the learner end to end (embedded log → learn → checkpoint every 1000 + 2 snapshots, SQLite): ${Math.round(E2E_LABELS / cpuS).toLocaleString('en')} labels/s per CPU second (${Math.round(E2E_LABELS / wallS).toLocaleString('en')}/s wall), ${E2E_LABELS} labels`,
  );
  await sql.close();
  await log.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// (2) The drift simulation.
const all = [...train, ...holdout].sort((a, b) => Number(a.id) - Number(b.id));
const half = Math.floor(all.length / 2);
const first = all.slice(0, half).filter((r) => r.tag !== NEW_TOPIC);
const held = all.slice(0, half).filter((r) => r.tag === NEW_TOPIC);
// The held-back rows of the new topic arrive in the second half, spread among its rows.
const second = all.slice(half);
for (const [k, r] of held.entries())
  second.splice(Math.floor(((k + 0.5) * second.length) / held.length), 0, r);
const stream = [...first, ...second];
const staticModel = TextClassifier.fit(
  first,
  first.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const learner = OnlineTextClassifier.create();
const truth: string[] = [];
const onlineAnswers: string[] = [];
const staticAnswers: string[] = [];
const points: Array<{ at: number; online: number; static: number }> = [];
for (const [i, r] of stream.entries()) {
  const input: TextInput = { title: r.title, description: r.description };
  staticAnswers.push(staticModel.predictBatch([input])[0]!.prediction);
  onlineAnswers.push(learner.learnOne(input, r.tag).predicted ?? '');
  truth.push(r.tag);
  if (i + 1 >= WINDOW && (i + 1) % 10 === 0) {
    const from = i + 1 - WINDOW;
    points.push({
      at: i + 1,
      online: figures(truth.slice(from), onlineAnswers.slice(from)).weightedF1,
      static: figures(truth.slice(from), staticAnswers.slice(from)).weightedF1,
    });
  }
}
const drift = first.length;
const before = points.filter((p) => p.at - WINDOW >= 0 && p.at <= drift);
const after = points.filter((p) => p.at - WINDOW >= drift);
const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const overall = (answers: string[], from: number) =>
  figures(truth.slice(from), answers.slice(from)).weightedF1;
const newTopicRecall = (answers: string[]) => {
  const idx = truth.map((t, i) => (t === NEW_TOPIC && i >= drift ? i : -1)).filter((i) => i >= 0);
  return idx.filter((i) => answers[i] === NEW_TOPIC).length / idx.length;
};
console.log('\n(2) drift: a new topic appears midway');
console.log(
  `  stream ${stream.length} labels; first part ${first.length} (no "${NEW_TOPIC}"; the static model's training set), then ${second.length} with ${second.filter((r) => r.tag === NEW_TOPIC).length} "${NEW_TOPIC}" (${held.length} of them held back from the first half)`,
);
console.log(`  rolling weighted F1 over the last ${WINDOW} labels, mean over the windows:`);
console.log(
  `    before the drift: online ${mean(before.map((p) => p.online)).toFixed(3)}, static ${mean(before.map((p) => p.static)).toFixed(3)} (static in-sample there)`,
);
console.log(
  `    after the drift (windows wholly after it): online ${mean(after.map((p) => p.online)).toFixed(3)}, static ${mean(after.map((p) => p.static)).toFixed(3)}`,
);
console.log(
  `  weighted F1 over every label after the drift: online ${overall(onlineAnswers, drift).toFixed(3)}, static ${overall(staticAnswers, drift).toFixed(3)}`,
);
console.log(
  `  recall of "${NEW_TOPIC}" after the drift: online ${newTopicRecall(onlineAnswers).toFixed(3)}, static ${newTopicRecall(staticAnswers).toFixed(3)}`,
);
const last = points.at(-1)!;
console.log(`  last window: online ${last.online.toFixed(3)}, static ${last.static.toFixed(3)}`);

const out = join(ROOT, 'bench/results/online-learning-drift.svg');
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(out, svg(points, drift, stream.length));
console.log(`\nplot: ${out}`);
if (sink < 0) console.log(sink);

function svg(ps: typeof points, driftAt: number, total: number): string {
  const W = 800;
  const H = 420;
  const m = { l: 60, r: 20, t: 40, b: 50 };
  const x = (v: number) => m.l + (v / total) * (W - m.l - m.r);
  const y = (v: number) => m.t + (1 - v) * (H - m.t - m.b);
  const line = (key: 'online' | 'static') =>
    ps.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  const yTicks = [0, 0.2, 0.4, 0.6, 0.8, 1]
    .map(
      (v) =>
        `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`,
    )
    .join('');
  const xTicks = Array.from({ length: 6 }, (_, k) => Math.round((k * total) / 5))
    .map((v) => `<text x="${x(v)}" y="${H - m.b + 18}" text-anchor="middle">${v}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<title>Progressive weighted F1 of the online and the static model over a stream with drift</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Progressive weighted F1 (last ${WINDOW} labels): online vs static; "${NEW_TOPIC}" appears at label ${driftAt}</text>
${yTicks}${xTicks}
<line x1="${x(driftAt)}" x2="${x(driftAt)}" y1="${m.t}" y2="${H - m.b}" stroke="#999" stroke-dasharray="4 4"/>
<text x="${x(driftAt) + 4}" y="${m.t + 12}">drift</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line('online')}"/>
<polyline fill="none" stroke="#d62728" stroke-width="2" points="${line('static')}"/>
<text x="${W / 2}" y="${H - 10}" text-anchor="middle">labels seen</text>
<rect x="${m.l + 10}" y="${H - m.b - 50}" width="12" height="3" fill="#1f77b4"/><text x="${m.l + 28}" y="${H - m.b - 45}">online (AdaGrad, learns every label)</text>
<rect x="${m.l + 10}" y="${H - m.b - 32}" width="12" height="3" fill="#d62728"/><text x="${m.l + 28}" y="${H - m.b - 27}">static (built-in classifier, trained on the first part; in-sample before the drift)</text>
</svg>
`;
}
