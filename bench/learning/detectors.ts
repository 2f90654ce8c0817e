/**
 * bench/learning/detectors: the streaming drift detectors (River's defaults) on seeded simulations
 * built from the course data. A text classifier is trained on half of dataset.csv; the other half
 * (sampled with replacement) makes streams of its predictions: no drift, a new topic (texts about
 * language models / transformers / GPT, which the model never saw, relabelled to a tag it does not
 * know), a class it never saw (mlops, left out of a second model's training), a class share shift
 * (computer-vision from its share to 70 %), and text length shifts (descriptions cut to 5 words;
 * descriptions doubled). Each detector reads the confidence stream (top probability) and the 0/1
 * error stream. Printed: detection rate, delay (values after the change), false alarms per 1000
 * values and the share of 1000-value windows with a false alarm, beside a baseline measured in the
 * same run (a fixed 3-sigma rule on a rolling mean, its reference from the pre-change pool) and raw
 * update throughput against a bare loop.
 *
 * Run: npx tsx bench/learning/detectors.ts   (DATASET_DIR overrides ../shared/datasets/madewithml;
 * SEEDS, default 50). Nothing is tuned here: every detector runs with River's defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { seededRandom } from '../../src/core/random.js';
import type { TextInput } from '../../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../src/model/text-classifier.js';
import type { DetectorName } from '../../src/monitoring/detector-types.js';
import { createDetector, DETECTOR_NAMES } from '../../src/monitoring/detectors/index.js';
import { type LabeledProject, parseLabeledDataset } from '../../src/train/dataset.js';
import { stratifiedSplit } from '../../src/train/split.js';

const SEEDS = Number(process.env.SEEDS ?? 50);
const BEFORE = 2000; // values before the change
const AFTER = 3000; // values after it
const NO_DRIFT_LENGTH = 10_000;
const WINDOW = 1000; // false alarms are counted per window of this many values
const LLM_TOPIC = /\b(gpt-?\d*|bert|transformers?|language models?|llms?|chatgpt|t5)\b/i;

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const csvPath = resolve(dir, 'dataset.csv');
if (!existsSync(csvPath)) {
  console.error(
    `bench/learning/detectors: the course data is missing: ${csvPath} does not exist.\n` +
      'Put dataset.csv (columns id,created_on,title,description,tag) there, or set DATASET_DIR.',
  );
  process.exit(1);
}
const rows = parseLabeledDataset(readFileSync(csvPath), 'dataset.csv').rows;
const isLlm = (r: LabeledProject) => LLM_TOPIC.test(`${r.title} ${r.description}`);

/** One row as the model scores it: its confidence and whether the label (possibly relabelled) was missed. */
interface Scored {
  readonly confidence: number;
  readonly error: number;
  readonly tag: string;
}

function score(model: TextClassifier, inputs: readonly TextInput[], labels: readonly string[]): Scored[] {
  return model.predictBatch(inputs).map((p, i) => ({
    confidence: Math.max(...Object.values(p.probabilities)),
    error: p.prediction === labels[i] ? 0 : 1,
    tag: labels[i]!,
  }));
}

const firstWords = (text: string, n: number) => text.split(/\s+/).slice(0, n).join(' ');

// Half of the data trains, half is the pool the streams draw from (stratified, seed 1).
const split = stratifiedSplit(
  rows.map((r) => r.tag),
  0.5,
  1,
);
const trainPart = split.train.map((i) => rows[i]!);
const pool = split.test.map((i) => rows[i]!);

