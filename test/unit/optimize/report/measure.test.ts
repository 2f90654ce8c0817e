import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../src/core/random.js';
import { bundleCustomModel } from '../../../../src/model/kinds/custom/bundle.js';
import {
  DEFAULT_PARAMS,
  TEXT_CLASSIFIER_KIND,
  TextClassifier,
} from '../../../../src/model/text-classifier.js';
import { textSignature } from '../../../../src/model/text-tensors.js';
import type { EvalSet, MeasureCandidate } from '../../../../src/optimize/optimize-types.js';
import { createMeasureReport } from '../../../../src/optimize/report/measure.js';
import { percentile } from '../../../../src/optimize/report/measure-stats.js';
import type { LabeledProject } from '../../../../src/train/dataset.js';
import { perClassMetrics, weightedMetrics } from '../../../../src/train/metrics.js';
import { expectFerryError } from '../../../helpers/expect-ferry-error.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const WORDS: Record<string, string[]> = {
  'computer-vision': ['image', 'pixels', 'detection', 'segmentation', 'camera', 'video'],
  'natural-language-processing': ['text', 'language', 'tokens', 'translation', 'sentiment', 'bert'],
  mlops: ['deployment', 'monitoring', 'pipeline', 'serving', 'kubernetes', 'docker'],
  other: ['recipe', 'garden', 'music', 'travel', 'football', 'weather'],
};

/** Rows whose words say their class, with a shared filler word so the classes are not trivially separable. */
function rows(count: number, offset: number): LabeledProject[] {
  const out: LabeledProject[] = [];
  const tags = Object.keys(WORDS);
  for (let i = 0; i < count; i++) {
    const tag = tags[i % tags.length]!;
    const w = WORDS[tag]!;
    const k = i + offset;
    const noise = WORDS[tags[(i + 1) % tags.length]!]![k % 6]!;
    out.push({
      id: String(k),
      title: `${w[k % 6]} ${w[(k + 1) % 6]} project`,
      description: `a project about ${w[(k + 2) % 6]} and ${k % 3 === 0 ? noise : w[(k + 3) % 6]}`,
      tag,
      line: k + 2,
    });
  }
  return out;
}

const train = rows(48, 0);
const evalRows = rows(24, 100);
const params = { ...DEFAULT_PARAMS, minDf: 1 };
const parentModel = TextClassifier.fit(
  train,
  train.map((r) => r.tag),
  params,
);
// Another head on the same features: strong regularisation flattens the probabilities.
const weakModel = TextClassifier.fit(
  train,
  train.map((r) => r.tag),
  { ...params, C: 0.05 },
);

function candidate(label: string, model: TextClassifier, ref: string | null = null): MeasureCandidate {
  return {
    label,
    ref,
    kind: TEXT_CLASSIFIER_KIND,
    artifact: model.toArtifact(),
    signature: textSignature(model.classes),
  };
}

const evalSet: EvalSet = { source: 'synthetic', rows: evalRows, seenInTraining: false };
const cache = tmpDir('ferry-measure-');
afterAll(() => cache.remove());

const measure = createMeasureReport({
  cacheDir: cache.path,
  callTimeoutMs: 5000,
  loadRuns: 3,
  memoryRuns: 2,
  latencyCalls: 200,
  warmupCalls: 10,
  batchSize: 8,
  throughputRows: 64,
});

describe('createMeasureReport', () => {
  it('measures the parent, itself and a different head the same way', async () => {
    const steps: string[] = [];
    const report = await createMeasureReport({
      cacheDir: cache.path,
      callTimeoutMs: 5000,
      latencyCalls: 100,
      batchSize: 8,
      throughputRows: 64,
      onProgress: (step) => steps.push(step),
    })(
      candidate('parent', parentModel, 'clf/1'),
      [candidate('itself', parentModel), candidate('C 0.05', weakModel)],
      evalSet,
    );
    expect(steps).toEqual([
      'loading parent',
      'loading itself',
      'loading C 0.05',
      'scoring parent',
      'scoring itself',
      'scoring C 0.05',
      'measured',
    ]);
    expect(report.evalSet).toEqual({ source: 'synthetic', rows: 24, seenInTraining: false });
    const [itself, weak] = report.variants;
    const { parent } = report;
    expect(parent.label).toBe('parent');
    expect(parent.ref).toBe('clf/1');
    expect(parent.agreement).toBeNull();
    expect(parent.artifactBytes).toBe(parentModel.toArtifact().byteLength);
    expect(weak!.artifactBytes).toBe(weakModel.toArtifact().byteLength);

    // F1 is train/metrics.ts on the same rows, computed here from the model's own predictions.
    const yTrue = evalRows.map((r) => r.tag);
    for (const [m, model] of [
      [parent, parentModel],
      [weak!, weakModel],
    ] as const) {
      const yPred = model.predictBatch(evalRows).map((p) => p.prediction);
      const classes = [...new Set([...model.classes, ...yTrue])].sort();
      expect(m.weightedF1).toBeCloseTo(weightedMetrics(yTrue, yPred, classes).f1, 12);
      const per = perClassMetrics(yTrue, yPred, classes);
      expect(m.perClassF1).toEqual(Object.fromEntries(classes.map((c) => [c, per[c]!.f1])));
    }
    expect(parent.weightedF1).toBeGreaterThan(0.5);

    expect(itself!.agreement).toEqual({ top1: 1, meanAbsProbabilityDiff: 0 });
    expect(itself!.weightedF1).toBe(parent.weightedF1);

    // The flatter head: probabilities move, labels mostly agree; figures as computed from both models.
    const pp = parentModel.predictBatch(evalRows);
    const wp = weakModel.predictBatch(evalRows);
    const top1 = pp.filter((p, i) => p.prediction === wp[i]!.prediction).length / evalRows.length;
    let diff = 0;
    pp.forEach((p, i) => {
      for (const c of parentModel.classes) diff += Math.abs(p.probabilities[c]! - wp[i]!.probabilities[c]!);
    });
    expect(weak!.agreement!.top1).toBeCloseTo(top1, 12);
    expect(weak!.agreement!.meanAbsProbabilityDiff).toBeCloseTo(diff / (evalRows.length * 4), 6);
    expect(weak!.agreement!.meanAbsProbabilityDiff).toBeGreaterThan(0.01);

    for (const m of [parent, itself!, weak!]) {
      expect(m.loadMs).toBeGreaterThan(0);
      expect(m.latencyP50Ms).toBeGreaterThan(0);
      expect(m.latencyP99Ms).toBeGreaterThanOrEqual(m.latencyP50Ms);
      expect(m.predictionsPerSecond).toBeGreaterThan(0);
      expect(Number.isSafeInteger(m.memoryBytes) && m.memoryBytes >= 0).toBe(true);
      expect(m.note).toBeUndefined();
    }
  });

  it('measures the memory a bigger model holds as more than a small one holds', async () => {
    // A vocabulary of thousands of random words: the decoded model holds megabytes, well above the
    // tens of kilobytes of noise left after the forced collections.
    const random = seededRandom(5);
    const word = () =>
      Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
    const big = Array.from({ length: 240 }, (_, i) => ({
      id: String(i),
      title: Array.from({ length: 10 }, word).join(' '),
      description: Array.from({ length: 20 }, word).join(' '),
      tag: Object.keys(WORDS)[i % 4]!,
      line: i + 2,
    }));
    const bigModel = TextClassifier.fit(
      big,
      big.map((r) => r.tag),
      { ...params, C: 1 },
      { maxIterations: 20 },
    );
    const report = await measure(candidate('small', parentModel), [candidate('big', bigModel)], evalSet);
    const [bigRow] = report.variants;
    expect(bigRow!.artifactBytes).toBeGreaterThan(1_000_000);
    expect(bigRow!.memoryBytes).toBeGreaterThan(bigRow!.artifactBytes / 4);
    expect(bigRow!.memoryBytes).toBeGreaterThan(report.parent.memoryBytes + 500_000);
  });

  it('times a model without the text contract on generated inputs and claims no F1 or agreement', async () => {
    const artifact = await bundleCustomModel('test/fixtures/custom-models/linear-logits.mjs');
    const custom: MeasureCandidate = {
      label: 'linear',
      ref: null,
      kind: 'custom',
      artifact,
      signature: null,
    };
    const report = await measure(candidate('parent', parentModel), [custom], evalSet);
    const [row] = report.variants;
    expect(row!.kind).toBe('custom');
    expect(row!.weightedF1).toBeNull();
    expect(row!.perClassF1).toBeNull();
    expect(row!.agreement).toBeNull();
    expect(row!.note).toMatch(/generated/u);
    expect(row!.latencyP50Ms).toBeGreaterThan(0);
    expect(row!.predictionsPerSecond).toBeGreaterThan(0);
  });

  it('refuses an empty evaluation set and bad options', async () => {
    await expectFerryError(
      measure(candidate('parent', parentModel), [], { ...evalSet, rows: [] }),
      'FERRY_OPTIMIZE_INVALID',
    );
    expect(() => createMeasureReport({ cacheDir: cache.path, callTimeoutMs: 1, batchSize: 0 })).toThrow(
      /batchSize must be a positive integer/u,
    );
  });

  it('takes nearest-rank percentiles (observed values)', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([3], 99)).toBe(3);
  });
});