const trainStarted = performance.now();
// Model A never sees the language-model topic; model B never sees mlops.
const trainA = trainPart.filter((r) => !isLlm(r));
const modelA = TextClassifier.fit(
  trainA,
  trainA.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const trainB = trainPart.filter((r) => r.tag !== 'mlops');
const modelB = TextClassifier.fit(
  trainB,
  trainB.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const trainSeconds = (performance.now() - trainStarted) / 1000;

const known = pool.filter((r) => !isLlm(r));
const scoredKnown = score(
  modelA,
  known,
  known.map((r) => r.tag),
);
const llmRows = rows.filter(isLlm); // every one: model A saw none of them
const scoredLlm = score(
  modelA,
  llmRows,
  llmRows.map(() => 'llm'),
);
const scoredShort = score(
  modelA,
  known.map((r) => ({ title: r.title, description: firstWords(r.description, 5) })),
  known.map((r) => r.tag),
);
const scoredDouble = score(
  modelA,
  known.map((r) => ({ title: r.title, description: `${r.description} ${r.description}` })),
  known.map((r) => r.tag),
);
const poolB = pool.filter((r) => r.tag !== 'mlops');
const scoredB = score(
  modelB,
  poolB,
  poolB.map((r) => r.tag),
);
const mlopsRows = rows.filter((r) => r.tag === 'mlops' && !trainB.includes(r));
const scoredMlops = score(
  modelB,
  mlopsRows,
  mlopsRows.map((r) => r.tag),
);
const cv = scoredKnown.filter((s) => s.tag === 'computer-vision');
const notCv = scoredKnown.filter((s) => s.tag !== 'computer-vision');

/** Draws one scored row, seeded, with replacement. */
type Draw = (random: () => number) => Scored;
const from =
  (list: readonly Scored[]): Draw =>
  (random) =>
    list[Math.floor(random() * list.length)]!;
const mix =
  (share: number, a: Draw, b: Draw): Draw =>
  (random) =>
    random() < share ? a(random) : b(random);

interface Scenario {
  readonly name: string;
  readonly before: Draw;
  readonly after: Draw;
  readonly pre: readonly Scored[];
  readonly post: readonly Scored[];
}

const scenarios: Scenario[] = [
  {
    name: 'new topic (LLM texts, 40 %)',
    before: from(scoredKnown),
    after: mix(0.4, from(scoredLlm), from(scoredKnown)),
    pre: scoredKnown,
    post: scoredLlm,
  },
  {
    name: 'unseen class (mlops, 30 %)',
    before: from(scoredB),
    after: mix(0.3, from(scoredMlops), from(scoredB)),
    pre: scoredB,
    post: scoredMlops,
  },
  {
    name: 'class share (CV → 70 %)',
    before: from(scoredKnown),
    after: mix(0.7, from(cv), from(notCv)),
    pre: scoredKnown,
    post: cv,
  },
  {
    name: 'length: descriptions → 5 words',
    before: from(scoredKnown),
    after: from(scoredShort),
    pre: scoredKnown,
    post: scoredShort,
  },
  {
    name: 'length: descriptions doubled',
    before: from(scoredKnown),
    after: from(scoredDouble),
    pre: scoredKnown,
    post: scoredDouble,
  },
];

type Signal = 'confidence' | 'error';
const SIGNALS: readonly Signal[] = ['confidence', 'error'];
type Method = DetectorName | 'baseline';
const METHODS: readonly Method[] = [...DETECTOR_NAMES, 'baseline'];

/** What each method is: a detector's update, or the baseline rule below. */
interface Alarm {
  update(value: number): boolean;
}

/**
 * The baseline a monitor would write by hand: the mean of the last 200 values against the pre-change
 * pool's mean (the reference profile), alarm beyond 3 standard errors; the window restarts after an alarm.
 */
function baseline(reference: readonly number[]): Alarm {
  const n = 200;
  const mean = reference.reduce((a, b) => a + b, 0) / reference.length;
  const sd = Math.sqrt(reference.reduce((a, b) => a + (b - mean) ** 2, 0) / (reference.length - 1));
  const limit = (3 * sd) / Math.sqrt(n);
  let window: number[] = [];
  let sum = 0;
  return {
    update(value) {
      window.push(value);
      sum += value;
      if (window.length > n) sum -= window.shift()!;
      if (window.length < n || Math.abs(sum / n - mean) <= limit) return false;
      window = [];
      sum = 0;
      return true;
    },
  };
}

function alarmFor(method: Method, reference: readonly number[]): Alarm {
  return method === 'baseline' ? baseline(reference) : createDetector(method);
}

const pick = (s: Scored, signal: Signal) => (signal === 'confidence' ? s.confidence : s.error);

function alarmsOn(method: Method, values: readonly number[], reference: readonly number[]): number[] {
  const alarm = alarmFor(method, reference);
  const hits: number[] = [];
  values.forEach((v, i) => {
    if (alarm.update(v)) hits.push(i);
  });
  return hits;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const started = performance.now();

// No drift: false alarms per 1000 values and the share of 1000-value windows with at least one.
interface FalseAlarms {
  perThousand: number;
  windowShare: number;
  /** Median values read before the first (false) alarm: what a "detection" after a change competes with. */
  medianFirst: number;
  quietStreams: number;
}
const falseAlarms = new Map<string, FalseAlarms>();
for (const signal of SIGNALS) {
  const reference = scoredKnown.map((s) => pick(s, signal));
  for (const method of METHODS) {
    let alarms = 0;
    let windowsHit = 0;
    const firsts: number[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = seededRandom(1000 + seed);
      const draw = from(scoredKnown);
      const values = Array.from({ length: NO_DRIFT_LENGTH }, () => pick(draw(random), signal));
      const hits = alarmsOn(method, values, reference);
      alarms += hits.length;
      windowsHit += new Set(hits.map((i) => Math.floor(i / WINDOW))).size;
      firsts.push(hits.length === 0 ? Number.POSITIVE_INFINITY : hits[0]! + 1);
    }
    firsts.sort((a, b) => a - b);
    falseAlarms.set(`${method}/${signal}`, {
      perThousand: (alarms / (SEEDS * NO_DRIFT_LENGTH)) * 1000,
      windowShare: windowsHit / (SEEDS * (NO_DRIFT_LENGTH / WINDOW)),
      medianFirst: quantile(firsts, 0.5),
      quietStreams: firsts.filter((f) => f === Number.POSITIVE_INFINITY).length,
    });
  }
}

// Drift: detected when an alarm comes at or after the change; delay = values after the change read until then.
interface Detection {
  rate: number;
  median: number;
  p90: number;
  earlyAlarms: number;
}
const detections = new Map<string, Detection>();
for (const scenario of scenarios) {
  for (const signal of SIGNALS) {
    const reference = scenario.pre.map((s) => pick(s, signal));
    for (const method of METHODS) {
      const delays: number[] = [];
      let early = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const random = seededRandom(2000 + seed);
        const values = Array.from({ length: BEFORE + AFTER }, (_, i) =>
          pick((i < BEFORE ? scenario.before : scenario.after)(random), signal),
        );
        const hits = alarmsOn(method, values, reference);
        early += hits.filter((i) => i < BEFORE).length;
        const first = hits.find((i) => i >= BEFORE);
        if (first !== undefined) delays.push(first - BEFORE + 1);
      }
      delays.sort((a, b) => a - b);
      detections.set(`${scenario.name}/${method}/${signal}`, {
        rate: delays.length / SEEDS,
        median: quantile(delays, 0.5),
        p90: quantile(delays, 0.9),
        earlyAlarms: early,
      });
    }
  }
}
const simulationSeconds = (performance.now() - started) / 1000;

// Throughput: updates per second on a fixed stream of confidences, against a bare summing loop.
/** The best of three passes: the machine is shared, and the best pass is the least disturbed. */
function throughput(make: () => (v: number) => unknown, values: readonly number[]): number {
  let best = 0;
  for (let pass = 0; pass < 3; pass++) {
    const update = make();
    const t = performance.now();
    for (const v of values) update(v);
    best = Math.max(best, values.length / ((performance.now() - t) / 1000));
  }
  return best;
}
const speedValues = (() => {
  const random = seededRandom(99);
  const draw = from(scoredKnown);
  return Array.from({ length: 200_000 }, () => draw(random).confidence);
})();
let sink = 0;
const bare = throughput(
  () => (v) => {
    sink += v;
  },
  speedValues,
);
const speeds = DETECTOR_NAMES.map((name) => ({
  name,
  perSecond: throughput(() => {
    const detector = createDetector(name);
    return (v) => detector.update(v);
  }, speedValues),
}));

// Report.
const mean = (list: readonly Scored[], signal: Signal) =>
  list.reduce((a, s) => a + pick(s, signal), 0) / list.length;
const f3 = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

console.log(`# Drift detectors on the course data (River defaults, ${SEEDS} seeds)\n`);
console.log(
  `dataset.csv: ${rows.length} rows; trained on ${trainA.length} (model A, no LLM texts) and ${trainB.length} ` +
    `(model B, no mlops) rows in ${trainSeconds.toFixed(1)} s; pool ${known.length} rows, ${llmRows.length} LLM rows, ` +
    `${mlopsRows.length} mlops rows.\n`,
);
console.log('## Effect size of each scenario (means over the rows drawn before → only the changed rows)\n');
console.log('| scenario | confidence before | confidence changed rows | error before | error changed rows |');
console.log('|---|---|---|---|---|');
for (const s of scenarios) {
  console.log(
    `| ${s.name} | ${f3(mean(s.pre, 'confidence'))} | ${f3(mean(s.post, 'confidence'))} | ${f3(mean(s.pre, 'error'))} | ${f3(mean(s.post, 'error'))} |`,
  );
}
console.log(
  `\n## No drift: false alarms (${SEEDS} streams of ${NO_DRIFT_LENGTH} values; target ≤ 5 % of ${WINDOW}-value windows)\n`,
);
console.log(
  '| method | signal | false alarms / 1000 values | windows with a false alarm | target met | median values to the first alarm | streams with none |',
);
console.log('|---|---|---|---|---|---|---|');
for (const signal of SIGNALS) {
  for (const method of METHODS) {
    const fa = falseAlarms.get(`${method}/${signal}`)!;
    console.log(
      `| ${method} | ${signal} | ${fa.perThousand.toFixed(2)} | ${pct(fa.windowShare)} | ${fa.windowShare <= 0.05 ? 'yes' : `no (${(fa.windowShare / 0.05).toFixed(1)}× the target)`} | ${Number.isFinite(fa.medianFirst) ? fa.medianFirst : `> ${NO_DRIFT_LENGTH}`} | ${fa.quietStreams} / ${SEEDS} |`,
    );
  }
}
console.log(
  `\n## Drift: ${BEFORE} values, then the change for ${AFTER} (detected = an alarm after the change; delay in values after it)\n`,
);
console.log(
  '| scenario | signal | method | detected | median delay | p90 delay | alarms before the change |',
);
console.log('|---|---|---|---|---|---|---|');
for (const scenario of scenarios) {
  for (const signal of SIGNALS) {
    for (const method of METHODS) {
      const d = detections.get(`${scenario.name}/${method}/${signal}`)!;
      console.log(
        `| ${scenario.name} | ${signal} | ${method} | ${pct(d.rate)} | ${Number.isNaN(d.median) ? '–' : d.median} | ${Number.isNaN(d.p90) ? '–' : d.p90} | ${d.earlyAlarms} |`,
      );
    }
  }
}
console.log(`\n## Throughput (200 000 confidences, best of 3 passes, one process, this machine)\n`);
console.log(`| method | updates / s |\n|---|---|\n| bare loop (baseline) | ${bare.toExponential(2)} |`);
for (const s of speeds) console.log(`| ${s.name} | ${s.perSecond.toExponential(2)} |`);
console.log(`\nsimulations: ${simulationSeconds.toFixed(1)} s${sink === 0 ? ' ' : ''}`);
